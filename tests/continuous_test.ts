/**
 * Continuous mode: IDLE on an active mailbox mirrors a new production message without waiting
 * for the next poll.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runScheduler } from "../engine/mirror/mod.ts";
import { addSubscriptions, closeState, openState } from "../engine/state/mod.ts";
import type { SyncSummary } from "../engine/mirror/mod.ts";
import { appendRaw, labConfig, scratchMailbox, snapshot, variant } from "./test_utils/mod.ts";

Deno.test({
  name: "serve's scheduler mirrors a new message on an IDLE-watched mailbox before any poll",
  async fn() {
    const mb = await scratchMailbox("7340");
    const seed = (await snapshot("prod", "4002", ["INBOX"])).folders.INBOX.messages[0];
    await appendRaw("prod", mb, "INBOX", [{ bytes: variant(seed.bytes, 1), date: new Date() }]);
    const dir = await Deno.makeTempDir({ prefix: "vmirror-continuous-" });
    // An hour between polls: only IDLE can explain a second pass within the test.
    const config = await labConfig(dir, (raw) => {
      raw.schedule = { syncSeconds: 3600, idle: true, idleMailboxes: 5 };
    });
    const state = await openState(join(dir, "state.kv"));
    const ac = new AbortController();
    const passes: { cause: string; summary: SyncSummary; at: number }[] = [];
    let notify: () => void = () => {};
    try {
      await addSubscriptions(state, [mb]);
      const running = runScheduler(config, state, {
        signal: ac.signal,
        onPass: (summary, cause) => {
          passes.push({ cause, summary, at: Date.now() });
          notify();
        },
      });
      const waitFor = async (pred: () => boolean, ms: number) => {
        const until = Date.now() + ms;
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
        assert.ok(pred(), "timed out waiting for a pass");
      };
      await waitFor(() => passes.length >= 1, 30_000);
      assert.equal(passes[0].cause, "poll");
      assert.equal(passes[0].summary.totals.copied, 1);
      // Give the watcher a moment to enter IDLE, then a new message arrives on production.
      await new Promise((r) => setTimeout(r, 1500));
      const sent = Date.now();
      await appendRaw("prod", mb, "INBOX", [{ bytes: variant(seed.bytes, 2), date: new Date() }]);
      await waitFor(
        () => passes.some((p) => p.cause === "idle" && p.summary.totals.copied === 1),
        30_000,
      );
      const idlePass = passes.find((p) => p.cause === "idle")!;
      console.log(`new message mirrored ${idlePass.at - sent} ms after it reached production`);
      const backup = await snapshot("backup", mb, ["INBOX"]);
      assert.equal(backup.folders.INBOX.messages.length, 2);
      ac.abort();
      await running;
    } finally {
      ac.abort();
      closeState(state);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
