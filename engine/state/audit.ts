/**
 * The audit trail: who did what, when, from where — every login, play, forward, settings change,
 * admin action and refused request. Keyed by time, so a range of dates is one range read; a
 * search walks that range newest first and stops once its page is full; old entries are pruned
 * by age (`audit.retentionDays`), not by count.
 * @module
 */
import { keys } from "./keys.ts";
import { listValues, type State, StateError } from "./kv.ts";

/** Who did what, when, from where. */
export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  detail?: Record<string, unknown>;
  from?: string;
}

// KV values stop at 64 KiB; a detail bigger than this is replaced by a note of its size.
const MAX_DETAIL_CHARS = 16 * 1024;

/** Writes one audit entry; an oversized detail is replaced by a note saying so. */
export async function audit(state: State, entry: Omit<AuditEntry, "at"> & { at?: string }) {
  const at = entry.at ?? new Date().toISOString();
  const value: AuditEntry = { ...entry, at };
  if (entry.detail) {
    const size = JSON.stringify(entry.detail).length;
    if (size > MAX_DETAIL_CHARS) {
      value.detail = { truncated: true, size, keys: Object.keys(entry.detail).slice(0, 20) };
    }
  }
  await state.kv.set(keys.audit(at, crypto.randomUUID()), value);
}

/** Audit entries, newest first. */
export async function listAudit(state: State, limit = 100): Promise<AuditEntry[]> {
  return await listValues<AuditEntry>(state, keys.audits(), { reverse: true, limit });
}

/** What an audit search keeps; every field narrows it, none means everything. */
export interface AuditFilter {
  /** Part of the actor, any case ("4001", "admin"). */
  who?: string;
  /** An action exactly ("login"), or a prefix with a trailing star ("login*"). */
  action?: string;
  /** A mailbox: its own actions, and admin actions naming it (`mailbox` or `mailboxes`). */
  mailbox?: string;
  /** From this instant on (inclusive). */
  from?: Date;
  /** Before this instant (exclusive). */
  to?: Date;
}

/** A search: a filter and which page of its matches, newest first. */
export interface AuditQuery extends AuditFilter {
  /** 1 is the newest page. */
  page?: number;
  /** Matches per page (default {@link AUDIT_PAGE_SIZE}, at most {@link AUDIT_PAGE_MAX}). */
  pageSize?: number;
}

/** One page of a search. */
export interface AuditPage {
  items: AuditEntry[];
  page: number;
  pageSize: number;
  /** Whether an older page has matches. */
  hasMore: boolean;
  /** Entries read to answer (how much of the range the filter had to walk). */
  scanned: number;
}

/** The default page size of a search. */
export const AUDIT_PAGE_SIZE = 50;
/** The largest page size of a search. */
export const AUDIT_PAGE_MAX = 500;

/** Whether one entry passes a filter's who/action/mailbox tests (the dates are the range's). */
export function auditMatches(e: AuditEntry, f: AuditFilter): boolean {
  const who = f.who?.trim().toLowerCase();
  if (who && !e.actor.toLowerCase().includes(who)) return false;
  const action = f.action?.trim();
  if (action) {
    if (action.endsWith("*")) {
      if (!e.action.startsWith(action.slice(0, -1))) return false;
    } else if (e.action !== action) return false;
  }
  const mailbox = f.mailbox?.trim();
  if (mailbox && !namesMailbox(e, mailbox)) return false;
  return true;
}

function namesMailbox(e: AuditEntry, mailbox: string): boolean {
  if (e.actor === `subscriber:${mailbox}`) return true;
  const d = e.detail;
  if (!d) return false;
  if (d.mailbox === mailbox) return true;
  return Array.isArray(d.mailboxes) && d.mailboxes.includes(mailbox);
}

/**
 * The entries a filter keeps, newest first, read lazily: only the keys between `from` and `to`
 * are visited, and a consumer that stops early stops the read. `counter.scanned` counts reads.
 */
export async function* auditEntries(
  state: State,
  f: AuditFilter,
  counter: { scanned: number } = { scanned: 0 },
): AsyncGenerator<AuditEntry> {
  const selector = rangeOf(f);
  if (!selector) return;
  const iter = state.kv.list<AuditEntry>(selector, { reverse: true, batchSize: 500 });
  for await (const e of iter) {
    counter.scanned++;
    if (auditMatches(e.value, f)) yield e.value;
  }
}

// Keys sort by their ISO time, so a date range is a key range: [from, to).
function rangeOf(f: AuditFilter): Deno.KvListSelector | null {
  const from = f.from && isoOf(f.from, "from");
  const to = f.to && isoOf(f.to, "to");
  if (from && to) {
    return from < to ? { start: [...keys.audits(), from], end: [...keys.audits(), to] } : null;
  }
  if (from) return { prefix: keys.audits(), start: [...keys.audits(), from] };
  if (to) return { prefix: keys.audits(), end: [...keys.audits(), to] };
  return { prefix: keys.audits() };
}

function isoOf(d: Date, what: string): string {
  if (Number.isNaN(d.getTime())) throw new RangeError(`The audit search's "${what}" is not a date`);
  return d.toISOString();
}

/**
 * One page of a search, newest first. Deep pages read the matches before them; the read stops
 * one match past the page (which is how `hasMore` is known), so no total is counted.
 */
export async function queryAudit(state: State, q: AuditQuery): Promise<AuditPage> {
  const pageSize = Math.min(Math.max(Math.trunc(q.pageSize ?? AUDIT_PAGE_SIZE), 1), AUDIT_PAGE_MAX);
  const page = Math.max(Math.trunc(q.page ?? 1), 1);
  const skip = (page - 1) * pageSize;
  const counter = { scanned: 0 };
  const items: AuditEntry[] = [];
  let seen = 0;
  let hasMore = false;
  for await (const e of auditEntries(state, q, counter)) {
    if (seen++ < skip) continue;
    if (items.length === pageSize) {
      hasMore = true;
      break;
    }
    items.push(e);
  }
  return { items, page, pageSize, hasMore, scanned: counter.scanned };
}

/** The distinct actions among the newest `scan` entries, sorted (for a search form's hints). */
export async function recentAuditActions(state: State, scan = 1000): Promise<string[]> {
  const seen = new Set<string>();
  for await (
    const e of state.kv.list<AuditEntry>({ prefix: keys.audits() }, {
      reverse: true,
      limit: scan,
      batchSize: 500,
    })
  ) seen.add(e.value.action);
  return [...seen].sort();
}

/**
 * Deletes the entries older than `olderThan`, oldest first, in atomic batches (a batch at a time
 * in memory, however long the range); returns how many were deleted.
 */
export async function pruneAudit(state: State, olderThan: Date): Promise<number> {
  const cut = isoOf(olderThan, "olderThan");
  const end = [...keys.audits(), cut];
  let removed = 0;
  let batch: Deno.KvKey[] = [];
  const flush = async () => {
    const op = state.kv.atomic();
    for (const k of batch) op.delete(k);
    if (!(await op.commit()).ok) {
      throw new StateError(`Cannot prune the audit log before ${cut}: the delete failed`);
    }
    removed += batch.length;
    batch = [];
  };
  for await (const e of state.kv.list({ prefix: keys.audits(), end }, { batchSize: 500 })) {
    batch.push(e.key);
    if (batch.length === 500) await flush();
  }
  if (batch.length) await flush();
  return removed;
}
