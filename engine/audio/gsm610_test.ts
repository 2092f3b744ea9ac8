import assert from "node:assert/strict";
import { toPcmWav } from "./decode.ts";
import {
  decodeGsmFrames,
  decodeGsmWav49,
  Gsm610Decoder,
  GsmDecodeError,
  WAV49_BLOCK_BYTES,
  WAV49_BLOCK_SAMPLES,
} from "./gsm610.ts";
import {
  damagedCopies,
  dataBytes,
  firstDifference,
  gsmWav,
  pseudoRandomBytes,
  run,
  soxDecode,
  soxEncode,
  speak,
  withTempDir,
} from "./test_util.ts";
import { parseWav, WAVE_FORMAT_PCM } from "./wav.ts";

const decoder = new TextDecoder();

// Asserts our PCM WAV is sound by our parser and by sox's, and holds `samples` samples.
async function assertValidPcmWav(path: string, wav: Uint8Array, samples: number): Promise<void> {
  const info = parseWav(wav);
  assert.equal(info.formatTag, WAVE_FORMAT_PCM);
  assert.equal(info.channels, 1);
  assert.equal(info.sampleRate, 8000);
  assert.equal(info.byteRate, 16000);
  assert.equal(info.blockAlign, 2);
  assert.equal(info.bitsPerSample, 16);
  assert.equal(info.dataOffset, 44);
  assert.equal(info.declaredDataLength, samples * 2);
  assert.equal(wav.length, 44 + samples * 2);
  await Deno.writeFile(path, wav);
  const soxi = (flag: string) => run("soxi", [flag, path]).then((b) => decoder.decode(b).trim());
  assert.equal(await soxi("-s"), String(samples));
  assert.equal(await soxi("-r"), "8000");
  assert.equal(await soxi("-c"), "1");
  assert.equal(await soxi("-b"), "16");
  assert.equal(await soxi("-e"), "Signed Integer PCM");
}

// Encodes `source` to GSM WAV49 with sox, decodes it with sox and with us, compares the samples.
async function assertMatchesSox(dir: string, source: string, effects: string[] = []) {
  const gsm = await soxEncode(source, `${dir}/gsm.wav`, "gsm-full-rate", effects);
  const ref = await soxDecode(`${dir}/gsm.wav`, `${dir}/ref.wav`);
  const ours = toPcmWav(gsm);
  const want = dataBytes(ref);
  const got = dataBytes(ours);
  assert.ok(want.length > 0);
  assert.equal(firstDifference(got, want), -1, "first differing byte");
  await assertValidPcmWav(`${dir}/ours.wav`, ours, want.length / 2);
  return { gsm, samples: want.length / 2 };
}

Deno.test("toPcmWav() decodes GSM WAV49 from sox sample for sample", async (t) => {
  await withTempDir(async (dir) => {
    const sentences = [
      "Hello.",
      "You have one new message. Please call me back when you get this.",
      "This is Marta from accounting. The quarterly figures are ready; we need your approval " +
      "before Friday at noon, otherwise the payment run slips to next week. Thanks, bye.",
    ];
    for (const [i, text] of sentences.entries()) {
      await t.step(`speech of ${text.length} characters`, async () => {
        await assertMatchesSox(dir, await speak(dir, `s${i}.wav`, text));
      });
    }

    await t.step(
      "a sample count that is not a multiple of 320 (odd block count, pad byte)",
      async () => {
        const source = await speak(dir, "trim.wav", "Please press one to listen to your messages.");
        // 4,793 samples at 8 kHz (resample first: sox's trim counts at the rate where it sits)
        // → 15 blocks, 975 bytes: odd, so sox adds a pad byte (and counts it in the data size).
        const effects = ["rate", "8000", "trim", "0", "4793s"];
        const { gsm, samples } = await assertMatchesSox(dir, source, effects);
        const info = parseWav(gsm);
        assert.equal(info.factSamples, 4793);
        assert.equal(info.dataLength, 15 * 65 + 1);
        assert.equal(samples, 15 * 320);
      },
    );

    await t.step(
      "trailing junk and a data size larger than the file, as sox reads them",
      async () => {
        const source = await speak(dir, "damaged.wav", "Press star to return to the main menu.");
        const gsm = await soxEncode(source, `${dir}/gsm.wav`, "gsm-full-rate");
        for (const [name, wav] of Object.entries(damagedCopies(gsm))) {
          await Deno.writeFile(`${dir}/${name}.wav`, wav);
          const ref = await soxDecode(`${dir}/${name}.wav`, `${dir}/${name}-ref.wav`);
          assert.equal(firstDifference(dataBytes(toPcmWav(wav)), dataBytes(ref)), -1, name);
        }
      },
    );

    await t.step("silence", async () => {
      await run("sox", ["-n", "-r", "8000", "-c", "1", `${dir}/silence.wav`, "trim", "0", "2"]);
      await assertMatchesSox(dir, `${dir}/silence.wav`);
    });

    await t.step("white noise", async () => {
      await run("sox", [
        "-n",
        "-r",
        "8000",
        "-c",
        "1",
        `${dir}/noise.wav`,
        "synth",
        "3",
        "whitenoise",
      ]);
      await assertMatchesSox(dir, `${dir}/noise.wav`);
    });

    // Clipped noise and a loud low square wave drive the synthesis filters into saturation
    // (hundreds to thousands of saturating additions, counted with an instrumented build).
    for (const synth of [["whitenoise", "gain", "+12"], ["square", "60", "gain", "+3"]]) {
      await t.step(`overdriven ${synth[0]}`, async () => {
        const path = `${dir}/${synth[0]}.wav`;
        await run("sox", ["-n", "-r", "8000", "-c", "1", path, "synth", "3", ...synth]);
        await assertMatchesSox(dir, path);
      });
    }
  });
});

Deno.test("Gsm610Decoder matches libgsm on random WAV49 blocks", async () => {
  // Random bits reach every code: lags below 40 (which reuse the previous lag), all gains, grid
  // positions and amplitudes — things an encoder never emits.
  await withTempDir(async (dir) => {
    for (const seed of [1, 0x5eed, 0xc0ffee]) {
      const blocks = pseudoRandomBytes(301 * WAV49_BLOCK_BYTES, seed);
      await Deno.writeFile(`${dir}/random.wav`, gsmWav(blocks));
      const ref = await soxDecode(`${dir}/random.wav`, `${dir}/ref.wav`);
      const ours = decodeGsmWav49(blocks);
      const got = new Uint8Array(ours.buffer);
      assert.equal(firstDifference(got, dataBytes(ref)), -1, `seed ${seed}`);
    }
  });
});

Deno.test("decodeGsmFrames() matches libgsm on 33-byte frames", async (t) => {
  await withTempDir(async (dir) => {
    await t.step("speech encoded by sox as .gsm", async () => {
      const source = await speak(dir, "s.wav", "Your mailbox is almost full.");
      await run("sox", [source, "-r", "8000", "-c", "1", `${dir}/s.gsm`]);
      const ref = await soxDecode(`${dir}/s.gsm`, `${dir}/ref.wav`);
      const ours = decodeGsmFrames(await Deno.readFile(`${dir}/s.gsm`));
      assert.equal(firstDifference(new Uint8Array(ours.buffer), dataBytes(ref)), -1);
    });

    await t.step("random frames with the magic nibble", async () => {
      const frames = pseudoRandomBytes(500 * 33, 77);
      for (let i = 0; i < frames.length; i += 33) frames[i] = 0xd0 | (frames[i] & 0x0f);
      await Deno.writeFile(`${dir}/r.gsm`, frames);
      const ref = await soxDecode(`${dir}/r.gsm`, `${dir}/ref.wav`);
      const ours = decodeGsmFrames(frames);
      assert.equal(firstDifference(new Uint8Array(ours.buffer), dataBytes(ref)), -1);
    });
  });
});

Deno.test("Gsm610Decoder.decodeBlock() keeps state across calls and reset() clears it", () => {
  const blocks = pseudoRandomBytes(20 * WAV49_BLOCK_BYTES, 9);
  const whole = decodeGsmWav49(blocks);
  const decoder = new Gsm610Decoder();
  const out = new Int16Array(whole.length);
  for (let b = 0; b < 20; b++) {
    const block = blocks.slice(b * WAV49_BLOCK_BYTES, (b + 1) * WAV49_BLOCK_BYTES);
    decoder.decodeBlock(block, out, b * WAV49_BLOCK_SAMPLES);
  }
  assert.deepEqual(out, whole);

  decoder.reset();
  const first = new Int16Array(WAV49_BLOCK_SAMPLES);
  decoder.decodeBlock(blocks.subarray(0, WAV49_BLOCK_BYTES), first);
  assert.deepEqual(first, whole.subarray(0, WAV49_BLOCK_SAMPLES));
});

Deno.test("decodeGsmWav49() drops a partial trailing block", () => {
  const blocks = pseudoRandomBytes(3 * WAV49_BLOCK_BYTES + 40, 3);
  assert.equal(decodeGsmWav49(blocks).length, 3 * WAV49_BLOCK_SAMPLES);
  assert.equal(decodeGsmWav49(new Uint8Array(0)).length, 0);
});

Deno.test("Gsm610Decoder rejects short blocks and frames without the magic nibble", () => {
  const decoder = new Gsm610Decoder();
  assert.throws(
    () => decoder.decodeBlock(new Uint8Array(64), new Int16Array(320)),
    (e) =>
      e instanceof GsmDecodeError && e.name === "GsmDecodeError" && /"64" bytes/.test(e.message),
  );
  assert.throws(() => decoder.decodeFrame(new Uint8Array(33), new Int16Array(160)), GsmDecodeError);
  assert.throws(() => decoder.decodeFrame(new Uint8Array(32), new Int16Array(160)), GsmDecodeError);
});
