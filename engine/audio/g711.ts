/**
 * G.711 µ-law and A-law expansion to 16-bit linear, identical to sox's tables (the classic Sun
 * g711.c formulas: µ-law spans ±32124, A-law ±32256).
 * @module
 */

/** µ-law byte → 16-bit sample. */
export const ULAW_TO_LINEAR: Int16Array = buildTable(ulawToLinear);
/** A-law byte → 16-bit sample. */
export const ALAW_TO_LINEAR: Int16Array = buildTable(alawToLinear);

/** Expands µ-law bytes into `out` from `outOffset`; returns the number of samples written. */
export function decodeUlaw(bytes: Uint8Array, out: Int16Array, outOffset = 0): number {
  return expand(ULAW_TO_LINEAR, bytes, out, outOffset);
}

/** Expands A-law bytes into `out` from `outOffset`; returns the number of samples written. */
export function decodeAlaw(bytes: Uint8Array, out: Int16Array, outOffset = 0): number {
  return expand(ALAW_TO_LINEAR, bytes, out, outOffset);
}

function expand(table: Int16Array, bytes: Uint8Array, out: Int16Array, outOffset: number): number {
  const n = bytes.length;
  for (let i = 0; i < n; i++) out[outOffset + i] = table[bytes[i]];
  return n;
}

function buildTable(f: (code: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let code = 0; code < 256; code++) table[code] = f(code);
  return table;
}

// Codes are stored inverted; the bias of 0x84 (132) makes every segment start on a power of two.
function ulawToLinear(code: number): number {
  const u = ~code & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

// Even bits are inverted on the wire (XOR 0x55); the sign bit set means positive in A-law.
function alawToLinear(code: number): number {
  const a = code ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}
