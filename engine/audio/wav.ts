/**
 * RIFF/WAVE parsing and 16-bit PCM header writing. Pure: works on bytes, never touches files.
 *
 * The parser is forgiving the way real voicemail files demand: odd-sized chunks with or without
 * their pad byte, a data size larger than the file (truncated), trailing junk after the data,
 * chunks before `fmt ` and WAVE_FORMAT_EXTENSIBLE headers.
 * @module
 */

/** WAV format tag of integer PCM. */
export const WAVE_FORMAT_PCM = 0x0001;
/** WAV format tag of IEEE float samples (parsed, not decoded). */
export const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
/** WAV format tag of G.711 A-law. */
export const WAVE_FORMAT_ALAW = 0x0006;
/** WAV format tag of G.711 µ-law. */
export const WAVE_FORMAT_MULAW = 0x0007;
/** WAV format tag of GSM 6.10 in Microsoft's "WAV49" packing (65-byte blocks of 320 samples). */
export const WAVE_FORMAT_GSM610 = 0x0031;
/** WAV format tag "MSN Audio": GSM 6.10 too, written by some MSN/Windows tools under this tag. */
export const WAVE_FORMAT_MSN_AUDIO = 0x0032;
/** WAV format tag whose real format is the first two bytes of the sub-format GUID. */
export const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Size of the header written by {@link pcmWavHeader}. */
export const PCM_WAV_HEADER_BYTES = 44;

/** What a WAV header says, with the data chunk located inside the file. */
export interface WavInfo {
  /** Format tag; for WAVE_FORMAT_EXTENSIBLE files, the sub-format's tag. */
  formatTag: number;
  /** Channel count. */
  channels: number;
  /** Samples per second per channel. */
  sampleRate: number;
  /** Average bytes per second, as declared. */
  byteRate: number;
  /** Bytes per block (a sample frame, or a 65-byte GSM block). */
  blockAlign: number;
  /** Bits per sample, as declared (0 for GSM in some writers). */
  bitsPerSample: number;
  /** Samples per block from the fmt extension (GSM: 320), when present. */
  samplesPerBlock?: number;
  /** Sample count from the `fact` chunk, when present (a claim: sox ignores it for GSM). */
  factSamples?: number;
  /** Byte offset of the first data byte in the file. */
  dataOffset: number;
  /** Bytes of data actually available: the declared size, cut at the end of the file. */
  dataLength: number;
  /** Data size as declared in the chunk header. */
  declaredDataLength: number;
}

/** Why a WAV could not be used. */
export type WavErrorKind = "not-wav" | "malformed" | "unsupported";

/** A file that is not a WAV, is a broken WAV, or holds audio this module cannot decode. */
export class WavError extends Error {
  override name = "WavError";
  /** Builds the error; `kind` lets an HTTP layer choose between 415 and 422. */
  constructor(message: string, readonly kind: WavErrorKind, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Options of {@link parseWav} and {@link tryParseWavHeader}. */
export interface ParseWavOptions {
  /** Size of the whole file when only a prefix is given; data is cut to fit inside it. */
  totalSize?: number;
}

/** Parses a complete WAV file (or a prefix with `totalSize`); throws {@link WavError}. */
export function parseWav(bytes: Uint8Array, options: ParseWavOptions = {}): WavInfo {
  const info = scanWav(bytes, true, options.totalSize ?? bytes.length);
  if (!info) throw new WavError('Cannot parse WAV: no "data" chunk', "malformed");
  return info;
}

/**
 * Parses the start of a WAV being streamed in: undefined means "send more bytes", an answer is
 * final once the fmt chunk and the data chunk's header have been seen.
 */
export function tryParseWavHeader(
  prefix: Uint8Array,
  options: ParseWavOptions = {},
): WavInfo | undefined {
  return scanWav(prefix, false, options.totalSize);
}

/** Options of {@link wavDurationSeconds}. */
export interface WavDurationOptions {
  /** Data bytes to measure instead of `info.dataLength` (e.g. a body measured elsewhere). */
  dataBytes?: number;
}

/**
 * Exact seconds the header describes (no rounding: callers round for display), or null when the
 * header does not say: data bytes ÷ byte rate, whole GSM blocks × 320, or the `fact` count.
 */
export function wavDurationSeconds(
  info: WavInfo,
  options: WavDurationOptions = {},
): number | null {
  const dataBytes = options.dataBytes ?? info.dataLength;
  if (isGsm610(info.formatTag)) {
    // WAV49: 65-byte blocks of 320 samples; a partial block holds no whole frame. GSM 6.10 is
    // defined at 8 kHz, so a zero in any of these fields is a writer's omission, not a claim.
    const blockAlign = info.blockAlign || 65;
    const perBlock = info.samplesPerBlock || 320;
    const rate = info.sampleRate || 8000;
    return Math.floor(dataBytes / blockAlign) * perBlock / rate;
  }
  // A zero byte rate is common in hand-made headers; the block size is the truth then.
  if (info.byteRate > 0) return dataBytes / info.byteRate;
  if (info.blockAlign > 0 && info.sampleRate > 0) {
    return dataBytes / info.blockAlign / info.sampleRate;
  }
  if (info.factSamples !== undefined && info.sampleRate > 0) {
    return info.factSamples / info.sampleRate;
  }
  return null;
}

/** Whether a format tag is GSM 6.10 (0x0031 "WAV49", or 0x0032 "MSN Audio"). */
export function isGsm610(formatTag: number): boolean {
  return formatTag === WAVE_FORMAT_GSM610 || formatTag === WAVE_FORMAT_MSN_AUDIO;
}

/** The 44-byte header of a mono 16-bit PCM WAV holding `sampleCount` samples. */
export function pcmWavHeader(sampleCount: number, sampleRate: number): Uint8Array {
  const dataBytes = sampleCount * 2;
  if (!Number.isInteger(sampleCount) || sampleCount < 0 || dataBytes > 0xffffffff - 36) {
    throw new RangeError(`Cannot write a WAV header for "${sampleCount}" samples`);
  }
  const header = new Uint8Array(PCM_WAV_HEADER_BYTES);
  const view = new DataView(header.buffer);
  writeTag(header, 0, "RIFF");
  view.setUint32(4, 36 + dataBytes, true);
  writeTag(header, 8, "WAVE");
  writeTag(header, 12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, WAVE_FORMAT_PCM, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  writeTag(header, 36, "data");
  view.setUint32(40, dataBytes, true);
  return header;
}

// What the fmt chunk alone says.
type FmtChunk = Omit<
  WavInfo,
  "factSamples" | "dataOffset" | "dataLength" | "declaredDataLength"
>;

// `complete` says whether `bytes` is everything we will get; without it running out of bytes
// means "ask for more" (undefined), with it a missing data chunk is an error.
function scanWav(
  bytes: Uint8Array,
  complete: boolean,
  totalSize: number | undefined,
): WavInfo | undefined {
  if (bytes.length < 12) {
    if (!complete && couldBeWavStart(bytes)) return undefined;
    throw new WavError("Cannot parse WAV: not a RIFF/WAVE file", "not-wav");
  }
  if (readTag(bytes, 0) !== "RIFF" || readTag(bytes, 8) !== "WAVE") {
    const what = readTag(bytes, 0) === "RIFX"
      ? "big-endian RIFX is not supported"
      : "no RIFF/WAVE magic";
    throw new WavError(
      `Cannot parse WAV: ${what}`,
      readTag(bytes, 0) === "RIFX" ? "unsupported" : "not-wav",
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fileEnd = totalSize ?? Infinity;
  let fmt: FmtChunk | undefined;
  let factSamples: number | undefined;
  let data: { offset: number; size: number } | undefined;
  let pos = 12;
  for (;;) {
    if (fmt && data) break;
    if (pos + 8 > bytes.length) {
      if (!complete && pos + 8 <= fileEnd) return undefined;
      break;
    }
    const id = readTag(bytes, pos);
    if (!isChunkId(bytes, pos)) {
      // Junk where a chunk header should be: whatever follows cannot be trusted.
      break;
    }
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === "data") {
      data = { offset: body, size };
      if (fmt) break;
    } else if (id === "fmt " || id === "fact") {
      if (body + size > bytes.length) {
        if (!complete && body + size <= fileEnd) return undefined;
        throw new WavError(`Cannot parse WAV: "${id.trim()}" chunk is cut short`, "malformed");
      }
      if (id === "fmt ") fmt = parseFmt(bytes.subarray(body, body + size));
      else if (size >= 4) factSamples = view.getUint32(body, true);
    }
    pos = nextChunk(bytes, body, size);
  }
  if (!fmt) {
    throw new WavError('Cannot parse WAV: no "fmt " chunk before the end of the file', "malformed");
  }
  if (!data) {
    if (!complete) return undefined;
    throw new WavError('Cannot parse WAV: no "data" chunk', "malformed");
  }
  // A streamed prefix without a known file size cannot say where the data ends: trust the header.
  const size = totalSize ?? (complete ? bytes.length : Infinity);
  const available = Math.max(0, size - data.offset);
  return {
    ...fmt,
    ...(factSamples === undefined ? {} : { factSamples }),
    dataOffset: data.offset,
    dataLength: Math.min(data.size, available),
    declaredDataLength: data.size,
  };
}

// RIFF pads odd-sized chunks to even offsets, but some writers forget the pad byte. Prefer the
// position where a well-known chunk starts, then one that merely looks like a chunk id.
function nextChunk(bytes: Uint8Array, body: number, size: number): number {
  const unpadded = body + size;
  if ((size & 1) === 0) return unpadded;
  const padded = unpadded + 1;
  if (KNOWN_CHUNKS.has(tagAt(bytes, padded))) return padded;
  if (KNOWN_CHUNKS.has(tagAt(bytes, unpadded))) return unpadded;
  if (isChunkId(bytes, padded) || !isChunkId(bytes, unpadded)) return padded;
  return unpadded;
}

const KNOWN_CHUNKS = new Set([
  "fmt ",
  "data",
  "fact",
  "LIST",
  "JUNK",
  "PAD ",
  "cue ",
  "bext",
  "smpl",
  "inst",
  "id3 ",
  "ID3 ",
  "iXML",
  "plst",
  "labl",
]);

function tagAt(bytes: Uint8Array, at: number): string {
  return at + 4 <= bytes.length ? readTag(bytes, at) : "";
}

function parseFmt(fmt: Uint8Array): FmtChunk {
  if (fmt.length < 16) {
    throw new WavError(
      `Cannot parse WAV: "fmt " chunk has "${fmt.length}" bytes, needs 16`,
      "malformed",
    );
  }
  const view = new DataView(fmt.buffer, fmt.byteOffset, fmt.byteLength);
  let formatTag = view.getUint16(0, true);
  const channels = view.getUint16(2, true);
  const sampleRate = view.getUint32(4, true);
  const byteRate = view.getUint32(8, true);
  const blockAlign = view.getUint16(12, true);
  const bitsPerSample = view.getUint16(14, true);
  const extSize = fmt.length >= 18 ? view.getUint16(16, true) : 0;
  let samplesPerBlock: number | undefined;
  if (formatTag === WAVE_FORMAT_EXTENSIBLE) {
    // cbSize ≥ 22: valid bits (2), channel mask (4), then the sub-format GUID whose first two
    // bytes are the real format tag.
    if (fmt.length < 40 || extSize < 22) {
      throw new WavError(
        "Cannot parse WAV: WAVE_FORMAT_EXTENSIBLE header is too short",
        "malformed",
      );
    }
    formatTag = view.getUint16(24, true);
    samplesPerBlock = view.getUint16(18, true) || undefined;
    if (formatTag === WAVE_FORMAT_PCM || formatTag === WAVE_FORMAT_IEEE_FLOAT) {
      samplesPerBlock = undefined; // that field is "valid bits per sample" for PCM
    }
  } else if (extSize >= 2 && fmt.length >= 20) {
    samplesPerBlock = view.getUint16(18, true);
  }
  if (channels === 0) throw new WavError("Cannot parse WAV: zero channels", "malformed");
  return {
    formatTag,
    channels,
    sampleRate,
    byteRate,
    blockAlign,
    bitsPerSample,
    ...(samplesPerBlock === undefined ? {} : { samplesPerBlock }),
  };
}

function isChunkId(bytes: Uint8Array, at: number): boolean {
  if (at + 4 > bytes.length) return false;
  for (let i = at; i < at + 4; i++) {
    const c = bytes[i];
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

function readTag(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

// A prefix shorter than the 12-byte RIFF header that does not yet contradict it.
function couldBeWavStart(bytes: Uint8Array): boolean {
  const magic = "RIFF????WAVE";
  for (let i = 0; i < bytes.length; i++) {
    if (magic[i] !== "?" && bytes[i] !== magic.charCodeAt(i)) return false;
  }
  return true;
}

function writeTag(bytes: Uint8Array, at: number, tag: string): void {
  for (let i = 0; i < 4; i++) bytes[at + i] = tag.charCodeAt(i);
}
