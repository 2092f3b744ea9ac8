/**
 * Mirror statistics: messages copied, deleted, made placeholders and skipped, in hourly buckets
 * (kept 48 h) and daily buckets (kept 40 days), running totals since the store was made, and a
 * rolling sample of the newest mirror lags for percentiles. Also the counts `/metrics` reads
 * at scrape time that have no table module of their own to ask.
 *
 * - `["stats", "hour", "YYYY-MM-DDTHH"]` → StatBucket (UTC hour; expires 48 h after its start)
 * - `["stats", "day", "YYYY-MM-DD"]` → StatBucket (UTC day; expires 40 days after its start)
 * - `["stats", "totals", field]`, `["stats", "totals", "skipped", reason]`,
 *   `["stats", "totals", "directory", "ok" | "failed"]` → Deno.KvU64 running totals
 * - `["stats", "since"]` → ISO time of the first statistics written
 * - `["stats", "lags"]` → LagSample: the newest ≤ 1000 lags (seconds)
 * @module
 */
import { type State, StateError } from "./kv.ts";

/** What one mailbox result (or one pass) adds to the statistics. */
export interface PassStats {
  /** When it happened: picks the hour and day buckets. */
  at: Date | string;
  copied: number;
  deleted: number;
  placeholders: number;
  /** Messages skipped, by reason (e.g. "broadcast"). */
  skipped: Record<string, number>;
  /** Mirror lags of the messages copied (seconds from INTERNALDATE to the copy). */
  lags: number[];
}

/** The counts of one hour or one day. */
export interface StatBucket {
  /** The bucket's start (ISO, UTC). */
  start: string;
  copied: number;
  deleted: number;
  placeholders: number;
  skipped: number;
}

/** Running totals since the store's first statistics. */
export interface StatTotals {
  /** When the first statistics were written (null: none yet). */
  since: string | null;
  copied: number;
  deleted: number;
  placeholders: number;
  skipped: Record<string, number>;
  /** Directory passes recorded (dry runs are not). */
  directoryPasses: { ok: number; failed: number };
}

/** Percentiles of the lag sample (seconds), null without samples. */
export interface LagPercentiles {
  p50: number | null;
  p99: number | null;
  samples: number;
}

interface LagSample {
  values: number[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** How long an hourly bucket is kept after its start. */
export const HOURLY_KEEP_MS = 48 * HOUR_MS;
/** How long a daily bucket is kept after its start. */
export const DAILY_KEEP_MS = 40 * DAY_MS;
/** How many lag values the rolling sample keeps. */
export const LAG_SAMPLE_SIZE = 1000;

const PREFIX = "stats";
const key = {
  hour: (k: string): Deno.KvKey => [PREFIX, "hour", k],
  day: (k: string): Deno.KvKey => [PREFIX, "day", k],
  totals: (): Deno.KvKey => [PREFIX, "totals"],
  total: (...path: string[]): Deno.KvKey => [PREFIX, "totals", ...path],
  since: (): Deno.KvKey => [PREFIX, "since"],
  lags: (): Deno.KvKey => [PREFIX, "lags"],
};

/** The UTC hour bucket's name of a time: `YYYY-MM-DDTHH`. */
export function hourKey(at: Date): string {
  return at.toISOString().slice(0, 13);
}

/** The UTC day bucket's name of a time: `YYYY-MM-DD`. */
export function dayKey(at: Date): string {
  return at.toISOString().slice(0, 10);
}

function hourStart(at: Date): Date {
  return new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
}

function dayStart(at: Date): Date {
  return new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
}

/**
 * Milliseconds until a bucket starting at `start` expires, seen at `now`: its start plus the
 * kept time, so a bucket written late in its hour does not outlive one written early. 0 or less:
 * already past (not written).
 */
export function bucketExpireIn(kind: "hour" | "day", start: Date, now: Date): number {
  const keep = kind === "hour" ? HOURLY_KEEP_MS : DAILY_KEEP_MS;
  return start.getTime() + keep - now.getTime();
}

function emptyBucket(start: Date): StatBucket {
  return { start: start.toISOString(), copied: 0, deleted: 0, placeholders: 0, skipped: 0 };
}

function sum(values: Record<string, number>): number {
  return Object.values(values).reduce((a, b) => a + b, 0);
}

/**
 * Adds one result's (or one pass's) counts in one atomic write: the hour and day buckets, the
 * running totals and the lag sample. Deno KV's `sum` drops `expireIn` (measured on Deno 2.9:
 * a summed key never expires), so the expiring buckets are read and set under a versionstamp
 * check, retried on conflict; the totals never expire and use true sums.
 */
export async function addPassStats(
  state: State,
  s: PassStats,
  opts: { now?: Date } = {},
): Promise<void> {
  const at = new Date(s.at);
  const now = opts.now ?? new Date();
  const skipped = sum(s.skipped);
  const lags = s.lags.filter((x) => Number.isFinite(x)).map((x) => Math.max(0, round3(x)));
  if (!s.copied && !s.deleted && !s.placeholders && !skipped && !lags.length) return;
  const hour = hourStart(at);
  const day = dayStart(at);
  const hk = key.hour(hourKey(at));
  const dk = key.day(dayKey(at));
  for (let attempt = 0; attempt < 20; attempt++) {
    const [h, d, l, since] = await state.kv.getMany<[StatBucket, StatBucket, LagSample, string]>(
      [hk, dk, key.lags(), key.since()],
    );
    const op = state.kv.atomic().check(h, d, l, since);
    const buckets = [
      { entry: h, kind: "hour" as const, start: hour },
      { entry: d, kind: "day" as const, start: day },
    ];
    for (const b of buckets) {
      const expireIn = bucketExpireIn(b.kind, b.start, now);
      if (expireIn <= 0) continue; // an old event past its bucket's keeping time
      const cur = b.entry.value ?? emptyBucket(b.start);
      op.set(
        b.entry.key,
        {
          start: cur.start,
          copied: cur.copied + s.copied,
          deleted: cur.deleted + s.deleted,
          placeholders: cur.placeholders + s.placeholders,
          skipped: cur.skipped + skipped,
        } satisfies StatBucket,
        { expireIn },
      );
    }
    if (lags.length) {
      const values = [...(l.value?.values ?? []), ...lags].slice(-LAG_SAMPLE_SIZE);
      op.set(key.lags(), { values } satisfies LagSample);
    }
    if (!since.value) op.set(key.since(), at.toISOString());
    const add = (k: Deno.KvKey, n: number) => {
      if (n > 0) op.sum(k, BigInt(n));
    };
    add(key.total("copied"), s.copied);
    add(key.total("deleted"), s.deleted);
    add(key.total("placeholders"), s.placeholders);
    for (const [reason, n] of Object.entries(s.skipped)) add(key.total("skipped", reason), n);
    if ((await op.commit()).ok) return;
  }
  throw new StateError("Cannot add the pass statistics: too many conflicts");
}

/** Counts a directory pass in the running totals. */
export async function addDirectoryPassStats(
  state: State,
  pass: { ok: boolean; at?: Date },
): Promise<void> {
  const since = await state.kv.get<string>(key.since());
  const op = state.kv.atomic().sum(key.total("directory", pass.ok ? "ok" : "failed"), 1n);
  if (!since.value) op.check(since).set(key.since(), (pass.at ?? new Date()).toISOString());
  // Losing the race to set "since" only means another writer set it: count without it.
  if (!(await op.commit()).ok) {
    await state.kv.atomic().sum(key.total("directory", pass.ok ? "ok" : "failed"), 1n).commit();
  }
}

async function buckets(
  state: State,
  kind: "hour" | "day",
  starts: Date[],
): Promise<StatBucket[]> {
  const name = kind === "hour" ? hourKey : dayKey;
  const prefix: Deno.KvKey = [PREFIX, kind];
  const found = new Map<string, StatBucket>();
  const first = name(starts[0]);
  const last = name(starts[starts.length - 1]);
  // "\u0000" after the last name makes the range's end include it.
  for await (
    const e of state.kv.list<StatBucket>({
      start: [...prefix, first],
      end: [...prefix, `${last}\u0000`],
    })
  ) {
    found.set(e.key[2] as string, e.value);
  }
  return starts.map((s) => {
    const b = found.get(name(s));
    return b ? { ...emptyBucket(s), ...b, start: s.toISOString() } : emptyBucket(s);
  });
}

/** The last `hours` hours up to `now`'s, oldest first, zero-filled where nothing happened. */
export async function hourlyStats(state: State, now: Date, hours = 24): Promise<StatBucket[]> {
  if (hours <= 0) return [];
  const end = hourStart(now).getTime();
  const starts = Array.from({ length: hours }, (_, i) => new Date(end - (hours - 1 - i) * HOUR_MS));
  return await buckets(state, "hour", starts);
}

/** The last `days` days up to `now`'s (UTC), oldest first, zero-filled. */
export async function dailyStats(state: State, now: Date, days = 30): Promise<StatBucket[]> {
  if (days <= 0) return [];
  const end = dayStart(now).getTime();
  const starts = Array.from({ length: days }, (_, i) => new Date(end - (days - 1 - i) * DAY_MS));
  return await buckets(state, "day", starts);
}

/** The running totals since the first statistics were written. */
export async function statTotals(state: State): Promise<StatTotals> {
  const out: StatTotals = {
    since: (await state.kv.get<string>(key.since())).value,
    copied: 0,
    deleted: 0,
    placeholders: 0,
    skipped: {},
    directoryPasses: { ok: 0, failed: 0 },
  };
  for await (const e of state.kv.list<Deno.KvU64>({ prefix: key.totals() })) {
    const n = Number(e.value.value);
    const [, , field, sub] = e.key as string[];
    if (field === "skipped") out.skipped[sub] = n;
    else if (field === "directory") out.directoryPasses[sub === "ok" ? "ok" : "failed"] = n;
    else if (field === "copied" || field === "deleted" || field === "placeholders") {
      out[field] = n;
    }
  }
  return out;
}

/** The median and 99th percentile (nearest rank) of the rolling lag sample. */
export async function lagPercentiles(state: State): Promise<LagPercentiles> {
  const values = (await state.kv.get<LagSample>(key.lags())).value?.values ?? [];
  return percentiles(values);
}

/** Nearest-rank p50 and p99 of a list of values (pure; exported for tests). */
export function percentiles(values: readonly number[]): LagPercentiles {
  if (!values.length) return { p50: null, p99: null, samples: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
  return { p50: at(0.5), p99: at(0.99), samples: sorted.length };
}

/**
 * Copies under way: open intents (keys.ts's `["intent", …]` table, owned by mirror_map.ts),
 * counted at scrape time. They exist only while a batch is written or after a crash, so the
 * table is small; the count stops at `limit`.
 */
export async function countOpenIntents(state: State, limit = 100_000): Promise<number> {
  let n = 0;
  for await (const _ of state.kv.list({ prefix: ["intent"] }, { limit })) n++;
  return n;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
