/**
 * Property-based tests (fast-check) of the WAV parsers (engine/audio's and engine/voicemail/classify.ts's
 * header reader) and the GSM 6.10 / G.711 decoders on hostile audio: arbitrary bytes and valid
 * WAVs with lying sizes, flipped, cut and spliced bytes. Only the documented typed errors may
 * escape; durations are finite and ≥ 0; decoded PCM is exactly as long as the header promises,
 * whole-buffer and streaming alike. Runs are bounded and seeded.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { pcmSampleCount, pcmWavSize, pcmWavStream, toPcmWav } from "./decode.ts";
import { decodeAlaw, decodeUlaw } from "./g711.ts";
import {
  decodeGsmFrames,
  decodeGsmWav49,
  GSM_FRAME_BYTES,
  GSM_FRAME_SAMPLES,
  GsmDecodeError,
  WAV49_BLOCK_BYTES,
  WAV49_BLOCK_SAMPLES,
} from "./gsm610.ts";
import { parseWav, tryParseWavHeader, wavDurationSeconds, WavError } from "./wav.ts";
import { makeWav } from "../../tests/test_utils/mod.ts";

const RUNS = { numRuns: 500, seed: 0xa0d10 };

const u32 = fc.oneof(
  fc.constantFrom(0, 1, 2, 7, 8, 64, 65, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff),
  fc.nat(),
);

/** A valid GSM or µ-law WAV, its RIFF and data sizes possibly lying. */
const lyingWav: fc.Arbitrary<Uint8Array> = fc
  .record({
    audio: fc.constantFrom("gsm" as const, "mulaw" as const),
    seconds: fc.double({ min: 0, max: 0.5, noNaN: true }),
    riffSize: fc.option(u32, { nil: undefined }),
    dataSize: fc.option(u32, { nil: undefined }),
    seed: fc.nat(),
  })
  .map((o) => makeWav(o.audio, o.seconds, o));

/** Lying WAVs then damaged: bytes flipped, the file cut, bytes inserted in the header. */
const damagedWav: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    lyingWav,
    fc.array(fc.tuple(fc.nat(80), fc.nat(255)), { maxLength: 6 }),
    fc.option(fc.nat(), { nil: undefined }),
    fc.option(fc.tuple(fc.nat(80), fc.uint8Array({ minLength: 1, maxLength: 12 })), {
      nil: undefined,
    }),
  )
  .map(([wav, flips, cut, insert]) => {
    let b = wav.slice();
    for (const [at, byte] of flips) if (at < b.length) b[at] = byte;
    if (insert) {
      const at = Math.min(insert[0], b.length);
      const out = new Uint8Array(b.length + insert[1].length);
      out.set(b.subarray(0, at));
      out.set(insert[1], at);
      out.set(b.subarray(at), at + insert[1].length);
      b = out;
    }
    return cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
  });

const anyAudio = fc.oneof(lyingWav, damagedWav, fc.uint8Array({ maxLength: 400 }));

// Only WavError (and GsmDecodeError for raw frames) is a documented failure.
function typedOnly<T>(f: () => T, ...allowed: (new (...a: never[]) => Error)[]): T | undefined {
  try {
    return f();
  } catch (e) {
    assert.ok(allowed.some((c) => e instanceof c), `unexpected ${(e as Error)?.stack ?? e}`);
    return undefined;
  }
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of stream) chunks.push(c);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

Deno.test("parseWav() throws only WavError and reports a data range inside the file", () => {
  fc.assert(
    fc.property(anyAudio, (bytes) => {
      const info = typedOnly(() => parseWav(bytes), WavError);
      if (!info) return;
      assert.ok(info.dataOffset >= 12 && info.dataLength >= 0);
      assert.ok(info.dataOffset + info.dataLength <= Math.max(bytes.length, info.dataOffset));
      assert.ok(info.dataLength <= info.declaredDataLength);
      const seconds = wavDurationSeconds(info);
      assert.ok(seconds === null || (Number.isFinite(seconds) && seconds >= 0), `${seconds}`);
    }),
    RUNS,
  );
});

Deno.test("tryParseWavHeader() on every prefix agrees with parseWav() on the whole file", () => {
  fc.assert(
    fc.property(lyingWav, (bytes) => {
      const whole = typedOnly(() => parseWav(bytes), WavError);
      for (const n of [0, 4, 11, 12, 20, 44, 59, 60, bytes.length]) {
        const prefix = bytes.subarray(0, Math.min(n, bytes.length));
        const info = typedOnly(
          () => tryParseWavHeader(prefix, { totalSize: bytes.length }),
          WavError,
        );
        if (info && whole) assert.deepEqual(info, whole);
      }
    }),
    RUNS,
  );
});

Deno.test("tryParseWavHeader() throws only WavError; wavDurationSeconds() is finite ≥ 0 for any data size", () => {
  fc.assert(
    fc.property(anyAudio, fc.option(fc.nat(), { nil: undefined }), (bytes, dataBytes) => {
      const h = typedOnly(() => tryParseWavHeader(bytes), WavError);
      if (!h) return;
      const seconds = wavDurationSeconds(h, { dataBytes });
      assert.ok(seconds === null || (Number.isFinite(seconds) && seconds >= 0), `${seconds}`);
    }),
    RUNS,
  );
});

Deno.test("toPcmWav() output is as long as pcmWavSize() promised, and streaming gives the same bytes", async () => {
  await fc.assert(
    fc.asyncProperty(anyAudio, fc.integer({ min: 1, max: 97 }), async (bytes, chunk) => {
      const info = typedOnly(() => parseWav(bytes), WavError);
      const pcm = typedOnly(() => toPcmWav(bytes), WavError);
      if (!info || !pcm) return;
      assert.equal(pcm.length, pcmWavSize(info));
      assert.equal(pcm.length, 44 + pcmSampleCount(info) * 2);
      const streamed = await readAll(
        pcmWavStream(chunked(bytes, chunk), { totalSize: bytes.length }),
      )
        .catch((e) => {
          assert.ok(e instanceof WavError, `stream threw ${e}`);
          return null;
        });
      if (streamed) assert.deepEqual(streamed, pcm);
    }),
    { ...RUNS, numRuns: 200 },
  );
});

Deno.test("the GSM and G.711 decoders turn any bytes into the number of samples they promise", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
      assert.equal(
        decodeGsmWav49(bytes).length,
        Math.floor(bytes.length / WAV49_BLOCK_BYTES) * WAV49_BLOCK_SAMPLES,
      );
      // A 33-byte frame must start with the 0xD magic nibble: its absence is the typed error.
      const frames = typedOnly(() => decodeGsmFrames(bytes), GsmDecodeError);
      if (frames) {
        assert.equal(frames.length, Math.floor(bytes.length / GSM_FRAME_BYTES) * GSM_FRAME_SAMPLES);
      }
      const out = new Int16Array(bytes.length + 3);
      assert.equal(decodeUlaw(bytes, out, 3), bytes.length);
      assert.equal(decodeAlaw(bytes, out, 3), bytes.length);
    }),
    RUNS,
  );
});

Deno.test("raw GSM frames with their magic nibble always decode", () => {
  const framed = fc.uint8Array({ maxLength: 10 * GSM_FRAME_BYTES }).map((b) => {
    const c = b.slice();
    for (let i = 0; i < c.length; i += GSM_FRAME_BYTES) c[i] = 0xd0 | (c[i] & 0x0f);
    return c;
  });
  fc.assert(
    fc.property(framed, (bytes) => {
      const out = decodeGsmFrames(bytes);
      assert.equal(out.length, Math.floor(bytes.length / GSM_FRAME_BYTES) * GSM_FRAME_SAMPLES);
    }),
    RUNS,
  );
});
