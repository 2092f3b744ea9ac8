import assert from "node:assert/strict";
import { join } from "node:path";
import { backupState, restoreState } from "./backup.ts";
import { closeState, openState, SCHEMA_VERSION, type State } from "./kv.ts";

async function dump(state: State): Promise<[Deno.KvKey, unknown][]> {
  const out: [Deno.KvKey, unknown][] = [];
  for await (const e of state.kv.list({ prefix: [] })) out.push([e.key, e.value]);
  return out;
}

Deno.test("backupState() and restoreState() carry every record with its type", async () => {
  const dir = await Deno.makeTempDir();
  const a = await openState(join(dir, "a.kv"));
  const b = await openState(join(dir, "b.kv"));
  try {
    await a.kv.set(["sub", "4001"], { mailbox: "4001", origin: "manual", addedAt: "x" });
    await a.kv.set(["map", "4001", "INBOX", 7, 1], { srcUid: 1, targetUid: 9, flags: ["\\Seen"] });
    await a.kv.set(["settings"], { sealed: new Uint8Array([1, 2, 3]), at: new Date(0) });
    await a.kv.set(["portal", "admin"], { hash: "pbkdf2-sha256$…" });
    await a.kv.set(["portal", "session", "abc"], { mailbox: "4001" }, { expireIn: 60_000 });
    for (let i = 0; i < 1200; i++) await a.kv.set(["audit", String(i).padStart(5, "0"), "id"], i);
    const file = join(dir, "state.backup");
    const made = await backupState(a, file);
    assert.equal(made.schema, SCHEMA_VERSION);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const restored = await restoreState(b, file);
    assert.equal(restored.records, made.records);
    const expected = (await dump(a)).filter(([k]) => !(k[0] === "portal" && k[1] === "session"));
    assert.deepEqual(await dump(b), expected, "everything but the expiring session");
    await assert.rejects(restoreState(b, file), /not empty/);
  } finally {
    closeState(a);
    closeState(b);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restoreState() refuses what is not a backup, a cut file and a newer schema", async () => {
  const dir = await Deno.makeTempDir();
  const a = await openState(join(dir, "a.kv"));
  const b = await openState(join(dir, "b.kv"));
  try {
    await Deno.writeTextFile(join(dir, "junk"), "hello");
    await assert.rejects(restoreState(b, join(dir, "junk")), /not a vmirror state backup/);
    await a.kv.set(["sub", "4001"], { mailbox: "4001" });
    await backupState(a, join(dir, "ok"));
    const bytes = await Deno.readFile(join(dir, "ok"));
    await Deno.writeFile(join(dir, "cut"), bytes.subarray(0, bytes.length - 3));
    await assert.rejects(restoreState(b, join(dir, "cut")), /cut short/);
    await a.kv.set(["meta", "schema"], SCHEMA_VERSION + 1);
    await backupState(a, join(dir, "newer"));
    await assert.rejects(restoreState(b, join(dir, "newer")), /newer than this build/);
    assert.equal((await dump(b)).length, 1, "nothing but the schema was written");
  } finally {
    closeState(a);
    closeState(b);
    await Deno.remove(dir, { recursive: true });
  }
});
