/**
 * The mass-deletion guard against the lab, for both targets: a production accident (mailboxes
 * emptied) is held with the copies kept and said in the output, `status` and the log; the
 * operator releases it per mailbox or for all; it is released by itself after `holdHours`;
 * ordinary deletions go through at once; a mailbox recreated empty leaves its copies alone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeState, listHeldDeletions, openState } from "../engine/state/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import { fillScratch, runCli, SIDES, snapshot, tempDir, withImap } from "./test_utils/mod.ts";

/** Runs the real CLI with the test's config and data directory. */
function cli(dir: string, args: string[]) {
  return runCli([...args, "--config", join(dir, "vmirror.json"), "--data", dir]);
}

async function emptyProduction(mailbox: string): Promise<void> {
  await withImap("prod", mailbox, async (c) => {
    await c.mailboxOpen("INBOX");
    await c.messageDelete("1:*");
  });
}

async function count(
  side: (typeof SIDES)[number],
  config: Parameters<(typeof SIDES)[number]["read"]>[0],
  mailbox: string,
): Promise<number> {
  return (await side.read(config, mailbox, ["INBOX"])).folders.INBOX?.messages.length ?? 0;
}

for (const [n, side] of SIDES.entries()) {
  Deno.test({
    name:
      `[${side.kind}] emptying 3 of 5 mailboxes on production holds the deletions until released`,
    async fn(t) {
      const mailboxes = [0, 1, 2, 3, 4].map((i) => String(7500 + n * 10 + i));
      for (const m of mailboxes) await fillScratch(m, 8);
      await using tmp = await tempDir(`guard-${side.kind}`);
      const dir = tmp.path;
      const config = await side.config(dir);
      await t.step("the first pass mirrors 40 messages", async () => {
        const r = await cli(dir, ["subscribe", ...mailboxes]);
        assert.equal(r.code, 0, r.stderr);
        const s = await cli(dir, ["sync", "--once", "--json"]);
        assert.equal(s.code, 0, s.stderr);
        assert.equal(JSON.parse(s.stdout).totals.copied, 40);
      });
      const emptied = mailboxes.slice(0, 3);
      for (const m of emptied) await emptyProduction(m);

      await t.step("the next pass deletes nothing and says the deletions are held", async () => {
        const s = await cli(dir, ["sync", "--once"]);
        assert.equal(s.code, 0, s.stderr);
        for (const m of emptied) {
          assert.match(s.stdout, new RegExp(`^${m} .*deletions held 8`, "m"));
        }
        assert.match(s.stdout, /deleted 0, .*deletions held 24/);
        assert.match(s.stderr, /deletions held/, "the log says it too");
        for (const m of mailboxes) assert.equal(await count(side, config, m), 8, m);
      });

      await t.step("status lists the held deletions with the way to release them", async () => {
        const s = await cli(dir, ["status"]);
        assert.equal(s.code, 0, s.stderr);
        for (const m of emptied) {
          assert.match(s.stdout, new RegExp(`^${m}\\t.*deletions held 8`, "m"));
          assert.match(s.stdout, new RegExp(`release-deletions --mailbox ${m}`));
        }
        const j = JSON.parse((await cli(dir, ["status", "--json"])).stdout);
        assert.deepEqual(
          j.heldDeletions.map((h: { mailbox: string }) => h.mailbox).sort(),
          emptied,
        );
      });

      await t.step("a pass later still holds them (production unchanged)", async () => {
        const s = await cli(dir, ["sync", "--once", "--json"]);
        assert.equal(JSON.parse(s.stdout).totals.deleted, 0);
        for (const m of emptied) assert.equal(await count(side, config, m), 8, m);
      });

      await t.step(
        "releasing one mailbox lets the next pass delete its copies only",
        async () => {
          const r = await cli(dir, ["release-deletions", "--mailbox", emptied[0]]);
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stdout, new RegExp(`${emptied[0]}: released 8`));
          const s = await cli(dir, ["sync", "--once", "--json"]);
          const sum = JSON.parse(s.stdout);
          assert.equal(sum.totals.deleted, 8);
          assert.equal(await count(side, config, emptied[0]), 0);
          for (const m of emptied.slice(1)) assert.equal(await count(side, config, m), 8, m);
          for (const m of mailboxes.slice(3)) assert.equal(await count(side, config, m), 8, m);
        },
      );

      await t.step("releasing a mailbox with nothing held is an error", async () => {
        const r = await cli(dir, ["release-deletions", "--mailbox", mailboxes[4]]);
        assert.equal(r.code, 1);
        assert.match(r.stdout, /no deletions are held/);
        const u = await cli(dir, ["release-deletions"]);
        assert.equal(u.code, 2);
      });

      await t.step("--all releases the rest", async () => {
        const r = await cli(dir, ["release-deletions", "--all"]);
        assert.equal(r.code, 0, r.stderr);
        const s = await cli(dir, ["sync", "--once", "--json"]);
        assert.equal(JSON.parse(s.stdout).totals.deleted, 16);
        for (const m of emptied) assert.equal(await count(side, config, m), 0, m);
        for (const m of mailboxes.slice(3)) assert.equal(await count(side, config, m), 8, m);
        const state = await openState(join(dir, "state.kv"));
        try {
          assert.deepEqual(await listHeldDeletions(state), []);
        } finally {
          closeState(state);
        }
      });
    },
  });

  Deno.test({
    name:
      `[${side.kind}] the guard lets ordinary deletions through and holds a mailbox emptied alone`,
    async fn(t) {
      const small = String(7505 + n * 10);
      const big = String(7506 + n * 10);
      const smallUids = await fillScratch(small, 8);
      await fillScratch(big, 14);
      await using tmp = await tempDir(`guard2-${side.kind}`);
      const dir = tmp.path;
      const config = await side.config(dir);
      const state = await openState(join(dir, "state.kv"));
      try {
        const first = await runSync(config, state, { mailboxes: [small, big] });
        assert.equal(first.failed, 0, JSON.stringify(first.mailboxes.map((m) => m.error)));
        assert.equal(first.totals.copied, 22);

        await t.step("two deletions in one mailbox are applied at once", async () => {
          await withImap("prod", small, async (c) => {
            await c.mailboxOpen("INBOX");
            await c.messageDelete(`${smallUids[0]},${smallUids[1]}`, { uid: true });
          });
          const s = await runSync(config, state, { mailboxes: [small, big] });
          assert.equal(s.totals.deleted, 2);
          assert.equal(s.totals.held, 0);
          assert.equal(await count(side, config, small), 6);
        });

        await t.step("a mailbox of 14 emptied alone is held (its own share)", async () => {
          await emptyProduction(big);
          const s = await runSync(config, state, { mailboxes: [big] });
          assert.equal(s.failed, 0);
          assert.equal(s.totals.deleted, 0);
          assert.equal(s.totals.held, 14);
          assert.match(
            s.mailboxes[0].warnings.join("\n"),
            /deletions held: .*14 of the mailbox's 14/,
          );
          assert.equal(await count(side, config, big), 14);
        });

        await t.step("after holdHours the deletions are applied without an operator", async () => {
          const quick = await side.config(dir, (raw) => {
            raw.limits = {
              ...(raw.limits as Record<string, unknown> ?? {}),
              deleteGuard: { holdHours: 1 / 3600 },
            };
          });
          await new Promise((r) => setTimeout(r, 1100));
          const s = await runSync(quick, state, { mailboxes: [big] });
          assert.equal(s.totals.deleted, 14);
          assert.equal(await count(side, config, big), 0);
          assert.deepEqual(await listHeldDeletions(state), []);
        });
      } finally {
        closeState(state);
      }
    },
  });

  Deno.test({
    name: `[${side.kind}] a mailbox recreated empty with a new UIDVALIDITY leaves its copies alone`,
    async fn() {
      const mb = String(7507 + n * 10);
      const folder = "Greetings-guard";
      await fillScratch(mb, 12, folder);
      await using tmp = await tempDir(`guard3-${side.kind}`);
      const dir = tmp.path;
      const config = await side.config(dir, (raw) => {
        (raw.source as Record<string, unknown>).folders = ["INBOX", folder];
      });
      const state = await openState(join(dir, "state.kv"));
      try {
        const first = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(first.failed, 0, JSON.stringify(first.mailboxes[0].error));
        assert.equal(first.totals.copied, 12);
        const before = await snapshot("prod", mb, [folder]);
        await withImap("prod", mb, async (c) => {
          await c.mailboxDelete(folder);
          await c.mailboxCreate(folder);
        });
        const after = await snapshot("prod", mb, [folder]);
        assert.notEqual(after.folders[folder].uidValidity, before.folders[folder].uidValidity);
        const s = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(s.failed, 0, JSON.stringify(s.mailboxes[0].error));
        assert.deepEqual([s.totals.deleted, s.totals.held], [0, 0]);
        const mirror = await side.read(config, mb, [folder]);
        assert.equal(mirror.folders[folder].messages.length, 12);
      } finally {
        closeState(state);
      }
    },
  });
}
