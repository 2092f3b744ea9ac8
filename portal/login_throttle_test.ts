import assert from "node:assert/strict";
import {
  clearThrottle,
  listThrottles,
  lockedUntil,
  recordFailure,
  type ThrottleKey,
  withThrottleLock,
} from "./login_throttle.ts";
import { closeState, openState } from "../engine/state/mod.ts";

const limits = {
  mailbox: { maxFailures: 3, windowMinutes: 10, lockMinutes: 5 },
  address: { maxFailures: 5, windowMinutes: 10, lockMinutes: 5 },
  admin: { maxFailures: 3, windowMinutes: 10, lockMinutes: 5 },
};

Deno.test("a key locks at its limit, for its lock time, and an admin can clear it", async () => {
  const state = await openState(":memory:");
  try {
    const t0 = new Date("2026-01-01T10:00:00Z");
    const at = (min: number) => new Date(t0.getTime() + min * 60_000);
    const keys: ThrottleKey[] = [{ kind: "mailbox", id: "4006" }, { kind: "address", id: "ip" }];
    for (let i = 0; i < 2; i++) await recordFailure(state, keys, { now: at(i), limits });
    assert.equal(await lockedUntil(state, keys, at(2)), null);
    await recordFailure(state, keys, { now: at(2), limits });
    assert.deepEqual(await lockedUntil(state, keys, at(3)), at(7));
    assert.equal(await lockedUntil(state, [{ kind: "address", id: "ip" }], at(3)), null);
    assert.equal(await lockedUntil(state, keys, at(8)), null);

    const list = await listThrottles(state, at(3));
    assert.deepEqual(list.map((r) => [r.kind, r.id, r.failures, r.locked]), [
      ["mailbox", "4006", 3, true],
      ["address", "ip", 3, false],
    ]);
    assert.ok(await clearThrottle(state, { kind: "mailbox", id: "4006" }));
    assert.equal(await lockedUntil(state, keys, at(3)), null);
    assert.ok(!(await clearThrottle(state, { kind: "mailbox", id: "4006" })));
    assert.equal((await listThrottles(state, at(3))).length, 1);
  } finally {
    closeState(state);
  }
});

Deno.test("failures older than the window start a new count", async () => {
  const state = await openState(":memory:");
  try {
    const t0 = new Date("2026-01-01T10:00:00Z");
    const at = (min: number) => new Date(t0.getTime() + min * 60_000);
    const keys: ThrottleKey[] = [{ kind: "mailbox", id: "4007" }];
    await recordFailure(state, keys, { now: at(0), limits });
    await recordFailure(state, keys, { now: at(1), limits });
    await recordFailure(state, keys, { now: at(20), limits });
    assert.equal(await lockedUntil(state, keys, at(20)), null);
    assert.equal((await listThrottles(state, at(20)))[0].failures, 1);
  } finally {
    closeState(state);
  }
});

Deno.test("withThrottleLock() runs callers with a shared key one at a time", async () => {
  let inside = 0;
  let most = 0;
  const order: number[] = [];
  const run = (i: number, keys: ThrottleKey[]) =>
    withThrottleLock(keys, async () => {
      inside++;
      most = Math.max(most, inside);
      await new Promise((r) => setTimeout(r, 5));
      order.push(i);
      inside--;
    });
  const a: ThrottleKey = { kind: "mailbox", id: "1" };
  const b: ThrottleKey = { kind: "address", id: "x" };
  await Promise.all([run(1, [a, b]), run(2, [b, a]), run(3, [a]), run(4, [b])]);
  assert.equal(most, 1);
  assert.deepEqual(order.sort(), [1, 2, 3, 4]);
  // Disjoint keys do not wait for each other.
  inside = 0;
  most = 0;
  await Promise.all([
    run(5, [{ kind: "mailbox", id: "2" }]),
    run(6, [{ kind: "mailbox", id: "3" }]),
  ]);
  assert.equal(most, 2);
});
