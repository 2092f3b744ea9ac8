/**
 * Failed-login throttling, fair to the right person on another address:
 *
 * - **Pair counters** (kind "mailbox" or "admin", id `<account>@<address>`): one account's
 *   failures from one client address. From the `delayAfter`-th failure (3) on, the next attempt of
 *   that pair must wait 1 s, then 2 s, 4 s … (capped at `maxDelaySeconds`) after the last failure;
 *   at `maxFailures` (5) the pair is locked for `lockMinutes`. The account stays open to every
 *   other address: a stranger's guesses never lock its owner out.
 * - **Address counters** (kind "address", id the address): one address's failures across all
 *   accounts, so a sprayer trying a few PINs on many mailboxes is throttled too. Same delays and
 *   lock, with more room (a shared NAT hides many honest people behind one address).
 * - **Loopback admin** (127.0.0.0/8, ::1): the operator at the console is never locked out, only
 *   delayed; their failures count on the pair alone, and the address counter (which loopback
 *   subscribers may have filled) is not consulted.
 *
 * Counts run in a window from the first failure; after `windowMinutes` (or when a lock ends) the
 * next failure starts afresh. An attempt refused for a wait or a lock is not counted: it never
 * reaches the PIN check. A success clears its own pair, never the address counter (a sprayer
 * must not wipe its record by signing in to its own mailbox). IPv6 clients are counted per /64,
 * the block one subscriber line usually gets; an attacker has all of it.
 *
 * Counters live in KV so a restart does not reset them; attempts on one key are serialised
 * in-process, so parallel guesses cannot all read "no failures yet" before any is counted.
 * @module
 */
import {
  deleteThrottleRecord,
  getThrottleRecord,
  listThrottleRecords,
  updateThrottleRecord,
} from "../engine/state/mod.ts";
import type { State } from "../engine/state/mod.ts";
import { formatIp, inBlock, parseIp } from "./http.ts";

/** What a counter counts: an account from one address ("mailbox", "admin"), or an address. */
export type ThrottleKind = "mailbox" | "address" | "admin";

/** Every kind, for validating a posted `kind`. */
export const THROTTLE_KINDS: readonly ThrottleKind[] = ["mailbox", "address", "admin"];

/** One counter. */
export interface ThrottleRecord {
  kind: ThrottleKind;
  /** `<account>@<address>` for a pair, the address for an address counter. */
  id: string;
  failures: number;
  firstAt: string;
  lastAt: string;
  /** Set while locked out. */
  lockedUntil: string | null;
}

/** A counter as the admin's list shows it. */
export interface ThrottleListing extends ThrottleRecord {
  /** The mailbox number or "admin"; null on an address counter. */
  account: string | null;
  /** The client address (an IPv6 /64); null on a counter from before pairs were counted. */
  address: string | null;
  locked: boolean;
}

/** Limits of one kind of counter. */
export interface ThrottleLimit {
  /** Failures within the window that lock the key. */
  maxFailures: number;
  windowMinutes: number;
  lockMinutes: number;
  /** Failures after which each further attempt waits 1 s, 2 s, 4 s …; default per kind. */
  delayAfter?: number;
  /** The longest wait between attempts; default 30. */
  maxDelaySeconds?: number;
}

/** The limits per kind; an address sees many mailboxes (a shared NAT), so it gets more room. */
export const DEFAULT_LIMITS: Record<ThrottleKind, ThrottleLimit> = {
  mailbox: { maxFailures: 5, windowMinutes: 15, lockMinutes: 15, delayAfter: 3 },
  address: { maxFailures: 30, windowMinutes: 15, lockMinutes: 15, delayAfter: 10 },
  admin: { maxFailures: 5, windowMinutes: 15, lockMinutes: 15, delayAfter: 3 },
};

const MAX_DELAY_SECONDS = 30;

/** A key to throttle on. */
export interface ThrottleKey {
  kind: ThrottleKind;
  id: string;
}

/** One login attempt: the account tried (null when the name is not a valid one) and from where. */
export interface LoginAttempt {
  account: { kind: "mailbox" | "admin"; id: string } | null;
  /** The client address as the portal sees it (see http.ts). */
  address: string;
}

/** Whether an attempt may go ahead, and if not, until when it is refused. */
export type ThrottleVerdict =
  | { state: "open" }
  | { state: "wait" | "locked"; until: Date; retryAfterSeconds: number };

/** Options of the counting functions: the clock and the limits (tests set both). */
export interface ThrottleOptions {
  now?: Date;
  limits?: Record<ThrottleKind, ThrottleLimit>;
}

/** Whether `address` is loopback (127.0.0.0/8, ::1, also IPv4-mapped). */
export function isLoopback(address: string): boolean {
  const ip = parseIp(address);
  return !!ip && (inBlock(ip, "127.0.0.0/8") || inBlock(ip, "::1"));
}

/** The address a counter is kept for: IPv4 as is, IPv6 by its /64, anything else verbatim. */
export function throttleAddress(address: string): string {
  const ip = parseIp(address);
  if (!ip) return address;
  if (ip.length === 4 || isLoopback(address)) return formatIp(ip);
  return `${formatIp(Uint8Array.from([...ip.subarray(0, 8), ...new Uint8Array(8)]))}/64`;
}

interface Counted extends ThrottleKey {
  limit: ThrottleLimit;
  lockable: boolean;
}

// The keys an attempt is checked and counted on, each with its limit (module doc).
function countedKeys(
  attempt: LoginAttempt,
  limits: Record<ThrottleKind, ThrottleLimit>,
): Counted[] {
  const address = throttleAddress(attempt.address);
  const out: Counted[] = [];
  const loopbackAdmin = attempt.account?.kind === "admin" && isLoopback(attempt.address);
  if (attempt.account) {
    const { kind, id } = attempt.account;
    out.push({ kind, id: `${id}@${address}`, limit: limits[kind], lockable: !loopbackAdmin });
  }
  if (!loopbackAdmin) {
    out.push({ kind: "address", id: address, limit: limits.address, lockable: true });
  }
  return out;
}

/** The counters an attempt touches (for {@link withThrottleLock}). */
export function throttleKeys(attempt: LoginAttempt): ThrottleKey[] {
  return countedKeys(attempt, DEFAULT_LIMITS).map(({ kind, id }) => ({ kind, id }));
}

// The wait after `failures` failures in the window, in seconds (0: none).
function delaySeconds(failures: number, limit: ThrottleLimit, kind: ThrottleKind): number {
  const after = limit.delayAfter ?? DEFAULT_LIMITS[kind].delayAfter ?? 3;
  if (failures < after) return 0;
  return Math.min(2 ** Math.min(failures - after, 30), limit.maxDelaySeconds ?? MAX_DELAY_SECONDS);
}

// A record's lock, or the end of its wait, at `now`; a lapsed window or lock is no record.
function standing(rec: ThrottleRecord | null, key: Counted, now: number) {
  if (!rec) return null;
  if (rec.lockedUntil) {
    const until = Date.parse(rec.lockedUntil);
    return until > now && key.lockable ? { locked: true, until } : null;
  }
  if (now - Date.parse(rec.firstAt) > key.limit.windowMinutes * 60_000) return null;
  const until = Date.parse(rec.lastAt) + delaySeconds(rec.failures, key.limit, key.kind) * 1000;
  return until > now ? { locked: false, until } : null;
}

/** Whether the attempt may go ahead: a lock wins over a wait; the latest end of either is given. */
export async function checkThrottle(
  state: State,
  attempt: LoginAttempt,
  opts: ThrottleOptions = {},
): Promise<ThrottleVerdict> {
  const now = (opts.now ?? new Date()).getTime();
  let worst: { locked: boolean; until: number } | null = null;
  for (const key of countedKeys(attempt, opts.limits ?? DEFAULT_LIMITS)) {
    const s = standing(await getThrottleRecord<ThrottleRecord>(state, key), key, now);
    if (!s) continue;
    if (
      !worst || (s.locked && !worst.locked) || (s.locked === worst.locked && s.until > worst.until)
    ) {
      worst = s;
    }
  }
  if (!worst) return { state: "open" };
  return {
    state: worst.locked ? "locked" : "wait",
    until: new Date(worst.until),
    retryAfterSeconds: Math.max(1, Math.ceil((worst.until - now) / 1000)),
  };
}

/** Counts a failed attempt on its pair and its address; locks those that reach their limit. */
export async function recordFailure(
  state: State,
  attempt: LoginAttempt,
  opts: ThrottleOptions = {},
): Promise<void> {
  const now = opts.now ?? new Date();
  const at = now.toISOString();
  for (const key of countedKeys(attempt, opts.limits ?? DEFAULT_LIMITS)) {
    const { kind, id, limit } = key;
    // Checked against concurrent writers (another process counting the same key).
    await updateThrottleRecord<ThrottleRecord>(state, key, (cur) => {
      const fresh = !cur ||
        (cur.lockedUntil !== null
          ? Date.parse(cur.lockedUntil) <= now.getTime()
          : now.getTime() - Date.parse(cur.firstAt) > limit.windowMinutes * 60_000);
      const rec: ThrottleRecord = fresh
        ? { kind, id, failures: 1, firstAt: at, lastAt: at, lockedUntil: null }
        : { ...cur!, failures: cur!.failures + 1, lastAt: at };
      if (key.lockable && rec.lockedUntil === null && rec.failures >= limit.maxFailures) {
        rec.lockedUntil = new Date(now.getTime() + limit.lockMinutes * 60_000).toISOString();
      }
      return rec;
    }, { expireIn: (limit.windowMinutes + limit.lockMinutes) * 60_000 });
  }
}

/** Forgets the pair's failures after a successful login (the address counter stays). */
export async function recordSuccess(state: State, attempt: LoginAttempt): Promise<void> {
  const pair = countedKeys(attempt, DEFAULT_LIMITS).find((k) => k.kind !== "address");
  if (pair) await deleteThrottleRecord(state, pair);
}

/**
 * Forgets a counter (the admin's clear). A bare account (`{ kind: "mailbox", id: "4007" }`,
 * `{ kind: "admin", id: "admin" }`) clears that account's pairs from every address. True when
 * anything was there.
 */
export async function clearThrottle(state: State, key: ThrottleKey): Promise<boolean> {
  const doomed: ThrottleKey[] = [];
  if (await getThrottleRecord<ThrottleRecord>(state, key)) doomed.push(key);
  if (key.kind !== "address" && !key.id.includes("@")) {
    const all = await listThrottleRecords<ThrottleRecord>(state, 10_000);
    for (const r of all) {
      if (r.kind === key.kind && r.id.startsWith(`${key.id}@`)) doomed.push(r);
    }
  }
  for (const k of doomed) await deleteThrottleRecord(state, { kind: k.kind, id: k.id });
  return doomed.length > 0;
}

/** Counters with failures, locked ones first, then the most recent. */
export async function listThrottles(
  state: State,
  now: Date = new Date(),
): Promise<ThrottleListing[]> {
  const all = await listThrottleRecords<ThrottleRecord>(state, 10_000);
  return all
    .map((r): ThrottleListing => {
      const at = r.kind === "address" ? -1 : r.id.indexOf("@");
      return {
        ...r,
        account: r.kind === "address" ? null : at < 0 ? r.id : r.id.slice(0, at),
        address: r.kind === "address" ? r.id : at < 0 ? null : r.id.slice(at + 1),
        locked: !!r.lockedUntil && Date.parse(r.lockedUntil) > now.getTime(),
      };
    })
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
