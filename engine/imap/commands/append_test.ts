import assert from "node:assert/strict";
import {
  append,
  appendLimit,
  appendMany,
  bytesItem,
  fileLiteral,
  isTooBig,
  refusedForSize,
  TooBigError,
} from "./append.ts";
import { fakeRunner } from "./fake_runner.ts";
import { ImapError } from "../flow.ts";

const enc = new TextEncoder();
const date = new Date("2026-03-02T07:08:09Z");

Deno.test("append() sends flags, date and literal; APPENDUID read when given", async () => {
  const f = fakeRunner([], [{ answer: "OK [APPENDUID 7 12] done" }, {}, { answer: "NO full" }]);
  const item = bytesItem(enc.encode("hi"), ["\\Seen"], date);
  assert.deepEqual(await append(f.runner, "Grüße", item), { uidValidity: 7, uid: 12 });
  assert.deepEqual(await append(f.runner, "INBOX", item), { uidValidity: null, uid: null });
  await assert.rejects(append(f.runner, "INBOX", item), /APPEND failed: NO full/);
  assert.equal(f.sent[0], 'APPEND "Gr&APwA3w-e" (\\Seen) "02-Mar-2026 07:08:09 +0000" {2}hi');
});

Deno.test("appendMany() is one command; UIDs only when APPENDUID covers every message", async () => {
  const f = fakeRunner([], [{ answer: "OK [APPENDUID 7 3:4] done" }, {
    answer: "OK [APPENDUID 7 3] odd",
  }]);
  const items = [bytesItem(enc.encode("a"), [], date), bytesItem(enc.encode("bc"), ["$X"], date)];
  assert.deepEqual(await appendMany(f.runner, "INBOX", items), { uidValidity: 7, uids: [3, 4] });
  assert.deepEqual(await appendMany(f.runner, "INBOX", items), {
    uidValidity: 7,
    uids: [null, null],
  });
  assert.equal(
    f.sent[0],
    'APPEND "INBOX" () "02-Mar-2026 07:08:09 +0000" {1}a ($X) "02-Mar-2026 07:08:09 +0000" {2}bc',
  );
});

Deno.test("fileLiteral() streams exactly its size and fails on a short file", async () => {
  const path = await Deno.makeTempFile();
  try {
    const bytes = new Uint8Array(600_000).map((_, i) => i % 251);
    await Deno.writeFile(path, bytes);
    const sent: Uint8Array[] = [];
    await fileLiteral(path, 500_000).write((b) => Promise.resolve(void sent.push(b.slice())));
    assert.ok(sent.length > 1, "not streamed in chunks");
    const total = new Uint8Array(sent.reduce((n, c) => n + c.length, 0));
    sent.reduce((off, c) => (total.set(c, off), off + c.length), 0);
    assert.deepEqual(total, bytes.subarray(0, 500_000));
    await assert.rejects(
      fileLiteral(path, 700_000).write(async () => {}),
      /is shorter than 700000/,
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("refusedForSize() tells a refusal for size from other APPEND failures", () => {
  // Cyrus 3.6 with maxmessagesize (seen in the lab).
  assert.equal(refusedForSize("NO [TOOBIG] Message size exceeds fixed limit"), true);
  // Dovecot: a literal over its APPENDLIMIT; quota_max_mail_size.
  assert.equal(refusedForSize("NO [TOOBIG] Mail size is too large"), true);
  assert.equal(
    refusedForSize(
      "NO [LIMIT] Mail size is larger than the maximum size allowed by server configuration",
    ),
    true,
  );
  // A full mailbox, a limit that is not about size, malformed commands, other refusals: no.
  assert.equal(refusedForSize("NO [OVERQUOTA] Quota exceeded (mailbox for user is full)"), false);
  assert.equal(refusedForSize("NO [LIMIT] Too many open mailboxes"), false);
  assert.equal(refusedForSize("BAD [TOOBIG] Literal size exceeds fixed limit"), false);
  assert.equal(refusedForSize("NO [TRYCREATE] Mailbox does not exist"), false);
  assert.equal(refusedForSize("NO Message size exceeds fixed limit"), false);
  assert.equal(refusedForSize("OK [APPENDUID 7 12] done"), false);
});

Deno.test("append() and appendMany() throw TooBigError for a refusal for size", async () => {
  const refusal = "NO [TOOBIG] Message size exceeds fixed limit";
  const f = fakeRunner([], [{ answer: refusal }, { answer: refusal }, {
    answer: "NO [OVERQUOTA] full",
  }]);
  const item = bytesItem(enc.encode("hi"), [], date);
  const e = await append(f.runner, "INBOX", item).catch((e) => e);
  assert.ok(e instanceof TooBigError && e.answer === refusal, String(e));
  assert.ok(isTooBig(new Error("Cannot append", { cause: e })), "found through a cause");
  await assert.rejects(appendMany(f.runner, "INBOX", [item, item]), TooBigError);
  const other = await append(f.runner, "INBOX", item).catch((e) => e);
  assert.ok(!(other instanceof TooBigError) && !isTooBig(other), String(other));
  assert.match(String(other), /APPEND failed: NO \[OVERQUOTA\] full/);
});

Deno.test("appendLimit() reads RFC 7889's APPENDLIMIT from the capabilities", () => {
  assert.equal(appendLimit(["IMAP4REV1", "LITERAL+", "APPENDLIMIT=1048576"]), 1048576);
  assert.equal(appendLimit(["IMAP4REV1", "APPENDLIMIT"]), null);
  assert.equal(appendLimit([]), null);
});

Deno.test("a refusal for size is no transient failure, whatever its wording says of limits", () => {
  const e = new ImapError(
    "mss-cyrus",
    "4021",
    'append to "INBOX"',
    new TooBigError("NO [TOOBIG] Message size exceeds fixed limit"),
  );
  assert.equal(e.transient, false);
  assert.equal(new ImapError("mss", "4021", "x", new Error("NO [LIMIT] busy")).transient, true);
});
