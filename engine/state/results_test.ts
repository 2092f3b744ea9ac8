import assert from "node:assert/strict";
import { isEventful, mailboxFacts, type MailboxResult } from "./mod.ts";

function result(over: Partial<MailboxResult> = {}): MailboxResult {
  return {
    mailbox: "4001",
    ok: true,
    startedAt: "2026-03-04T10:00:00.000Z",
    finishedAt: "2026-03-04T10:00:05.000Z",
    copied: 0,
    deleted: 0,
    flagsUpdated: 0,
    placeholders: 0,
    skipped: {},
    warnings: [],
    ...over,
  };
}

Deno.test("failStreak counts consecutive failed passes and resets on success", () => {
  let prev: MailboxResult | null = null;
  const streaks: number[] = [];
  for (const ok of [false, false, false, true, false]) {
    const r = result({ ok });
    Object.assign(r, mailboxFacts(prev, r));
    streaks.push(r.failStreak!);
    prev = r;
  }
  assert.deepEqual(streaks, [1, 2, 3, 0, 1]);
  // A failed result stored before failStreak existed counts as a streak of one.
  assert.equal(mailboxFacts(result({ ok: false }), result({ ok: false })).failStreak, 2);
});

Deno.test("lastChangeAt and lastMirroredAt follow the passes that found production changed", () => {
  const first = result({ copied: 2, lagSeconds: 42 });
  Object.assign(first, mailboxFacts(null, first));
  assert.equal(first.lastChangeAt, first.startedAt);
  assert.equal(first.lastMirroredAt, first.finishedAt);
  assert.equal(first.lagSeconds, 42);

  const quiet = result({
    startedAt: "2026-03-04T11:00:00.000Z",
    finishedAt: "2026-03-04T11:00:01.000Z",
  });
  const q = mailboxFacts(first, quiet);
  assert.equal(q.lastChangeAt, first.startedAt);
  assert.equal(q.lastMirroredAt, first.finishedAt);
  assert.equal(q.lagSeconds, null);

  // A failed pass that copied part of a change: the change is seen, not yet fully mirrored.
  const partial = result({
    ok: false,
    copied: 1,
    startedAt: "2026-03-04T12:00:00.000Z",
    finishedAt: "2026-03-04T12:00:09.000Z",
  });
  const p = mailboxFacts(first, partial);
  assert.equal(p.lastChangeAt, "2026-03-04T12:00:00.000Z");
  assert.equal(p.lastMirroredAt, first.finishedAt);

  const flags = mailboxFacts(null, result({ flagsUpdated: 1 }));
  assert.equal(flags.lastChangeAt, "2026-03-04T10:00:00.000Z");
});

Deno.test("only results that failed or did something are eventful (kept in the history)", () => {
  assert.equal(isEventful(result()), false);
  assert.equal(isEventful(result({ warnings: ["folder missing"] })), false);
  assert.equal(isEventful(result({ ok: false })), true);
  assert.equal(isEventful(result({ deleted: 1 })), true);
  assert.equal(isEventful(result({ skipped: { broadcast: 1 } })), true);
  assert.equal(isEventful(result({ adopted: 1 })), true);
  assert.equal(isEventful(result({ held: 3 })), true);
});
