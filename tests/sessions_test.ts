/**
 * Production sessions kept between passes (engine/mirror/sessions.ts) against the lab's Dovecot:
 * never more parked than `limits.persistentSessions`, a mailbox without a kept session is still
 * mirrored every pass (none starves), and a mailbox that changes takes the place of a quiet one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runSync } from "../engine/mirror/mod.ts";
import { SourceSessions } from "../engine/mirror/mod.ts";
import { closeState, openState } from "../engine/state/mod.ts";
import { sessionsOf } from "../scripts/bench/proc.ts";
import { appendRaw, lab, labConfig, scratchMailbox, snapshot, variant } from "./test_utils/mod.ts";

Deno.test({
  name:
    "at most persistentSessions sessions are kept; every mailbox is still mirrored; a changed mailbox takes a quiet one's place",
  async fn() {
    const boxes = ["7350", "7351", "7352", "7353"];
    const seed = (await snapshot("prod", "4002", ["INBOX"])).folders.INBOX.messages[0].bytes;
    for (const [i, m] of boxes.entries()) {
      await scratchMailbox(m);
      await appendRaw("prod", m, "INBOX", [{ bytes: variant(seed, 10 + i) }]);
    }
    const dir = await Deno.makeTempDir({ prefix: "vmirror-sessions-" });
    const config = await labConfig(dir, (raw) => {
      raw.limits = { concurrency: 1 };
    });
    const state = await openState(join(dir, "state.kv"));
    const sessions = new SourceSessions(config.source, 2, () => {});
    try {
      const first = await runSync(config, state, { mailboxes: boxes, sessions });
      assert.equal(first.failed, 0);
      assert.equal(first.totals.copied, 4);
      assert.equal(sessions.size, 2);
      const open = await sessionsOf(lab());
      const held = boxes.filter((m) => (open.get(m) ?? 0) > 0);
      assert.equal(held.length, 2, `sessions on the store: ${JSON.stringify([...open])}`);
      const outside = boxes.find((m) => !held.includes(m))!;

      // A change in a mailbox without a kept session is mirrored by the next pass all the same,
      // and that mailbox, now active, takes the place of the longest-quiet one.
      await appendRaw("prod", outside, "INBOX", [{ bytes: variant(seed, 20) }]);
      const second = await runSync(config, state, { mailboxes: boxes, sessions });
      assert.equal(second.failed, 0);
      assert.equal(second.totals.copied, 1);
      assert.equal(second.mailboxes.find((r) => r.mailbox === outside)!.copied, 1);
      assert.equal(sessions.size, 2);
      const after = await sessionsOf(lab());
      assert.ok(
        (after.get(outside) ?? 0) > 0,
        `the changed mailbox ${outside} keeps its session (held before: ${held}; now: ${
          JSON.stringify([...after])
        })`,
      );
      assert.equal(boxes.filter((m) => (after.get(m) ?? 0) > 0).length, 2);
      const mirrored = await snapshot("backup", outside, ["INBOX"]);
      assert.equal(mirrored.folders.INBOX.messages.length, 2);
    } finally {
      await sessions.close();
      closeState(state);
      await Deno.remove(dir, { recursive: true });
    }
    // Closed: nothing of ours is left on the store.
    await new Promise((r) => setTimeout(r, 300));
    const left = await sessionsOf(lab());
    assert.equal(boxes.filter((m) => (left.get(m) ?? 0) > 0).length, 0);
  },
});

Deno.test({
  name: "passes running at once never park more than persistentSessions between them",
  async fn() {
    const boxes = ["7354", "7355", "7356", "7357", "7358", "7359"];
    const seed = (await snapshot("prod", "4002", ["INBOX"])).folders.INBOX.messages[0].bytes;
    for (const [i, m] of boxes.entries()) {
      await scratchMailbox(m);
      await appendRaw("prod", m, "INBOX", [{ bytes: variant(seed, 30 + i) }]);
    }
    const dir = await Deno.makeTempDir({ prefix: "vmirror-sessions-" });
    const config = await labConfig(dir, (raw) => {
      raw.limits = { concurrency: 6 };
    });
    const state = await openState(join(dir, "state.kv"));
    const sessions = new SourceSessions(config.source, 3, () => {});
    try {
      for (let pass = 0; pass < 2; pass++) {
        const s = await runSync(config, state, { mailboxes: boxes, sessions });
        assert.equal(s.failed, 0);
        assert.ok(sessions.size <= 3, `${sessions.size} parked`);
        const open = await sessionsOf(lab());
        const held = boxes.filter((m) => (open.get(m) ?? 0) > 0);
        assert.ok(held.length <= 3, `sessions on the store: ${held}`);
      }
    } finally {
      await sessions.close();
      closeState(state);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
