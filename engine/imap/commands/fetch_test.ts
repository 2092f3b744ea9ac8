import assert from "node:assert/strict";
import { fakeRunner } from "./fake_runner.ts";
import { fetchBodies, fetchFlags, fetchIdentities, fetchRange } from "./fetch.ts";

const enc = new TextEncoder();

Deno.test("fetchFlags() scans 1:*, with CHANGEDSINCE when asked; an empty folder costs nothing", async () => {
  const f = fakeRunner([], [{
    untagged: [
      '* 1 FETCH (UID 4 FLAGS (\\Seen) RFC822.SIZE 10 INTERNALDATE "02-Mar-2026 07:08:09 +0000")',
      "* 2 FETCH (FLAGS (\\Seen))",
    ],
  }, {}]);
  const scan = await fetchFlags(f.runner);
  assert.deepEqual([...scan.keys()], [4]);
  await fetchFlags(f.runner, { changedSince: "77" });
  assert.deepEqual(f.sent, [
    "UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)",
    "UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE) (CHANGEDSINCE 77)",
  ]);
  const empty = fakeRunner([], [], 0);
  assert.equal((await fetchFlags(empty.runner)).size, 0);
  assert.deepEqual(empty.sent, []);
});

Deno.test("fetchBodies() and fetchRange() read BODY.PEEK literals by UID", async () => {
  const body = enc.encode("Subject: x\r\n\r\nhi");
  const f = fakeRunner([], [
    { untagged: [{ text: `* 1 FETCH (UID 3 BODY[] {${body.length}}\u0000)`, literals: [body] }] },
    {
      untagged: [
        { text: "* 1 FETCH (UID 9 BODY[]<0> {2}\u0000)", literals: [enc.encode("no")] },
        { text: "* 2 FETCH (UID 3 BODY[]<0> {2}\u0000)", literals: [enc.encode("Su")] },
      ],
    },
    { untagged: ['* 2 FETCH (UID 3 BODY[]<64> "")'] },
    { answer: "NO [EXPUNGEISSUED] gone" },
  ]);
  assert.deepEqual(await fetchBodies(f.runner, [3, 5]), new Map([[3, body]]));
  assert.deepEqual(await fetchRange(f.runner, 3, { offset: 0, length: 2 }), enc.encode("Su"));
  assert.deepEqual(await fetchRange(f.runner, 3, { offset: 64, length: 2 }), new Uint8Array(0));
  await assert.rejects(fetchRange(f.runner, 3, { offset: 0, length: 2 }), /UID FETCH failed/);
  assert.deepEqual(f.sent.slice(0, 3), [
    "UID FETCH 3,5 (UID BODY.PEEK[])",
    "UID FETCH 3 (UID BODY.PEEK[]<0.2>)",
    "UID FETCH 3 (UID BODY.PEEK[]<64.2>)",
  ]);
  assert.deepEqual((await fetchBodies(fakeRunner([], []).runner, [])).size, 0);
});

Deno.test("fetchIdentities() asks in batches of 1000 and sorts by UID", async () => {
  const hdr = enc.encode("Message-ID: <m@x>\r\n\r\n");
  const item = (uid: number) => ({
    text:
      `* ${uid} FETCH (UID ${uid} RFC822.SIZE 5 INTERNALDATE "02-Mar-2026 07:08:09 +0000" BODY[HEADER.FIELDS (MESSAGE-ID)] {${hdr.length}}\u0000)`,
    literals: [hdr],
  });
  const f = fakeRunner([], [{ untagged: [item(1000), item(2)] }, { untagged: [item(1001)] }]);
  const uids = Array.from({ length: 1001 }, (_, i) => i + 1);
  const got = await fetchIdentities(f.runner, uids);
  assert.deepEqual(got.map((m) => m.uid), [2, 1000, 1001]);
  assert.equal(got[0].messageId, "<m@x>");
  assert.deepEqual(f.sent, [
    "UID FETCH 1:1000 (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
    "UID FETCH 1001 (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
  ]);
});
