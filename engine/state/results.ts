/**
 * What passes did: each mailbox's newest result, the history of mirror passes and of
 * directory passes.
 * @module
 */
import { keys } from "./keys.ts";
import { listValues, type State } from "./kv.ts";

/** What one pass did to one mailbox. */
export interface MailboxResult {
  mailbox: string;
  ok: boolean;
  startedAt: string;
  finishedAt: string;
  copied: number;
  deleted: number;
  flagsUpdated: number;
  placeholders: number;
  /** Messages the backup already held, taken into the map instead of copied again. */
  adopted?: number;
  /** Deletions the mass-deletion guard held back in this pass (the copies are kept). */
  held?: number;
  skipped: Record<string, number>;
  warnings: string[];
  error?: { message: string; server?: string; operation?: string; folder?: string };
  /** Consecutive failed passes up to this one; 0 when this one succeeded. */
  failStreak?: number;
  /** When a pass last found production changed (that pass's start). */
  lastChangeAt?: string | null;
  /** When a change last reached the mirror in full (that successful pass's finish). */
  lastMirroredAt?: string | null;
  /**
   * Of the messages this pass copied: the longest time from INTERNALDATE on production to the
   * copy, in seconds; null when it copied nothing.
   */
  lagSeconds?: number | null;
}

/** The running facts of a mailbox that each result carries on from the one before. */
export type MailboxFacts = Required<
  Pick<MailboxResult, "failStreak" | "lastChangeAt" | "lastMirroredAt" | "lagSeconds">
>;

/** One pass over many mailboxes. */
export interface RunRecord {
  id: string;
  startedAt: string;
  finishedAt: string;
  mailboxes: number;
  failed: number;
  copied: number;
  deleted: number;
  flagsUpdated: number;
}

/** Whether a result found production changed (copies, deletions, flags, placeholders). */
export function foundChange(r: MailboxResult): boolean {
  return r.copied + r.deleted + r.flagsUpdated + r.placeholders > 0;
}

/**
 * Whether a result is worth keeping in the mailbox's history: it failed or did something. An
 * unchanged mailbox's result is not, so a pass over 10,000 quiet mailboxes writes no history.
 */
export function isEventful(r: MailboxResult): boolean {
  const skipped = Object.values(r.skipped).reduce((a, b) => a + b, 0);
  return !r.ok || foundChange(r) || skipped > 0 || !!r.adopted || !!r.held;
}

/**
 * A result's running facts, carried on from the mailbox's previous result (null: its first).
 * A failed pass that copied some messages moves `lastChangeAt` but not `lastMirroredAt`, so the
 * two differing says a change has not fully reached the mirror.
 */
export function mailboxFacts(previous: MailboxResult | null, r: MailboxResult): MailboxFacts {
  // Results stored before these facts existed count a failed one as a streak of one.
  const prevStreak = previous ? previous.failStreak ?? (previous.ok ? 0 : 1) : 0;
  const changed = foundChange(r);
  return {
    failStreak: r.ok ? 0 : prevStreak + 1,
    lastChangeAt: changed ? r.startedAt : previous?.lastChangeAt ?? null,
    lastMirroredAt: changed && r.ok ? r.finishedAt : previous?.lastMirroredAt ?? null,
    lagSeconds: r.lagSeconds ?? null,
  };
}

/** A mailbox's newest result, or null. */
export async function getMailboxResult(
  state: State,
  mailbox: string,
): Promise<MailboxResult | null> {
  return (await state.kv.get<MailboxResult>(keys.result(mailbox))).value;
}

/** Stores a mailbox's newest result. */
export async function putMailboxResult(state: State, result: MailboxResult): Promise<void> {
  await state.kv.set(keys.result(result.mailbox), result);
}

/**
 * Stores many mailboxes' newest results, a hundred to a transaction: a pass over thousands of
 * quiet mailboxes pays one commit per hundred instead of one each.
 */
export async function putMailboxResults(state: State, results: MailboxResult[]): Promise<void> {
  for (let i = 0; i < results.length; i += 100) {
    const op = state.kv.atomic();
    for (const r of results.slice(i, i + 100)) op.set(keys.result(r.mailbox), r);
    const res = await op.commit();
    if (!res.ok) throw new Error("storing the mailboxes' results failed");
  }
}

/** Newest result of every mailbox that has one. */
export async function listMailboxResults(state: State): Promise<MailboxResult[]> {
  return await listValues<MailboxResult>(state, keys.results());
}

/** Appends a pass to the run history. */
export async function putRun(state: State, run: RunRecord): Promise<void> {
  await state.kv.set(keys.run(run.startedAt, run.id), run);
}

/** The newest runs first. */
export async function listRuns(state: State, limit = 20): Promise<RunRecord[]> {
  return await listValues<RunRecord>(state, keys.runs(), { reverse: true, limit });
}

/**
 * What every stored directory pass has: the report's own type belongs to engine/directory,
 * which this module does not import (the directory depends on the state, not the reverse).
 */
export interface DirectoryRunRecord {
  id: string;
  startedAt: string;
}

/** Appends a directory pass's (compacted) report to its history. */
export async function putDirectoryRunRecord<T extends DirectoryRunRecord>(
  state: State,
  run: T,
): Promise<void> {
  await state.kv.set(keys.directoryRun(run.startedAt, run.id), run);
}

/** The stored directory passes, newest first. */
export async function listDirectoryRunRecords<T extends DirectoryRunRecord>(
  state: State,
  limit = 10,
): Promise<T[]> {
  return await listValues<T>(state, keys.directoryRuns(), { reverse: true, limit });
}
