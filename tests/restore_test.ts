/**
 * `restore` against the lab's real Dovecot pair, a Cyrus pair (Cyrus production, Cyrus backup:
 * folder names mapped into Cyrus's namespace) and a file store: messages go back into a
 * production mailbox byte for byte with flags and INTERNALDATE, exactly once, and the next
 * mirror pass neither copies nor deletes anything because of it.
 * Scratch mailboxes 7350–7359 and 7722 belong to these tests.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../engine/config/mod.ts";
import {
  formatRestoreReport,
  RestoreError,
  type RestoreReport,
  runRestore,
} from "../engine/restore/mod.ts";
import { closeState, openState, type State } from "../engine/state/mod.ts";
import { runSync, type SyncSummary } from "../engine/mirror/mod.ts";
import {
  cyrusBackupSide,
  cyrusSource,
  dovecotSource,
  imapSide,
  lab,
  labConfig,
  type MirrorSide,
  scratchMailbox,
  type Snapshot,
  snapshot,
  type SourceSide,
  variant,
  wipeMailbox,
  withImap,
} from "./test_utils/mod.ts";

const FOLDERS = () => lab().folders;
const TIMEOUT_MS = 120_000;

function isBroadcast(bytes: Uint8Array): boolean {
  const b = lab().broadcast;
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 8192));
  return new RegExp(`^${b.header}:\\s*${b.value}\\s*$`, "im").test(head);
}

function isPlaceholder(bytes: Uint8Array): boolean {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 8192));
  return /^x-vmirror-placeholder:/im.test(head);
}

/**
 * A scratch mailbox on production: `count` INBOX messages (variants of seeded voicemail, some
 * read, some with keywords, one a broadcast) and the seeded greetings in the greetings folder.
 */
async function fillProduction(
  mailbox: string,
  count: number,
  source: SourceSide = dovecotSource,
): Promise<void> {
  await scratchMailbox(mailbox);
  await source.wipe(mailbox);
  const seeded = await snapshot("prod", "4002", FOLDERS());
  const pool = seeded.folders.INBOX.messages.filter((m) => !isBroadcast(m.bytes));
  const broadcast = seeded.folders.INBOX.messages.find((m) => isBroadcast(m.bytes));
  const base = Date.UTC(2026, 0, 5, 8, 0, 0);
  const inbox = Array.from({ length: count }, (_, i) => ({
    bytes: variant(pool[i % pool.length].bytes, 7000 + i),
    flags: [[], ["\\Seen"], ["\\Seen", "$Forwarded"], ["\\Flagged"]][i % 4],
    date: new Date(base + i * 3_600_000),
  }));
  if (broadcast) {
    inbox.push({ bytes: variant(broadcast.bytes, 7999), flags: [], date: new Date(base - 1000) });
  }
  await source.appendRaw(mailbox, "INBOX", inbox);
  const greetings = seeded.folders[lab().greetingsFolder]?.messages ?? [];
  assert.ok(greetings.length > 0, "the seeded mailbox 4002 has greetings");
  await source.appendRaw(
    mailbox,
    lab().greetingsFolder,
    greetings.map((m, i) => ({
      bytes: variant(m.bytes, 7100 + i),
      flags: m.flags,
      date: new Date(m.internalDate),
    })),
  );
}

/** Asserts production holds every non-broadcast message of `before` once, byte-identical. */
function assertRestored(before: Snapshot, after: Snapshot): number {
  let n = 0;
  for (const [folder, b] of Object.entries(before.folders)) {
    const expected = b.messages.filter((m) => !isBroadcast(m.bytes));
    const got = after.folders[folder]?.messages ?? [];
    assert.equal(got.length, expected.length, `${folder}: message count on production`);
    for (const m of expected) {
      const copies = got.filter((x) => x.messageId === m.messageId);
      assert.equal(copies.length, 1, `${folder} ${m.messageId}: ${copies.length} on production`);
      const [c] = copies;
      assert.deepEqual(c.bytes, m.bytes, `${folder} ${m.messageId}: bytes`);
      assert.deepEqual(c.flags, m.flags, `${folder} ${m.messageId}: flags`);
      assert.equal(c.internalDate, m.internalDate, `${folder} ${m.messageId}: INTERNALDATE`);
      n++;
    }
  }
  return n;
}

/** The messages of a snapshot without HIGHESTMODSEQ, for "nothing changed" comparisons. */
function contents(s: Snapshot) {
  return Object.fromEntries(
    Object.entries(s.folders).map(([f, v]) => [f, { uidValidity: v.uidValidity, m: v.messages }]),
  );
}

function assertClean(s: SyncSummary): void {
  assert.equal(s.failed, 0, JSON.stringify(s.mailboxes.map((m) => m.error).filter(Boolean)));
}

function assertOk(r: RestoreReport): void {
  assert.ok(r.ok, formatRestoreReport(r));
  assert.equal(r.failed, 0, formatRestoreReport(r));
}

async function withTimeout<T>(what: string, fn: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what} took over ${TIMEOUT_MS} ms`)),
          TIMEOUT_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function usingState<T>(path: string, fn: (state: State) => Promise<T>): Promise<T> {
  const state = await openState(path);
  try {
    return await fn(state);
  } finally {
    closeState(state);
  }
}

// What the store holds: every message directory (one holding a meta.json), live or deleted,
// as a path below the root.
async function storeDirs(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isDirectory || e.name.startsWith(".")) continue;
      const path = join(dir, e.name);
      try {
        await Deno.stat(join(path, "meta.json"));
        out.push(`${rel}${e.name}`);
      } catch {
        await walk(path, `${rel}${e.name}/`);
      }
    }
  };
  await walk(root, "");
  return out.sort();
}

/** Production and backup MSS of the backup restore test, each pair with its scratch mailbox. */
const BACKUP_PAIRS: { name: string; source: SourceSide; target: MirrorSide; mailbox: string }[] = [
  { name: "", source: dovecotSource, target: imapSide, mailbox: "7350" },
  // Folders created and appended to as Cyrus names them ("INBOX.Greetings").
  { name: "[cyrus→cyrus] ", source: cyrusSource, target: cyrusBackupSide, mailbox: "7722" },
];

for (const { name, source, target, mailbox } of BACKUP_PAIRS) {
  Deno.test({
    name:
      `${name}restore --from backup puts every message back once, byte for byte, flags and dates`,
    // imapflow leaves socket timers behind after logout; the other lab tests do the same.
    fn: (t) =>
      withTimeout("the backup restore test", async () => {
        const mb = mailbox;
        await fillProduction(mb, 6, source);
        const dir = await Deno.makeTempDir({ prefix: "vmirror-restore-backup-" });
        try {
          const config = await target.config(dir, source.patch);
          await target.wipe(config, mb);
          await usingState(join(dir, "state.kv"), async (state) => {
            assertClean(await runSync(config, state, { mailboxes: [mb] }));
            const before = await source.snapshot(mb, FOLDERS());
            const backupBefore = await target.read(config, mb, FOLDERS());
            const expected = 6 + before.folders[lab().greetingsFolder].messages.length;
            await source.wipe(mb);
            const wiped = await source.snapshot(mb, FOLDERS());

            await t.step("a dry run lists the plan and writes nothing", async () => {
              const lines: string[] = [];
              const r = await runRestore(config, state, {
                mailbox: mb,
                from: "backup",
                dryRun: true,
                onProgress: (l) => lines.push(l),
              });
              assertOk(r);
              assert.equal(r.dryRun, true);
              assert.equal(r.appended, expected);
              assert.equal(r.items.filter((i) => i.outcome === "would-append").length, expected);
              assert.deepEqual(r.createdFolders, [lab().greetingsFolder]);
              assert.equal(r.mapUpdated, 0);
              // The broadcast was never mirrored: production lost it for good, and is told so.
              assert.equal(r.lost.length, 1);
              assert.equal(r.lost[0].reason, "broadcast");
              const text = formatRestoreReport(r);
              assert.match(text, /dry run, nothing written/);
              assert.match(text, new RegExp(`would append ${expected}, failed 0`));
              assert.match(text, /would create folder "Greetings"/);
              assert.ok(lines.length >= 2);
              assert.deepEqual(await source.snapshot(mb, FOLDERS()), wiped);
            });

            await t.step("a restore brings every message back as it was", async () => {
              const r = await runRestore(config, state, { mailbox: mb, from: "backup" });
              assertOk(r);
              assert.equal(r.appended, expected);
              assert.equal(r.mapUpdated, expected);
              assert.deepEqual(r.createdFolders, [lab().greetingsFolder]);
              assert.ok(r.items.every((i) => i.outcome !== "appended" || i.productionUid! > 0));
              const after = await source.snapshot(mb, FOLDERS());
              assert.equal(assertRestored(before, after), expected);
            });

            await t.step("restoring again appends nothing", async () => {
              const prodBefore = await source.snapshot(mb, FOLDERS());
              const r = await runRestore(config, state, { mailbox: mb });
              assertOk(r);
              assert.equal(r.from, "backup"); // the configured target's kind
              assert.equal(r.appended, 0);
              assert.equal(r.skipped["on-production"], expected);
              assert.deepEqual(r.createdFolders, []);
              assert.deepEqual(await source.snapshot(mb, FOLDERS()), prodBefore);
            });

            await t.step("the next mirror pass copies and deletes nothing", async () => {
              const s = await runSync(config, state, { mailboxes: [mb] });
              assertClean(s);
              const t0 = s.totals;
              assert.deepEqual(
                [
                  t0.copied,
                  t0.deleted,
                  t0.placeholders,
                  t0.flagsUpdated,
                  s.mailboxes[0].adopted ?? 0,
                ],
                [0, 0, 0, 0, 0],
              );
              const backupAfter = await target.read(config, mb, FOLDERS());
              assert.deepEqual(contents(backupAfter), contents(backupBefore));
            });

            await t.step(
              "with a lost state store, the next pass adopts instead of copying",
              async () => {
                await source.wipe(mb);
                await usingState(":memory:", async (fresh) => {
                  const r = await runRestore(config, fresh, { mailbox: mb });
                  assertOk(r);
                  assert.equal(r.appended, expected);
                  assert.equal(r.mapUpdated, 0);
                  assert.ok(r.items.every((i) => i.sourceUid === null));
                  assertRestored(before, await source.snapshot(mb, FOLDERS()));
                  const s = await runSync(config, fresh, { mailboxes: [mb] });
                  assertClean(s);
                  assert.equal(s.totals.copied, 0);
                  assert.equal(s.totals.placeholders, 0);
                  assert.equal(s.mailboxes[0].adopted, expected);
                  const backupAfter = await target.read(config, mb, FOLDERS());
                  for (const f of FOLDERS()) {
                    assert.equal(
                      backupAfter.folders[f].messages.length,
                      backupBefore.folders[f].messages.length,
                      `${f}: no duplicate on the backup`,
                    );
                  }
                });
              },
            );
          });
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      }),
  });
}

Deno.test({
  name: "restore --from files puts every message back once and the store stays as it was",
  fn: (t) =>
    withTimeout("the file-store restore test", async () => {
      const mb = "7351";
      await fillProduction(mb, 5);
      const dir = await Deno.makeTempDir({ prefix: "vmirror-restore-files-" });
      try {
        const root = join(dir, "store");
        await Deno.mkdir(root);
        const config = await labConfig(join(dir, "data"), (raw) => {
          Object.assign(raw.target as Record<string, unknown>, { root, onDelete: "move" });
        }, "files");
        await usingState(join(dir, "data", "state.kv"), async (state) => {
          assertClean(await runSync(config, state, { mailboxes: [mb] }));
          const before = await snapshot("prod", mb, FOLDERS());
          const expected = 5 + before.folders[lab().greetingsFolder].messages.length;
          const storeBefore = await storeDirs(root);
          assert.equal(storeBefore.length, expected);
          await wipeMailbox("prod", mb);

          await t.step("a dry run writes nothing to production or the store", async () => {
            const r = await runRestore(config, state, { mailbox: mb, dryRun: true });
            assertOk(r);
            assert.equal(r.from, "files");
            assert.equal(r.appended, expected);
            assert.deepEqual(r.createdFolders, [lab().greetingsFolder]);
            const prod = await snapshot("prod", mb, FOLDERS());
            assert.equal(prod.folders.INBOX.messages.length, 0);
            assert.equal(prod.folders[lab().greetingsFolder], undefined);
            assert.deepEqual(await storeDirs(root), storeBefore);
          });

          await t.step(
            "a restore brings every message back; a second one appends nothing",
            async () => {
              const r = await runRestore(config, state, { mailbox: mb, from: "files" });
              assertOk(r);
              assert.equal(r.appended, expected);
              // The store's UIDs and production's old UIDs are both in the report.
              assert.ok(r.items.every((i) => i.mirrorUid > 0 && i.sourceUid !== null));
              assert.equal(assertRestored(before, await snapshot("prod", mb, FOLDERS())), expected);
              const again = await runRestore(config, state, { mailbox: mb });
              assertOk(again);
              assert.equal(again.appended, 0);
              assert.equal(again.skipped["on-production"], expected);
            },
          );

          await t.step("the next mirror pass writes no directory", async () => {
            const s = await runSync(config, state, { mailboxes: [mb] });
            assertClean(s);
            assert.deepEqual([s.totals.copied, s.totals.deleted], [0, 0]);
            assert.deepEqual(await storeDirs(root), storeBefore);
          });

          await t.step("the deleted area is restored only when asked", async () => {
            const gone = (await snapshot("prod", mb, ["INBOX"])).folders.INBOX.messages[0];
            await withImap("prod", mb, async (c) => {
              await c.mailboxOpen("INBOX");
              await c.messageDelete(String(gone.uid), { uid: true });
            });
            const s = await runSync(config, state, { mailboxes: [mb] });
            assertClean(s);
            assert.equal(s.totals.deleted, 1);
            const skip = await runRestore(config, state, { mailbox: mb });
            assertOk(skip);
            assert.equal(skip.appended, 0);
            assert.equal(skip.skipped["deleted-on-mirror"], 1);
            assert.ok(skip.warnings.some((w) => w.includes("--include-deleted")));
            const r = await runRestore(config, state, { mailbox: mb, includeDeleted: true });
            assertOk(r);
            assert.equal(r.appended, 1);
            assert.equal(r.items.find((i) => i.outcome === "appended")?.deleted, true);
            assertRestored(before, await snapshot("prod", mb, FOLDERS()));
            // Live again on production, so live again in the store: one new directory.
            const s2 = await runSync(config, state, { mailboxes: [mb] });
            assertClean(s2);
            assert.equal(s2.totals.copied, 1);
          });

          await t.step(
            "with a lost state store the next pass adopts: no duplicate directory",
            async () => {
              const storeNow = await storeDirs(root);
              await wipeMailbox("prod", mb);
              await usingState(":memory:", async (fresh) => {
                const r = await runRestore(config, fresh, { mailbox: mb });
                assertOk(r);
                assert.equal(r.appended, expected);
                assertRestored(before, await snapshot("prod", mb, FOLDERS()));
                const s = await runSync(config, fresh, { mailboxes: [mb] });
                assertClean(s);
                assert.equal(s.totals.copied, 0);
                assert.equal(s.mailboxes[0].adopted, expected);
                assert.deepEqual(await storeDirs(root), storeNow);
              });
            },
          );
        });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }),
});

Deno.test({
  name: "restore --since and --uid put back only what was asked for",
  fn: (t) =>
    withTimeout("the filter test", async () => {
      const mb = "7352";
      await fillProduction(mb, 6);
      const dir = await Deno.makeTempDir({ prefix: "vmirror-restore-filter-" });
      try {
        const config = await labConfig(dir);
        await usingState(join(dir, "state.kv"), async (state) => {
          assertClean(await runSync(config, state, { mailboxes: [mb] }));
          const before = await snapshot("prod", mb, ["INBOX"]);
          const backup = await snapshot("backup", mb, ["INBOX"]);
          await wipeMailbox("prod", mb);
          const inbox = () => snapshot("prod", mb, ["INBOX"]);
          const byDate = [...backup.folders.INBOX.messages].sort((a, b) =>
            a.internalDate - b.internalDate
          );

          await t.step("--since takes the messages at or after the instant", async () => {
            const since = new Date(byDate[4].internalDate);
            const r = await runRestore(config, state, {
              mailbox: mb,
              folders: ["INBOX"],
              since,
            });
            assertOk(r);
            assert.equal(r.appended, 2);
            assert.equal(r.skipped["before-since"], 4);
            // The others are still tracked by the mirror and production lacks them.
            assert.ok(
              r.warnings.some((w) => /4 message\(s\).*deletes them/.test(w)),
              r.warnings.join(),
            );
            const got = (await inbox()).folders.INBOX.messages.map((m) => m.messageId).sort();
            assert.deepEqual(got, byDate.slice(4).map((m) => m.messageId).sort());
          });

          await t.step(
            "--uid takes the mirror's UIDs and names those it does not know",
            async () => {
              const uids = [byDate[0].uid, byDate[2].uid];
              const r = await runRestore(config, state, {
                mailbox: mb,
                folders: ["INBOX"],
                uids: [...uids, 999_999],
              });
              assertOk(r);
              assert.equal(r.appended, 2);
              assert.deepEqual(
                r.items.filter((i) => i.outcome === "appended").map((i) => i.mirrorUid).sort(),
                uids.sort(),
              );
              assert.ok(r.warnings.some((w) => w.includes("UID 999999")));
              assert.match(formatRestoreReport(r), /Only: mirror UID/);
              assert.equal((await inbox()).folders.INBOX.messages.length, 4);
            },
          );

          await t.step("a full restore then completes the folder, exactly once", async () => {
            const r = await runRestore(config, state, { mailbox: mb, folders: ["INBOX"] });
            assertOk(r);
            assert.equal(r.appended, 2);
            assert.equal(r.skipped["on-production"], 4);
            assertRestored(before, await inbox());
            const s = await runSync(config, state, { mailboxes: [mb] });
            assertClean(s);
            assert.deepEqual([s.totals.copied, s.totals.deleted], [0, 0]);
          });
        });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }),
});

Deno.test({
  name: "restore --from backup puts back the kept original where the backup holds a placeholder",
  fn: (t) =>
    withTimeout("the placeholder test", async () => {
      const mb = "7353";
      await fillProduction(mb, 3);
      const dir = await Deno.makeTempDir({ prefix: "vmirror-restore-placeholder-" });
      try {
        // Every voicemail is longer than a second: each becomes a placeholder on the backup.
        const config = await labConfig(dir, (raw) => {
          (raw.limits as Record<string, unknown>).maxMessageSeconds = 1;
        });
        await usingState(join(dir, "state.kv"), async (state) => {
          const first = await runSync(config, state, { mailboxes: [mb] });
          assertClean(first);
          const before = await snapshot("prod", mb, FOLDERS());
          const backupBefore = await snapshot("backup", mb, FOLDERS());
          const placeholders = Object.values(backupBefore.folders)
            .flatMap((f) => f.messages).filter((m) => isPlaceholder(m.bytes)).length;
          assert.ok(placeholders >= 3, `only ${placeholders} placeholder(s) on the backup`);
          assert.equal(first.totals.placeholders, placeholders);
          const expected = Object.values(backupBefore.folders).flatMap((f) => f.messages).length;
          await wipeMailbox("prod", mb);

          await t.step("production gets the originals, byte-identical", async () => {
            const r = await runRestore(config, state, { mailbox: mb });
            assertOk(r);
            assert.equal(r.appended, expected);
            assert.equal(
              r.items.filter((i) => i.outcome === "appended" && i.kind === "placeholder").length,
              placeholders,
            );
            const after = await snapshot("prod", mb, FOLDERS());
            assertRestored(before, after);
            for (const f of Object.values(after.folders)) {
              assert.ok(f.messages.every((m) => !isPlaceholder(m.bytes)));
            }
          });

          await t.step("again: nothing; the next pass makes no new placeholder", async () => {
            const r = await runRestore(config, state, { mailbox: mb });
            assertOk(r);
            assert.equal(r.appended, 0);
            const s = await runSync(config, state, { mailboxes: [mb] });
            assertClean(s);
            assert.deepEqual([s.totals.copied, s.totals.placeholders, s.totals.deleted], [0, 0, 0]);
            assert.deepEqual(
              contents(await snapshot("backup", mb, FOLDERS())),
              contents(backupBefore),
            );
          });

          await t.step(
            "without the state map, the placeholder's header finds the original",
            async () => {
              await wipeMailbox("prod", mb);
              await usingState(":memory:", async (fresh) => {
                const r = await runRestore(config, fresh, { mailbox: mb });
                assertOk(r);
                assert.equal(r.appended, expected);
                assertRestored(before, await snapshot("prod", mb, FOLDERS()));
              });
            },
          );

          await t.step(
            "an original that is gone is reported, and never replaced by the placeholder",
            async () => {
              await wipeMailbox("prod", mb);
              await Deno.remove(join(dir, "originals"), { recursive: true });
              const r = await runRestore(config, state, { mailbox: mb });
              assert.equal(r.ok, false);
              assert.equal(r.failed, 0);
              assert.equal(r.skipped["original-missing"], placeholders);
              assert.equal(r.appended, expected - placeholders);
              assert.match(formatRestoreReport(r), /original-missing.*is missing/);
              const after = await snapshot("prod", mb, FOLDERS());
              for (const f of Object.values(after.folders)) {
                assert.ok(f.messages.every((m) => !isPlaceholder(m.bytes)));
              }
            },
          );
        });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }),
});

Deno.test({
  name: "restore refuses an unknown mailbox and a source the configuration does not have",
  fn: (t) =>
    withTimeout("the error test", async () => {
      const dir = await Deno.makeTempDir({ prefix: "vmirror-restore-errors-" });
      try {
        const root = join(dir, "store");
        await Deno.mkdir(root);
        const imap = await labConfig(join(dir, "imap"));
        const files = await labConfig(join(dir, "files"), (raw) => {
          (raw.target as Record<string, unknown>).root = root;
        }, "files");
        await usingState(":memory:", async (state) => {
          await t.step("a mailbox the backup does not have", async () => {
            const e = await runRestore(imap, state, { mailbox: "7359", dryRun: true }).then(
              () => null,
              (e) => e,
            );
            assert.ok(e instanceof RestoreError, String(e));
            assert.equal(e.kind, "unknown-mailbox");
            assert.match(e.message, /^Unknown mailbox "7359": the backup "mss-backup"/);
          });
          await t.step("a mailbox the file store does not have", async () => {
            const e = await runRestore(files, state, { mailbox: "7359" }).then(
              () => null,
              (e) => e,
            );
            assert.ok(e instanceof RestoreError, String(e));
            assert.equal(e.kind, "unknown-mailbox");
            assert.match(e.message, /file store "files" .* holds no directory for it/);
          });
          await t.step("--from backup with a file store configured, and the reverse", async () => {
            await assert.rejects(
              runRestore(files, state, { mailbox: "4001", from: "backup" }),
              (e: Error) =>
                e instanceof ConfigError && /file store: use --from files/.test(e.message),
            );
            await assert.rejects(
              runRestore(imap, state, { mailbox: "4001", from: "files" }),
              (e: Error) =>
                e instanceof ConfigError && /backup MSS: use --from backup/.test(e.message),
            );
          });
          await t.step("an invalid date or UID", async () => {
            await assert.rejects(
              runRestore(imap, state, { mailbox: "4001", since: new Date("nope") }),
              (e: Error) => e instanceof RestoreError && e.kind === "usage",
            );
            await assert.rejects(
              runRestore(imap, state, { mailbox: "4001", uids: [0] }),
              (e: Error) => e instanceof RestoreError && e.kind === "usage",
            );
          });
        });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }),
});
