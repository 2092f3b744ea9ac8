import assert from "node:assert/strict";
import {
  checkThrottle,
  clearThrottle,
  isLoopback,
  listThrottles,
  type LoginAttempt,
  recordFailure,
  recordSuccess,
  throttleAddress,
  type ThrottleKey,
  throttleKeys,
  withThrottleLock,
} from "./login_throttle.ts";
import { closeState, openState, type State, updateThrottleRecord } from "../engine/state/mod.ts";

const limits = {
  mailbox: { maxFailures: 5, windowMinutes: 15, lockMinutes: 15, delayAfter: 3 },
  address: { maxFailures: 12, windowMinutes: 15, lockMinutes: 15, delayAfter: 8 },
  admin: { maxFailures: 5, windowMinutes: 15, lockMinutes: 15, delayAfter: 3, maxDelaySeconds: 8 },
};
const t0 = Date.parse("2026-01-01T10:00:00Z");
/** `s` seconds after t0. */
const at = (s: number) => new Date(t0 + s * 1000);
const mailbox = (id: string, address: string): LoginAttempt => ({
  account: { kind: "mailbox", id },
  address,
});
const admin = (address: string): LoginAttempt => ({
  account: { kind: "admin", id: "admin" },
  address,
});

async function withState(fn: (state: State) => Promise<void>) {
  const state = await openState(":memory:");
  try {
    await fn(state);
  } finally {
    closeState(state);
  }
}

// Fails `n` times, `step` seconds apart (past any wait), from `start` seconds after t0.
async function fail(state: State, attempt: LoginAttempt, n: number, start = 0, step = 60) {
  for (let i = 0; i < n; i++) {
    const now = at(start + i * step);
    assert.equal((await checkThrottle(state, attempt, { now, limits })).state, "open");
    await recordFailure(state, attempt, { now, limits });
  }
}

Deno.test("five wrong PINs from A lock A out of that mailbox, and only A", async () => {
  await withState(async (state) => {
    const a = mailbox("4006", "192.0.2.10");
    await fail(state, a, 5);
    const v = await checkThrottle(state, a, { now: at(300), limits });
    assert.ok(v.state === "locked");
    assert.deepEqual(v.until, at(240 + 15 * 60));
    assert.equal(v.retryAfterSeconds, 15 * 60 - 60);
    // The right person on another address is not held back, and signing in clears only their pair.
    const b = mailbox("4006", "198.51.100.4");
    assert.equal((await checkThrottle(state, b, { now: at(300), limits })).state, "open");
    await recordSuccess(state, b);
    assert.equal((await checkThrottle(state, a, { now: at(300), limits })).state, "locked");
    // A's other mailbox is not locked (a few failures are no spray).
    const other = mailbox("4007", "192.0.2.10");
    assert.equal((await checkThrottle(state, other, { now: at(300), limits })).state, "open");
    // The lock ends by itself, and the next failure counts afresh.
    assert.equal((await checkThrottle(state, a, { now: at(240 + 901), limits })).state, "open");
    await recordFailure(state, a, { now: at(240 + 901), limits });
    const rec = (await listThrottles(state, at(240 + 901))).find((r) => r.kind === "mailbox")!;
    assert.equal(rec.failures, 1);
    assert.equal(rec.locked, false);
  });
});

Deno.test("from the third failure of a pair, each attempt waits 1 s, 2 s, 4 s …, capped", async () => {
  await withState(async (state) => {
    // An admin on loopback is never locked, so the doubling shows past five failures.
    const a = admin("127.0.0.1");
    const waits: number[] = [];
    let now = 0;
    for (let i = 0; i < 7; i++) {
      await recordFailure(state, a, { now: at(now), limits });
      const v = await checkThrottle(state, a, { now: at(now), limits });
      waits.push(v.state === "open" ? 0 : v.retryAfterSeconds);
      if (v.state !== "open") {
        assert.equal(v.state, "wait");
        // Still refused a moment before the end, open at the end.
        const before = await checkThrottle(state, a, {
          now: new Date(v.until.getTime() - 1),
          limits,
        });
        assert.equal(before.state, "wait");
        assert.equal((await checkThrottle(state, a, { now: v.until, limits })).state, "open");
        now = (v.until.getTime() - t0) / 1000;
      }
    }
    assert.deepEqual(waits, [0, 0, 1, 2, 4, 8, 8]);
  });
});

Deno.test("a subscriber's pair waits, then locks at five", async () => {
  await withState(async (state) => {
    const a = mailbox("4006", "192.0.2.10");
    const states: string[] = [];
    for (let i = 0; i < 5; i++) {
      await recordFailure(state, a, { now: at(i * 10), limits });
      const v = await checkThrottle(state, a, { now: at(i * 10), limits });
      states.push(v.state === "open" ? "open" : `${v.state} ${v.retryAfterSeconds}`);
    }
    assert.deepEqual(states, ["open", "open", "wait 1", "wait 2", "locked 900"]);
  });
});

Deno.test("an address spraying many mailboxes is throttled itself", async () => {
  await withState(async (state) => {
    const sprayer = "203.0.113.66";
    // Two guesses each on six mailboxes: no pair reaches a wait, the address does.
    for (let i = 0; i < 12; i++) {
      const a = mailbox(String(5000 + (i % 6)), sprayer);
      const now = at(i * 60);
      assert.equal((await checkThrottle(state, a, { now, limits })).state, "open", `attempt ${i}`);
      await recordFailure(state, a, { now, limits });
      if (i === 8) {
        const w = await checkThrottle(state, mailbox("5999", sprayer), { now, limits });
        assert.equal(w.state === "wait" && w.retryAfterSeconds, 2);
      }
    }
    const fresh = mailbox("5999", sprayer);
    assert.equal((await checkThrottle(state, fresh, { now: at(12 * 60), limits })).state, "locked");
    // Its own mailbox's right PIN does not reset the address counter.
    await recordSuccess(state, mailbox("5000", sprayer));
    assert.equal((await checkThrottle(state, fresh, { now: at(12 * 60), limits })).state, "locked");
    // Others are unaffected.
    const honest = mailbox("5000", "203.0.113.67");
    assert.equal((await checkThrottle(state, honest, { now: at(12 * 60), limits })).state, "open");
    const list = await listThrottles(state, at(12 * 60));
    assert.deepEqual(
      [list[0].kind, list[0].account, list[0].address, list[0].failures, list[0].locked],
      ["address", null, sprayer, 12, true],
    );
  });
});

Deno.test("invalid mailbox names count on the address only", async () => {
  await withState(async (state) => {
    const a: LoginAttempt = { account: null, address: "192.0.2.1" };
    assert.deepEqual(throttleKeys(a), [{ kind: "address", id: "192.0.2.1" }]);
    await recordFailure(state, a, { now: at(0), limits });
    const list = await listThrottles(state, at(0));
    assert.deepEqual(list.map((r) => [r.kind, r.id]), [["address", "192.0.2.1"]]);
  });
});

Deno.test("loopback admin is never locked; a stranger locks only himself", async () => {
  await withState(async (state) => {
    const stranger = admin("198.51.100.9");
    await fail(state, stranger, 5);
    assert.equal((await checkThrottle(state, stranger, { now: at(300), limits })).state, "locked");
    for (const addr of ["127.0.0.1", "127.8.9.1", "::1", "::ffff:127.0.0.1", "192.0.2.5"]) {
      assert.equal(
        (await checkThrottle(state, admin(addr), { now: at(300), limits })).state,
        "open",
      );
    }
    const local = admin("127.0.0.1");
    await fail(state, local, 20, 400, 10);
    const v = await checkThrottle(state, local, { now: at(400 + 19 * 10), limits });
    assert.equal(v.state === "wait" && v.retryAfterSeconds, 8);
    const rec = (await listThrottles(state, at(2000))).find((r) => r.id === "admin@127.0.0.1")!;
    assert.equal(rec.lockedUntil, null);
    // Loopback subscribers' failures filling the address counter do not bar the admin either.
    for (let i = 0; i < 12; i++) {
      await recordFailure(state, mailbox(String(6000 + i), "127.0.0.1"), { now: at(3000), limits });
    }
    const sub = await checkThrottle(state, mailbox("6100", "127.0.0.1"), { now: at(3000), limits });
    assert.equal(sub.state, "locked");
    assert.equal((await checkThrottle(state, local, { now: at(3000), limits })).state, "open");
  });
});

Deno.test("clear: one pair, every pair of an account, or an address", async () => {
  await withState(async (state) => {
    await fail(state, mailbox("4006", "192.0.2.1"), 5, 0);
    await fail(state, mailbox("4006", "192.0.2.2"), 5, 300);
    await fail(state, mailbox("4007", "192.0.2.1"), 5, 600);
    const now = at(1100);
    const locked = async (id: string, addr: string) =>
      (await checkThrottle(state, mailbox(id, addr), { now, limits })).state === "locked";
    assert.ok(await locked("4006", "192.0.2.2"));
    assert.ok(await clearThrottle(state, { kind: "mailbox", id: "4006@192.0.2.2" }));
    assert.ok(!(await locked("4006", "192.0.2.2")));
    assert.ok(await locked("4006", "192.0.2.1"));
    await fail(state, mailbox("4006", "192.0.2.2"), 5, 840, 5);
    assert.ok(await locked("4006", "192.0.2.2"));
    // The bare account: its pairs from every address.
    assert.ok(await clearThrottle(state, { kind: "mailbox", id: "4006" }));
    assert.ok(!(await locked("4006", "192.0.2.1")));
    assert.ok(!(await locked("4006", "192.0.2.2")));
    assert.ok(await locked("4007", "192.0.2.1"));
    assert.ok(!(await clearThrottle(state, { kind: "mailbox", id: "4006" })));
    assert.ok(await clearThrottle(state, { kind: "address", id: "192.0.2.1" }));
    assert.ok(!(await clearThrottle(state, { kind: "address", id: "192.0.2.1" })));
    const list = await listThrottles(state, now);
    assert.deepEqual(list.map((r) => [r.kind, r.account, r.address, r.failures, r.locked]), [
      ["mailbox", "4007", "192.0.2.1", 5, true],
      ["address", null, "192.0.2.2", 10, false],
    ]);
  });
});

Deno.test("a counter from before pairs were counted lists as the account and clears", async () => {
  await withState(async (state) => {
    const old = {
      kind: "mailbox",
      id: "4007",
      failures: 5,
      firstAt: at(0).toISOString(),
      lastAt: at(0).toISOString(),
      lockedUntil: at(900).toISOString(),
    };
    await updateThrottleRecord(state, old, () => old, { expireIn: 60_000 });
    const list = await listThrottles(state, at(1));
    assert.deepEqual([list[0].account, list[0].address, list[0].locked], ["4007", null, true]);
    // It no longer bars anyone: only pairs are consulted.
    assert.equal(
      (await checkThrottle(state, mailbox("4007", "192.0.2.1"), { now: at(1) })).state,
      "open",
    );
    assert.ok(await clearThrottle(state, { kind: "mailbox", id: "4007" }));
    assert.equal((await listThrottles(state, at(1))).length, 0);
  });
});

Deno.test("addresses: loopback, and IPv6 counted per /64", () => {
  for (const a of ["127.0.0.1", "127.255.0.3", "::1", "::ffff:127.0.0.1"]) assert.ok(isLoopback(a));
  for (const a of ["128.0.0.1", "::2", "unknown", "10.0.0.1"]) assert.ok(!isLoopback(a));
  assert.equal(throttleAddress("2001:DB8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  assert.equal(throttleAddress("2001:db8:1:2::9"), "2001:db8:1:2::/64");
  assert.equal(throttleAddress("::ffff:192.0.2.1"), "192.0.2.1");
  assert.equal(throttleAddress("::1"), "::1");
  assert.equal(throttleAddress("unknown"), "unknown");
  assert.deepEqual(throttleKeys(mailbox("4006", "2001:db8:1:2::9")), [
    { kind: "mailbox", id: "4006@2001:db8:1:2::/64" },
    { kind: "address", id: "2001:db8:1:2::/64" },
  ]);
  assert.deepEqual(throttleKeys(admin("::1")), [{ kind: "admin", id: "admin@::1" }]);
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
