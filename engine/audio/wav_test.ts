import assert from "node:assert/strict";
import {
  parseWav,
  pcmWavHeader,
  tryParseWavHeader,
  wavDurationSeconds,
  WAVE_FORMAT_ALAW,
  WAVE_FORMAT_EXTENSIBLE,
  WAVE_FORMAT_GSM610,
  WAVE_FORMAT_MSN_AUDIO,
  WAVE_FORMAT_MULAW,
  WAVE_FORMAT_PCM,
  WavError,
  type WavErrorKind,
} from "./wav.ts";

type Chunk = [id: string, body: Uint8Array, options?: { size?: number; noPad?: boolean }];

// Builds a RIFF/WAVE file from chunks; `size` overrides a chunk's declared size, `noPad` drops
// the pad byte after an odd-sized chunk (a common writer bug).
function riff(chunks: Chunk[], trailer = new Uint8Array(0)): Uint8Array {
  const parts: number[] = [];
  for (const [id, body, options] of chunks) {
    parts.push(...ascii(id), ...u32(options?.size ?? body.length), ...body);
    if (body.length & 1 && !options?.noPad) parts.push(0);
  }
  return new Uint8Array([
    ...ascii("RIFF"),
    ...u32(4 + parts.length),
    ...ascii("WAVE"),
    ...parts,
    ...trailer,
  ]);
}

function fmt(
  tag: number,
  channels: number,
  rate: number,
  blockAlign: number,
  bits: number,
  ext?: number[],
) {
  const base = [
    ...u16(tag),
    ...u16(channels),
    ...u32(rate),
    ...u32(rate * blockAlign),
    ...u16(blockAlign),
    ...u16(bits),
  ];
  return new Uint8Array(ext ? [...base, ...u16(ext.length), ...ext] : base);
}

function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}
function u16(n: number): number[] {
  return [n & 0xff, (n >> 8) & 0xff];
}
function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

function assertWavError(fn: () => unknown, kind: WavErrorKind, message: RegExp): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof WavError);
    assert.equal(e.name, "WavError");
    assert.equal(e.kind, kind);
    assert.match(e.message, message);
    return true;
  });
}

const MULAW_FMT = fmt(WAVE_FORMAT_MULAW, 1, 8000, 1, 8, []);
const GSM_FMT = fmt(WAVE_FORMAT_GSM610, 1, 8000, 65, 0, u16(320));
const SUBFORMAT_TAIL = [
  0x00,
  0x00,
  0x00,
  0x00,
  0x10,
  0x00,
  0x80,
  0x00,
  0x00,
  0xaa,
  0x00,
  0x38,
  0x9b,
  0x71,
];

Deno.test("parseWav() reads the header pcmWavHeader() writes", () => {
  const wav = new Uint8Array([...pcmWavHeader(3, 8000), 1, 0, 2, 0, 3, 0]);
  assert.deepEqual(parseWav(wav), {
    formatTag: WAVE_FORMAT_PCM,
    channels: 1,
    sampleRate: 8000,
    byteRate: 16000,
    blockAlign: 2,
    bitsPerSample: 16,
    dataOffset: 44,
    dataLength: 6,
    declaredDataLength: 6,
  });
  const view = new DataView(wav.buffer);
  assert.equal(view.getUint32(4, true), wav.length - 8);
  assert.throws(() => pcmWavHeader(-1, 8000), RangeError);
  assert.throws(() => pcmWavHeader(2 ** 31, 8000), RangeError);
});

Deno.test("parseWav() reads GSM fmt extension and fact chunk", () => {
  const wav = riff([["fmt ", GSM_FMT], ["fact", new Uint8Array(u32(600))], [
    "data",
    new Uint8Array(130),
  ]]);
  const info = parseWav(wav);
  assert.equal(info.formatTag, WAVE_FORMAT_GSM610);
  assert.equal(info.blockAlign, 65);
  assert.equal(info.samplesPerBlock, 320);
  assert.equal(info.factSamples, 600);
  assert.equal(info.dataLength, 130);
  // Duration counts whole blocks × 320, not the fact chunk's claim (sox does the same).
  assert.equal(wavDurationSeconds(info), 640 / 8000);
});

Deno.test("parseWav() rejects what is not a WAV", () => {
  assertWavError(() => parseWav(new Uint8Array(0)), "not-wav", /not a RIFF\/WAVE file/);
  assertWavError(
    () => parseWav(new TextEncoder().encode("<html>hello</html>")),
    "not-wav",
    /no RIFF\/WAVE magic/,
  );
  const avi = riff([]);
  avi.set(ascii("AVI "), 8);
  assertWavError(() => parseWav(avi), "not-wav", /no RIFF\/WAVE magic/);
  const rifx = riff([["fmt ", MULAW_FMT], ["data", new Uint8Array(2)]]);
  rifx.set(ascii("RIFX"), 0);
  assertWavError(() => parseWav(rifx), "unsupported", /RIFX/);
});

Deno.test("parseWav() reports a missing data chunk, a missing or short fmt chunk", () => {
  assertWavError(() => parseWav(riff([["fmt ", MULAW_FMT]])), "malformed", /no "data" chunk/);
  assertWavError(
    () => parseWav(riff([["data", new Uint8Array(4)]])),
    "malformed",
    /no "fmt " chunk/,
  );
  assertWavError(
    () => parseWav(riff([["fmt ", new Uint8Array(14)], ["data", new Uint8Array(4)]])),
    "malformed",
    /"14" bytes, needs 16/,
  );
  const cut = riff([["fmt ", MULAW_FMT]]).subarray(0, 30);
  assertWavError(() => parseWav(cut), "malformed", /"fmt" chunk is cut short/);
});

Deno.test("parseWav() skips odd-sized chunks with or without their pad byte", () => {
  const list = new Uint8Array(ascii("INFOISFT\x05\x00\x00\x00sox!\x00"));
  assert.equal(list.length & 1, 1);
  for (const noPad of [false, true]) {
    // 65 data bytes: the size's low byte is "A", so one byte past "data" also looks like an id.
    const data = new Uint8Array(65);
    data.set([1, 2, 3]);
    const wav = riff([["fmt ", MULAW_FMT], ["LIST", list, { noPad }], ["data", data]]);
    const info = parseWav(wav);
    assert.equal(info.formatTag, WAVE_FORMAT_MULAW, `noPad ${noPad}`);
    assert.equal(info.dataLength, 65);
    assert.deepEqual([...wav.subarray(info.dataOffset, info.dataOffset + 3)], [1, 2, 3]);
  }
});

Deno.test("parseWav() cuts a data size larger than the file and ignores trailing junk", () => {
  const big = riff([["fmt ", MULAW_FMT], ["data", new Uint8Array(100), { size: 0xffffffff }]]);
  const info = parseWav(big);
  assert.equal(info.declaredDataLength, 0xffffffff);
  assert.equal(info.dataLength, 100);
  assert.equal(wavDurationSeconds(info), 100 / 8000);

  const junk = riff(
    [["fmt ", MULAW_FMT], ["data", new Uint8Array(50)]],
    new Uint8Array(999).fill(0xee),
  );
  assert.equal(parseWav(junk).dataLength, 50);
  const list = riff([["fmt ", MULAW_FMT], ["data", new Uint8Array(50)], [
    "LIST",
    new Uint8Array(8),
  ]]);
  assert.equal(parseWav(list).dataLength, 50);
});

Deno.test("parseWav() finds fmt after data and skips unknown chunks", () => {
  const wav = riff([["JUNK", new Uint8Array(28)], ["data", new Uint8Array(10)], [
    "fmt ",
    MULAW_FMT,
  ]]);
  const info = parseWav(wav);
  assert.equal(info.formatTag, WAVE_FORMAT_MULAW);
  assert.equal(info.dataOffset, 12 + 36 + 8);
  assert.equal(info.dataLength, 10);
});

Deno.test("parseWav() reads WAVE_FORMAT_EXTENSIBLE as its sub-format", () => {
  // cbSize 22: valid bits, channel mask, then the GUID whose first two bytes are the format tag.
  const ext = (
    tag: number,
    validBits: number,
  ) => [...u16(validBits), ...u32(4), ...u16(tag), ...SUBFORMAT_TAIL];
  const pcm = riff([
    ["fmt ", fmt(WAVE_FORMAT_EXTENSIBLE, 1, 8000, 2, 16, ext(WAVE_FORMAT_PCM, 16))],
    ["data", new Uint8Array(8)],
  ]);
  const pcmInfo = parseWav(pcm);
  assert.equal(pcmInfo.formatTag, WAVE_FORMAT_PCM);
  assert.equal(pcmInfo.bitsPerSample, 16);
  assert.equal(pcmInfo.samplesPerBlock, undefined);

  const alaw = riff([
    ["fmt ", fmt(WAVE_FORMAT_EXTENSIBLE, 1, 8000, 1, 8, ext(WAVE_FORMAT_ALAW, 8))],
    ["data", new Uint8Array(8)],
  ]);
  assert.equal(parseWav(alaw).formatTag, WAVE_FORMAT_ALAW);

  const short = riff([["fmt ", fmt(WAVE_FORMAT_EXTENSIBLE, 1, 8000, 2, 16, [0, 0])], [
    "data",
    new Uint8Array(8),
  ]]);
  assertWavError(() => parseWav(short), "malformed", /EXTENSIBLE header is too short/);
});

Deno.test("wavDurationSeconds() uses the block size when the byte rate is zero", () => {
  const wav = riff([["fmt ", MULAW_FMT], ["data", new Uint8Array(4000)]]);
  new DataView(wav.buffer).setUint32(28, 0, true);
  const info = parseWav(wav);
  assert.equal(info.byteRate, 0);
  assert.equal(wavDurationSeconds(info), 0.5);
  // Neither a byte rate nor a sample rate: the header does not say, which is not "0 seconds".
  assert.equal(wavDurationSeconds({ ...info, sampleRate: 0 }), null);
});

Deno.test("wavDurationSeconds() settles GSM tags, zero fields, the fact fallback and rounding", () => {
  const gsm = parseWav(riff([["fmt ", GSM_FMT], ["data", new Uint8Array(65 * 25)]]));
  assert.equal(wavDurationSeconds(gsm), 1);
  // 0x0032 (MSN Audio) is GSM 6.10 too; GSM's rate, block size and samples per block default
  // to the codec's (8 kHz, 65, 320) when a writer leaves them zero.
  assert.equal(wavDurationSeconds({ ...gsm, formatTag: WAVE_FORMAT_MSN_AUDIO }), 1);
  assert.equal(
    wavDurationSeconds({ ...gsm, sampleRate: 0, blockAlign: 0, samplesPerBlock: undefined }),
    1,
  );
  // With neither byte rate nor block size, the fact chunk's sample count is the last resort.
  const bare = parseWav(riff([["fmt ", MULAW_FMT], ["fact", new Uint8Array(u32(12000))], [
    "data",
    new Uint8Array(10),
  ]]));
  assert.equal(wavDurationSeconds({ ...bare, byteRate: 0, blockAlign: 0 }), 1.5);
  // Exact, not rounded: rounding is the caller's (classifyMessage rounds to milliseconds).
  assert.equal(wavDurationSeconds(bare, { dataBytes: 1 }), 1 / 8000);
});

Deno.test("tryParseWavHeader() asks for more bytes until the data chunk header arrives", () => {
  const wav = riff([["LIST", new Uint8Array(40)], ["fmt ", GSM_FMT], [
    "data",
    new Uint8Array(650),
  ]]);
  const dataOffset = parseWav(wav).dataOffset;
  for (let n = 0; n < dataOffset; n++) {
    assert.equal(tryParseWavHeader(wav.subarray(0, n)), undefined, `prefix of ${n} bytes`);
  }
  const info = tryParseWavHeader(wav.subarray(0, dataOffset));
  assert.equal(info?.dataOffset, dataOffset);
  // Without the file size a prefix cannot cut the data: the declared size stands.
  assert.equal(info?.dataLength, 650);
  assert.equal(
    tryParseWavHeader(wav.subarray(0, dataOffset), { totalSize: dataOffset + 100 })?.dataLength,
    100,
  );
  assertWavError(
    () => tryParseWavHeader(new TextEncoder().encode("RIFX")),
    "not-wav",
    /not a RIFF/,
  );
  assertWavError(
    () => tryParseWavHeader(new TextEncoder().encode("ID3\x04 mp3 data")),
    "not-wav",
    /magic/,
  );
});
