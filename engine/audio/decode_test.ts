import assert from "node:assert/strict";
import {
  audioEncoding,
  pcmSampleCount,
  pcmSamples,
  pcmWavSize,
  pcmWavStream,
  toPcmWav,
} from "./decode.ts";
import { ULAW_TO_LINEAR } from "./g711.ts";
import { decodeGsmWav49 } from "./gsm610.ts";
import { gsmWav, pseudoRandomBytes } from "../../tests/test_utils/mod.ts";
import { parseWav, pcmWavHeader, WAVE_FORMAT_MULAW, WAVE_FORMAT_PCM, WavError } from "./wav.ts";

// A minimal WAV with a 16-byte fmt chunk (plus cbSize 0 for G.711, as sox writes it).
function simpleWav(
  tag: number,
  channels: number,
  bits: number,
  data: Uint8Array,
  declared?: number,
) {
  const blockAlign = channels * bits / 8;
  const fmtSize = tag === WAVE_FORMAT_PCM ? 16 : 18;
  const wav = new Uint8Array(20 + fmtSize + 8 + data.length);
  const view = new DataView(wav.buffer);
  wav.set(new TextEncoder().encode("RIFF"), 0);
  view.setUint32(4, wav.length - 8, true);
  wav.set(new TextEncoder().encode("WAVEfmt "), 8);
  view.setUint32(16, fmtSize, true);
  view.setUint16(20, tag, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, 8000, true);
  view.setUint32(28, 8000 * blockAlign, true);
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, bits, true);
  wav.set(new TextEncoder().encode("data"), 20 + fmtSize);
  view.setUint32(24 + fmtSize, declared ?? data.length, true);
  wav.set(data, 28 + fmtSize);
  return wav;
}

function streamOf(bytes: Uint8Array, chunkSize: number): ReadableStream<Uint8Array> {
  let pos = 0;
  return new ReadableStream({
    pull(controller) {
      if (pos >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(pos, pos + chunkSize));
      pos += chunkSize;
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const GSM_BLOCKS = pseudoRandomBytes(40 * 65, 42);
const GSM_WAV = gsmWav(GSM_BLOCKS);
const ULAW_WAV = simpleWav(WAVE_FORMAT_MULAW, 1, 8, pseudoRandomBytes(1001, 5));

Deno.test("toPcmWav() writes a header and the decoded samples", () => {
  const pcm = toPcmWav(GSM_WAV);
  const samples = decodeGsmWav49(GSM_BLOCKS);
  assert.deepEqual(pcm.subarray(0, 44), pcmWavHeader(samples.length, 8000));
  assert.deepEqual(new Int16Array(pcm.slice(44).buffer), samples);
  assert.deepEqual(pcmSamples(GSM_WAV), samples);
  assert.equal(audioEncoding(parseWav(GSM_WAV)), "gsm610");
});

Deno.test("toPcmWav() passes 16-bit PCM through and converts 8-, 24-bit and stereo PCM", () => {
  const s16 = new Uint8Array([0x01, 0x00, 0xff, 0x7f, 0x00, 0x80, 0xfe, 0xff]);
  assert.deepEqual([...pcmSamples(simpleWav(WAVE_FORMAT_PCM, 1, 16, s16))], [1, 32767, -32768, -2]);
  const pcm16 = toPcmWav(simpleWav(WAVE_FORMAT_PCM, 1, 16, s16));
  assert.deepEqual(pcm16.subarray(44), s16);

  // 8-bit WAV is unsigned; sox maps it to (b - 128) << 8.
  const s8 = new Uint8Array([0, 128, 255]);
  assert.deepEqual([...pcmSamples(simpleWav(WAVE_FORMAT_PCM, 1, 8, s8))], [-32768, 0, 32512]);

  const s24 = new Uint8Array([0xff, 0x34, 0x12, 0x00, 0x00, 0x80]);
  assert.deepEqual([...pcmSamples(simpleWav(WAVE_FORMAT_PCM, 1, 24, s24))], [0x1234, -32768]);

  // Stereo is averaged to mono.
  const stereo = new Uint8Array([0x10, 0x00, 0x30, 0x00, 0xff, 0xff, 0xfe, 0xff]);
  assert.deepEqual([...pcmSamples(simpleWav(WAVE_FORMAT_PCM, 2, 16, stereo))], [0x20, -2]);
  const ulawStereo = simpleWav(WAVE_FORMAT_MULAW, 2, 8, new Uint8Array([0x00, 0x80, 0x00, 0x00]));
  assert.deepEqual([...pcmSamples(ulawStereo)], [0, ULAW_TO_LINEAR[0]]);
});

Deno.test("pcmWavSize() predicts the output length without decoding", () => {
  const truncated = simpleWav(WAVE_FORMAT_MULAW, 1, 8, new Uint8Array(77), 1_000_000);
  const oddGsm = new Uint8Array([...gsmWav(GSM_BLOCKS.subarray(0, 3 * 65 + 20))]);
  for (const wav of [GSM_WAV, ULAW_WAV, truncated, oddGsm]) {
    const info = parseWav(wav);
    assert.equal(pcmWavSize(info), toPcmWav(wav).length);
  }
  assert.equal(pcmSampleCount(parseWav(oddGsm)), 3 * 320);
  assert.equal(pcmSampleCount(parseWav(truncated)), 77);
});

Deno.test("toPcmWav() rejects unsupported encodings with a WavError", () => {
  const float = simpleWav(3, 1, 32, new Uint8Array(8));
  assert.throws(() => toPcmWav(float), (e) => {
    assert.ok(e instanceof WavError);
    assert.equal(e.kind, "unsupported");
    assert.match(e.message, /unsupported format tag "0x0003"/);
    return true;
  });
  const gsmStereo = gsmWav(GSM_BLOCKS);
  new DataView(gsmStereo.buffer).setUint16(22, 2, true);
  assert.throws(() => toPcmWav(gsmStereo), /GSM 6.10 with "2" channels/);
  const pcm12 = simpleWav(WAVE_FORMAT_PCM, 1, 12, new Uint8Array(8));
  assert.throws(() => toPcmWav(pcm12), /PCM with "12" bits/);
  assert.throws(
    () => toPcmWav(new Uint8Array(100)),
    (e) => e instanceof WavError && e.kind === "not-wav",
  );
});

Deno.test("pcmWavStream() gives toPcmWav()'s bytes for any chunking", async () => {
  for (const wav of [GSM_WAV, ULAW_WAV]) {
    const want = toPcmWav(wav);
    for (const size of [1, 7, 44, 65, 1000, 1 << 16]) {
      const got = await collect(pcmWavStream(streamOf(wav, size)));
      assert.deepEqual(got, want, `chunks of ${size}`);
    }
  }
});

Deno.test("pcmWavStream() serves byte ranges and stops reading once past the end", async () => {
  const want = toPcmWav(GSM_WAV);
  for (
    const [start, end] of [[0, 44], [0, 10], [30, 700], [44, 44 + 640], [5000, want.length], [
      100,
      1e9,
    ]]
  ) {
    const got = await collect(pcmWavStream(streamOf(GSM_WAV, 100), { start, end }));
    assert.deepEqual(got, want.slice(start, end), `range ${start}-${end}`);
  }
  let cancelled = false;
  let reads = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      reads++;
      controller.enqueue(GSM_WAV.slice((reads - 1) * 130, reads * 130));
    },
    cancel() {
      cancelled = true;
    },
  });
  const got = await collect(pcmWavStream(source, { end: 100 }));
  assert.deepEqual(got, want.slice(0, 100));
  assert.ok(cancelled);
  assert.ok(reads < 5, `read ${reads} chunks`);
});

Deno.test("pcmWavStream() pads a source that ends before its declared data", async () => {
  const short = simpleWav(WAVE_FORMAT_MULAW, 1, 8, new Uint8Array(10).fill(0x80), 30);
  const got = await collect(pcmWavStream(streamOf(short, 8)));
  const info = parseWav(got);
  assert.equal(got.length, 44 + 60);
  assert.equal(info.dataLength, 60);
  const samples = new Int16Array(got.slice(44).buffer);
  assert.deepEqual([...samples.subarray(0, 10)], new Array(10).fill(ULAW_TO_LINEAR[0x80]));
  assert.deepEqual([...samples.subarray(10)], new Array(20).fill(0));
  // Knowing the file size, the stream cuts the data like toPcmWav() does.
  const cut = await collect(pcmWavStream(streamOf(short, 8), { totalSize: short.length }));
  assert.deepEqual(cut, toPcmWav(short));
});

Deno.test("pcmWavStream() errors on input that is not a supported WAV", async () => {
  const notWav = streamOf(new TextEncoder().encode("This is not audio at all, just text."), 5);
  await assert.rejects(
    collect(pcmWavStream(notWav)),
    (e) => e instanceof WavError && e.kind === "not-wav",
  );
  const cutHeader = streamOf(ULAW_WAV.subarray(0, 30), 5);
  await assert.rejects(
    collect(pcmWavStream(cutHeader)),
    (e) => e instanceof WavError && e.kind === "malformed",
  );
  const float = streamOf(simpleWav(3, 1, 32, new Uint8Array(8)), 5);
  await assert.rejects(
    collect(pcmWavStream(float)),
    (e) => e instanceof WavError && e.kind === "unsupported",
  );
});
