/**
 * The mirror's acceptance suite, run once per pairing of production and target (Dovecot or
 * Cyrus production; Dovecot or Cyrus backup MSS over IMAP, or the file store): byte-identical
 * copies, production never altered, broadcasts skipped, deletions and flag changes mirrored, a
 * production UIDVALIDITY change re-paired without copying again. Folder names in the configs are
 * Dovecot's ("Greetings"); against Cyrus vmirror maps them ("INBOX.Greetings").
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeState, openState } from "../engine/state/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import { assertMirrored, lab, PAIRINGS, placeholderOf, tempDir } from "./test_utils/mod.ts";

for (const { name, source, target: side, scratch, seeded } of PAIRINGS) {
  Deno.test({
    name: `[${name}] sync mirrors production byte for byte and never alters production`,
    async fn(t) {
      const l = lab();
      const folders = l.folders;
      const mailboxes = seeded;
      await using tmp = await tempDir(`shared-${name}`);
      const dir = tmp.path;
      const config = await side.config(dir, source.patch);
      for (const m of mailboxes) await side.wipe(config, m);
      const state = await openState(join(dir, "state.kv"));
      try {
        const before = await Promise.all(mailboxes.map((m) => source.snapshot(m, folders)));
        const summary = await runSync(config, state, { mailboxes });
        await t.step("every mailbox succeeded", () => {
          assert.equal(summary.failed, 0, JSON.stringify(summary.mailboxes.map((m) => m.error)));
        });
        await t.step("production is unchanged (flags, bytes, HIGHESTMODSEQ)", async () => {
          assert.deepEqual(
            await Promise.all(mailboxes.map((m) => source.snapshot(m, folders))),
            before,
          );
        });
        await t.step("the mirror equals production but broadcasts (and placeholders)", async () => {
          for (const [i, m] of mailboxes.entries()) {
            // Only a backup MSS has a length limit; the file store keeps every message whole.
            const long = side.kind === "imap" && m === l.longMessage.mailbox
              ? new Set([l.longMessage.messageId])
              : new Set<string>();
            assertMirrored(before[i], await side.read(config, m, folders), { placeholders: long });
          }
        });
        await t.step("broadcasts are counted as skipped", () => {
          const seeded = mailboxes.reduce(
            (k, m) => k + l.seeded[m].messages.filter((x) => x.broadcast).length,
            0,
          );
          assert.ok(seeded > 0);
          assert.equal(summary.totals.skipped.broadcast ?? 0, seeded);
          const long = mailboxes.includes(l.longMessage.mailbox) && side.kind === "imap";
          assert.equal(summary.totals.placeholders, long ? 1 : 0);
        });
        await t.step("a second pass changes nothing", async () => {
          const again = await runSync(config, state, { mailboxes });
          assert.equal(again.failed, 0);
          const t2 = again.totals;
          assert.deepEqual([t2.copied, t2.deleted, t2.flagsUpdated, t2.placeholders], [0, 0, 0, 0]);
        });
      } finally {
        closeState(state);
      }
    },
  });

  Deno.test({
    name: `[${name}] deletions and flag changes on production reach the mirror`,
    async fn() {
      const mb = scratch.changes;
      const uids = await source.fill(mb, 8);
      await using tmp = await tempDir(`changes-${name}`);
      const dir = tmp.path;
      const config = await side.config(dir, source.patch);
      const state = await openState(join(dir, "state.kv"));
      try {
        const first = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(first.failed, 0, JSON.stringify(first.mailboxes[0].error));
        assert.equal(first.totals.copied, 8);
        await source.withImap(mb, async (c) => {
          await c.mailboxOpen("INBOX");
          await c.messageDelete(`${uids[0]},${uids[1]}`, { uid: true });
          await c.messageFlagsAdd(String(uids[2]), ["\\Seen", "\\Answered"], { uid: true });
          await c.messageFlagsRemove(String(uids[3]), ["\\Seen"], { uid: true });
          await c.messageFlagsAdd(String(uids[4]), ["$Forwarded", "\\Flagged"], { uid: true });
        });
        const s = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(s.failed, 0, JSON.stringify(s.mailboxes[0].error));
        assert.equal(s.totals.deleted, 2);
        assert.ok(s.totals.flagsUpdated >= 2, `flags updated ${s.totals.flagsUpdated}`);
        assertMirrored(
          await source.snapshot(mb, ["INBOX"]),
          await side.read(config, mb, ["INBOX"]),
        );
      } finally {
        closeState(state);
      }
    },
  });

  Deno.test({
    name: `[${name}] a production UIDVALIDITY change re-pairs without copying again`,
    async fn() {
      const mb = scratch.uidValidity;
      const folder = lab().greetingsFolder;
      await source.fill(mb, 5, folder);
      await using tmp = await tempDir(`uidvalidity-${name}`);
      const dir = tmp.path;
      const config = await side.config(dir, source.patch);
      const state = await openState(join(dir, "state.kv"));
      try {
        const first = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(first.failed, 0, JSON.stringify(first.mailboxes[0].error));
        assert.equal(first.totals.copied, 5);
        // Rebuilding the folder with the same messages gives it a new UIDVALIDITY and new UIDs.
        const snap = await source.snapshot(mb, [folder]);
        await source.withImap(mb, (c, map) => c.mailboxDelete(map(folder)));
        await source.appendRaw(
          mb,
          folder,
          snap.folders[folder].messages.map((m) => ({
            bytes: m.bytes,
            flags: m.flags,
            date: new Date(m.internalDate),
          })),
        );
        const rebuilt = await source.snapshot(mb, [folder]);
        assert.notEqual(rebuilt.folders[folder].uidValidity, snap.folders[folder].uidValidity);
        const s = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(s.failed, 0, JSON.stringify(s.mailboxes[0].error));
        assert.deepEqual([s.totals.copied, s.totals.deleted], [0, 0]);
        assertMirrored(rebuilt, await side.read(config, mb, [folder]));
        const mirror = await side.read(config, mb, [folder]);
        assert.ok(mirror.folders[folder].messages.every((m) => !placeholderOf(m.bytes)));
      } finally {
        closeState(state);
      }
    },
  });
}
