import assert from "node:assert/strict";
import { inShard, mailboxHash, parseShard, shardOf } from "./shard.ts";

Deno.test("parseShard takes i/n with 1 ≤ i ≤ n and refuses the rest", () => {
  assert.deepEqual(parseShard("2/3"), { index: 2, count: 3 });
  assert.deepEqual(parseShard(" 1 / 1 "), { index: 1, count: 1 });
  for (const bad of ["0/3", "4/3", "3", "a/b", "1/0", "-1/2", "1/2/3", ""]) {
    assert.equal(parseShard(bad), null, bad);
  }
});

Deno.test("the shards of a site split every mailbox exactly once and evenly", () => {
  const n = 4;
  const counts = new Array(n).fill(0);
  for (let m = 100000; m < 140000; m++) {
    const owners = [1, 2, 3, 4].filter((i) => inShard(String(m), { index: i, count: n }));
    assert.equal(owners.length, 1);
    counts[owners[0] - 1]++;
  }
  // Consecutive mailbox numbers spread within a few percent of an even share.
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 400, `uneven: ${counts}`);
});

Deno.test("the hash is FNV-1a: fixed values every appliance computes alike", () => {
  assert.equal(mailboxHash(""), 0x811c9dc5);
  assert.equal(mailboxHash("a"), 0xe40c292c);
  assert.equal(shardOf("4001", 1), 1);
  assert.equal(inShard("4001", null), true);
});
