/**
 * Failed-login throttling: counters per mailbox and per client address, a lockout when a
 * counter reaches its limit, and the admin's list and clear. Counters live in KV so a restart
 * does not reset them; attempts on one key are serialised in-process, so parallel guesses
 * cannot all read "no failures yet" before any of them is counted.
 * @module
 */
import {
  deleteThrottleRecord,
  getThrottleRecord,
  listThrottleRecords,
  updateThrottleRecord,
} from "../engine/state/mod.ts";
import type { State } from "../engine/state/mod.ts";

/** What a counter counts. */
export type ThrottleKind = "mailbox" | "address" | "admin";

/** One counter. */
export interface ThrottleRecord {
  kind: ThrottleKind;
  /** The mailbox number, client address or admin user name. */
  id: string;
  failures: number;
  firstAt: string;
  lastAt: string;
  /** Set while locked out. */
  lockedUntil: string | null;
}

/** Limits of one kind of counter. */
export interface ThrottleLimit {
  /** Failures within the window that lock the key. */
  maxFailures: number;
  windowMinutes: number;
  lockMinutes: number;
}

/** The limits per kind; an address sees many mailboxes (a shared NAT), so it gets more room. */
export const DEFAULT_LIMITS: Record<ThrottleKind, ThrottleLimit> = {
  mailbox: { maxFailures: 5, windowMinutes: 15, lockMinutes: 15 },
  address: { maxFailures: 20, windowMinutes: 15, lockMinutes: 15 },
  admin: { maxFailures: 5, windowMinutes: 15, lockMinutes: 15 },
};

/** A key to throttle on. */
export interface ThrottleKey {
  kind: ThrottleKind;
  id: string;
}

/** The lock that ends last among the keys, or null when none is locked. */
export async function lockedUntil(
  state: State,
  keys: ThrottleKey[],
  now: Date = new Date(),
): Promise<Date | null> {
  let until: Date | null = null;
  for (const k of keys) {
    const r = await getThrottleRecord<ThrottleRecord>(state, k);
    if (!r?.lockedUntil) continue;
    const t = new Date(r.lockedUntil);
    if (t > now && (!until || t > until)) until = t;
  }
  return until;
}

/** Counts a failure on every key; locks those that reach their limit. */
export async function recordFailure(
  state: State,
  keys: ThrottleKey[],
  opts: { now?: Date; limits?: Record<ThrottleKind, ThrottleLimit> } = {},
): Promise<void> {
  const now = opts.now ?? new Date();
  const limits = opts.limits ?? DEFAULT_LIMITS;
  for (const k of keys) {
    const limit = limits[k.kind];
    // Checked against concurrent writers (another process counting the same key).
    await updateThrottleRecord<ThrottleRecord>(state, k, (cur) => {
      const fresh = !cur ||
        now.getTime() - Date.parse(cur.firstAt) > limit.windowMinutes * 60_000 ||
        (cur.lockedUntil !== null && Date.parse(cur.lockedUntil) <= now.getTime());
      const rec: ThrottleRecord = fresh
        ? {
          kind: k.kind,
          id: k.id,
          failures: 1,
          firstAt: now.toISOString(),
          lastAt: now.toISOString(),
          lockedUntil: null,
        }
        : { ...cur!, failures: cur!.failures + 1, lastAt: now.toISOString() };
      if (rec.failures >= limit.maxFailures) {
        rec.lockedUntil = new Date(now.getTime() + limit.lockMinutes * 60_000).toISOString();
      }
      return rec;
    }, { expireIn: (limit.windowMinutes + limit.lockMinutes) * 60_000 });
  }
}

/** Forgets a key's failures (a successful login, or an admin's clear). */
export async function clearThrottle(state: State, key: ThrottleKey): Promise<boolean> {
  const cur = await getThrottleRecord<ThrottleRecord>(state, key);
  if (!cur) return false;
  await deleteThrottleRecord(state, key);
  return true;
}

/** Counters with failures, locked ones first, then the most recent. */
export async function listThrottles(
  state: State,
  now: Date = new Date(),
): Promise<(ThrottleRecord & { locked: boolean })[]> {
  const all = await listThrottleRecords<ThrottleRecord>(state, 10_000);
  return all
    .map((r) => ({ ...r, locked: !!r.lockedUntil && Date.parse(r.lockedUntil) > now.getTime() }))
    .sort((a, b) => Number(b.locked) - Number(a.locked) || b.lastAt.localeCompare(a.lastAt));
}

const chains = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` while holding in-process locks on every key (taken in sorted order, so two callers
 * with overlapping keys cannot deadlock).
 */
export async function withThrottleLock<T>(keys: ThrottleKey[], fn: () => Promise<T>): Promise<T> {
  const names = [...new Set(keys.map((k) => `${k.kind}\u0000${k.id}`))].sort();
  const release: (() => void)[] = [];
  try {
    for (const name of names) {
      const prev = chains.get(name) ?? Promise.resolve();
      let done!: () => void;
      const mine = new Promise<void>((r) => (done = r));
      const tail = prev.then(() => mine);
      chains.set(name, tail);
      release.push(() => {
        done();
        if (chains.get(name) === tail) chains.delete(name);
      });
      await prev;
    }
    return await fn();
  } finally {
    for (const r of release.reverse()) r();
  }
}
