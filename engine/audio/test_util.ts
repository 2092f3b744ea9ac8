/**
 * Helpers for the audio tests and benchmark: run espeak-ng and sox (the reference decoder) in a
 * scratch directory. Test-only; the library modules stay free of I/O.
 * @module
 */

import { parseWav } from "./wav.ts";

/** Runs a command and returns its stdout; throws with stderr when it fails. */
export async function run(cmd: string, args: string[], cwd?: string): Promise<Uint8Array> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`Command "${cmd} ${args.join(" ")}" failed (${out.code}): ${err}`);
  }
  return out.stdout;
}

/** Calls `fn` with a fresh temporary directory, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "vmirror-audio-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The data chunk's bytes of a WAV file. */
export function dataBytes(wav: Uint8Array): Uint8Array {
  const info = parseWav(wav);
  return wav.subarray(info.dataOffset, info.dataOffset + info.dataLength);
}

/** Speaks `text` with espeak-ng into `<dir>/<name>` (22.05 kHz PCM WAV). */
export async function speak(dir: string, name: string, text: string): Promise<string> {
  const path = `${dir}/${name}`;
  await run("espeak-ng", ["-w", path, text]);
  return path;
}

/** Encodes `input` to 8 kHz mono with sox's `-e <encoding>`; extra sox effects go last. */
export async function soxEncode(
  input: string,
  output: string,
  encoding: string,
  effects: string[] = [],
): Promise<Uint8Array> {
  await run("sox", [input, "-r", "8000", "-c", "1", "-e", encoding, output, ...effects]);
  return await Deno.readFile(output);
}

/** What sox itself decodes `input` to: a 16-bit signed PCM WAV's bytes. */
export async function soxDecode(input: string, output: string): Promise<Uint8Array> {
  await run("sox", [input, "-e", "signed", "-b", "16", output]);
  return await Deno.readFile(output);
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
