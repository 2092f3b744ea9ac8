/**
 * Reports shortened to fit a job's stored record: the lists cut, what matters most (failures,
 * what was or would be restored) kept first, and how much was left out said in `truncated`.
 * @module
 */
import { serialize } from "node:v8";
import type { SyncSummary } from "../mirror/mod.ts";
import type { RestoreItem, RestoreReport } from "../restore/mod.ts";

/** A report with lists shortened: field → entries left out. */
export type Truncated<T> = T & { truncated?: Record<string, number> };

/** A sync summary within `maxBytes`: failed mailboxes first, then the others, as many as fit. */
export function compactSyncSummary(s: SyncSummary, maxBytes: number): Truncated<SyncSummary> {
  const ordered = [...s.mailboxes.filter((m) => !m.ok), ...s.mailboxes.filter((m) => m.ok)];
  return shrink(maxBytes, (cap) => {
    const out: Truncated<SyncSummary> = { ...s, mailboxes: ordered.slice(0, cap) };
    if (ordered.length > cap) out.truncated = { mailboxes: ordered.length - cap };
    return out;
  });
}

/**
 * A restore report within `maxBytes`: the messages restored, failed or unavailable first, the
 * skipped ones (mostly "already on production") after them.
 */
export function compactRestoreReport(
  r: RestoreReport,
  maxBytes: number,
): Truncated<RestoreReport> {
  const rank = (i: RestoreItem) =>
    i.outcome === "failed"
      ? 0
      : i.outcome !== "skipped"
      ? 1
      : i.reason === "original-missing" || i.reason === "duplicate-on-mirror"
      ? 2
      : 3;
  const ordered = [...r.items].sort((a, b) => rank(a) - rank(b));
  return shrink(maxBytes, (cap) => {
    const truncated: Record<string, number> = {};
    const cut = <T>(name: string, list: T[]): T[] => {
      if (list.length <= cap) return list;
      truncated[name] = list.length - cap;
      return list.slice(0, cap);
    };
    const out: Truncated<RestoreReport> = {
      ...r,
      items: cut("items", ordered),
      lost: cut("lost", r.lost),
      warnings: cut("warnings", r.warnings),
    };
    if (Object.keys(truncated).length) out.truncated = truncated;
    return out;
  });
}

// The largest cut of the lists (halving from 1,000 entries) whose record fits.
function shrink<T>(maxBytes: number, cut: (cap: number) => T): T {
  for (let cap = 1000;; cap = Math.floor(cap / 2)) {
    const out = cut(cap);
    if (cap === 0 || serialize(out).length <= maxBytes) return out;
  }
}
