import assert from "node:assert/strict";
import {
  encodeMailboxName,
  flagList,
  imapDate,
  latin1Bytes,
  mailboxArg,
  quote,
  searchValue,
  uidSet,
} from "./encode.ts";

const latin1 = new TextDecoder("latin1");

Deno.test("uidSet collapses runs and sorts", () => {
  assert.equal(uidSet([7, 3, 4, 5, 9, 10, 1]), "1,3:5,7,9:10");
  assert.equal(uidSet([42]), "42");
  assert.equal(uidSet([2, 2, 3]), "2:3");
  assert.throws(() => uidSet([]), /empty UID set/);
});

Deno.test("imapDate writes UTC with a two-digit day", () => {
  assert.equal(imapDate(new Date("2026-07-04T08:09:10Z")), "04-Jul-2026 08:09:10 +0000");
});

Deno.test("quote escapes and refuses line breaks; mailbox names use modified UTF-7", () => {
  assert.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
  assert.throws(() => quote("a\r\nb"), /CR, LF and NUL/);
  assert.equal(encodeMailboxName("Grüße & Co"), "Gr&APwA3w-e &- Co");
  assert.equal(encodeMailboxName("INBOX"), "INBOX");
  // Three UTF-16 units: base64 without padding, "/" written ",".
  assert.equal(encodeMailboxName("日本語"), "&ZeVnLIqe-");
  assert.equal(encodeMailboxName("\u{ffff}"), "&,,8-");
  assert.equal(mailboxArg("Grüße"), '"Gr&APwA3w-e"');
  assert.equal(flagList(["\\Seen", "$Forwarded"]), "(\\Seen $Forwarded)");
  assert.equal(flagList([]), "()");
});

Deno.test("searchValue quotes 7-bit values and sends 8-bit ones as a literal of their bytes", async () => {
  assert.deepEqual(searchValue('<a"b@x>'), { value: '"<a\\"b@x>"', charset: false });
  // "<grüße@x>" as UTF-8 bytes read from the wire, one char per byte.
  const utf8 = new TextEncoder().encode("<grüße@x>");
  const wire = latin1.decode(utf8);
  const { value, charset } = searchValue(wire);
  assert.equal(charset, true);
  assert.ok(typeof value !== "string");
  assert.equal(value.size, utf8.length);
  const sent: Uint8Array[] = [];
  await value.write((b) => Promise.resolve(void sent.push(b)));
  assert.deepEqual(sent, [utf8]);
  assert.deepEqual(latin1Bytes(wire), utf8);
  assert.throws(() => latin1Bytes("日"), /latin1 byte/);
  // Every byte survives the readers' decoder and back, 0x80–0x9F included.
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(latin1Bytes(latin1.decode(all)), all);
});
