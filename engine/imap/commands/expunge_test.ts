import assert from "node:assert/strict";
import { expunge, uidExpunge } from "./expunge.ts";
import { fakeRunner } from "./fake_runner.ts";

Deno.test("expunge() and uidExpunge() send their verbs and fail on NO", async () => {
  const f = fakeRunner(["UIDPLUS"], [{ untagged: ["* 2 EXPUNGE"] }, {}, { answer: "NO busy" }]);
  await expunge(f.runner);
  await uidExpunge(f.runner, [5, 6, 8]);
  await assert.rejects(uidExpunge(f.runner, [1]), /UID EXPUNGE failed: NO busy/);
  assert.deepEqual(f.sent, ["EXPUNGE", "UID EXPUNGE 5:6,8", "UID EXPUNGE 1"]);
});
