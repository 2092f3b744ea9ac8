import assert from "node:assert/strict";
import { IdentityIndex } from "./identity_index.ts";
import { sameIdentity } from "./target.ts";

const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 10, 0, s));
const msg = (uid: number, messageId: string | null, second: number, size: number, ms = 0) => ({
  uid,
  messageId,
  internalDate: new Date(at(second).getTime() + ms),
  size,
});

Deno.test("IdentityIndex.take() matches like sameIdentity(), first candidate first, once each", () => {
  const index = new IdentityIndex([
    msg(1, "<a@x>", 1, 100),
    msg(2, null, 1, 100),
    msg(3, "<a@x>", 1, 100, 900), // the same second
    msg(4, "<a@x>", 2, 100),
  ]);
  assert.equal(index.take(msg(0, "<a@x>", 1, 100))?.uid, 1);
  assert.equal(index.take(msg(0, "<a@x>", 1, 100))?.uid, 2); // an absent id agrees with any
  assert.equal(index.take(msg(0, "<a@x>", 1, 100))?.uid, 3);
  assert.equal(index.take(msg(0, "<a@x>", 1, 100)), undefined);
  assert.equal(index.take(msg(0, "<a@x>", 1, 101)), undefined); // size differs
  assert.equal(index.take(msg(0, null, 2, 100))?.uid, 4);
});

Deno.test("IdentityIndex.take() with exactMessageId wants equal Message-IDs", () => {
  const index = new IdentityIndex([msg(1, null, 1, 100), msg(2, "<a@x>", 1, 100)]);
  assert.equal(index.take(msg(0, "<a@x>", 1, 100), { exactMessageId: true })?.uid, 2);
  assert.equal(index.take(msg(0, "<b@x>", 1, 100), { exactMessageId: true }), undefined);
  assert.equal(index.take(msg(0, null, 1, 100), { exactMessageId: true })?.uid, 1);
});

Deno.test("IdentityIndex agrees with a find() over every candidate on random identities", () => {
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const ids = [null, "<a@x>", "<b@x>"];
  const make = (uid: number) => msg(uid, ids[rnd(3)], rnd(3), 100 + rnd(2), rnd(1000));
  for (let round = 0; round < 50; round++) {
    const candidates = Array.from({ length: 12 }, (_, i) => make(i + 1));
    const wanted = Array.from({ length: 12 }, () => make(0));
    const index = new IdentityIndex(candidates);
    const used = new Set<number>();
    for (const w of wanted) {
      const slow = candidates.find((c) => !used.has(c.uid) && sameIdentity(c, w));
      if (slow) used.add(slow.uid);
      assert.equal(index.take(w)?.uid, slow?.uid);
    }
  }
});
