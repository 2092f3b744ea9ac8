/**
 * A deterministic corpus of malformed and hostile voicemail messages, generated in code: the
 * damage real message stores and broken senders produce (no or duplicate Message-IDs, 8-bit and
 * huge headers, truncated base64, lying WAV sizes, broken multiparts, deep forward chains, NUL
 * bytes, dates out of range, absurd Content-Duration). Used by tests/malformed_test.ts against the
 * lab's servers and as seeds by the parsers' property-based tests. Pure: no I/O.
 * @module
 */

/** One corpus message: a stable name, its raw bytes, and the INTERNALDATE to append it with. */
export interface CorpusMessage {
  name: string;
  bytes: Uint8Array;
  date: Date;
  flags: string[];
}

/** Audio encodings the corpus writes into WAV files. */
export type CorpusAudio = "gsm" | "mulaw";

/** Lies a WAV header can tell about its sizes. */
export interface WavLies {
  /** Value written in the RIFF size field instead of the true one. */
  riffSize?: number;
  /** Value written in the data chunk's size field instead of the true one. */
  dataSize?: number;
}

/** A small deterministic PRNG (mulberry32), so the corpus is the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A WAV of `seconds` of noise-like audio: GSM 6.10 (WAV49) or µ-law, 8 kHz mono. */
export function makeWav(
  audio: CorpusAudio,
  seconds: number,
  opts: WavLies & { seed?: number } = {},
): Uint8Array {
  const rand = prng(opts.seed ?? 1);
  const gsm = audio === "gsm";
  const dataLength = gsm ? Math.ceil((seconds * 8000) / 320) * 65 : Math.round(seconds * 8000);
  const fmtSize = gsm ? 20 : 16;
  const factSize = gsm ? 12 : 0;
  const headerLength = 12 + 8 + fmtSize + factSize + 8;
  const out = new Uint8Array(headerLength + dataLength);
  const view = new DataView(out.buffer);
  const tag = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  tag(0, "RIFF");
  view.setUint32(4, opts.riffSize ?? out.length - 8, true);
  tag(8, "WAVE");
  tag(12, "fmt ");
  view.setUint32(16, fmtSize, true);
  view.setUint16(20, gsm ? 0x0031 : 0x0007, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, 8000, true);
  view.setUint32(28, gsm ? 1625 : 8000, true);
  view.setUint16(32, gsm ? 65 : 1, true);
  view.setUint16(34, gsm ? 0 : 8, true);
  let at = 36;
  if (gsm) {
    view.setUint16(36, 2, true);
    view.setUint16(38, 320, true);
    tag(40, "fact");
    view.setUint32(44, 4, true);
    view.setUint32(48, (dataLength / 65) * 320, true);
    at = 52;
  }
  tag(at, "data");
  view.setUint32(at + 4, opts.dataSize ?? dataLength, true);
  for (let i = headerLength; i < out.length; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

/** Base64 in 76-character lines joined with CRLF, as mailers write it. */
export function base64Lines(data: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < data.length; i += 0x8000) {
    binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
  }
  return (btoa(binary).match(/.{1,76}/g) ?? []).join("\r\n");
}

/** Options of {@link vpim}: what the built message holds. */
export interface VpimOptions {
  /** Message-ID with brackets; null leaves the field out. */
  messageId?: string | null;
  date?: string | null;
  from?: string;
  subject?: string;
  /** Extra raw header lines (without line breaks), placed before MIME-Version. */
  extraHeaders?: string[];
  /** The audio part's body text (already transfer-encoded); default a base64 WAV. */
  audioBody?: string;
  wav?: Uint8Array;
  contentDuration?: string | null;
  boundary?: string;
  /** Leave out the closing delimiter. */
  unterminated?: boolean;
}

/** A VPIM voice message (multipart/voice-message, one audio/wav part) as CRLF text. */
export function vpimText(opts: VpimOptions = {}): string {
  const boundary = opts.boundary ?? "vpim-boundary-1";
  const head = [
    `From: ${opts.from ?? '"Caller 4100" <4100@mss1.example>'}`,
    "To: 4021@mss1.example",
    `Subject: ${opts.subject ?? "Voice message"}`,
    ...(opts.date === null ? [] : [`Date: ${opts.date ?? "Mon, 03 Mar 2025 10:15:00 +0000"}`]),
    ...(opts.messageId === null ? [] : [`Message-ID: ${opts.messageId ?? "<corpus.1@mss1>"}`]),
    ...(opts.extraHeaders ?? []),
    "MIME-Version: 1.0",
    `Content-Type: multipart/voice-message; boundary="${boundary}"; version=2.0`,
  ];
  const duration = opts.contentDuration === undefined ? "2" : opts.contentDuration;
  const audio = opts.audioBody ?? base64Lines(opts.wav ?? makeWav("gsm", 2));
  const part = [
    `--${boundary}`,
    "Content-Type: audio/wav",
    "Content-Transfer-Encoding: base64",
    "Content-Disposition: inline; voice=Voice-Message; filename=msg.wav",
    ...(duration === null ? [] : [`Content-Duration: ${duration}`]),
    "",
    audio,
  ];
  const tail = opts.unterminated ? [] : [`--${boundary}--`, ""];
  return [...head, "", ...part, ...tail].join("\r\n");
}

/** {@link vpimText} as bytes (Latin-1: every char code below 256 is one byte). */
export function vpim(opts: VpimOptions = {}): Uint8Array {
  return latin1(vpimText(opts));
}

/** Text whose char codes are all below 256, as those bytes. */
export function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

function concatBytes(...chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** A forward chain `depth` messages deep: each message/rfc822 part holds the previous one. */
export function forwardChain(depth: number, id = "chain"): Uint8Array {
  let inner = vpimText({ messageId: `<${id}.0@mss1>`, subject: "Original" });
  for (let level = 1; level <= depth; level++) {
    const b = `fwd-${level}`;
    inner = [
      `From: ${4100 + level}@mss1.example`,
      "To: 4021@mss1.example",
      `Subject: Fwd level ${level}`,
      `Date: Mon, 03 Mar 2025 10:${String(15 + level).padStart(2, "0")}:00 +0000`,
      `Message-ID: <${id}.${level}@mss1>`,
      "MIME-Version: 1.0",
      `Content-Type: multipart/voice-message; boundary="${b}"`,
      "",
      `--${b}`,
      "Content-Type: audio/wav",
      "Content-Transfer-Encoding: base64",
      "Content-Disposition: inline; voice=Voice-Message",
      "",
      base64Lines(makeWav("mulaw", 0.5, { seed: level })),
      `--${b}`,
      "Content-Type: message/rfc822",
      "",
      inner,
      `--${b}--`,
      "",
    ].join("\r\n");
  }
  return latin1(inner);
}

const BASE_DATE = Date.UTC(2025, 2, 3, 10, 15, 0);

/**
 * The corpus. Names are stable; each message is distinct in bytes except the pair of
 * byte-identical deliveries, which must stay two messages on the mirror.
 */
export function malformedCorpus(): CorpusMessage[] {
  const list: { name: string; bytes: Uint8Array; date?: Date; flags?: string[] }[] = [];
  const add = (name: string, bytes: Uint8Array, extra: { date?: Date; flags?: string[] } = {}) =>
    list.push({ name, bytes, ...extra });
  const wav = (seed: number) => makeWav("gsm", 2, { seed });

  add("no-message-id", vpim({ messageId: null, wav: wav(1) }));
  add("no-message-id-twin", vpim({ messageId: null, wav: wav(2) }));
  add("duplicate-id-a", vpim({ messageId: "<dup@mss1>", wav: wav(3), subject: "First" }));
  add("duplicate-id-b", vpim({ messageId: "<dup@mss1>", wav: wav(4), subject: "Second" }));
  const twin = vpim({ messageId: "<same-bytes@mss1>", wav: wav(5) });
  // Two callers' systems delivered the same bytes in the same second: two messages all the same.
  const twinDate = new Date(BASE_DATE - 3_600_000);
  add("identical-delivery-1", twin, { date: twinDate });
  add("identical-delivery-2", twin, { date: twinDate });
  add(
    "utf8-headers",
    concatBytes(
      new TextEncoder().encode(
        vpimText({
          messageId: "<utf8@mss1>",
          from: '"Zoë Ærø 山田" <4100@mss1.example>',
          subject: "Rückruf bitte — 東京",
          wav: wav(6),
        }),
      ),
    ),
  );
  add(
    "latin1-headers",
    latin1(vpimText({
      messageId: "<latin1@mss1>",
      from: '"Zo\xeb M\xfcller" <4100@mss1.example>',
      subject: "R\xfcckruf \xe0 propos",
      wav: wav(7),
    })),
  );
  add(
    "header-line-2mb",
    vpim({
      messageId: "<longheader@mss1>",
      extraHeaders: [`X-Junk: ${"A".repeat(2 * 1024 * 1024)}`],
      wav: wav(8),
    }),
  );
  // Over the 4 MB streaming threshold, with the first megabyte all one header line.
  add(
    "streamed-header-line-3mb",
    vpim({
      messageId: "<streamed-longheader@mss1>",
      extraHeaders: [`X-Junk: ${"B".repeat(3 * 1024 * 1024)}`],
      wav: makeWav("mulaw", 100, { seed: 21 }),
      contentDuration: "100",
    }),
  );
  const b64 = base64Lines(makeWav("gsm", 3, { seed: 9 }));
  add(
    "truncated-base64",
    vpim({ messageId: "<truncb64@mss1>", audioBody: b64.slice(0, Math.floor(b64.length / 2) + 1) }),
  );
  const gsmLength = makeWav("gsm", 2).length;
  add(
    "riff-larger",
    vpim({
      messageId: "<riff-larger@mss1>",
      wav: makeWav("gsm", 2, { seed: 10, riffSize: 50_000_000, dataSize: 49_999_000 }),
    }),
  );
  add(
    "riff-smaller",
    vpim({
      messageId: "<riff-smaller@mss1>",
      wav: makeWav("mulaw", 2, { seed: 11, riffSize: 100, dataSize: 64 }),
    }),
  );
  add(
    "riff-zero",
    vpim({
      messageId: "<riff-zero@mss1>",
      wav: makeWav("gsm", 2, { seed: 12, riffSize: 0, dataSize: 0 }),
    }),
  );
  add(
    "riff-ffffffff",
    vpim({
      messageId: "<riff-ff@mss1>",
      wav: makeWav("mulaw", 2, { seed: 13, riffSize: 0xffffffff, dataSize: 0xffffffff }),
      contentDuration: null,
    }),
  );
  add(
    "riff-not-a-wav",
    vpim({
      messageId: "<riff-garbage@mss1>",
      audioBody: base64Lines(latin1("RIFF".repeat(gsmLength))),
    }),
  );
  add("unterminated-multipart", vpim({ messageId: "<unterminated@mss1>", unterminated: true }));
  add("forward-chain-10-deep", forwardChain(10));
  add(
    "empty-body",
    latin1(
      "From: 4100@mss1.example\r\nTo: 4021@mss1.example\r\nSubject: empty\r\n" +
        "Message-ID: <empty@mss1>\r\nDate: Mon, 03 Mar 2025 10:15:00 +0000\r\n\r\n",
    ),
  );
  add(
    "nul-bytes",
    latin1(vpimText({
      messageId: "<nul@mss1>",
      subject: "nul\x00in\x00subject",
      extraHeaders: ["X-Nul: a\x00b"],
      audioBody: "UklGRg\x00\x00AAAA\r\n\x00\x00\x00",
    })),
  );
  // Date headers only: the lab's Dovecot cannot keep such an INTERNALDATE (an APPEND in 2099
  // is stored as the arrival time; one in 1901 reads back as 1901, then the arrival time, then
  // 2038 on later FETCHes), so production itself would not hold a stable date to mirror.
  add(
    "date-1901",
    vpim({ messageId: "<y1901@mss1>", date: "Fri, 13 Dec 1901 20:45:52 +0000", wav: wav(14) }),
  );
  add(
    "date-2099",
    vpim({ messageId: "<y2099@mss1>", date: "Thu, 31 Dec 2099 23:59:59 +0000", wav: wav(15) }),
  );
  add(
    "duration-negative",
    vpim({ messageId: "<dur-neg@mss1>", contentDuration: "-30", wav: wav(16) }),
  );
  add(
    "duration-huge",
    vpim({ messageId: "<dur-huge@mss1>", contentDuration: "99999999999999999999", wav: wav(17) }),
  );
  add(
    "duration-huge-no-audio-header",
    vpim({
      messageId: "<dur-huge-raw@mss1>",
      contentDuration: "999999999",
      audioBody: base64Lines(latin1("not audio at all")),
    }),
  );
  add(
    "no-content-type",
    latin1(
      "From: 4100@mss1.example\r\nSubject: no type\r\nMessage-ID: <notype@mss1>\r\n" +
        "Date: Mon, 03 Mar 2025 10:15:00 +0000\r\nMIME-Version: 1.0\r\n\r\nplain body\r\n",
    ),
  );
  add(
    "garbage-content-type",
    latin1(
      vpimText({ messageId: "<badtype@mss1>", wav: wav(18) }).replace(
        /^Content-Type: multipart\/voice-message[^\r]*/m,
        'Content-Type: ;;;"\\(((/// boundary=',
      ),
    ),
  );
  add(
    "boundary-never-appears",
    latin1(
      vpimText({ messageId: "<noboundary@mss1>", wav: wav(19) }).replace(
        'boundary="vpim-boundary-1"',
        'boundary="never-used-anywhere"',
      ),
    ),
  );
  add(
    "bare-lf",
    latin1(vpimText({ messageId: "<bare-lf@mss1>", wav: wav(20) }).replace(/\r\n/g, "\n")),
  );
  add(
    "headers-only",
    latin1(
      "From: 4100@mss1.example\r\nSubject: only headers\r\nMessage-ID: <headers-only@mss1>\r\n" +
        "Date: Mon, 03 Mar 2025 10:15:00 +0000",
    ),
  );
  add(
    "nested-multipart-no-boundaries",
    latin1(
      "From: 4100@mss1.example\r\nMessage-ID: <nested-nob@mss1>\r\nMIME-Version: 1.0\r\n" +
        "Content-Type: multipart/mixed\r\n\r\n--\r\n--\r\n--\r\n",
    ),
  );
  return list.map((m, i) => ({
    name: m.name,
    bytes: m.bytes,
    date: m.date ?? new Date(BASE_DATE - i * 60_000),
    flags: m.flags ?? (i % 3 === 0 ? ["\\Seen"] : i % 3 === 1 ? [] : ["\\Seen", "\\Flagged"]),
  }));
}
