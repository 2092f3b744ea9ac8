import assert from "node:assert/strict";
import { KeyedLock, pool } from "./concurrency.ts";
import { sleep, Wakeup } from "./timing.ts";

Deno.test("KeyedLock serialises one key and lets other keys run", async () => {
  const lock = new KeyedLock();
  const order: string[] = [];
  const job = (key: string, name: string, ms: number) =>
    lock.run(key, async () => {
      order.push(`${name}+`);
      await new Promise((r) => setTimeout(r, ms));
      order.push(`${name}-`);
    });
  await Promise.all([job("a", "a1", 20), job("a", "a2", 1), job("b", "b1", 1)]);
  assert.deepEqual(order, ["a1+", "b1+", "b1-", "a1-", "a2+", "a2-"]);
  assert.ok(!lock.isHeld("a"));
  const release = await lock.acquire("c");
  assert.ok(lock.isHeld("c"));
  release();
  release(); // a second call must not free a later holder's lock
  assert.ok(!lock.isHeld("c"));
});

Deno.test("pool() runs at most n at a time and visits every item once", async () => {
  let running = 0;
  let peak = 0;
  const seen: number[] = [];
  await pool([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 2));
    seen.push(n);
    running--;
  });
  assert.equal(peak, 3);
  assert.deepEqual(seen.toSorted(), [1, 2, 3, 4, 5, 6, 7]);
  await pool([], 4, () => Promise.reject(new Error("never called")));
});

Deno.test("Wakeup ends a wait on ring or abort and leaves no abort listener behind", async () => {
  const controller = new AbortController();
  const signal = controller.signal;
  let listeners = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener =
    ((...a: Parameters<typeof add>) => (listeners++, add(...a))) as typeof add;
  signal.removeEventListener =
    ((...a: Parameters<typeof remove>) => (listeners--, remove(...a))) as typeof remove;
  const bell = new Wakeup();
  for (let i = 0; i < 100; i++) {
    const waiting = bell.wait(signal);
    bell.ring();
    await waiting;
  }
  assert.equal(listeners, 0);
  bell.ring(); // a ring with nobody waiting is kept for the next wait
  await bell.wait(signal);
  const last = bell.wait(signal);
  controller.abort();
  await last;
  await bell.wait(signal); // aborted: returns at once
  assert.equal(listeners, 0);
  await sleep(10_000, signal); // aborted: no timer left behind
});
