import assert from "node:assert/strict";
import { fakeRunner } from "./fake_runner.ts";
import { storeFlags } from "./store.ts";

Deno.test("storeFlags() replaces or adds, silently, over a collapsed UID set", async () => {
  const f = fakeRunner([], [{}, {}, { answer: "NO [CANNOT] read-only" }]);
  await storeFlags(f.runner, [3, 1, 2], { flags: ["\\Seen", "$Forwarded"], mode: "set" });
  await storeFlags(f.runner, [9], { flags: ["\\Deleted"], mode: "add" });
  await assert.rejects(
    storeFlags(f.runner, [9], { flags: [], mode: "set" }),
    /UID STORE failed: NO \[CANNOT\]/,
  );
  assert.deepEqual(f.sent, [
    "UID STORE 1:3 FLAGS.SILENT (\\Seen $Forwarded)",
    "UID STORE 9 +FLAGS.SILENT (\\Deleted)",
    "UID STORE 9 FLAGS.SILENT ()",
  ]);
});
