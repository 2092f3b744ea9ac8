import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  BroadcastRuleError,
  classifyMessage,
  compileBroadcastRules,
  parseContentDuration,
  sanitizeFilename,
} from "./classify.ts";
import { parseWav, wavDurationSeconds } from "../audio/mod.ts";

// ---------------------------------------------------------------------------------------------
// Builders: WAV files as an MSS stores them, and VPIM messages around them.

interface WavSpec {
  format: number;
  rate?: number;
  channels?: number;
  byteRate: number;
  blockAlign: number;
  bits: number;
  /** The fmt extension after the 16 standard bytes (cbSize and what follows). */
  extension?: number[];
  fact?: number;
  dataBytes: number;
  /** Declared data size when it should differ from the real one. */
  declared?: number;
  /** Size of a LIST chunk placed before the data chunk. */
  list?: number;
}

function wav(spec: WavSpec): Uint8Array {
  const ext = spec.extension ?? [];
  const chunks: Uint8Array[] = [];
  const fmt = new Uint8Array(8 + 16 + ext.length);
  const f = new DataView(fmt.buffer);
  fmt.set([0x66, 0x6d, 0x74, 0x20]); // "fmt "
  f.setUint32(4, 16 + ext.length, true);
  f.setUint16(8, spec.format, true);
  f.setUint16(10, spec.channels ?? 1, true);
  f.setUint32(12, spec.rate ?? 8000, true);
  f.setUint32(16, spec.byteRate, true);
  f.setUint16(20, spec.blockAlign, true);
  f.setUint16(22, spec.bits, true);
  fmt.set(ext, 24);
  chunks.push(fmt);
  if (spec.fact !== undefined) {
    const fact = new Uint8Array(12);
    fact.set([0x66, 0x61, 0x63, 0x74]); // "fact"
    new DataView(fact.buffer).setUint32(4, 4, true);
    new DataView(fact.buffer).setUint32(8, spec.fact, true);
    chunks.push(fact);
  }
  if (spec.list !== undefined) {
    const list = new Uint8Array(8 + spec.list);
    list.set([0x4c, 0x49, 0x53, 0x54]); // "LIST"
    new DataView(list.buffer).setUint32(4, spec.list, true);
    chunks.push(list);
  }
  const data = new Uint8Array(8 + spec.dataBytes);
  data.set([0x64, 0x61, 0x74, 0x61]); // "data"
  new DataView(data.buffer).setUint32(4, spec.declared ?? spec.dataBytes, true);
  for (let i = 8; i < data.length; i++) data[i] = (i * 7) & 0xff;
  chunks.push(data);
  const size = chunks.reduce((n, c) => n + c.length, 4);
  const out = new Uint8Array(8 + size);
  out.set([0x52, 0x49, 0x46, 0x46]); // "RIFF"
  new DataView(out.buffer).setUint32(4, size, true);
  out.set([0x57, 0x41, 0x56, 0x45], 8); // "WAVE"
  let o = 12;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function pcmWav(seconds: number, extra: Partial<WavSpec> = {}): Uint8Array {
  return wav({
    format: 1,
    byteRate: 16000,
    blockAlign: 2,
    bits: 16,
    dataBytes: Math.round(seconds * 16000),
    ...extra,
  });
}

function mulawWav(seconds: number): Uint8Array {
  return wav({ format: 7, byteRate: 8000, blockAlign: 1, bits: 8, dataBytes: seconds * 8000 });
}

// GSM 6.10 "WAV49" as sox writes it: 65-byte blocks of 320 samples, cbSize 2, 320 per block.
function gsmWav(blocks: number, tail = 0): Uint8Array {
  return wav({
    format: 0x31,
    byteRate: 1625,
    blockAlign: 65,
    bits: 0,
    extension: [2, 0, 0x40, 0x01],
    fact: blocks * 320,
    dataBytes: blocks * 65 + tail,
  });
}

function base64Lines(data: Uint8Array): string {
  return Buffer.from(data).toString("base64").replace(/(.{76})/g, "$1\r\n");
}

interface AudioSpec {
  data: Uint8Array;
  type?: string;
  voice?: string;
  duration?: string;
  filename?: string;
  disposition?: string;
}

function audio(spec: AudioSpec): string {
  const lines = [`Content-Type: ${spec.type ?? "audio/wav"}`, "Content-Transfer-Encoding: base64"];
  if (spec.disposition) lines.push(`Content-Disposition: ${spec.disposition}`);
  else {
    let d = "inline";
    if (spec.voice) d += `; voice=${spec.voice}`;
    if (spec.filename) d += `; filename="${spec.filename}"`;
    lines.push(`Content-Disposition: ${d}`);
  }
  if (spec.duration !== undefined) lines.push(`Content-Duration: ${spec.duration}`);
  return `${lines.join("\r\n")}\r\n\r\n${base64Lines(spec.data)}`;
}

function multipart(type: string, boundary: string, parts: string[], close = true): string {
  return `Content-Type: ${type}; boundary="${boundary}"\r\n\r\n` +
    parts.map((p) => `--${boundary}\r\n${p}\r\n`).join("") +
    (close ? `--${boundary}--\r\n` : "");
}

function embedded(message: string): string {
  return `Content-Type: message/rfc822\r\n\r\n${message}`;
}

function message(headers: string[], entity: string): string {
  return `${[...headers, "MIME-Version: 1.0"].join("\r\n")}\r\n${entity}`;
}

function vpim(headers: string[], parts: string[]): Uint8Array {
  return bytes(message(headers, multipart("multipart/voice-message; version=2.0", "vpim", parts)));
}

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

const HEADERS = [
  "From: Jane Roe <4021@mss1.example.com>",
  "To: 4022@mss1.example.com, Bob <4023@mss1.example.com>",
  "Subject: Voice message",
  "Date: Tue, 1 Jul 2003 10:52:37 +0200",
  "Message-ID: <vm1@mss1.example.com>",
];

// ---------------------------------------------------------------------------------------------
// Identity and parts

Deno.test("classifyMessage() reads a multipart/voice-message top level", () => {
  const raw = vpim(HEADERS, [
    audio({ data: pcmWav(1.5), voice: "Originator-Spoken-Name", filename: "name.wav" }),
    audio({ data: mulawWav(12), voice: "Voice-Message", filename: "msg.wav", duration: "12" }),
  ]);
  const c = classifyMessage(raw);
  assert.equal(c.messageId, "<vm1@mss1.example.com>");
  assert.equal(c.date?.toISOString(), "2003-07-01T08:52:37.000Z");
  assert.deepEqual(c.from, { name: "Jane Roe", address: "4021@mss1.example.com" });
  assert.deepEqual(c.to, [
    { name: "", address: "4022@mss1.example.com" },
    { name: "Bob", address: "4023@mss1.example.com" },
  ]);
  assert.equal(c.subject, "Voice message");
  assert.equal(c.voiceParts.length, 2);
  assert.equal(c.spokenName?.partPath, "1");
  assert.equal(c.spokenName?.filename, "name.wav");
  assert.equal(c.spokenName?.seconds, 1.5);
  const [, msg] = c.voiceParts;
  assert.equal(msg.role, "Voice-Message");
  assert.equal(msg.partPath, "2");
  assert.equal(msg.contentType, "audio/wav");
  assert.equal(msg.transferEncoding, "base64");
  assert.equal(msg.claimedSeconds, 12);
  assert.equal(c.durationSeconds, 12, "the spoken name does not count");
  assert.equal(c.chain, null);
  assert.equal(c.urgent, false);
  assert.equal(c.private, false);
  assert.equal(c.broadcast, false);
  assert.equal(new TextDecoder().decode(raw.subarray(msg.start, msg.start + 4)), "UklG");
});

Deno.test("classifyMessage() finds a VPIM message under multipart/mixed", () => {
  const inner = multipart("multipart/voice-message", "inner", [
    audio({ data: mulawWav(3) }),
    audio({ data: mulawWav(4), voice: "Spoken-Subject" }),
  ]);
  const raw = bytes(
    message(
      HEADERS,
      multipart("multipart/mixed", "outer", [
        "Content-Type: text/plain\r\n\r\nYou have a voice message.",
        inner,
      ]),
    ),
  );
  const c = classifyMessage(raw);
  assert.deepEqual(c.voiceParts.map((p) => [p.partPath, p.role]), [
    ["2.1", "Voice-Message"],
    ["2.2", "Spoken-Subject"],
  ]);
  assert.equal(c.durationSeconds, 3);
});

Deno.test("classifyMessage() treats a part without a voice parameter as Voice-Message", () => {
  const raw = vpim(HEADERS, [
    audio({ data: mulawWav(2), type: "audio/x-wav", disposition: "attachment" }),
    audio({ data: mulawWav(2), type: "audio/vnd.wave", voice: "voice-message-notification" }),
    audio({ data: mulawWav(2), type: "audio/wave" }),
  ]);
  const c = classifyMessage(raw);
  assert.deepEqual(c.voiceParts.map((p) => p.role), [
    "Voice-Message",
    "Voice-Message",
    "Voice-Message",
  ]);
  assert.equal(c.durationSeconds, 6);
});

Deno.test("classifyMessage() ignores parts that are not voice", () => {
  const raw = vpim(HEADERS, [
    "Content-Type: image/tiff\r\nContent-Transfer-Encoding: base64\r\n\r\nSUkqAA==",
    "Content-Type: text/directory\r\n\r\nBEGIN:VCARD\r\nEND:VCARD",
    "Content-Type: audio/mpeg\r\nContent-Transfer-Encoding: base64\r\n\r\nSUQz",
  ]);
  const c = classifyMessage(raw);
  assert.deepEqual(c.voiceParts, []);
  assert.equal(c.durationSeconds, null);
  assert.equal(c.spokenName, null);
});

Deno.test("classifyMessage() reads a single-part audio message", () => {
  const raw = bytes(message(HEADERS, audio({ data: mulawWav(9), duration: "9" })));
  const c = classifyMessage(raw);
  assert.equal(c.voiceParts[0].partPath, "1");
  assert.equal(c.durationSeconds, 9);
});

// ---------------------------------------------------------------------------------------------
// Durations

Deno.test("classifyMessage() takes the duration from the WAV header when Content-Duration is absent", () => {
  const c = classifyMessage(vpim(HEADERS, [audio({ data: pcmWav(7.25) })]));
  const [p] = c.voiceParts;
  assert.equal(p.claimedSeconds, null);
  assert.equal(p.computedSeconds, 7.25);
  assert.equal(p.seconds, 7.25);
  assert.equal(p.durationSource, "audio-header");
  assert.equal(c.durationSeconds, 7.25);
});

Deno.test("classifyMessage() keeps a plausible Content-Duration", () => {
  // 31 s claimed, 32.5 s of audio: within max(2 s, 10 %).
  const c = classifyMessage(vpim(HEADERS, [audio({ data: mulawWav(32.5), duration: "31" })]));
  assert.equal(c.voiceParts[0].seconds, 31);
  assert.equal(c.voiceParts[0].durationSource, "content-duration");
  // 100 s claimed, 109 s of audio: 9 s off, but within 10 %.
  const long = classifyMessage(vpim(HEADERS, [audio({ data: mulawWav(109), duration: "100" })]));
  assert.equal(long.durationSeconds, 100);
});

Deno.test("classifyMessage() replaces an implausible Content-Duration with the WAV header's", () => {
  const c = classifyMessage(vpim(HEADERS, [audio({ data: mulawWav(30), duration: "3" })]));
  assert.equal(c.voiceParts[0].claimedSeconds, 3);
  assert.equal(c.voiceParts[0].seconds, 30);
  assert.equal(c.voiceParts[0].durationSource, "audio-header");
  // 4 s of audio claimed as 1 s: less than 10 % would allow, but more than 2 s off.
  const short = classifyMessage(vpim(HEADERS, [audio({ data: mulawWav(4), duration: "1" })]));
  assert.equal(short.durationSeconds, 4);
});

Deno.test("classifyMessage() uses Content-Duration when the audio has no readable header", () => {
  // As many bytes as 40 s of GSM 6.10 would take: the claim is plausible for the part's size.
  const c = classifyMessage(
    vpim(HEADERS, [audio({ data: bytes("not a wav file".repeat(5000)), duration: "40" })]),
  );
  assert.equal(c.voiceParts[0].computedSeconds, null);
  assert.equal(c.durationSeconds, 40);
  const none = classifyMessage(vpim(HEADERS, [audio({ data: bytes("not a wav file") })]));
  assert.equal(none.durationSeconds, null);
});

Deno.test("classifyMessage() ignores a Content-Duration longer than the part could hold", () => {
  // 14 bytes cannot hold 40 s of any voice codec, nor 14 KB a day.
  const tiny = classifyMessage(
    vpim(HEADERS, [audio({ data: bytes("not a wav file"), duration: "40" })]),
  );
  assert.equal(tiny.durationSeconds, null);
  const huge = classifyMessage(
    vpim(HEADERS, [audio({ data: bytes("not a wav file".repeat(1000)), duration: "86400" })]),
  );
  assert.equal(huge.durationSeconds, null);
  // With readable audio the header's length stands.
  const wav = classifyMessage(vpim(HEADERS, [audio({ data: mulawWav(5), duration: "999999" })]));
  assert.equal(wav.durationSeconds, 5);
});

Deno.test("classifyMessage() ignores an invalid Content-Duration", () => {
  for (const bad of ["ten", "-5", "4.5", "", "99999999999"]) {
    const c = classifyMessage(vpim(HEADERS, [audio({ data: mulawWav(5), duration: bad })]));
    assert.equal(c.voiceParts[0].claimedSeconds, null, bad);
    assert.equal(c.durationSeconds, 5, bad);
  }
  assert.equal(parseContentDuration(" 42 (seconds)"), 42);
});

Deno.test("classifyMessage() reads µ-law WAV at 8,000 bytes a second", () => {
  const c = classifyMessage(vpim(HEADERS, [audio({ data: mulawWav(21) })]));
  assert.equal(c.durationSeconds, 21);
  const h = parseWav(mulawWav(1));
  assert.equal(h.formatTag, 7);
  assert.equal(h.byteRate, 8000);
});

Deno.test("classifyMessage() reads GSM 6.10 WAV (0x0031) as 320 samples per 65-byte block", () => {
  // 250 blocks = 80,000 samples = 10 s; a stray partial block adds nothing.
  const c = classifyMessage(vpim(HEADERS, [audio({ data: gsmWav(250, 30) })]));
  assert.equal(c.durationSeconds, 10);
  const h = parseWav(gsmWav(1));
  assert.equal(h.formatTag, 0x31);
  assert.equal(h.blockAlign, 65);
  assert.equal(h.samplesPerBlock, 320);
  assert.equal(h.factSamples, 320);
  assert.equal(wavDurationSeconds(h, { dataBytes: 65 * 25 }), 1);
});

Deno.test("classifyMessage() reads GSM 6.10 under the MSN Audio tag (0x0032) like 0x0031", () => {
  const msn = gsmWav(250);
  new DataView(msn.buffer).setUint16(20, 0x32, true);
  assert.equal(classifyMessage(vpim(HEADERS, [audio({ data: msn })])).durationSeconds, 10);
});

Deno.test("classifyMessage() skips an odd-sized chunk written without its pad byte", () => {
  // One WAV parser (engine/audio) for the portal and the mirror: its pad-byte heuristic finds the
  // data chunk where always stepping over a pad byte would land one byte inside it.
  const info = new Uint8Array([..."LIST"].map((c) => c.charCodeAt(0)).concat([5, 0, 0, 0]));
  const base = mulawWav(3);
  const at = 12 + 8 + 16; // after RIFF header and fmt chunk
  const odd = new Uint8Array(base.length + info.length + 5);
  odd.set(base.subarray(0, at));
  odd.set(info, at);
  odd.set(new TextEncoder().encode("sox!!"), at + 8);
  odd.set(base.subarray(at), at + 13);
  assert.equal(classifyMessage(vpim(HEADERS, [audio({ data: odd })])).durationSeconds, 3);
});

Deno.test("classifyMessage() falls back to the claim when the WAV header is broken", () => {
  // Zero channels or a truncated WAVE_FORMAT_EXTENSIBLE header make the header malformed for the
  // player; the duration no longer trusts it either, so the sender's claim stands.
  const zeroChannels = wav({
    format: 7,
    channels: 0,
    byteRate: 8000,
    blockAlign: 1,
    bits: 8,
    dataBytes: 8000 * 4,
  });
  const shortExt = wav({
    format: 0xfffe,
    byteRate: 8000,
    blockAlign: 1,
    bits: 8,
    extension: [0, 0],
    dataBytes: 8000 * 4,
  });
  for (const data of [zeroChannels, shortExt]) {
    const c = classifyMessage(vpim(HEADERS, [audio({ data, duration: "4" })]));
    assert.equal(c.voiceParts[0].computedSeconds, null);
    assert.equal(c.durationSeconds, 4);
    assert.equal(c.voiceParts[0].durationSource, "content-duration");
  }
});

Deno.test("classifyMessage() finds a fmt chunk placed after the data chunk", () => {
  const base = mulawWav(2);
  const fmtChunk = base.slice(12, 36);
  const dataChunk = base.slice(36);
  const swapped = new Uint8Array(base.length);
  swapped.set(base.subarray(0, 12));
  swapped.set(dataChunk, 12);
  swapped.set(fmtChunk, 12 + dataChunk.length);
  assert.equal(classifyMessage(vpim(HEADERS, [audio({ data: swapped })])).durationSeconds, 2);
});

Deno.test("classifyMessage() reads raw audio/gsm at 33 bytes per 160 samples", () => {
  const raw = new Uint8Array(33 * 50 * 6); // 6 s of 20 ms frames
  const c = classifyMessage(vpim(HEADERS, [audio({ data: raw, type: "audio/gsm" })]));
  assert.equal(c.durationSeconds, 6);
});

Deno.test("classifyMessage() reads audio/basic as raw µ-law or as a .au file", () => {
  const raw = classifyMessage(
    vpim(HEADERS, [audio({ data: new Uint8Array(8000 * 3), type: "audio/basic" })]),
  );
  assert.equal(raw.durationSeconds, 3);
  const au = new Uint8Array(24 + 8000 * 2);
  au.set([0x2e, 0x73, 0x6e, 0x64]); // ".snd"
  const v = new DataView(au.buffer);
  v.setUint32(4, 24);
  v.setUint32(8, 8000 * 2);
  v.setUint32(12, 1);
  v.setUint32(16, 8000);
  v.setUint32(20, 1);
  const c = classifyMessage(vpim(HEADERS, [audio({ data: au, type: "audio/basic" })]));
  assert.equal(c.durationSeconds, 2);
});

Deno.test("classifyMessage() finds a data chunk behind a large LIST chunk", () => {
  const data = pcmWav(3, { list: 5000 });
  const c = classifyMessage(vpim(HEADERS, [audio({ data })]));
  assert.equal(c.durationSeconds, 3);
});

Deno.test("classifyMessage() measures the data when the WAV header's size is a placeholder", () => {
  const streamed = pcmWav(2, { declared: 0xffffffff });
  assert.equal(classifyMessage(vpim(HEADERS, [audio({ data: streamed })])).durationSeconds, 2);
  const truncated = pcmWav(2, { declared: 16000 * 60 });
  assert.equal(classifyMessage(vpim(HEADERS, [audio({ data: truncated })])).durationSeconds, 2);
});

Deno.test("classifyMessage() handles a multi-megabyte voice part", () => {
  const big = gsmWav(25 * 60 * 40); // 40 minutes, about 3.9 MB of GSM
  const raw = vpim(HEADERS, [audio({ data: big, duration: "2400" })]);
  assert.ok(raw.length > 5_000_000);
  const started = performance.now();
  const c = classifyMessage(raw);
  const elapsed = performance.now() - started;
  assert.equal(c.voiceParts[0].computedSeconds, 2400);
  assert.equal(c.durationSeconds, 2400);
  // Parsing scans lines; decoding stops after the header. Generous bound for slow CI hosts.
  assert.ok(elapsed < 2000, `took ${elapsed} ms`);
});

// ---------------------------------------------------------------------------------------------
// Urgent, private, broadcast

Deno.test("classifyMessage() recognises every urgent form", () => {
  const urgent = [
    "Importance: High",
    "importance: HIGH",
    "X-Priority: 1",
    "X-Priority: 1 (Highest)",
    "Priority: urgent",
    "PRIORITY: Urgent",
  ];
  for (const h of urgent) {
    assert.equal(classifyMessage(vpim([...HEADERS, h], [])).urgent, true, h);
  }
  for (
    const h of [
      "Importance: Normal",
      "X-Priority: 3 (Normal)",
      "X-Priority: 10",
      "Priority: non-urgent",
    ]
  ) {
    assert.equal(classifyMessage(vpim([...HEADERS, h], [])).urgent, false, h);
  }
});

Deno.test("classifyMessage() marks Private and Personal sensitivity as private, not Company-Confidential", () => {
  const is = (h: string) => classifyMessage(vpim([...HEADERS, h], [])).private;
  assert.equal(is("Sensitivity: Private"), true);
  assert.equal(is("sensitivity: personal"), true);
  assert.equal(is("Sensitivity: Company-Confidential"), false);
  assert.equal(is("X-Other: Private"), false);
});

Deno.test("classifyMessage() applies broadcast rules to the named header, case-insensitively", () => {
  const rules = [
    { header: "X-Avaya-Type", pattern: "^bulletin$" },
    { header: "From", pattern: "broadcast@" },
  ];
  const bulletin = classifyMessage(vpim([...HEADERS, "x-avaya-type: Bulletin"], []), {
    broadcastRules: rules,
  });
  assert.equal(bulletin.broadcast, true);
  assert.equal(bulletin.broadcastRule, 0);
  const from = classifyMessage(
    vpim(["From: System <BROADCAST@mss1>", ...HEADERS.slice(1)], []),
    { broadcastRules: compileBroadcastRules(rules) },
  );
  assert.equal(from.broadcastRule, 1);
  const plain = classifyMessage(vpim([...HEADERS, "X-Avaya-Type: bulletins"], []), {
    broadcastRules: rules,
  });
  assert.equal(plain.broadcast, false);
  assert.equal(plain.broadcastRule, null);
});

Deno.test("classifyMessage() matches broadcast rules against decoded header values", () => {
  const raw = vpim([...HEADERS, "X-Class: =?utf-8?q?Rundspruch_f=C3=BCr_alle?="], []);
  const c = classifyMessage(raw, { broadcastRules: [{ header: "x-class", pattern: "für alle" }] });
  assert.equal(c.broadcast, true);
});

Deno.test("compileBroadcastRules() rejects a bad pattern and names the rule index", () => {
  const rules = [{ header: "X-A", pattern: "ok" }, { header: "X-B", pattern: "([unclosed" }];
  assert.throws(() => compileBroadcastRules(rules), (e: unknown) => {
    assert.ok(e instanceof BroadcastRuleError);
    assert.equal(e.name, "BroadcastRuleError");
    assert.equal(e.index, 1);
    assert.match(e.message, /^Invalid broadcast rule 1 \(header "X-B", pattern "\(\[unclosed"\): /);
    assert.ok(e.cause instanceof SyntaxError);
    return true;
  });
  assert.throws(
    () => classifyMessage(vpim(HEADERS, []), { broadcastRules: rules }),
    BroadcastRuleError,
  );
  assert.throws(
    () => compileBroadcastRules([{ header: "Bad Header:", pattern: "x" }]),
    /Invalid broadcast rule 0 .*not a valid field name/,
  );
});

// ---------------------------------------------------------------------------------------------
// Chains

function forward(id: string, from: string, seconds: number, inner: string | null): string {
  const headers = [
    `From: ${from}`,
    "To: 4022@mss1.example.com",
    `Subject: Fwd ${id}`,
    "Date: Wed, 2 Jul 2003 09:00:00 +0000",
    `Message-ID: <${id}@mss1>`,
  ];
  if (inner === null) return message(headers, audio({ data: mulawWav(seconds) }));
  return message(
    headers,
    multipart("multipart/voice-message", `b-${id}`, [
      audio({ data: mulawWav(seconds) }),
      embedded(inner),
    ]),
  );
}

Deno.test("classifyMessage() builds the tree of a forwarded chain three deep", () => {
  const c1 = forward("c", "4025@mss1", 8, null);
  const b = forward("b", "4024@mss1", 7, c1);
  const a = forward("a", "4023@mss1", 6, b);
  const top = bytes(forward("top", "4022@mss1", 5, a));
  const c = classifyMessage(top);
  assert.deepEqual(c.voiceParts.map((p) => p.partPath), ["1"], "embedded audio stays in the chain");
  assert.equal(c.durationSeconds, 5);
  const chain = c.chain!;
  assert.equal(chain.messageId, "<top@mss1>");
  assert.equal(chain.partPath, "");
  const nodeA = chain.children[0];
  const nodeB = nodeA.children[0];
  const nodeC = nodeB.children[0];
  assert.deepEqual(
    [nodeA, nodeB, nodeC].map((n) => [n.messageId, n.partPath, n.durationSeconds, n.from?.address]),
    [
      ["<a@mss1>", "2", 6, "4023@mss1"],
      ["<b@mss1>", "2.2", 7, "4024@mss1"],
      ["<c@mss1>", "2.2.2", 8, "4025@mss1"],
    ],
  );
  assert.deepEqual(nodeB.voiceParts.map((p) => p.partPath), ["2.2.1"]);
  assert.deepEqual(nodeC.voiceParts.map((p) => p.partPath), ["2.2.2.1"]);
  assert.equal(nodeC.children.length, 0);
  assert.equal(nodeC.subject, "Fwd c");
  assert.equal(nodeC.date?.toISOString(), "2003-07-02T09:00:00.000Z");
});

Deno.test("classifyMessage() reads a reply with the original embedded", () => {
  const original = forward("orig", "4023@mss1", 4, null);
  const raw = vpim(
    [
      ...HEADERS.slice(0, 4),
      "Message-ID: <reply@mss1>",
      "In-Reply-To: <orig@mss1>",
      "References: <root@mss1>\r\n <orig@mss1>",
    ],
    [audio({ data: mulawWav(3) }), embedded(original)],
  );
  const c = classifyMessage(raw);
  assert.equal(c.inReplyTo, "<orig@mss1>");
  assert.deepEqual(c.references, ["<root@mss1>", "<orig@mss1>"]);
  assert.equal(c.chain?.children[0].messageId, c.inReplyTo);
  assert.equal(c.durationSeconds, 3);
});

Deno.test("classifyMessage() survives 1,000 nested forwards without deep recursion", () => {
  let text = forward("bottom", "4023@mss1", 1, null);
  for (let i = 0; i < 1000; i++) text = `Message-ID: <f${i}@x>\r\n${embedded(text)}`;
  const c = classifyMessage(bytes(text));
  let depth = 0;
  let node = c.chain;
  while (node && node.children.length > 0) {
    node = node.children[0];
    depth++;
  }
  assert.ok(depth > 0 && depth <= 32, `depth ${depth}`);
  let multi = "Content-Type: multipart/mixed; boundary=x0\r\n\r\n--x0\r\n";
  for (let i = 1; i < 1000; i++) {
    multi += `Content-Type: multipart/mixed; boundary=x${i}\r\n\r\n--x${i}\r\n`;
  }
  multi += audio({ data: mulawWav(1) });
  assert.deepEqual(classifyMessage(bytes(multi)).voiceParts, []);
});

// ---------------------------------------------------------------------------------------------
// Headers and names

Deno.test("classifyMessage() decodes RFC 2047 subjects and names", () => {
  const raw = vpim(
    [
      "From: =?iso-8859-1?q?J=FCrgen_M=FCller?= <4021@mss1>",
      "Subject: =?utf-8?B?U3ByYWNobmFjaHJpY2h0?= =?utf-8?q?_f=C3=BCr_Sie?=",
      "Message-ID: <x@y>",
    ],
    [],
  );
  const c = classifyMessage(raw);
  assert.equal(c.subject, "Sprachnachricht für Sie");
  assert.equal(c.from?.name, "Jürgen Müller");
});

Deno.test("classifyMessage() reads an RFC 2231 filename", () => {
  const raw = vpim(HEADERS, [
    audio({
      data: mulawWav(1),
      disposition:
        "inline; voice=Voice-Message; filename*0*=utf-8''Nachricht%20f%C3%BCr%20; filename*1*=J%C3%BCrgen.wav",
    }),
  ]);
  assert.equal(classifyMessage(raw).voiceParts[0].filename, "Nachricht für Jürgen.wav");
});

Deno.test("classifyMessage() sanitises a path-traversal filename to its base name", () => {
  const raw = vpim(HEADERS, [audio({ data: mulawWav(1), filename: "../../etc/passwd" })]);
  assert.equal(classifyMessage(raw).voiceParts[0].filename, "passwd");
  assert.equal(sanitizeFilename("..\\..\\windows\\win.ini"), "win.ini");
  assert.equal(sanitizeFilename(".."), null);
  assert.equal(sanitizeFilename("/"), null);
  assert.equal(sanitizeFilename(".hidden.wav"), "hidden.wav");
  assert.equal(sanitizeFilename("a\r\nb\u0000c.wav"), "abc.wav");
  assert.equal(sanitizeFilename("evil\u202Evaw.exe"), "evilvaw.exe");
  assert.equal(sanitizeFilename("con.wav"), "_con.wav");
  assert.equal(sanitizeFilename('what?<>"|*.wav'), "what______.wav");
  assert.equal(sanitizeFilename(`${"x".repeat(300)}.wav`)?.length, 200);
});

Deno.test("classifyMessage() reads an LF-only message", () => {
  const text = message(
    HEADERS,
    multipart("multipart/voice-message", "lf", [audio({ data: mulawWav(5) })]),
  );
  const c = classifyMessage(bytes(text.replace(/\r\n/g, "\n")));
  assert.equal(c.subject, "Voice message");
  assert.equal(c.voiceParts[0].partPath, "1");
  assert.equal(c.durationSeconds, 5);
});

Deno.test("classifyMessage() reads a message whose final boundary is missing", () => {
  const text = message(
    HEADERS,
    multipart(
      "multipart/voice-message",
      "open",
      [audio({ data: mulawWav(1), voice: "Originator-Spoken-Name" }), audio({ data: mulawWav(6) })],
      false,
    ),
  );
  const c = classifyMessage(bytes(text));
  assert.equal(c.voiceParts.length, 2);
  assert.equal(c.durationSeconds, 6);
  assert.equal(c.spokenName?.seconds, 1);
});

Deno.test("classifyMessage() accepts a Message-ID without angle brackets and a missing one", () => {
  const bare = classifyMessage(vpim(["Message-ID: abc@host", "Subject: x"], []));
  assert.equal(bare.messageId, "<abc@host>");
  const none = classifyMessage(vpim(["Subject: x"], []));
  assert.equal(none.messageId, null);
  assert.equal(none.from, null);
  assert.equal(none.date, null);
  assert.deepEqual(none.to, []);
  assert.equal(classifyMessage(vpim(["From: a@b"], [])).subject, null);
});
