/**
 * Property-based tests (fast-check) of the MIME and voicemail parsers on hostile input: arbitrary
 * bytes and valid VPIM messages with bytes flipped, cut, inserted and duplicated. No exception
 * may escape, no call may hang, and what comes back must make sense (ranges inside the message,
 * durations null or finite and ≥ 0). Runs are bounded and seeded so a failure replays.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeBody,
  decodedLength,
  decodeHeaderWords,
  parseAddress,
  parseContentType,
  parseDate,
  parseDisposition,
  parseHeaders,
  parseMessage,
  parseMessageId,
  type Part,
  topMessageId,
} from "./mime.ts";
import { classifyMessage, type ClassifyOptions, parseContentDuration } from "../voicemail/mod.ts";
import { buildPlaceholder } from "../voicemail/mod.ts";
import {
  forwardChain,
  latin1,
  makeWav,
  malformedCorpus,
  vpim,
} from "../../tests/test_utils/mod.ts";

// Seeded: a failure prints its seed and path, and the same run happens in CI and locally.
const RUNS = { numRuns: 1000, seed: 0x5eed };

const SEEDS: Uint8Array[] = [
  vpim({ messageId: "<seed.1@mss1>" }),
  vpim({ messageId: "<seed.2@mss1>", wav: makeWav("mulaw", 1) }),
  forwardChain(3, "seed"),
  ...malformedCorpus().filter((m) => m.bytes.length < 100_000).map((m) => m.bytes),
];

// Tokens that steer a parser into its rarer branches when spliced into a message.
const TOKENS = [
  "\r\n",
  "\n",
  "\r",
  "\r\n\r\n",
  "--vpim-boundary-1",
  "--vpim-boundary-1--",
  "--",
  "Content-Type: multipart/mixed; boundary=x\r\n",
  "Content-Type: message/rfc822\r\n\r\n",
  "Content-Transfer-Encoding: quoted-printable\r\n",
  "Content-Duration: 4294967296\r\n",
  "=?utf-8?B?",
  "?=",
  "=\r\n",
  "RIFF",
  "WAVE",
  "data",
  "fmt ",
  "\xff\xff\xff\xff",
  "\x00",
  "(",
  '"',
  "<",
].map(latin1);

type Mutation =
  | { op: "flip"; at: number; byte: number }
  | { op: "truncate"; at: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; length: number }
  | { op: "duplicate"; at: number; length: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    op: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.oneof(fc.constantFrom(...TOKENS), fc.uint8Array({ maxLength: 16 })),
  }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), length: fc.nat(200) }),
  fc.record({ op: fc.constant("duplicate" as const), at: fc.nat(), length: fc.nat(2000) }),
);

function mutate(seed: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = seed;
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.op) {
      case "flip":
        if (at < b.length) {
          b = b.slice();
          b[at] = m.byte;
        }
        break;
      case "truncate":
        b = b.subarray(0, at);
        break;
      case "insert":
        b = join(b.subarray(0, at), m.bytes, b.subarray(at));
        break;
      case "delete":
        b = join(b.subarray(0, at), b.subarray(at + m.length));
        break;
      case "duplicate":
        b = join(b.subarray(0, at + m.length), b.subarray(at));
        break;
    }
  }
  return b;
}

function join(...chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Structured-but-broken messages: a valid seed with up to eight mutations. */
const mutatedMessage: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 8 }))
  .map(([seed, ms]) => mutate(seed, ms));

/** Any bytes, biased towards the ones MIME cares about. */
const anyBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }),
  fc.array(fc.oneof(fc.constantFrom(...TOKENS), fc.uint8Array({ maxLength: 8 })), {
    maxLength: 60,
  }).map((chunks) => join(...chunks)),
);

const message = fc.oneof(mutatedMessage, anyBytes);

function checkPart(part: Part, length: number, path: string[] = []): void {
  const where = `part "${part.path}" (${path.join(" > ")})`;
  assert.ok(0 <= part.headerStart && part.headerStart <= part.start, `${where}: header start`);
  assert.ok(part.start <= part.end && part.end <= length, `${where}: body range`);
  assert.equal(typeof part.contentType.type, "string");
  for (const child of part.children) {
    assert.ok(child.headerStart >= part.start && child.end <= part.end, `${where}: child outside`);
    checkPart(child, length, [...path, part.path]);
  }
  if (part.message) {
    assert.ok(part.message.headerStart >= part.start && part.message.end <= part.end);
    checkPart(part.message, length, [...path, part.path]);
  }
}

function isDuration(n: number | null): boolean {
  return n === null || (Number.isFinite(n) && n >= 0);
}

function checkClassified(bytes: Uint8Array, opts?: ClassifyOptions): void {
  const info = classifyMessage(bytes, opts);
  assert.ok(isDuration(info.durationSeconds), `duration ${info.durationSeconds}`);
  assert.ok(info.date === null || Number.isFinite(info.date.getTime()), "date");
  const visit = (parts: typeof info.voiceParts) => {
    for (const p of parts) {
      assert.ok(0 <= p.start && p.start <= p.end && p.end <= bytes.length, "voice part range");
      assert.ok(isDuration(p.seconds) && isDuration(p.claimedSeconds), `seconds ${p.seconds}`);
      assert.ok(isDuration(p.computedSeconds), `computed ${p.computedSeconds}`);
    }
  };
  visit(info.voiceParts);
  const walk = (node: NonNullable<typeof info.chain>) => {
    visit(node.voiceParts);
    assert.ok(isDuration(node.durationSeconds));
    node.children.forEach(walk);
  };
  if (info.chain) walk(info.chain);
  // What the copy path does with an over-length message must work on anything it classified.
  const placeholder = buildPlaceholder(info, {
    reason: "too-long",
    seconds: info.durationSeconds,
    bytes: bytes.length,
    keptAs: "/data/originals/4021/INBOX/1-1.eml",
    hostname: "vmirror.example",
    limitSeconds: 300,
    now: new Date(0),
  });
  const head = parseMessage(placeholder);
  assert.ok(topMessageId(placeholder), "the placeholder has a Message-ID");
  assert.ok(head.headers.every((h) => !/[\r\n]/.test(h.value)), "placeholder header injection");
}

Deno.test("parseMessage() keeps every part's ranges inside the message, whatever the bytes", () => {
  fc.assert(
    fc.property(message, (bytes) => {
      checkPart(parseMessage(bytes), bytes.length);
      checkPart(parseMessage(bytes, { maxDepth: 2, maxParts: 5 }), bytes.length);
    }),
    RUNS,
  );
});

Deno.test("classifyMessage() never throws and reports durations that are null or finite ≥ 0", () => {
  fc.assert(fc.property(message, (bytes) => checkClassified(bytes)), RUNS);
});

Deno.test("classifyMessage() applies broadcast rules to hostile headers without throwing", () => {
  const rules = [{ header: "Subject", pattern: "^broadcast" }, { header: "X-Nul", pattern: "a" }];
  fc.assert(fc.property(message, (bytes) => checkClassified(bytes, { broadcastRules: rules })), {
    ...RUNS,
    numRuns: 100,
  });
});

Deno.test("topMessageId() agrees with a FETCH of the top-level Message-ID field", () => {
  fc.assert(
    fc.property(message, (bytes) => {
      const id = topMessageId(bytes);
      assert.ok(id === null || (typeof id === "string" && id.length > 0));
      // The id is read from the top-level header only: the header section alone gives the same.
      const { headerEnd } = parseHeaders(bytes);
      assert.equal(parseMessageId(bytes.subarray(0, headerEnd)), id);
    }),
    RUNS,
  );
});

Deno.test("decodeBody() and decodedLength() agree and stay within maxBytes on any range", () => {
  const encoding = fc.constantFrom("base64", "quoted-printable", "7bit", "binary", "x-unknown");
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.integer({ min: -10, max: 3100 }),
      fc.integer({ min: -10, max: 3100 }),
      encoding,
      fc.option(fc.nat(4000), { nil: undefined }),
      (bytes, start, end, transferEncoding, maxBytes) => {
        const part = { start, end, transferEncoding };
        const full = decodeBody(bytes, part);
        assert.equal(decodedLength(bytes, part), full.length);
        const capped = decodeBody(bytes, part, { maxBytes });
        assert.ok(capped.length <= (maxBytes ?? Infinity));
        // A prefix decode is a prefix of the full decode (the voice header reader relies on it).
        assert.deepEqual(capped, full.subarray(0, capped.length));
      },
    ),
    RUNS,
  );
});

Deno.test("parseHeaders() ends within the range it was given and yields no line breaks", () => {
  fc.assert(
    fc.property(
      message,
      fc.nat(),
      fc.nat(),
      (bytes, a, b) => {
        const start = a % (bytes.length + 1);
        const end = start + (b % (bytes.length - start + 1));
        const { headers, headerEnd } = parseHeaders(bytes, start, end);
        assert.ok(start <= headerEnd && headerEnd <= end, `headerEnd ${headerEnd}`);
        for (const h of headers) assert.ok(!h.value.includes("\n") && !h.name.includes(":"));
      },
    ),
    RUNS,
  );
});

Deno.test("structured header parsers accept any text", () => {
  const text = fc.oneof(
    fc.string({ unit: "binary", maxLength: 300 }),
    fc.array(
      fc.constantFrom(
        '"',
        "(",
        ")",
        "<",
        ">",
        ",",
        ";",
        ":",
        "\\",
        "=?",
        "?=",
        "=?utf-8?q?",
        "=?x?b?",
        "*0*=",
        "*1=",
        "'",
        "%",
        " ",
        "a",
        "@",
        "\x00",
        "Mon, 1 Jan 1901 00:00:00 +0000",
        "2099",
        "-9999",
      ),
      { maxLength: 80 },
    ).map((p) => p.join("")),
  );
  fc.assert(
    fc.property(text, (s) => {
      for (const a of parseAddress(s)) {
        assert.equal(typeof a.name, "string");
        assert.equal(typeof a.address, "string");
      }
      const d = parseDate(s);
      assert.ok(d === null || Number.isFinite(d.getTime()), `date from "${s}"`);
      assert.equal(typeof decodeHeaderWords(s), "string");
      const ct = parseContentType(s);
      assert.ok(ct.type.length > 0 && ct.subtype.length > 0);
      assert.equal(typeof parseDisposition(s).type, "string");
      const dur = parseContentDuration(s);
      assert.ok(dur === null || (Number.isSafeInteger(dur) && dur >= 0), `duration from "${s}"`);
    }),
    { ...RUNS, numRuns: 1000 },
  );
});

Deno.test("parseDate() reads years 1901 and 2099 and rejects impossible fields", () => {
  assert.equal(
    parseDate("Fri, 13 Dec 1901 20:45:52 +0000")?.toISOString(),
    "1901-12-13T20:45:52.000Z",
  );
  assert.equal(
    parseDate("Thu, 31 Dec 2099 23:59:59 -0100")?.toISOString(),
    "2100-01-01T00:59:59.000Z",
  );
  assert.equal(parseDate("Mon, 32 Jan 2025 10:00:00 +0000"), null);
  assert.equal(parseDate("Mon, 01 Jan 2025 25:00:00 +0000"), null);
});

// Each input is a pathological shape at 2 MB; a parser that is quadratic on any of them takes
// seconds, not milliseconds.
Deno.test("the parsers take well under a second on 2 MB pathological messages", () => {
  const MB2 = 2 * 1024 * 1024;
  const shapes: Record<string, Uint8Array> = {
    "one 2 MB header line": vpim({ extraHeaders: [`X-Junk: ${"A".repeat(MB2)}`] }),
    "2 MB of folded continuation lines": vpim({
      extraHeaders: [`X-Fold: a${"\r\n b".repeat(MB2 / 4)}`],
    }),
    "2 MB of short header fields": latin1("X: y\r\n".repeat(MB2 / 6)),
    "2 MB of dashes at line starts": latin1(
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + "--a\r\n".repeat(MB2 / 5),
    ),
    "2 MB of delimiter lines": latin1(
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + "--b\r\n".repeat(MB2 / 5),
    ),
    "2 MB of nested multipart openings": latin1(
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
        "--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n".repeat(MB2 / 50),
    ),
    "2 MB of nested message/rfc822 headers": latin1(
      "Content-Type: message/rfc822\r\n\r\n".repeat(MB2 / 32),
    ),
    "2 MB of encoded words in a Subject": latin1(
      `Subject: ${"=?utf-8?q?a?= ".repeat(MB2 / 14)}\r\n\r\n`,
    ),
    "2 MB of parentheses in a From": latin1(`From: ${"(".repeat(MB2)}\r\n\r\n`),
    "2 MB of quotes and angles in a To": latin1(`To: ${'"<'.repeat(MB2 / 2)}\r\n\r\n`),
    "2 MB of RFC 2231 continuations": latin1(
      `Content-Type: audio/wav; ${
        Array.from({ length: MB2 / 20 }, (_, i) => `n*${i % 10000}*=%41`).join("; ")
      }\r\n\r\n`,
    ),
    "2 MB bare CRs": latin1("Subject: x" + "\r".repeat(MB2)),
    "2 MB of zero-sized WAV chunks": wavMessage(
      latin1("RIFF\0\0\0\0WAVE" + "JUNK\0\0\0\0".repeat(MB2 / 8)),
    ),
    "2 MB of WAV chunks with fmt last": wavMessage(
      join(
        latin1("RIFF\0\0\0\0WAVE"),
        ...Array.from(
          { length: 60 },
          () => join(latin1("LIST"), u32(30_000), new Uint8Array(30_000)),
        ),
        latin1("fmt \x10\0\0\0\x07\0\x01\0\x40\x1f\0\0\x40\x1f\0\0\x01\0\x08\0data\0\0\0\0"),
      ),
    ),
    "2 MB of many small voice parts": latin1(
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
        "--b\r\nContent-Type: audio/wav\r\nContent-Transfer-Encoding: base64\r\n\r\nUklGRg==\r\n"
          .repeat(MB2 / 80),
    ),
    "2 MB of quoted-printable soft breaks": wavMessage(new Uint8Array(0), "=\r\n".repeat(MB2 / 3)),
  };
  const slow: string[] = [];
  for (const [name, bytes] of Object.entries(shapes)) {
    // The best of three: a machine shared with other jobs must not fail a linear parser, while a
    // quadratic one is slow every time.
    let best = Infinity;
    for (let i = 0; i < 3 && best >= 1000; i++) {
      const t0 = performance.now();
      classifyMessage(bytes);
      topMessageId(bytes);
      best = Math.min(best, performance.now() - t0);
    }
    if (best >= 1000) slow.push(`${name}: ${best.toFixed(0)} ms`);
    checkClassified(bytes);
  }
  assert.deepEqual(slow, []);
});

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

// A one-part voice message around `wav`; `qpBody` replaces the base64 body with raw QP text.
function wavMessage(wav: Uint8Array, qpBody?: string): Uint8Array {
  if (qpBody !== undefined) {
    return latin1(
      "Content-Type: audio/wav\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qpBody,
    );
  }
  return vpim({ wav, contentDuration: null });
}
