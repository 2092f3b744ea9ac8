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
import { damagedCopies, dataBytes, pseudoRandomBytes } from "../../tests/test_utils/mod.ts";
import { assertSameSamples, assertSoxDecode, testdata } from "./test_util.ts";
import { parseWav, WAVE_FORMAT_PCM } from "./wav.ts";

// Asserts our PCM WAV is sound by our parser and holds `samples` samples (tests/audio_sox_test.ts
// also has sox read it).
function assertValidPcmWav(wav: Uint8Array, samples: number): void {
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
}

// Decodes a committed GSM WAV49 and compares with sox's decode of it.
async function assertMatchesSox(name: string): Promise<{ gsm: Uint8Array; samples: number }> {
  const gsm = await testdata(name);
  const ours = toPcmWav(gsm);
  const pcm = dataBytes(ours);
  assert.ok(pcm.length > 0);
  await assertSoxDecode(name, pcm);
  assertValidPcmWav(ours, pcm.length / 2);
  return { gsm, samples: pcm.length / 2 };
}

Deno.test("toPcmWav() decodes GSM WAV49 as sox does, sample for sample", async (t) => {
  await t.step("speech, against sox's whole decode", async () => {
    await assertMatchesSox("gsm_hello.wav");
    await assertSameSamples(toPcmWav(await testdata("gsm_hello.wav")), "gsm_hello_sox.wav");
  });

  await t.step("a sentence of speech", async () => {
    await assertMatchesSox("gsm_speech.wav");
  });

  await t.step(
    "a sample count that is not a multiple of 320 (odd block count, pad byte)",
    async () => {
      // 4,793 samples → 15 blocks, 975 bytes: odd, so sox adds a pad byte (and counts it in the
      // data size).
      const { gsm, samples } = await assertMatchesSox("gsm_odd.wav");
      const info = parseWav(gsm);
      assert.equal(info.factSamples, 4793);
      assert.equal(info.dataLength, 15 * 65 + 1);
      assert.equal(samples, 15 * 320);
    },
  );

  await t.step(
    "trailing junk and a data size larger than the file, as sox reads them",
    async () => {
      for (const [name, wav] of Object.entries(damagedCopies(await testdata("gsm_speech.wav")))) {
        await assertSoxDecode(`gsm_speech_${name}.wav`, dataBytes(toPcmWav(wav)));
      }
    },
  );

  await t.step("silence", async () => {
    await assertMatchesSox("gsm_silence.wav");
  });

  await t.step("white noise", async () => {
    await assertMatchesSox("gsm_noise.wav");
  });

  // Clipped noise and a loud low square wave drive the synthesis filters into saturation
  // (hundreds to thousands of saturating additions, counted with an instrumented build).
  for (const name of ["noise_overdriven", "square_overdriven"]) {
    await t.step(`overdriven ${name}`, async () => {
      await assertMatchesSox(`gsm_${name}.wav`);
    });
  }
});

Deno.test("Gsm610Decoder matches libgsm on random WAV49 blocks", async () => {
  // Random bits reach every code: lags below 40 (which reuse the previous lag), all gains, grid
  // positions and amplitudes — things an encoder never emits.
  for (const seed of [1, 0x5eed, 0xc0ffee]) {
    const blocks = pseudoRandomBytes(301 * WAV49_BLOCK_BYTES, seed);
    const ours = decodeGsmWav49(blocks);
    await assertSoxDecode(`gsm_random_${seed}.wav`, new Uint8Array(ours.buffer));
  }
});

Deno.test("decodeGsmFrames() matches libgsm on 33-byte frames", async (t) => {
  await t.step("speech encoded by sox as .gsm", async () => {
    const ours = decodeGsmFrames(await testdata("speech.gsm"));
    await assertSoxDecode("speech.gsm", new Uint8Array(ours.buffer));
  });

  await t.step("random frames with the magic nibble", async () => {
    const frames = pseudoRandomBytes(500 * 33, 77);
    for (let i = 0; i < frames.length; i += 33) frames[i] = 0xd0 | (frames[i] & 0x0f);
    const ours = decodeGsmFrames(frames);
    await assertSoxDecode("random_77.gsm", new Uint8Array(ours.buffer));
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
