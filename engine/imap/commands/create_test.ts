import assert from "node:assert/strict";
import { create } from "./create.ts";
import { fakeRunner } from "./fake_runner.ts";

Deno.test("create() sends the name in modified UTF-7 and fails on NO", async () => {
  const f = fakeRunner([], [{}, { answer: "NO [ALREADYEXISTS] exists" }]);
  await create(f.runner, "Grüße");
  await assert.rejects(create(f.runner, "INBOX"), /CREATE failed: NO \[ALREADYEXISTS\]/);
  assert.deepEqual(f.sent, ['CREATE "Gr&APwA3w-e"', 'CREATE "INBOX"']);
});
