import assert from "node:assert/strict";
import {
  encodeMailboxName,
  expandUidSet,
  imapDate,
  parseFlagScan,
  parseIdentity,
  parseImapDate,
  quote,
  uidSet,
} from "./session.ts";

const enc = new TextEncoder();

Deno.test("uidSet collapses runs and sorts", () => {
  assert.equal(uidSet([7, 3, 4, 5, 9, 10, 1]), "1,3:5,7,9:10");
  assert.equal(uidSet([42]), "42");
  assert.equal(uidSet([2, 2, 3]), "2:3");
  assert.throws(() => uidSet([]), /empty UID set/);
});

Deno.test("expandUidSet is uidSet's inverse", () => {
  assert.deepEqual(expandUidSet("1,3:5,7,9:10"), [1, 3, 4, 5, 7, 9, 10]);
  assert.deepEqual(expandUidSet("12:10"), [10, 11, 12]);
});

Deno.test("parseImapDate reads every zone and round-trips imapDate", () => {
  assert.equal(
    parseImapDate("23-Nov-2026 10:00:00 +0000").toISOString(),
    "2026-11-23T10:00:00.000Z",
  );
  assert.equal(
    parseImapDate(" 1-Jan-2026 01:30:05 +0200").toISOString(),
    "2025-12-31T23:30:05.000Z",
  );
  assert.equal(
    parseImapDate("28-feb-2026 23:00:00 -0130").toISOString(),
    "2026-03-01T00:30:00.000Z",
  );
  const d = new Date("2026-07-04T08:09:10Z");
  assert.equal(parseImapDate(imapDate(d)).getTime(), d.getTime());
  assert.throws(() => parseImapDate("yesterday"), /unreadable INTERNALDATE "yesterday"/);
  assert.throws(() => parseImapDate("01-Foo-2026 10:00:00 +0000"), /unreadable/);
});

Deno.test("parseIdentity reads a FETCH response; header text cannot fake items", () => {
  const header = enc.encode("Message-ID: <a@b> UID 99 RFC822.SIZE 1\r\n\r\n");
  const r = parseIdentity({
    text:
      `* 3 FETCH (UID 17 FLAGS (\\Seen) RFC822.SIZE 4242 INTERNALDATE "23-Nov-2026 10:00:00 +0100" BODY[HEADER.FIELDS (MESSAGE-ID)] {${header.length}}\u0000)`,
    literals: [header],
  });
  assert.deepEqual(r, {
    uid: 17,
    size: 4242,
    internalDate: new Date("2026-11-23T09:00:00Z"),
    messageId: "<a@b>",
    flags: ["\\Seen"],
  });
  const none = parseIdentity({
    text:
      `* 4 FETCH (UID 18 RFC822.SIZE 10 INTERNALDATE "23-Nov-2026 10:00:00 +0000" BODY[HEADER.FIELDS (MESSAGE-ID)] {2}\u0000)`,
    literals: [enc.encode("\r\n")],
  });
  assert.equal(none?.messageId, null);
  // Unsolicited flag updates and other responses are not identities.
  assert.equal(parseIdentity({ text: "* 5 FETCH (FLAGS (\\Seen))", literals: [] }), null);
  assert.equal(parseIdentity({ text: "* 5 EXISTS", literals: [] }), null);
});

Deno.test("quote escapes and refuses line breaks; mailbox names use modified UTF-7", () => {
  assert.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
  assert.throws(() => quote("a\r\nb"), /CR, LF and NUL/);
  assert.equal(encodeMailboxName("Grüße & Co"), "Gr&APwA3w-e &- Co");
  assert.equal(encodeMailboxName("INBOX"), "INBOX");
});

Deno.test("parseFlagScan reads flags, size and date; keywords kept as sent", () => {
  assert.deepEqual(
    parseFlagScan(
      '* 2 FETCH (UID 9 FLAGS (\\Seen $Forwarded) RFC822.SIZE 311 INTERNALDATE "02-Mar-2026 07:08:09 +0000" MODSEQ (12))',
    ),
    {
      uid: 9,
      flags: ["\\Seen", "$Forwarded"],
      size: 311,
      internalDate: new Date("2026-03-02T07:08:09Z"),
    },
  );
  assert.deepEqual(parseFlagScan("* 2 FETCH (FLAGS () UID 10)"), { uid: 10, flags: [] });
  assert.equal(parseFlagScan("* 2 FETCH (FLAGS (\\Seen))"), null);
  assert.equal(parseFlagScan("* OK [HIGHESTMODSEQ 5]"), null);
});
