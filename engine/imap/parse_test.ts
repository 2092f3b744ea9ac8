import assert from "node:assert/strict";
import { imapDate } from "./encode.ts";
import {
  appendUid,
  capabilityCode,
  capabilityResponse,
  countChange,
  expandUidSet,
  inlineLiterals,
  literalIndex,
  openingCode,
  parseBody,
  parseBodyRange,
  parseFlagList,
  parseFlagScan,
  parseIdentity,
  parseImapDate,
  searchUids,
  statusItems,
} from "./parse.ts";

const enc = new TextEncoder();

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

Deno.test("parseBody and parseBodyRange find their literal among several", () => {
  const a = enc.encode("hdr");
  const b = enc.encode("body");
  const text = "* 1 FETCH (BODY[HEADER] {3}\u0000 UID 4 BODY[] {4}\u0000)";
  assert.equal(literalIndex(text, text.indexOf("BODY[]")), 1);
  assert.deepEqual(parseBody({ text, literals: [a, b] }), { uid: 4, bytes: b });
  assert.equal(parseBody({ text: "* 1 FETCH (UID 4 FLAGS ())", literals: [] }), null);
  assert.deepEqual(
    parseBodyRange({ text: "* 1 FETCH (UID 4 BODY[]<0> {4}\u0000)", literals: [b] }),
    { uid: 4, bytes: b },
  );
  // Past the end, the server may send an empty quoted string instead of a literal.
  assert.deepEqual(
    parseBodyRange({ text: '* 1 FETCH (UID 4 BODY[]<8192> "")', literals: [] }),
    { uid: 4, bytes: new Uint8Array(0) },
  );
});

Deno.test("untagged responses and codes: STATUS, SEARCH, EXISTS, capabilities, APPENDUID", () => {
  assert.deepEqual(
    statusItems('* STATUS "Gr&APwA3w-e" (UIDVALIDITY 7 uidnext 12 MESSAGES 3)'),
    { UIDVALIDITY: "7", UIDNEXT: "12", MESSAGES: "3" },
  );
  assert.equal(statusItems("* 3 EXISTS"), null);
  assert.deepEqual(searchUids("* SEARCH 4 2 9"), [4, 2, 9]);
  assert.deepEqual(searchUids("* SEARCH"), []);
  assert.equal(searchUids("* 2 EXISTS"), null);
  assert.deepEqual(countChange("* 5 EXISTS"), { exists: 5 });
  assert.deepEqual(countChange("* 2 expunge"), { expunged: true });
  assert.equal(countChange("* 2 FETCH (FLAGS ())"), null);
  assert.deepEqual(
    capabilityCode("* OK [CAPABILITY IMAP4rev1 sasl-ir] ready"),
    new Set(["IMAP4REV1", "SASL-IR"]),
  );
  assert.equal(capabilityCode("* OK ready"), null);
  assert.deepEqual(
    capabilityResponse("* CAPABILITY IMAP4rev1 IDLE"),
    new Set(["IMAP4REV1", "IDLE"]),
  );
  assert.deepEqual(openingCode("* OK [UIDVALIDITY 42] UIDs valid"), {
    name: "UIDVALIDITY",
    value: "42",
  });
  assert.deepEqual(parseFlagList("(\\Seen \\*)"), new Set(["\\Seen", "\\*"]));
  assert.deepEqual(appendUid("OK [APPENDUID 7 3:5,9] Append completed"), {
    uidValidity: 7,
    uids: [3, 4, 5, 9],
  });
  assert.equal(appendUid("OK Append completed"), null);
});

Deno.test("inlineLiterals puts each literal back in its place as latin1", () => {
  assert.equal(
    inlineLiterals({
      text: "* 1 FETCH (BODY[] {2}\u0000 X {1}\u0000)",
      literals: [enc.encode("ab"), new Uint8Array([0xe9])],
    }),
    "* 1 FETCH (BODY[] {2}ab X {1}é)",
  );
  assert.equal(inlineLiterals({ text: "* OK", literals: [] }), "* OK");
});
