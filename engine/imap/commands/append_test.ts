import assert from "node:assert/strict";
import { append, appendMany, bytesItem, fileLiteral } from "./append.ts";
import { fakeRunner } from "./fake_runner.ts";

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
