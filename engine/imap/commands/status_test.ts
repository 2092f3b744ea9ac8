import assert from "node:assert/strict";
import { fakeRunner } from "./fake_runner.ts";
import { status } from "./status.ts";

Deno.test("status() asks HIGHESTMODSEQ only with CONDSTORE; NO means absent", async () => {
  const f = fakeRunner(["CONDSTORE"], [
    { untagged: ['* STATUS "INBOX" (UIDVALIDITY 3 UIDNEXT 9 MESSAGES 2 HIGHESTMODSEQ 40)'] },
    { answer: "NO [NONEXISTENT] Mailbox doesn't exist" },
  ]);
  assert.deepEqual(await status(f.runner, "INBOX"), {
    UIDVALIDITY: "3",
    UIDNEXT: "9",
    MESSAGES: "2",
    HIGHESTMODSEQ: "40",
  });
  assert.equal(await status(f.runner, "Grüße"), null);
  assert.deepEqual(f.sent, [
    'STATUS "INBOX" (UIDVALIDITY UIDNEXT MESSAGES HIGHESTMODSEQ)',
    'STATUS "Gr&APwA3w-e" (UIDVALIDITY UIDNEXT MESSAGES HIGHESTMODSEQ)',
  ]);
  const plain = fakeRunner([], [{ answer: "BAD syntax" }]);
  await assert.rejects(status(plain.runner, "INBOX"), /STATUS failed: BAD syntax/);
  assert.deepEqual(plain.sent, ['STATUS "INBOX" (UIDVALIDITY UIDNEXT MESSAGES)']);
});
