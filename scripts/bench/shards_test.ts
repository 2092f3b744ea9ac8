import assert from "node:assert/strict";
import { LAB_MODEL, simulateLag, siteOutcome } from "./shards.ts";

Deno.test("more appliances: fewer mailboxes each, never a longer lag", () => {
  const a = siteOutcome(LAB_MODEL, 4);
  const b = siteOutcome(LAB_MODEL, 10);
  assert.equal(a.mailboxesEach, 25000);
  assert.equal(b.mailboxesEach, 10000);
  assert.ok(b.lagP99 <= a.lagP99);
  // Everyone kept: no logins while steady, lag = the push delay plus a pass.
  assert.equal(b.polledEach, 0);
  assert.equal(b.storeLoginsPerSecond, 0);
  assert.ok(b.lagP50 >= LAB_MODEL.notifyDelaySeconds && b.lagP50 < 1, `p50 ${b.lagP50}`);
});

Deno.test("an appliance whose polling alone fills its workers never catches up", () => {
  const lag = simulateLag({ ...LAB_MODEL, sessionsPerAppliance: 0, syncSeconds: 1 }, 1);
  assert.equal(lag.p99, Infinity);
});

Deno.test("the store sees the kept sessions of every appliance plus their workers' logins", () => {
  const o = siteOutcome({ ...LAB_MODEL, sessionsPerAppliance: 5000 }, 10);
  assert.equal(o.sessionsEach, 5000);
  assert.equal(o.storeSessions, 10 * (5000 + LAB_MODEL.concurrency));
  assert.equal(o.storeLoginsPerSecond, (10 * 5000) / LAB_MODEL.syncSeconds);
});
