/**
 * Sharding a large site between appliances: `shard: "i/n"` makes this appliance the i-th of n,
 * mirroring only the mailboxes whose number hashes to it. The hash (FNV-1a of the mailbox
 * number) depends on nothing but the number, so every appliance of a site agrees on the split
 * without talking to the others, and adding a subscriber never moves another one.
 * @module
 */

/** One appliance's share of the site: the `index`-th (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `"i/n"` (1 ≤ i ≤ n); null for anything else. */
export function parseShard(text: string): Shard | null {
  const m = /^\s*(\d{1,6})\s*\/\s*(\d{1,6})\s*$/.exec(text);
  if (!m) return null;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) return null;
  return { index, count };
}

/** FNV-1a (32 bit) of a mailbox number's characters. */
export function mailboxHash(mailbox: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < mailbox.length; i++) {
    h ^= mailbox.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The shard (1-based) a mailbox belongs to among `count`. */
export function shardOf(mailbox: string, count: number): number {
  return (mailboxHash(mailbox.trim()) % count) + 1;
}

/** Whether this appliance's shard (none: the whole site) mirrors the mailbox. */
export function inShard(mailbox: string, shard: Shard | null | undefined): boolean {
  return !shard || shard.count === 1 || shardOf(mailbox, shard.count) === shard.index;
}
