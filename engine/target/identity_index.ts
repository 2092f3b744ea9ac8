/**
 * Matching messages by identity in O(n + m): candidates are indexed by (date to the second,
 * size), and a bucket is searched for the Message-ID rule — the one helper for re-pairing,
 * adoption and restore, instead of a `find` over every candidate for every message.
 * @module
 */
import { type MessageIdentity, sameIdentity } from "./target.ts";

/** How {@link IdentityIndex.take} compares Message-IDs. */
export interface TakeOptions {
  /**
   * Require equal Message-IDs (both absent counts as equal), as adoption and restore do;
   * by default an absent Message-ID on either side agrees with any ({@link sameIdentity}).
   */
  exactMessageId?: boolean;
}

/** Candidates indexed by identity; each is handed out at most once, first added first. */
export class IdentityIndex<T extends MessageIdentity> {
  #buckets = new Map<string, T[]>();

  /** Indexes `candidates` in their order. */
  constructor(candidates: Iterable<T> = []) {
    for (const c of candidates) this.add(c);
  }

  /** Adds one candidate after those already indexed. */
  add(candidate: T): void {
    const key = bucketKey(candidate);
    const bucket = this.#buckets.get(key);
    if (bucket) bucket.push(candidate);
    else this.#buckets.set(key, [candidate]);
  }

  /** The first unused candidate with the same identity as `wanted`, now used; or undefined. */
  take(wanted: MessageIdentity, options: TakeOptions = {}): T | undefined {
    const bucket = this.#buckets.get(bucketKey(wanted));
    if (!bucket) return undefined;
    const i = bucket.findIndex((c) =>
      options.exactMessageId ? c.messageId === wanted.messageId : sameIdentity(c, wanted)
    );
    return i < 0 ? undefined : bucket.splice(i, 1)[0];
  }
}

function bucketKey(m: MessageIdentity): string {
  return `${Math.floor(m.internalDate.getTime() / 1000)}\u0000${m.size}`;
}
