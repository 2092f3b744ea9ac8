/**
 * The mirror engine against the lab's real production Dovecot, into a file store on disk.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeState, openState } from "../engine/state/mod.ts";
import { runSync, type SyncSummary } from "../engine/mirror/mod.ts";
import type { StoredMessageMeta } from "../engine/files/mod.ts";
import { lab, labConfig, type Snapshot, snapshot } from "./test_utils/mod.ts";

// Seeded mailboxes that no test changes on production; 4001 holds the over-length message,
// which a file store keeps whole (no placeholder: there is no class of service on a disk).
const MAILBOXES = ["4001", "4004"];

function isBroadcast(bytes: Uint8Array): boolean {
  const b = lab().broadcast;
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 8192));
  return new RegExp(`^${b.header}:\\s*${b.value}\\s*$`, "im").test(head);
}

interface StoredMessage {
  dir: string;
  meta: StoredMessageMeta;
}

// What the store holds for one folder, by source UID, read straight from disk.
async function readStore(root: string, mailbox: string, folder: string) {
  const out = new Map<number, StoredMessage>();
  const folderDir = join(root, mailbox, folder);
  try {
    for await (const e of Deno.readDir(folderDir)) {
      if (!e.isDirectory || e.name.startsWith(".")) continue;
      const dir = join(folderDir, e.name);
      const meta = JSON.parse(await Deno.readTextFile(join(dir, "meta.json")));
      assert.ok(!out.has(meta.source.uid), `${folder}: UID ${meta.source.uid} stored twice`);
      out.set(meta.source.uid, { dir, meta });
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return out;
    throw e;
  }
  return out;
}

// Every file below the root with its size and modification time: a pass that copies nothing
// must leave this exactly as it was.
async function listing(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = `${prefix}/${e.name}`;
    const info = await Deno.stat(join(dir, e.name));
    out.push(`${rel} ${info.isDirectory ? "dir" : info.size} ${info.mtime?.getTime()}`);
    if (e.isDirectory) out.push(...await listing(join(dir, e.name), rel));
  }
  return out.sort();
}

async function assertStored(root: string, mailbox: string, prod: Snapshot): Promise<number> {
  let count = 0;
  for (const [folder, p] of Object.entries(prod.folders)) {
    const stored = await readStore(root, mailbox, folder);
    const expected = p.messages.filter((m) => !isBroadcast(m.bytes));
    for (const m of p.messages) {
      const where = `${mailbox}/${folder} UID ${m.uid} ${m.messageId}`;
      const s = stored.get(m.uid);
      if (isBroadcast(m.bytes)) {
        assert.equal(s, undefined, `${where}: a broadcast was stored`);
        continue;
      }
      assert.ok(s, `${where}: not in the store`);
      assert.deepEqual(await Deno.readFile(join(s.dir, "message.eml")), m.bytes, `${where}: bytes`);
      assert.deepEqual([...s.meta.flags].sort(), m.flags, `${where}: flags`);
      assert.equal(Date.parse(s.meta.internalDate), m.internalDate, `${where}: internal date`);
      assert.equal(s.meta.size, m.size, `${where}: size`);
      assert.equal(s.meta.messageId, m.messageId, `${where}: Message-ID`);
      assert.deepEqual(s.meta.source, {
        mailbox,
        folder,
        uid: m.uid,
        uidValidity: p.uidValidity,
        kind: "copy",
      });
      assert.ok(s.meta.uid > 0);
      // Every voice part is beside the message as its own file.
      assert.ok(s.meta.voiceParts.length > 0, `${where}: no voice part`);
      for (const v of s.meta.voiceParts) {
        const audio = await Deno.readFile(join(s.dir, v.file));
        assert.equal(audio.length, v.bytes, `${where}: ${v.file}`);
        assert.equal(new TextDecoder().decode(audio.subarray(0, 4)), "RIFF", `${where}: ${v.file}`);
      }
      count++;
    }
    assert.equal(stored.size, expected.length, `${mailbox}/${folder}: message count`);
  }
  return count;
}

async function withTimeout<T>(ms: number, what: string, fn: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function assertClean(s: SyncSummary): void {
  assert.equal(s.failed, 0, JSON.stringify(s.mailboxes.map((m) => m.error).filter(Boolean)));
  assert.deepEqual(s.serverErrors, []);
}

Deno.test({
  name: "sync into a file store keeps every message whole and never alters production",
  // imapflow leaves socket timers behind after logout; the lab's own tests do the same.
  fn: async (t) => {
    const folders = lab().folders;
    const data = await Deno.makeTempDir({ prefix: "vmirror-files-lab-" });
    const root = join(data, "store");
    await Deno.mkdir(root);
    const config = await labConfig(join(data, "data"), (raw) => {
      (raw.target as Record<string, unknown>).root = root;
    }, "files");
    assert.equal(config.target?.type, "files");
    const state = await openState(":memory:");
    try {
      const before = await Promise.all(MAILBOXES.map((m) => snapshot("prod", m, folders)));
      const broadcasts = before.flatMap((s) =>
        Object.values(s.folders).flatMap((f) =>
          f.messages.filter((m) => isBroadcast(m.bytes))
        )
      ).length;

      await t.step("the first pass stores every message but broadcasts", async () => {
        const s = await withTimeout(
          120_000,
          "the first pass",
          () => runSync(config, state, { mailboxes: MAILBOXES, retryDelayMs: 10 }),
        );
        assertClean(s);
        let stored = 0;
        for (const [i, mailbox] of MAILBOXES.entries()) {
          stored += await assertStored(root, mailbox, before[i]);
        }
        assert.equal(s.totals.copied, stored);
        assert.equal(s.totals.placeholders, 0);
        assert.equal(s.totals.skipped.broadcast ?? 0, broadcasts);
        assert.ok(stored > 0);
      });

      await t.step("the greetings folder is stored like any other", async () => {
        const greetings = lab().greetingsFolder;
        const i = MAILBOXES.findIndex((m) =>
          (before[MAILBOXES.indexOf(m)].folders[greetings]?.messages.length ?? 0) > 0
        );
        assert.ok(i >= 0, "no seeded greetings");
        const stored = await readStore(root, MAILBOXES[i], greetings);
        assert.equal(stored.size, before[i].folders[greetings].messages.length);
      });

      await t.step("the over-length message is kept whole", async () => {
        const long = lab().longMessage;
        const i = MAILBOXES.indexOf(long.mailbox);
        if (i < 0) return;
        const stored = [...(await readStore(root, long.mailbox, long.folder)).values()]
          .find((s) => s.meta.messageId === long.messageId);
        assert.ok(stored, "the long message is not in the store");
        assert.ok((stored.meta.durationSeconds ?? 0) >= long.seconds - 2);
        const src = before[i].folders[long.folder].messages.find((m) =>
          m.messageId === long.messageId
        )!;
        assert.deepEqual(await Deno.readFile(join(stored.dir, "message.eml")), src.bytes);
      });

      await t.step("a second pass copies nothing and leaves the store as it was", async () => {
        const files = await listing(root);
        const s = await withTimeout(
          60_000,
          "the second pass",
          () => runSync(config, state, { mailboxes: MAILBOXES, retryDelayMs: 10 }),
        );
        assertClean(s);
        assert.equal(s.totals.copied, 0);
        assert.equal(s.totals.deleted, 0);
        assert.equal(s.totals.flagsUpdated, 0);
        assert.deepEqual(await listing(root), files);
      });

      await t.step("production is unchanged: messages, flags, UIDVALIDITY, MODSEQ", async () => {
        const after = await Promise.all(MAILBOXES.map((m) => snapshot("prod", m, folders)));
        assert.deepEqual(after, before);
      });

      await t.step("nothing is written outside the store's root", async () => {
        const entries: string[] = [];
        for await (const e of Deno.readDir(data)) entries.push(e.name);
        assert.deepEqual(entries.sort(), ["data", "store"]);
        const mailboxDirs: string[] = [];
        for await (const e of Deno.readDir(root)) mailboxDirs.push(e.name);
        assert.deepEqual(mailboxDirs.sort(), [...MAILBOXES].sort());
      });
    } finally {
      closeState(state);
      await Deno.remove(data, { recursive: true });
    }
  },
});
