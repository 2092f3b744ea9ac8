/**
 * A large message's skeleton: the message with the middle of every long base64 body cut out,
 * small enough to classify in memory, and a record of how many decoded bytes each cut held.
 * Every header, every boundary line and the first bytes of every body stay as they are, so
 * the MIME structure, each audio header and each part's real decoded length are all known
 * without holding the message whole. Built from chunks as the message is read; pure, no I/O.
 * @module
 */

/** Decoded bytes cut out of the skeleton at one offset (inside the body they belong to). */
export interface Elision {
  /** Offset in the skeleton where the cut lines stood. */
  at: number;
  /** How many decoded bytes the cut lines held. */
  decodedBytes: number;
}

/** What {@link SkeletonBuilder.finish} returns. */
export interface Skeleton {
  bytes: Uint8Array;
  elisions: Elision[];
}

/** Options for {@link SkeletonBuilder}. */
export interface SkeletonOptions {
  /** Encoded bytes of each base64 run kept before cutting (enough for any audio header). */
  keepRunBytes?: number;
  /**
   * Most bytes kept in all. Past it (a huge body that is not base64, a giant header line) the
   * rest is counted as one cut of its raw length: an upper bound, right for identity bodies.
   */
  maxBytes?: number;
}

const LF = 10;
const CR = 13;
// Bytes of the base64 alphabet proper: the padding `=` and the URL-safe `-` and `_` are left
// out, so a cut never takes a line that ends a quantum or could be a boundary.
const BASE64_BYTE = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
  BASE64_BYTE[c.charCodeAt(0)] = 1;
}

const BLOCK_BYTES = 64 * 1024;

/** Builds a {@link Skeleton} from a message fed in chunks of any size. */
export class SkeletonBuilder {
  readonly #keepRun: number;
  readonly #max: number;
  #parts: Uint8Array[] = [];
  #length = 0;
  // Kept lines are copied into blocks: one allocation per block, not one per line.
  #block = new Uint8Array(0);
  #blockUsed = 0;
  #carry: Uint8Array[] = [];
  #carryLength = 0;
  #elisions: Elision[] = [];
  /** Encoded bytes of the current base64 run kept so far. */
  #runKept = 0;
  /** The latest line of a run past its kept prefix: cut only if another base64 line follows. */
  #held: Uint8Array | null = null;
  #pendingDecoded = 0;
  #overflow = 0;

  constructor(opts: SkeletonOptions = {}) {
    this.#keepRun = opts.keepRunBytes ?? 64 * 1024;
    this.#max = opts.maxBytes ?? 8 * 1024 * 1024;
  }

  /** Feeds the next bytes of the message. */
  push(chunk: Uint8Array): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl + 1);
      if (this.#carryLength) {
        this.#carry.push(piece);
        this.#line(concat(this.#carry, this.#carryLength + piece.length));
        this.#carry = [];
        this.#carryLength = 0;
      } else {
        this.#line(piece);
      }
      start = nl + 1;
    }
    // The held line is a view of `chunk` until here, copied once per push rather than once per
    // line: a copy per base64 line of a 200 MB message is millions of small allocations.
    if (this.#held?.buffer === chunk.buffer) this.#held = this.#held.slice();
    if (start < chunk.length) {
      // Copied: the caller may reuse its buffer.
      this.#carry.push(chunk.slice(start));
      this.#carryLength += chunk.length - start;
      // A line longer than everything we may keep cannot be kept whole anyway.
      if (this.#carryLength > this.#max) {
        this.#line(concat(this.#carry, this.#carryLength));
        this.#carry = [];
        this.#carryLength = 0;
      }
    }
  }

  /** Ends the message and returns its skeleton. */
  finish(): Skeleton {
    if (this.#carryLength) this.#line(concat(this.#carry, this.#carryLength));
    this.#carry = [];
    this.#carryLength = 0;
    this.#release();
    if (this.#overflow) this.#elisions.push({ at: this.#length, decodedBytes: this.#overflow });
    this.#seal();
    const bytes = concat(this.#parts, this.#length);
    this.#parts = [];
    return { bytes, elisions: this.#elisions };
  }

  #line(line: Uint8Array): void {
    if (this.#overflow) {
      this.#overflow += line.length;
      return;
    }
    const content = base64Content(line);
    if (content === 0) {
      this.#release();
      this.#runKept = 0;
      this.#append(line);
      return;
    }
    if (this.#runKept < this.#keepRun) {
      this.#runKept += content;
      this.#append(line);
      return;
    }
    if (this.#held) this.#pendingDecoded += (base64Content(this.#held) / 4) * 3;
    // A view of the caller's buffer: push() copies it before returning.
    this.#held = line;
  }

  // The run ended: record what was cut, then keep its last line, so every cut sits strictly
  // inside its body (before a kept line of the same run).
  #release(): void {
    if (this.#pendingDecoded) {
      this.#elisions.push({ at: this.#length, decodedBytes: this.#pendingDecoded });
      this.#pendingDecoded = 0;
    }
    if (this.#held) {
      const held = this.#held;
      this.#held = null;
      this.#append(held);
    }
  }

  #append(line: Uint8Array): void {
    if (this.#length + line.length > this.#max) {
      this.#overflow += line.length;
      return;
    }
    if (this.#blockUsed + line.length > this.#block.length) {
      this.#seal();
      this.#block = new Uint8Array(Math.max(BLOCK_BYTES, line.length));
    }
    this.#block.set(line, this.#blockUsed);
    this.#blockUsed += line.length;
    this.#length += line.length;
  }

  #seal(): void {
    if (this.#blockUsed) this.#parts.push(this.#block.subarray(0, this.#blockUsed));
    this.#block = new Uint8Array(0);
    this.#blockUsed = 0;
  }
}

/** The base64 characters of a line that is nothing but whole base64 quanta, else 0. */
function base64Content(line: Uint8Array): number {
  let end = line.length;
  if (end && line[end - 1] === LF) end--;
  if (end && line[end - 1] === CR) end--;
  if (end < 4 || end % 4 !== 0) return 0;
  for (let i = 0; i < end; i++) if (!BASE64_BYTE[line[i]]) return 0;
  return end;
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1 && parts[0].length === length) return parts[0];
  const out = new Uint8Array(length);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Decoded bytes cut out of the body range [start, end) of a skeleton. */
export function elidedWithin(
  elisions: readonly Elision[] | undefined,
  range: { start: number; end: number },
): number {
  let n = 0;
  for (const e of elisions ?? []) if (e.at > range.start && e.at <= range.end) n += e.decodedBytes;
  return n;
}
