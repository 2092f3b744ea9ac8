import assert from "node:assert/strict";
import { capability } from "./capability.ts";
import { fakeRunner } from "./fake_runner.ts";

Deno.test("capability() reads * CAPABILITY, or null when the server lists none", async () => {
  const f = fakeRunner([], [{ untagged: ["* CAPABILITY IMAP4rev1 Idle"] }, {}]);
  assert.deepEqual(await capability(f.runner), new Set(["IMAP4REV1", "IDLE"]));
  assert.equal(await capability(f.runner), null);
  assert.deepEqual(f.sent, ["CAPABILITY", "CAPABILITY"]);
});
