import assert from "node:assert/strict";
import {
  decodeBody,
  decodeHeaderWords,
  headerValue,
  headerValues,
  parseMessage,
} from "../mime/mod.ts";
import { buildPlaceholder, formatSeconds, type PlaceholderOptions } from "./placeholder.ts";
import { type Classified, classifyMessage } from "./classify.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function original(headers: string[]): Classified {
  const text = `${headers.join("\r\n")}\r\nMIME-Version: 1.0\r\n` +
    "Content-Type: multipart/voice-message; boundary=v\r\n\r\n" +
    "--v\r\nContent-Type: audio/wav\r\nContent-Duration: 845\r\n\r\n" +
    // Not audio, but as many bytes as 845 s of GSM 6.10 would take, so the claim is plausible.
    "not really audio ".repeat(81_000) + "\r\n--v--\r\n";
  return classifyMessage(enc.encode(text));
}

const ORIGINAL = [
  'From: "Roe, Jane" <4021@mss1.example.com>',
  "To: 4022@mss1.example.com, Bob <4023@mss1.example.com>",
  "Subject: Budget meeting",
  "Date: Tue, 1 Jul 2003 10:52:37 +0200",
  "Message-ID: <vm1@mss1.example.com>",
];

const OPTS: PlaceholderOptions = {
  reason: "too-long",
  seconds: 845,
  bytes: 1_373_125,
  keptAs: "/srv/vmirror/kept/4022/INBOX/123.eml",
  hostname: "vmirror.example.com",
  limitSeconds: 600,
  now: new Date("2024-05-01T12:00:00Z"),
};

function build(headers: string[], opts: Partial<PlaceholderOptions> = {}) {
  const raw = buildPlaceholder(original(headers), { ...OPTS, ...opts });
  const root = parseMessage(raw);
  const text = dec.decode(decodeBody(raw, root));
  return { raw, root, text, h: (name: string) => headerValue(root.headers, name) };
}

Deno.test("buildPlaceholder() writes a valid MIME message with CRLF line ends", () => {
  const { raw, root, h } = build(ORIGINAL);
  const text = dec.decode(raw);
  assert.doesNotMatch(text, /[^\r]\n|\r[^\n]/, "only CRLF line ends");
  assert.match(text, /^[\x20-\x7e\r\n\t]*$/, "ASCII only");
  for (const line of text.split("\r\n")) assert.ok(line.length <= 998);
  assert.equal(h("MIME-Version"), "1.0");
  assert.equal(`${root.contentType.type}/${root.contentType.subtype}`, "text/plain");
  assert.equal(root.contentType.params.charset, "utf-8");
  assert.equal(h("X-Vmirror-Reason"), "too-long");
});

Deno.test("buildPlaceholder() keeps From, To and Date of the original", () => {
  const { h } = build(ORIGINAL);
  assert.equal(h("From"), '"Roe, Jane" <4021@mss1.example.com>');
  assert.equal(h("To"), "4022@mss1.example.com, Bob <4023@mss1.example.com>");
  assert.equal(h("Date"), "Tue, 1 Jul 2003 10:52:37 +0200");
});

Deno.test("buildPlaceholder() says in the subject that the original is on the application server", () => {
  const { h } = build(ORIGINAL);
  assert.equal(h("Subject"), "Voice message kept on the application server: Budget meeting");
  const none = build(ORIGINAL.filter((l) => !l.startsWith("Subject")));
  assert.equal(none.h("Subject"), "Voice message kept on the application server");
});

Deno.test("buildPlaceholder() derives a fresh Message-ID deterministically", () => {
  const first = build(ORIGINAL).h("Message-ID");
  const again = build(ORIGINAL, { now: new Date() }).h("Message-ID");
  assert.match(first!, /^<[0-9a-f]{32}\.placeholder@vmirror\.example\.com>$/);
  assert.equal(first, again);
  assert.notEqual(first, "<vm1@mss1.example.com>");
  const other = build([...ORIGINAL.slice(0, 4), "Message-ID: <vm2@mss1.example.com>"]);
  assert.notEqual(other.h("Message-ID"), first);
  const noId = ORIGINAL.slice(0, 4);
  assert.equal(build(noId).h("Message-ID"), build(noId).h("Message-ID"));
  assert.equal(build(noId).h("X-Vmirror-Placeholder"), "none");
});

Deno.test("buildPlaceholder() names the original Message-ID in X-Vmirror-Placeholder", () => {
  assert.equal(build(ORIGINAL).h("X-Vmirror-Placeholder"), "<vm1@mss1.example.com>");
});

Deno.test("buildPlaceholder() copies Importance and Sensitivity", () => {
  const { h } = build([...ORIGINAL, "Importance: High", "Sensitivity: Private"]);
  assert.equal(h("Importance"), "High");
  assert.equal(h("Sensitivity"), "Private");
  const xp = build([...ORIGINAL, "X-Priority: 1 (Highest)"]);
  assert.equal(xp.h("X-Priority"), "1 (Highest)");
  assert.equal(xp.h("Importance"), "High", "urgency stated the common way too");
  const plain = build(ORIGINAL);
  assert.equal(plain.h("Importance"), null);
  assert.equal(plain.h("Sensitivity"), null);
});

Deno.test("buildPlaceholder() encodes non-ASCII subjects and names with RFC 2047", () => {
  const { raw, h, root } = build([
    "From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <4021@mss1>",
    "To: 4022@mss1",
    "Subject: =?utf-8?q?R=C3=BCckruf_wegen_der_Gr=C3=BC=C3=9Fe_an_das_ganze_Team_in_M=C3=BCnchen?=",
    "Message-ID: <u@mss1>",
  ]);
  assert.match(dec.decode(raw), /^[\x20-\x7e\r\n]*$/);
  assert.equal(
    decodeHeaderWords(h("Subject")!),
    "Voice message kept on the application server: Rückruf wegen der Grüße an das ganze Team in München",
  );
  const c = classifyMessage(raw);
  assert.equal(c.from?.name, "Jürgen Müller");
  assert.equal(c.from?.address, "4021@mss1");
  assert.ok(root.headers.length > 5);
});

Deno.test("buildPlaceholder() lets no header value inject a header", () => {
  const { h, root, raw } = build([
    "From: =?utf-8?q?Evil=0D=0ABcc:_victim@x?= <4021@mss1>",
    "To: 4022@mss1",
    "Subject: =?utf-8?q?hi=0D=0ABcc:_victim@x=0D=0A=0D=0Abody?=",
    "Message-ID: <a@b>",
    "Importance: High\r\n Bcc: folded@x",
  ]);
  assert.equal(h("Bcc"), null);
  assert.deepEqual(headerValues(root.headers, "Bcc"), []);
  assert.doesNotMatch(dec.decode(raw), /\r\nBcc:/i);
  assert.equal(decodeHeaderWords(h("Subject")!).includes("\n"), false);
});

Deno.test("buildPlaceholder() explains a too-long message against its limit and where it is kept", () => {
  const { text } = build(ORIGINAL);
  assert.match(text, /is 14 min 5 s long; the limit is 10 min\./);
  assert.match(text, /kept as: \/srv\/vmirror\/kept\/4022\/INBOX\/123\.eml/);
  assert.match(text, /Subject: +Budget meeting/);
  assert.match(text, /Message-ID: +<vm1@mss1\.example\.com>/);
  assert.match(text, /vmirror\.example\.com at 2024-05-01T12:00:00\.000Z/);
  const unknown = build(ORIGINAL, { seconds: null, limitSeconds: undefined });
  assert.match(
    unknown.text,
    /is 14 min 5 s long, longer than this mailbox keeps/,
    "falls back to the classified duration",
  );
});

Deno.test("buildPlaceholder() explains a too-big message in bytes", () => {
  const { text, h } = build(ORIGINAL, {
    reason: "too-big",
    bytes: 12_345_678,
    limitBytes: 10_000_000,
  });
  assert.equal(h("X-Vmirror-Reason"), "too-big");
  assert.match(
    text,
    /is 12\.3 MB \(12,345,678 bytes\); the limit is 10\.0 MB \(10,000,000 bytes\)/,
  );
});

Deno.test("buildPlaceholder() quotes non-ASCII and unsafe text in the body", () => {
  const { text, root } = build(
    [...ORIGINAL.slice(0, 2), "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=", "Message-ID: <g@x>"],
    { keptAs: "C:\\vmirror\\kept\\Grüße\r\nInjected: line.eml" },
  );
  assert.equal(headerValue(root.headers, "Content-Transfer-Encoding"), "quoted-printable");
  assert.match(text, /Subject: +Grüße/);
  assert.match(text, /kept as: C:\\vmirror\\kept\\Grüße Injected: line\.eml/);
});

Deno.test("buildPlaceholder() falls back for a missing sender and date", () => {
  const { h } = build(["Subject: x"], { now: new Date("2024-05-01T12:00:00Z") });
  assert.equal(h("From"), "vmirror@vmirror.example.com");
  assert.equal(h("Date"), "Wed, 01 May 2024 12:00:00 +0000");
  assert.equal(h("To"), null);
});

Deno.test("buildPlaceholder() keeps threading headers", () => {
  const { h } = build([...ORIGINAL, "In-Reply-To: <p@x>", "References: <r@x> <p@x>"]);
  assert.equal(h("In-Reply-To"), "<p@x>");
  assert.equal(h("References"), "<r@x> <p@x>");
});

Deno.test("formatSeconds() writes hours, minutes and seconds", () => {
  assert.equal(formatSeconds(0), "0 s");
  assert.equal(formatSeconds(45.4), "45 s");
  assert.equal(formatSeconds(600), "10 min");
  assert.equal(formatSeconds(3723), "1 h 2 min 3 s");
});

Deno.test("buildPlaceholder() stays a short note when the original's headers are huge", () => {
  // Regression: a megabyte-long recipient or subject was copied whole into the placeholder.
  const huge = "x".repeat(1024 * 1024);
  const recipients = Array.from({ length: 500 }, (_, i) => `r${i}@mss1.example.com`).join(", ");
  const p = build([
    `From: "${huge}" <4021@mss1.example.com>`,
    `To: <${huge}@mss1.example.com>, ${recipients}`,
    `Subject: ${huge}`,
    "Message-ID: <vm1@mss1.example.com>",
  ]);
  assert.ok(p.raw.length < 32 * 1024, `${p.raw.length} bytes`);
  const from = decodeHeaderWords(headerValue(p.root.headers, "From")!);
  assert.ok(from.includes("…") && from.length < 300 && from.endsWith("<4021@mss1.example.com>"));
  assert.ok(!headerValue(p.root.headers, "To")!.includes(huge.slice(0, 300)));
  assert.ok(p.text.includes("and 451 more"));
  assert.ok(p.text.includes("/srv/vmirror/kept/4022/INBOX/123.eml"));
});
