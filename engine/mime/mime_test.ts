import assert from "node:assert/strict";
import {
  decodeBody,
  decodedLength,
  decodeHeaderWords,
  encodeHeaderWords,
  foldHeader,
  formatAddress,
  formatDate,
  headerValue,
  headerValues,
  parseAddress,
  parseContentType,
  parseDate,
  parseDisposition,
  parseHeaders,
  parseMessage,
  type Part,
} from "./mime.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function bytes(text: string): Uint8Array {
  return enc.encode(text);
}

function crlf(text: string): Uint8Array {
  return enc.encode(text.replace(/\r?\n/g, "\r\n"));
}

function body(raw: Uint8Array, part: Part): string {
  return dec.decode(raw.subarray(part.start, part.end));
}

function b64(data: Uint8Array): string {
  return data.toBase64();
}

Deno.test("parseHeaders() unfolds continuation lines and keeps field order", () => {
  const raw = crlf("Subject: one\n two\n\tthree\nX-A: 1\nx-a: 2\n\nbody");
  const { headers, headerEnd } = parseHeaders(raw);
  assert.deepEqual(headers, [
    { name: "Subject", value: "one two\tthree" },
    { name: "X-A", value: "1" },
    { name: "x-a", value: "2" },
  ]);
  assert.equal(dec.decode(raw.subarray(headerEnd)), "body");
  assert.equal(headerValue(headers, "X-a"), "1");
  assert.deepEqual(headerValues(headers, "X-A"), ["1", "2"]);
  assert.equal(headerValue(headers, "missing"), null);
});

Deno.test("parseHeaders() accepts bare LF line ends", () => {
  const raw = bytes("A: 1\nB: 2\n  more\n\nbody\n");
  const { headers, headerEnd } = parseHeaders(raw);
  assert.deepEqual(headers, [{ name: "A", value: "1" }, { name: "B", value: "2  more" }]);
  assert.equal(dec.decode(raw.subarray(headerEnd)), "body\n");
});

Deno.test("parseHeaders() unfolds mixed line ends in one field and keeps a bare CR", () => {
  // Regression: folded fields are now decoded once over their whole range.
  const raw = enc.encode("Subject: a\r\n b\n c\rd\r\r\n e\r\nTo: x\r\n\r\n");
  const { headers } = parseHeaders(raw);
  assert.deepEqual(headers, [
    { name: "Subject", value: "a b c\rd\r e" },
    { name: "To", value: "x" },
  ]);
});

Deno.test("parseHeaders() decodes a folded 8-bit field as one UTF-8 text", () => {
  const raw = enc.encode("Subject: Rückruf\r\n bitte — 東京\r\n\r\n");
  assert.equal(headerValue(parseHeaders(raw).headers, "subject"), "Rückruf bitte — 東京");
});

Deno.test("parseHeaders() stays linear on a field folded into half a million lines", () => {
  // Regression: 2 MB of continuation lines took seconds when each line was decoded alone.
  const raw = enc.encode(`X-Fold: a${"\r\n b".repeat(512 * 1024)}\r\n\r\n`);
  const t0 = performance.now();
  const { headers } = parseHeaders(raw);
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(headers[0].value.length, 1 + 2 * 512 * 1024);
});

Deno.test("decodeHeaderWords() joins a hundred thousand adjacent words quickly and exactly", () => {
  // Regression: one allocation per word made a 2 MB Subject take seconds.
  const value = "=?utf-8?q?a?= ".repeat(100_000) + "=?utf-8?B?w6k=?=";
  const t0 = performance.now();
  const text = decodeHeaderWords(value);
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(text, "a".repeat(100_000) + "é");
});

Deno.test("parseHeaders() skips garbage lines and their continuations", () => {
  const raw = crlf(
    "From mss1@example.com Tue Jul  1 10:52:37 2003\n" +
      "Subject: ok\n" +
      "this line has no colon\n" +
      " and a continuation of nothing\n" +
      "Bad Name: x\n" +
      "Field  : spaced\n" +
      "To: a@b\n\n",
  );
  const { headers } = parseHeaders(raw);
  assert.deepEqual(headers, [
    { name: "Subject", value: "ok" },
    { name: "Field", value: "spaced" },
    { name: "To", value: "a@b" },
  ]);
});

Deno.test("parseHeaders() reads UTF-8 header bytes and falls back to windows-1252", () => {
  const utf = bytes("Subject: Grüße\r\n\r\n");
  assert.equal(parseHeaders(utf).headers[0].value, "Grüße");
  const latin = Uint8Array.from([...bytes("Subject: Gr"), 0xfc, 0xdf, 0x80, 13, 10, 13, 10]);
  assert.equal(parseHeaders(latin).headers[0].value, "Grüß€");
});

Deno.test("parseHeaders() stays within start and end and reports end without a blank line", () => {
  const raw = bytes("XXXXA: 1\r\nB: 2\r\nC: 3");
  const { headers, headerEnd } = parseHeaders(raw, 4, raw.length - 6);
  assert.deepEqual(headers, [{ name: "A", value: "1" }, { name: "B", value: "2" }]);
  assert.equal(headerEnd, raw.length - 6);
});

Deno.test("parseContentType() handles quoted strings, comments and case", () => {
  const ct = parseContentType(
    'Multipart/Voice-Message (VPIM v2); BOUNDARY="a \\"b\\" ;c"; Version=2.0 (comment); x=y',
  );
  assert.equal(ct.type, "multipart");
  assert.equal(ct.subtype, "voice-message");
  assert.equal(ct.params.boundary, 'a "b" ;c');
  assert.equal(ct.params.version, "2.0");
  assert.equal(ct.params.x, "y");
});

Deno.test("parseContentType() falls back to text/plain for absent or invalid values", () => {
  assert.deepEqual(
    { ...parseContentType(null) },
    { type: "text", subtype: "plain", params: parseContentType(null).params },
  );
  assert.equal(parseContentType(null).params.charset, "us-ascii");
  const broken = parseContentType("audio; charset=utf-8");
  assert.equal(`${broken.type}/${broken.subtype}`, "text/plain");
  assert.equal(broken.params.charset, "utf-8");
  assert.equal(parseContentType("", "message/rfc822").subtype, "rfc822");
  assert.equal(parseContentType(null, "message/rfc822").subtype, "rfc822");
});

Deno.test("parseContentType() keeps hostile parameter names as plain keys", () => {
  const ct = parseContentType('text/plain; __proto__="x"; constructor=y');
  assert.equal(Object.getPrototypeOf(ct.params), null);
  assert.equal(ct.params["__proto__"], "x");
  assert.equal(ct.params.constructor, "y");
});

Deno.test("parseDisposition() joins RFC 2231 continuations and decodes their charset", () => {
  const d = parseDisposition(
    "INLINE; voice=Voice-Message; FILENAME*0*=utf-8''Nachricht%20f%C3%BCr%20; filename*1=\"Jürgen\"; filename*2*=%2Ewav",
  );
  assert.equal(d.type, "inline");
  assert.equal(d.params.voice, "Voice-Message");
  assert.equal(d.params.filename, "Nachricht für Jürgen.wav");
  const latin = parseDisposition(
    "attachment; filename=\"plain.wav\"; filename*=iso-8859-1'fr'%E9t%E9.wav",
  );
  assert.equal(latin.params.filename, "été.wav");
  assert.equal(parseDisposition("").type, "attachment");
});

Deno.test("parseMessage() splits a multipart body and drops preamble and epilogue", () => {
  const raw = crlf(
    'Content-Type: multipart/mixed; boundary="b1"\n\n' +
      "preamble --b1 not a delimiter\n" +
      "--b1\nContent-Type: text/plain\n\nfirst\n" +
      "--b1\n\nsecond\n\n" +
      "--b1--\nepilogue\n",
  );
  const root = parseMessage(raw);
  assert.equal(root.path, "");
  assert.equal(root.children.length, 2);
  assert.equal(body(raw, root.children[0]), "first");
  assert.equal(body(raw, root.children[1]), "second\r\n");
  assert.deepEqual(root.children.map((p) => p.path), ["1", "2"]);
  assert.equal(root.children[1].contentType.subtype, "plain");
});

Deno.test("parseMessage() accepts delimiters with trailing blanks and ignores look-alike lines", () => {
  const raw = crlf(
    "Content-Type: multipart/mixed; boundary=abc\n\n" +
      "--abc \t\nX: 1\n\none\n--abcdef\nstill one\n--abc--  \n",
  );
  const root = parseMessage(raw);
  assert.equal(root.children.length, 1);
  assert.equal(body(raw, root.children[0]), "one\r\n--abcdef\r\nstill one");
});

Deno.test("parseMessage() finds delimiters among lines full of dashes", () => {
  const raw = crlf(
    "Content-Type: multipart/mixed; boundary=--=_x\n\n" +
      "----=_x\n\n-- signature --\n-----\n ----=_x\na-b--c\n" +
      "----=_x\n\n---\n----=_x--\n",
  );
  const root = parseMessage(raw);
  assert.deepEqual(root.children.map((p) => body(raw, p)), [
    "-- signature --\r\n-----\r\n ----=_x\r\na-b--c",
    "---",
  ]);
});

Deno.test("parseMessage() ends the last part at the end when the close delimiter is missing", () => {
  const raw = crlf("Content-Type: multipart/mixed; boundary=z\n\n--z\n\na\n--z\n\nb tail\n");
  const root = parseMessage(raw);
  assert.deepEqual(root.children.map((p) => body(raw, p)), ["a", "b tail\r\n"]);
});

Deno.test("parseMessage() reads LF-only messages", () => {
  const raw = bytes(
    "Subject: lf\nContent-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\nx\n--q--\n",
  );
  const root = parseMessage(raw);
  assert.equal(headerValue(root.headers, "subject"), "lf");
  assert.equal(body(raw, root.children[0]), "x");
});

Deno.test("parseMessage() numbers nested multiparts and embedded messages like IMAP", () => {
  const raw = crlf(
    "Content-Type: multipart/mixed; boundary=outer\n\n" +
      "--outer\nContent-Type: text/plain\n\nhello\n" +
      "--outer\nContent-Type: multipart/alternative; boundary=inner\n\n" +
      "--inner\n\nalt1\n--inner\n\nalt2\n--inner--\n" +
      "--outer\nContent-Type: message/rfc822\n\n" +
      "Subject: embedded\nContent-Type: multipart/mixed; boundary=emb\n\n" +
      "--emb\n\ne1\n--emb\nContent-Type: message/rfc822\n\nSubject: leaf\n\nleaf body\n--emb--\n" +
      "--outer--\n",
  );
  const root = parseMessage(raw);
  const [text, alt, fwd] = root.children;
  assert.equal(text.path, "1");
  assert.deepEqual(alt.children.map((p) => p.path), ["2.1", "2.2"]);
  assert.equal(fwd.path, "3");
  assert.ok(fwd.message);
  assert.equal(headerValue(fwd.message.headers, "subject"), "embedded");
  assert.equal(fwd.message.path, "3");
  assert.deepEqual(fwd.message.children.map((p) => p.path), ["3.1", "3.2"]);
  const leaf = fwd.message.children[1].message!;
  assert.equal(leaf.path, "3.2.1");
  assert.equal(body(raw, leaf), "leaf body");
  assert.equal(headerValue(raw && leaf.headers, "subject"), "leaf");
  assert.equal(
    dec.decode(raw.subarray(fwd.message.headerStart, fwd.message.headerStart + 8)),
    "Subject:",
  );
});

Deno.test("parseMessage() numbers a single-part message body 1", () => {
  const root = parseMessage(crlf("Content-Type: audio/wav\n\nRIFF"));
  assert.equal(root.path, "1");
  assert.equal(root.children.length, 0);
});

Deno.test("parseMessage() gives multipart/digest parts message/rfc822 by default", () => {
  const raw = crlf(
    "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody one\n--d--\n",
  );
  const part = parseMessage(raw).children[0];
  assert.equal(`${part.contentType.type}/${part.contentType.subtype}`, "message/rfc822");
  assert.equal(headerValue(part.message!.headers, "subject"), "one");
});

Deno.test("parseMessage() takes a part without a header section as all body", () => {
  const raw = crlf("Content-Type: multipart/mixed; boundary=n\n\n--n\nno headers here\n--n--\n");
  const part = parseMessage(raw).children[0];
  assert.deepEqual(part.headers, []);
  assert.equal(body(raw, part), "no headers here");
});

Deno.test("parseMessage() survives 1,000 nested multiparts without deep recursion", () => {
  let text = "";
  for (let i = 0; i < 1000; i++) {
    text += `Content-Type: multipart/mixed; boundary=b${i}\n\n--b${i}\n`;
  }
  text += "Content-Type: text/plain\n\ndeep\n";
  for (let i = 999; i >= 0; i--) text += `--b${i}--\n`;
  const root = parseMessage(crlf(text));
  let depth = 0;
  let part = root;
  while (part.children.length > 0) {
    part = part.children[0];
    depth++;
  }
  assert.equal(depth, 32);
  assert.equal(part.truncated, true);
});

Deno.test("parseMessage() survives 1,000 nested message/rfc822 parts", () => {
  let text = "";
  for (let i = 0; i < 1000; i++) text += `Subject: level ${i}\nContent-Type: message/rfc822\n\n`;
  text += "Subject: bottom\n\nend\n";
  let part = parseMessage(crlf(text));
  let depth = 0;
  while (part.message) {
    part = part.message;
    depth++;
  }
  assert.equal(depth, 32);
  assert.equal(part.truncated, true);
});

Deno.test("parseMessage() stops adding parts at maxParts", () => {
  let text = "Content-Type: multipart/mixed; boundary=m\n\n";
  for (let i = 0; i < 5000; i++) text += `--m\n\n${i}\n`;
  text += "--m--\n";
  const root = parseMessage(crlf(text));
  assert.equal(root.children.length, 999);
  assert.equal(root.truncated, true);
  assert.equal(parseMessage(crlf(text), { maxParts: 10 }).children.length, 9);
});

Deno.test("decodeBody() decodes base64 despite blanks, junk and missing padding", () => {
  const data = Uint8Array.from({ length: 200 }, (_, i) => (i * 37) % 256);
  const wrapped = b64(data).replace(/(.{10})/g, "$1 \r\n\t").replace(/=+$/, "") + "\r\n!!";
  const raw = bytes(wrapped);
  const range = { start: 0, end: raw.length, transferEncoding: "BASE64" };
  assert.deepEqual(decodeBody(raw, range), data);
  assert.equal(decodedLength(raw, range), 200);
  assert.deepEqual(decodeBody(raw, range, { maxBytes: 7 }), data.subarray(0, 7));
  const two = bytes(`${b64(bytes("ab"))}\r\n${b64(bytes("cde"))}`);
  assert.equal(
    dec.decode(decodeBody(two, { start: 0, end: two.length, transferEncoding: "base64" })),
    "abcde",
  );
});

Deno.test("decodeBody() gives the same bytes on the clean fast path and the tolerant path", () => {
  for (const length of [0, 1, 2, 3, 57, 58, 59, 1000, 4099]) {
    const data = Uint8Array.from({ length }, (_, i) => (i * 131 + 7) % 256);
    const lines = (b64(data).match(/.{1,76}/g) ?? []).join("\r\n");
    // Clean: lines of the alphabet and final padding (the runtime's decoder); messy: a stray
    // character, a non-ASCII byte, unpadded tails and padding mid-body (the tolerant decoder).
    for (
      const text of [
        lines,
        `${lines}\r\n`,
        lines.replace(/=+$/, ""),
        `${lines}\r\n!`,
        `\u00e9${lines}`,
        `${lines}\r\n${b64(new Uint8Array(0))}`,
      ]
    ) {
      const raw = bytes(text);
      const range = { start: 0, end: raw.length, transferEncoding: "base64" };
      assert.deepEqual(
        decodeBody(raw, range),
        data,
        `${length}: ${JSON.stringify(text.slice(-6))}`,
      );
      assert.equal(decodedLength(raw, range), length);
    }
  }
  const twice = bytes(`${b64(bytes("ab"))}${b64(bytes("cde"))}`); // "YWI=Y2Rl": padding mid-body
  assert.equal(
    dec.decode(decodeBody(twice, { start: 0, end: twice.length, transferEncoding: "base64" })),
    "abcde",
  );
});

Deno.test("decodeBody() decodes quoted-printable soft breaks, blanks and stray equals signs", () => {
  const raw = bytes("caf=C3=a9 =\r\nlong line=  \r\nend   \r\na=b =\nc=");
  const out = decodeBody(raw, { start: 0, end: raw.length, transferEncoding: "quoted-printable" });
  assert.equal(dec.decode(out), "café long lineend\r\na=b c");
  assert.equal(
    decodedLength(raw, { start: 0, end: raw.length, transferEncoding: "quoted-printable" }),
    out.length,
  );
});

Deno.test("decodeBody() returns identity bodies as they are", () => {
  const raw = bytes("xx\x00\xffyy");
  assert.deepEqual(
    decodeBody(raw, { start: 2, end: 4, transferEncoding: "binary" }),
    raw.subarray(2, 4),
  );
  assert.deepEqual(
    decodeBody(raw, { start: 2, end: 4, transferEncoding: "x-unknown" }),
    raw.subarray(2, 4),
  );
  assert.equal(decodeBody(raw, { start: 4, end: 2, transferEncoding: "7bit" }).length, 0);
});

Deno.test("decodeHeaderWords() decodes B and Q words in several charsets", () => {
  assert.equal(decodeHeaderWords("=?UTF-8?B?R3LDvMOfZQ==?="), "Grüße");
  assert.equal(decodeHeaderWords("=?iso-8859-1?q?caf=E9_cr=E8me?="), "café crème");
  assert.equal(decodeHeaderWords("=?windows-1252?Q?=80_5?="), "€ 5");
  assert.equal(decodeHeaderWords("=?us-ascii?Q?plain?="), "plain");
  assert.equal(decodeHeaderWords("=?utf-8*en?Q?with_language?="), "with language");
  assert.equal(decodeHeaderWords("=?x-unknown?Q?=C3=A9?="), "é");
});

Deno.test("decodeHeaderWords() joins adjacent words, even across a split character", () => {
  assert.equal(decodeHeaderWords("=?utf-8?q?a?= \r\n =?utf-8?q?b?="), "ab");
  // "é" is C3 A9: its two bytes sit in two words.
  assert.equal(decodeHeaderWords("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?="), "café");
  assert.equal(decodeHeaderWords("Re: =?utf-8?q?a?= and =?utf-8?q?b?= !"), "Re: a and b !");
  assert.equal(decodeHeaderWords("=?utf-8?q?a?= =?iso-8859-1?q?=E9?="), "aé");
  assert.equal(decodeHeaderWords("no words =? here ?="), "no words =? here ?=");
});

Deno.test("parseAddress() reads names, quotes, comments, groups and encoded words", () => {
  assert.deepEqual(
    parseAddress(
      '"Doe, John" <john@example.com>, jane@example.com (Jane Roe), =?utf-8?q?J=C3=BCrgen?= <j@x.de>',
    ),
    [
      { name: "Doe, John", address: "john@example.com" },
      { name: "Jane Roe", address: "jane@example.com" },
      { name: "Jürgen", address: "j@x.de" },
    ],
  );
  assert.deepEqual(parseAddress("Team: a@x, Bob <b@x>;, c@y"), [
    { name: "", address: "a@x" },
    { name: "Bob", address: "b@x" },
    { name: "", address: "c@y" },
  ]);
  assert.deepEqual(parseAddress("undisclosed-recipients:;"), []);
  assert.deepEqual(parseAddress("4021"), [{ name: "", address: "4021" }]);
  assert.deepEqual(parseAddress("<@relay:user@host>"), [{ name: "", address: "user@host" }]);
  assert.deepEqual(parseAddress("Just A Name"), []);
});

Deno.test("parseDate() reads RFC 5322 dates including obsolete forms", () => {
  assert.equal(
    parseDate("Tue, 1 Jul 2003 10:52:37 +0200")?.toISOString(),
    "2003-07-01T08:52:37.000Z",
  );
  assert.equal(
    parseDate("1 Jul 03 10:52 EDT (Eastern)")?.toISOString(),
    "2003-07-01T14:52:00.000Z",
  );
  assert.equal(
    parseDate("Thu, 13 Feb 1969 23:32:54 -0330")?.toISOString(),
    "1969-02-14T03:02:54.000Z",
  );
  assert.equal(parseDate("not a date"), null);
  assert.equal(parseDate(null), null);
  assert.equal(formatDate(new Date("2003-07-01T08:52:37Z")), "Tue, 01 Jul 2003 08:52:37 +0000");
});

Deno.test("encodeHeaderWords() neutralises line breaks and encodes non-ASCII text", () => {
  assert.equal(encodeHeaderWords("plain text"), "plain text");
  assert.equal(encodeHeaderWords("a\r\nBcc: evil@x"), "a Bcc: evil@x");
  const text = "Sprachnachricht für Jürgen — ".repeat(6);
  const encoded = encodeHeaderWords(text);
  assert.match(encoded, /^[\x20-\x7e]+$/);
  assert.equal(decodeHeaderWords(encoded), text);
  assert.equal(decodeHeaderWords(encodeHeaderWords("=?utf-8?q?x?=")), "=?utf-8?q?x?=");
});

Deno.test("foldHeader() folds at blanks and unfolds to the same value", () => {
  const value = encodeHeaderWords("Nachricht für Jürgen ".repeat(10));
  const folded = foldHeader("Subject", value);
  for (const line of folded.split("\r\n")) assert.ok(line.length <= 78, line);
  const { headers } = parseHeaders(bytes(`${folded}\r\n\r\n`));
  assert.equal(decodeHeaderWords(headers[0].value), "Nachricht für Jürgen ".repeat(10));
  const ascii = "word ".repeat(40).trim();
  assert.equal(parseHeaders(bytes(`${foldHeader("X", ascii)}\r\n\r\n`)).headers[0].value, ascii);
});

Deno.test("formatAddress() quotes or encodes names as needed", () => {
  assert.equal(formatAddress({ name: "", address: "a@b" }), "a@b");
  assert.equal(formatAddress({ name: "John Doe", address: "j@d" }), "John Doe <j@d>");
  assert.equal(formatAddress({ name: 'Doe, "J"', address: "j@d" }), '"Doe, \\"J\\"" <j@d>');
  assert.equal(formatAddress({ name: "x\r\nBcc: y", address: "a@b\r\n" }), '"x Bcc: y" <a@b>');
  const encoded = formatAddress({ name: "Jürgen", address: "j@x" });
  assert.deepEqual(parseAddress(encoded), [{ name: "Jürgen", address: "j@x" }]);
});
