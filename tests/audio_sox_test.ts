/**
 * The audio decoders against sox, live: espeak-ng speaks, sox encodes as an MSS would store the
 * message and decodes it as the reference; ours must equal it sample for sample, and sox must
 * read our PCM WAVs. The unit tests beside the decoders compare with the committed goldens made
 * the same way (scripts/audio_golden.ts); this suite keeps the comparison with the tools live.
 */
import assert from "node:assert/strict";
import {
  ALAW_TO_LINEAR,
  decodeGsmFrames,
  decodeGsmWav49,
  parseWav,
  toPcmWav,
  ULAW_TO_LINEAR,
  WAV49_BLOCK_BYTES,
  WAVE_FORMAT_ALAW,
  WAVE_FORMAT_MULAW,
  WAVE_FORMAT_PCM,
} from "../engine/audio/mod.ts";
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
  tempDir,
} from "./test_utils/mod.ts";

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
  {
    await using tmp = await tempDir("audio");
    const dir = tmp.path;
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
  }
});

Deno.test("Gsm610Decoder matches libgsm on random WAV49 blocks", async () => {
  // Random bits reach every code: lags below 40 (which reuse the previous lag), all gains, grid
  // positions and amplitudes — things an encoder never emits.
  {
    await using tmp = await tempDir("audio");
    const dir = tmp.path;
    for (const seed of [1, 0x5eed, 0xc0ffee]) {
      const blocks = pseudoRandomBytes(301 * WAV49_BLOCK_BYTES, seed);
      await Deno.writeFile(`${dir}/random.wav`, gsmWav(blocks));
      const ref = await soxDecode(`${dir}/random.wav`, `${dir}/ref.wav`);
      const ours = decodeGsmWav49(blocks);
      const got = new Uint8Array(ours.buffer);
      assert.equal(firstDifference(got, dataBytes(ref)), -1, `seed ${seed}`);
    }
  }
});

Deno.test("decodeGsmFrames() matches libgsm on 33-byte frames", async (t) => {
  {
    await using tmp = await tempDir("audio");
    const dir = tmp.path;
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
  }
});

// What sox makes of every one of the 256 codes, read as raw 8-bit G.711.
async function soxTable(dir: string, encoding: string): Promise<Int16Array> {
  const codes = new Uint8Array(256).map((_, i) => i);
  await Deno.writeFile(`${dir}/codes.raw`, codes);
  const args = [
    "-t",
    "raw",
    "-e",
    encoding,
    "-b",
    "8",
    "-r",
    "8000",
    "-c",
    "1",
    `${dir}/codes.raw`,
  ];
  await run("sox", [...args, "-t", "raw", "-e", "signed", "-b", "16", `${dir}/linear.raw`]);
  const bytes = await Deno.readFile(`${dir}/linear.raw`);
  return new Int16Array(bytes.buffer, bytes.byteOffset, 256);
}

Deno.test("G.711 tables equal sox's for all 256 codes", async () => {
  {
    await using tmp = await tempDir("audio");
    const dir = tmp.path;
    assert.deepEqual(ULAW_TO_LINEAR, await soxTable(dir, "mu-law"));
    assert.deepEqual(ALAW_TO_LINEAR, await soxTable(dir, "a-law"));
  }
});

Deno.test("toPcmWav() decodes µ-law and A-law WAVs from sox sample for sample", async (t) => {
  {
    await using tmp = await tempDir("audio");
    const dir = tmp.path;
    const texts = [
      "Hi, it's me.",
      "The meeting moved to Thursday at three; the room is on the fourth floor, next to the lifts.",
    ];
    for (
      const [encoding, tag] of [["mu-law", WAVE_FORMAT_MULAW], ["a-law", WAVE_FORMAT_ALAW]] as const
    ) {
      for (const [i, text] of texts.entries()) {
        await t.step(`${encoding}, speech of ${text.length} characters`, async () => {
          const source = await speak(dir, `s${i}.wav`, text);
          const input = await soxEncode(source, `${dir}/in.wav`, encoding);
          assert.equal(parseWav(input).formatTag, tag);
          const ref = await soxDecode(`${dir}/in.wav`, `${dir}/ref.wav`);
          const ours = toPcmWav(input);
          assert.equal(firstDifference(dataBytes(ours), dataBytes(ref)), -1);
          assert.equal(ours.length, 44 + dataBytes(ref).length);
        });
      }
      await t.step(`${encoding}, trailing junk and a data size larger than the file`, async () => {
        const source = await speak(dir, "damaged.wav", "Goodbye.");
        const input = await soxEncode(source, `${dir}/in.wav`, encoding);
        for (const [name, wav] of Object.entries(damagedCopies(input))) {
          await Deno.writeFile(`${dir}/${name}.wav`, wav);
          const ref = await soxDecode(`${dir}/${name}.wav`, `${dir}/${name}-ref.wav`);
          assert.equal(firstDifference(dataBytes(toPcmWav(wav)), dataBytes(ref)), -1, name);
        }
      });
      await t.step(`${encoding}, white noise`, async () => {
        const noise = `${dir}/noise.wav`;
        await run("sox", ["-n", "-r", "8000", "-c", "1", noise, "synth", "3", "whitenoise"]);
        const input = await soxEncode(noise, `${dir}/in.wav`, encoding);
        const ref = await soxDecode(`${dir}/in.wav`, `${dir}/ref.wav`);
        assert.equal(firstDifference(dataBytes(toPcmWav(input)), dataBytes(ref)), -1);
      });
    }
  }
});
