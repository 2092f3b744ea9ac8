import assert from "node:assert/strict";
import { forwardLimitReached, takeForward } from "./portal.ts";
import { closeState, openState } from "./kv.ts";

Deno.test("takeForward() counts up to the limit, then refuses until the window slides", async () => {
  const state = await openState(":memory:");
  try {
    const limit = { limit: 3, windowMs: 60_000 };
    for (const now of [1_000, 2_000, 3_000]) {
      assert.equal(await forwardLimitReached(state, "4001", { ...limit, now }), false);
      assert.equal(await takeForward(state, "4001", { ...limit, now }), true);
    }
    assert.equal(await forwardLimitReached(state, "4001", { ...limit, now: 4_000 }), true);
    assert.equal(await takeForward(state, "4001", { ...limit, now: 4_000 }), false);
    assert.equal(await takeForward(state, "4002", { ...limit, now: 4_000 }), true, "per mailbox");
    // The first forward leaves the window: one more may go.
    assert.equal(await forwardLimitReached(state, "4001", { ...limit, now: 61_000 }), false);
    assert.equal(await takeForward(state, "4001", { ...limit, now: 61_000 }), true);
    assert.equal(await takeForward(state, "4001", { ...limit, now: 61_500 }), false);
  } finally {
    closeState(state);
  }
});

Deno.test("takeForward() never lets parallel forwards past the limit", async () => {
  const state = await openState(":memory:");
  try {
    const opts = { limit: 5, windowMs: 60_000 };
    const taken = await Promise.all(
      Array.from({ length: 20 }, () => takeForward(state, "4001", opts)),
    );
    assert.equal(taken.filter((t) => t).length, 5);
    assert.equal(await forwardLimitReached(state, "4001", opts), true);
  } finally {
    closeState(state);
  }
});
