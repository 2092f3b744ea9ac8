import assert from "node:assert/strict";
import { join } from "node:path";
import {
  addSubscriptions,
  closeState,
  listAudit,
  listSubscriptions,
  openState,
  SCHEMA_VERSION,
} from "../state/mod.ts";
import { BACKUPS_KEPT, listBackups, replaceStore, storePath, takeBackup } from "./backups.ts";

Deno.test("takeBackup() records the entry, keeps the key beside and prunes old backups", async () => {
  const data = await Deno.makeTempDir({ prefix: "vmirror-upgrade-backups-" });
  try {
    const state = await openState(storePath(data));
    await addSubscriptions(state, ["4001"], { origin: "manual" });
    closeState(state);
    await Deno.writeFile(join(data, "secret.key"), new Uint8Array(32), { mode: 0o600 });
    const dir = join(data, "backups");
    const made = [];
    for (let i = 0; i < BACKUPS_KEPT + 2; i++) {
      made.push(
        await takeBackup(data, dir, {
          version: "1.0.0",
          at: new Date(Date.UTC(2026, 0, 1 + i)),
          entry: { actor: "cli", action: "upgrade", detail: { i } },
        }),
      );
    }
    const listed = await listBackups(dir);
    assert.equal(listed.length, BACKUPS_KEPT);
    assert.equal(listed[0].file, made.at(-1)!.file, "newest first");
    assert.equal(listed[0].schema, SCHEMA_VERSION);
    assert.ok((await Deno.stat(`${listed[0].file}.key`)).mode! & 0o600);
    assert.equal(await Deno.stat(`${made[0].file}.key`).catch(() => null), null, "pruned");

    // The first kept backup holds one subscription and the entries written before it.
    const first = listed.at(-1)!;
    const r = await replaceStore(data, first.file, {
      dir,
      entry: { actor: "cli", action: "rollback", detail: {} },
    });
    assert.equal(r.schema, SCHEMA_VERSION);
    assert.ok((await Deno.stat(join(r.aside, "state.kv"))).isFile, "the replaced store is kept");
    const after = await openState(storePath(data));
    try {
      assert.deepEqual((await listSubscriptions(after)).map((s) => s.mailbox), ["4001"]);
      const audit = await listAudit(after, 20);
      assert.equal(audit[0].action, "rollback");
      assert.equal(audit.filter((e) => e.action === "upgrade").length, 3);
    } finally {
      closeState(after);
    }
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});
