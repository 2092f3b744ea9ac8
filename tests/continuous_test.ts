/**
 * Continuous mode: a change on production is mirrored without waiting for the next poll — told
 * by the parked session's NOTIFY (Dovecot offers it), or by IDLE when no session is kept — and
 * a parked session the server ends is replaced by a new login, not a failed mailbox.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runScheduler } from "../engine/mirror/mod.ts";
import { ImapSession } from "../engine/imap/mod.ts";
import { addSubscriptions, closeState, openState } from "../engine/state/mod.ts";
import type { SyncSummary } from "../engine/mirror/mod.ts";
import { run } from "../scripts/lab/util.ts";
import {
  appendRaw,
  lab,
  labConfig,
  scratchMailbox,
  snapshot,
  variant,
  withImap,
} from "./test_utils/mod.ts";

interface Pass {
  cause: string;
  summary: SyncSummary;
  at: number;
}

/** A scheduler on one scratch mailbox with an hour between polls: only pushes explain more. */
async function withScheduler(
  mailbox: string,
  schedule: { idle: boolean; idleMailboxes: number; syncSeconds?: number },
  persistentSessions: number,
  body: (passes: Pass[], waitFor: (pred: () => boolean, what: string) => Promise<void>) => Promise<
    void
  >,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vmirror-continuous-" });
  const config = await labConfig(dir, (raw) => {
    raw.schedule = { syncSeconds: 3600, ...schedule };
    // A second poll in these tests comes only from a short syncSeconds.
    raw.limits = { persistentSessions };
  });
  const state = await openState(join(dir, "state.kv"));
  const ac = new AbortController();
  const passes: Pass[] = [];
  let notify: () => void = () => {};
  try {
    await addSubscriptions(state, [mailbox]);
    const running = runScheduler(config, state, {
      signal: ac.signal,
      onPass: (summary, cause) => {
        passes.push({ cause, summary, at: Date.now() });
        notify();
      },
    });
    const waitFor = async (pred: () => boolean, what: string) => {
      const until = Date.now() + 30_000;
      while (!pred() && Date.now() < until) {
        await new Promise<void>((r) => {
          // A pass or 200 ms, whichever comes first; the other one is cancelled.
          const timer = setTimeout(r, 200);
          notify = () => {
            clearTimeout(timer);
            r();
          };
        });
      }
      assert.ok(pred(), `timed out waiting for ${what}`);
    };
    await waitFor(() => passes.length >= 1, "the first pass");
    assert.equal(passes[0].cause, "poll");
    await body(passes, waitFor);
    ac.abort();
    await running;
  } finally {
    ac.abort();
    closeState(state);
    await Deno.remove(dir, { recursive: true });
  }
}

async function seedBytes(): Promise<Uint8Array> {
  return (await snapshot("prod", "4002", ["INBOX"])).folders.INBOX.messages[0].bytes;
}

const triggered = (passes: Pass[], from: number) =>
  passes.slice(from).filter((p) => p.cause !== "poll");

Deno.test({
  name:
    "a parked session's NOTIFY gets a new message, a flag change and a deletion mirrored before any poll",
  async fn() {
    const mb = await scratchMailbox("7340");
    const seed = await seedBytes();
    const [first] = await appendRaw("prod", mb, "INBOX", [{ bytes: variant(seed, 1) }]);
    // No IDLE watcher at all: only the parked session can tell.
    await withScheduler(mb, { idle: true, idleMailboxes: 0 }, 10, async (passes, waitFor) => {
      assert.equal(passes[0].summary.totals.copied, 1);
      await new Promise((r) => setTimeout(r, 300));
      let from = passes.length;
      const sent = Date.now();
      await appendRaw("prod", mb, "INBOX", [{ bytes: variant(seed, 2), date: new Date() }]);
      await waitFor(
        () => triggered(passes, from).some((p) => p.summary.totals.copied === 1),
        "a pushed copy",
      );
      const pushed = triggered(passes, from).find((p) => p.summary.totals.copied === 1)!;
      console.log(`new message mirrored ${pushed.at - sent} ms after it reached production`);

      from = passes.length;
      await withImap("prod", mb, async (c) => {
        await c.mailboxOpen("INBOX");
        await c.messageFlagsAdd(String(first), ["\\Flagged"], { uid: true });
      });
      await waitFor(
        () => triggered(passes, from).some((p) => p.summary.totals.flagsUpdated === 1),
        "a pushed flag change",
      );

      from = passes.length;
      await withImap("prod", mb, async (c) => {
        await c.mailboxOpen("INBOX");
        await c.messageDelete(String(first), { uid: true });
      });
      await waitFor(
        () => triggered(passes, from).some((p) => p.summary.totals.deleted === 1),
        "a pushed deletion",
      );
      const backup = await snapshot("backup", mb, ["INBOX"]);
      assert.equal(backup.folders.INBOX.messages.length, 1);
      assert.deepEqual(backup.folders.INBOX.messages[0].flags.includes("\\Flagged"), false);
      assert.equal(passes.filter((p) => p.cause === "poll").length, 1, "no second poll");
    });
  },
});

Deno.test("a listening session still gets pushes after one look or two (Dovecot stopped after a replacing NOTIFY SET)", async () => {
  const mb = await scratchMailbox("7347");
  const seed = await seedBytes();
  await appendRaw("prod", mb, "INBOX", [{ bytes: variant(seed, 1) }]);
  const dir = await Deno.makeTempDir({ prefix: "vmirror-notify-" });
  try {
    const config = await labConfig(dir);
    // Dovecot 2.3 lost its pushes after an odd number of bare NOTIFY SETs: one and two looks.
    for (const looks of [1, 2]) {
      const session = await ImapSession.open(config.source, mb);
      try {
        // As a pass leaves it: the STATUS of its folders asked, then parked listening.
        const before = Number((await session.status("INBOX"))?.MESSAGES);
        let pushed: (() => void) | null = null;
        const pushes: Record<string, string>[] = [];
        await session.listen((p) => {
          pushes.push(p.items);
          pushed?.();
        }, () => {});
        for (let i = 0; i < looks; i++) {
          const looked = await session.look();
          assert.equal(looked.find((p) => p.folder === "INBOX")?.items.MESSAGES, String(before));
        }
        const arrived = new Promise<boolean>((r) => {
          const timer = setTimeout(() => r(false), 10_000);
          pushed = () => {
            clearTimeout(timer);
            r(true);
          };
        });
        await appendRaw("prod", mb, "INBOX", [{
          bytes: variant(seed, 2 + looks),
          date: new Date(),
        }]);
        assert.ok(await arrived, `no push within 10 s of a new message after ${looks} look(s)`);
        assert.equal(pushes.at(-1)?.MESSAGES, String(before + 1));
        await session.stopListening();
      } finally {
        await session.logout().catch(() => {});
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "after poll passes have looked at the parked session, its NOTIFY still gets changes mirrored between polls",
  async fn() {
    // Each poll asks the listening session for the STATUS of every folder again (one round
    // trip); Dovecot stopped pushing after that when the look was a bare NOTIFY SET.
    const mb = await scratchMailbox("7346");
    const seed = await seedBytes();
    await appendRaw("prod", mb, "INBOX", [{ bytes: variant(seed, 1) }]);
    const syncSeconds = 6;
    await withScheduler(mb, { idle: true, idleMailboxes: 0, syncSeconds }, 10, async (
      passes,
      waitFor,
    ) => {
      const polls = () => passes.filter((p) => p.cause === "poll");
      // One poll after the first looks at the parked session (an odd count lost Dovecot's pushes).
      await waitFor(() => polls().length >= 2, "a second poll (a look on the parked session)");
      for (const p of polls().slice(1)) assert.equal(p.summary.totals.copied, 0);
      // A quiet while, as between changes (right after the look Dovecot still pushed).
      await new Promise((r) => setTimeout(r, 2000));
      const from = passes.length;
      const pollsBefore = polls().length;
      const sent = Date.now();
      await appendRaw("prod", mb, "INBOX", [{ bytes: variant(seed, 2), date: new Date() }]);
      await waitFor(
        () =>
          triggered(passes, from).some((p) => p.summary.totals.copied === 1) ||
          polls().slice(pollsBefore).some((p) => p.summary.totals.copied === 1),
        "the new message mirrored",
      );
      const pushed = triggered(passes, from).find((p) => p.summary.totals.copied === 1);
      assert.ok(pushed, "copied by a poll, not by a push: the parked session stopped listening");
      console.log(`new message mirrored ${pushed.at - sent} ms after it reached production`);
      assert.equal((await snapshot("backup", mb, ["INBOX"])).folders.INBOX.messages.length, 2);
    });
  },
});

Deno.test({
  name:
    "without kept sessions, IDLE on the active mailbox gets a new message mirrored before any poll",
  async fn() {
    const mb = await scratchMailbox("7341");
    const seed = await seedBytes();
    await appendRaw("prod", mb, "INBOX", [{ bytes: variant(seed, 1), date: new Date() }]);
    await withScheduler(mb, { idle: true, idleMailboxes: 5 }, 0, async (passes, waitFor) => {
      // Give the watcher a moment to enter IDLE, then a new message arrives on production.
      await new Promise((r) => setTimeout(r, 1500));
      const from = passes.length;
      await appendRaw("prod", mb, "INBOX", [{ bytes: variant(seed, 2), date: new Date() }]);
      await waitFor(
        () => triggered(passes, from).some((p) => p.summary.totals.copied === 1),
        "an IDLE-triggered copy",
      );
      assert.equal((await snapshot("backup", mb, ["INBOX"])).folders.INBOX.messages.length, 2);
    });
  },
});

for (const idle of [false, true]) {
  Deno.test({
    name: `a parked session the server ends (${
      idle ? "listening with NOTIFY" : "parked silent"
    }) is replaced by a new login, not a failed mailbox`,
    async fn() {
      const mb = await scratchMailbox(idle ? "7343" : "7342");
      const seed = await seedBytes();
      await appendRaw("prod", mb, "INBOX", [{ bytes: variant(seed, 1), date: new Date() }]);
      const schedule = { idle, idleMailboxes: 0, syncSeconds: 1 };
      await withScheduler(mb, schedule, 10, async (passes, waitFor) => {
        await new Promise((r) => setTimeout(r, 300));
        // The message store drops the mailbox's sessions (as its autologout or a restart would).
        await run("doveadm", ["-c", lab().imap.prod.configFile, "kick", mb]);
        await new Promise((r) => setTimeout(r, 300));
        const from = passes.length;
        await appendRaw("prod", mb, "INBOX", [{ bytes: variant(seed, 2), date: new Date() }]);
        await waitFor(
          () => passes.slice(from).some((p) => p.summary.totals.copied === 1),
          "the copy after the kick",
        );
        assert.equal(passes.slice(from).reduce((n, p) => n + p.summary.failed, 0), 0);
        assert.equal((await snapshot("backup", mb, ["INBOX"])).folders.INBOX.messages.length, 2);
      });
    },
  });
}
