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
}

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

/** Stores a mailbox's newest result. */
export async function putMailboxResult(state: State, result: MailboxResult): Promise<void> {
  await state.kv.set(keys.result(result.mailbox), result);
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
