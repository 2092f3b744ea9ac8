/**
 * WAV builders and byte comparisons for tests: a µ-law tone, GSM 6.10 (WAV49) blocks in sox's
 * header, damaged copies, a replayable pseudo-random byte source. Pure: no I/O.
 * @module
 */
import { parseWav } from "../../engine/audio/mod.ts";

/** Options of {@link muLawWav}. */
export interface ToneOptions {
  /** Tone frequency in Hz (default 440). */
  tone?: number;
  /** Peak deviation from the 128 midpoint (default 100). */
  amplitude?: number;
  /**
   * "sox": 18-byte fmt (cbSize 0) and a fact chunk, a 58-byte header, as sox writes G.711;
   * "plain": the 44-byte canonical header. Default "sox".
   */
  header?: "sox" | "plain";
}

/** A µ-law WAV, 8 kHz mono, of `seconds` of a sine tone: small and decodable. */
export function muLawWav(seconds: number, opts: ToneOptions = {}): Uint8Array {
  const tone = opts.tone ?? 440;
  const amplitude = opts.amplitude ?? 100;
  const sox = (opts.header ?? "sox") === "sox";
  const n = Math.round(seconds * 8000);
  const head = sox ? 58 : 44;
  const out = new Uint8Array(head + n);
  const v = new DataView(out.buffer);
  const ascii = (off: number, s: string) =>
    [...s].forEach((c, i) => (out[off + i] = c.charCodeAt(0)));
  ascii(0, "RIFF");
  v.setUint32(4, head - 8 + n, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, sox ? 18 : 16, true);
  v.setUint16(20, 7, true); // WAVE_FORMAT_MULAW
  v.setUint16(22, 1, true);
  v.setUint32(24, 8000, true);
  v.setUint32(28, 8000, true);
  v.setUint16(32, 1, true);
  v.setUint16(34, 8, true);
  if (sox) {
    v.setUint16(36, 0, true);
    ascii(38, "fact");
    v.setUint32(42, 4, true);
    v.setUint32(46, n, true);
  }
  ascii(head - 8, "data");
  v.setUint32(head - 4, n, true);
  for (let i = 0; i < n; i++) {
    out[head + i] = (Math.sin((2 * Math.PI * tone * i) / 8000) * amplitude + 128) & 0xff;
  }
  return out;
}

/** Wraps WAV49 blocks in the same 60-byte header sox writes (fmt with cbSize 2, fact). */
export function gsmWav(blocks: Uint8Array, sampleRate = 8000): Uint8Array {
  const pad = blocks.length & 1;
  const wav = new Uint8Array(60 + blocks.length + pad);
  const view = new DataView(wav.buffer);
  const tag = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) wav[at + i] = s.charCodeAt(i);
  };
  tag(0, "RIFF");
  view.setUint32(4, wav.length - 8, true);
  tag(8, "WAVE");
  tag(12, "fmt ");
  view.setUint32(16, 20, true);
  view.setUint16(20, 0x31, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, Math.round(sampleRate * 65 / 320), true);
  view.setUint16(32, 65, true);
  view.setUint16(34, 0, true);
  view.setUint16(36, 2, true);
  view.setUint16(38, 320, true);
  tag(40, "fact");
  view.setUint32(44, 4, true);
  view.setUint32(48, Math.floor(blocks.length / 65) * 320, true);
  tag(52, "data");
  view.setUint32(56, blocks.length, true);
  wav.set(blocks, 60);
  return wav;
}

/** The data chunk's bytes of a WAV file. */
export function dataBytes(wav: Uint8Array): Uint8Array {
  const info = parseWav(wav);
  return wav.subarray(info.dataOffset, info.dataOffset + info.dataLength);
}

/** Damaged copies of a WAV: with trailing junk, and with a data size larger than the file. */
export function damagedCopies(wav: Uint8Array): { junk: Uint8Array; oversized: Uint8Array } {
  const junk = new Uint8Array(wav.length + 768);
  junk.set(wav);
  for (let i = 0; i < 768; i++) junk[wav.length + i] = i & 0xff;
  const info = parseWav(wav);
  // Cut 100 bytes (a partial GSM block at the end) and claim far more data than there is.
  const oversized = wav.slice(0, wav.length - 100);
  new DataView(oversized.buffer).setUint32(info.dataOffset - 4, 0x7fffffff, true);
  return { junk, oversized };
}

/** Index of the first differing byte, or -1; a length mismatch counts at the shorter length. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** A deterministic byte generator (xorshift32), so a failing fuzz case can be replayed. */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The SHA-256 of some bytes in hex: how golden.json names a decode too large to commit. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice())).toHex();
}
