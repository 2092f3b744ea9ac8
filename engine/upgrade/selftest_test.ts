import assert from "node:assert/strict";
import { join } from "node:path";
import {
  addSubscriptions,
  backupState,
  closeState,
  listSubscriptions,
  openState,
  SCHEMA_VERSION,
} from "../state/mod.ts";
import { copyStore, selfTest } from "./selftest.ts";

Deno.test("selfTest() opens a copy of the store and the config, and reports each check", async () => {
  const data = await Deno.makeTempDir({ prefix: "vmirror-selftest-" });
  try {
    const state = await openState(join(data, "state.kv"));
    await addSubscriptions(state, ["4001"], { origin: "manual" });
    await backupState(state, join(data, "b.vmkv"));
    try {
      // Beside a live writer, as beside the running service.
      const ok = await selfTest({
        dataDir: data,
        extra: ({ state: copy }) =>
          listSubscriptions(copy).then((s) => `${s.length} subscription(s) in the copy`),
      });
      assert.equal(ok.ok, true, JSON.stringify(ok));
      assert.equal(ok.stateSchema, SCHEMA_VERSION);
      assert.deepEqual(ok.checks.map((c) => [c.name, c.ok]), [
        ["state", true],
        ["config", true],
        ["portal", true],
      ]);
      assert.match(
        ok.checks[0].detail,
        new RegExp(`^a copy of .* opened at schema ${SCHEMA_VERSION}$`),
      );
      assert.equal(ok.checks[2].detail, "1 subscription(s) in the copy");
      const broken = await selfTest({
        dataDir: data,
        extra: () => Promise.reject(new Error("the portal cannot be built")),
      });
      assert.equal(broken.ok, false);
      assert.equal(broken.checks[2].detail, "the portal cannot be built");
      const badConfig = join(data, "bad.json");
      await Deno.writeTextFile(badConfig, `{"portal": {"listen": "nowhere"}}`);
      const config = await selfTest({ dataDir: data, configFile: badConfig });
      assert.equal(config.ok, false);
      assert.match(config.checks[1].detail, /portal\.listen/);
      const fromBackup = await selfTest({ dataDir: data, backup: join(data, "b.vmkv") });
      assert.equal(fromBackup.ok, true);
      assert.match(fromBackup.checks[0].detail, /^the backup ".*b\.vmkv" opened at schema/);
    } finally {
      closeState(state);
    }
    const empty = await Deno.makeTempDir({ dir: data });
    assert.equal(await copyStore(join(data, "none"), empty), false);
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});
