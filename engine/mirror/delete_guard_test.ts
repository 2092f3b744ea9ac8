import assert from "node:assert/strict";
import {
  type DeleteGuardSettings,
  holdMessage,
  overMailboxShare,
  overTotalShare,
  releaseDue,
} from "./delete_guard.ts";

const G: DeleteGuardSettings = {
  enabled: true,
  mailboxShare: 0.5,
  mailboxMinMessages: 10,
  totalShare: 0.05,
  totalMinMessages: 10,
  holdHours: 24,
};

Deno.test("overMailboxShare() needs both the share and the minimum count", () => {
  assert.equal(overMailboxShare(11, 20, G), true);
  assert.equal(overMailboxShare(10, 12, G), false, "10 is not more than 10");
  assert.equal(overMailboxShare(8, 8, G), false, "a small mailbox emptied is under the minimum");
  assert.equal(overMailboxShare(11, 22, G), false, "exactly half is not more than half");
  assert.equal(overMailboxShare(40, 1000, G), false);
  assert.equal(overMailboxShare(500, 500, { ...G, enabled: false }), false);
});

Deno.test("overTotalShare() holds a pass taking more than 5 % and more than 10 messages", () => {
  assert.equal(overTotalShare(24, 40, G), true);
  assert.equal(overTotalShare(24, 1000, G), false, "2.4 % of the mirror");
  assert.equal(overTotalShare(51, 1000, G), true);
  assert.equal(overTotalShare(10, 40, G), false, "under the minimum count");
  assert.equal(overTotalShare(24, 40, { ...G, enabled: false }), false);
});

Deno.test("releaseDue() releases on an operator's word or after holdHours", () => {
  const now = new Date("2026-12-02T12:00:00Z");
  assert.equal(releaseDue(null, now, G), null);
  assert.equal(releaseDue({ since: "2026-12-02T00:00:00Z" }, now, G), null);
  assert.equal(releaseDue({ since: "2026-12-01T12:00:00Z" }, now, G), "expired");
  assert.equal(
    releaseDue({ since: "2026-12-02T11:00:00Z", released: { at: "x", by: "cli" } }, now, G),
    "released",
  );
  assert.equal(releaseDue({ since: "not a date" }, now, G), null, "a bad record never expires");
  assert.equal(
    releaseDue({ since: "2026-12-02T12:00:00Z" }, now, { ...G, holdHours: 0 }),
    "expired",
  );
});

Deno.test("holdMessage() names the count, the reason, the release command and the deadline", () => {
  const m = holdMessage("4021", 8, {
    mirrored: 8,
    reason: "mailbox",
    since: "2026-12-02T00:00:00.000Z",
    holdHours: 24,
  });
  assert.match(m, /^deletions held: production no longer has 8 of the mailbox's 8/);
  assert.match(m, /vmirror release-deletions --mailbox 4021/);
  assert.match(m, /2026-12-03T00:00:00\.000Z/);
  const t = holdMessage("4021", 24, {
    mirrored: 40,
    reason: "total",
    since: "2026-12-02T00:00:00.000Z",
    holdHours: 1,
  });
  assert.match(t, /whole mirror \(40 message/);
});
