/**
 * The history of the console's jobs (sync now, directory sync, restore): one record per job
 * under `["job", id]`. Ids begin with the start time, so a reverse listing is newest first; the
 * newest 200 are kept.
 * @module
 */
import { serialize } from "node:v8";
import { listValues, type State, StateError } from "./kv.ts";

/** What a job does. */
export type JobKind = "sync" | "directory-sync" | "restore";

/** Where a job is: running, or finished well or not. */
export type JobState = "running" | "done" | "failed";

/** One job as stored (and as the console shows it). */
export interface JobRecord {
  id: string;
  kind: JobKind;
  /** What it was asked to do (the validated request). */
  params: Record<string, unknown>;
  /** The audit actor who started it ("admin:root", "admin:token:ci"). */
  startedBy: string;
  startedAt: string;
  finishedAt?: string;
  state: JobState;
  /** The last progress lines (at most 200). */
  progress: string[];
  /** Progress lines written in all, of which `progress` holds the last. */
  lines: number;
  /** The engine's report (shortened to fit the record when large). */
  result?: unknown;
  /** One line on the outcome, for lists. */
  summary?: string;
  /** Why a job failed without a report. */
  error?: string;
}

const PREFIX = "job";
const KEEP = 200;

/** The largest record stored: KV caps values at 64 KiB (V8-serialized). */
export const JOB_RECORD_MAX_BYTES = 60_000;

/** A job id shaped like the ones {@link newJobId} makes. */
export const JOB_ID = /^\d{8}T\d{9}Z-[0-9a-f]{8}$/;

/** A new job id: its start time (sortable) and 32 random bits. */
export function newJobId(now: Date = new Date()): string {
  const time = now.toISOString().replace(/[-:.]/g, "");
  const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(16).padStart(8, "0");
  return `${time}-${rand}`;
}

/** The size of a record as KV measures it. */
export function jobRecordBytes(job: JobRecord): number {
  return serialize(job).length;
}

/** Stores a job (new or updated); a record over the size cap is refused, not cut. */
export async function putJob(state: State, job: JobRecord): Promise<void> {
  const size = jobRecordBytes(job);
  if (size > JOB_RECORD_MAX_BYTES) {
    throw new StateError(
      `Cannot store job "${job.id}": its record has ${size} bytes, at most ${JOB_RECORD_MAX_BYTES}`,
    );
  }
  await state.kv.set([PREFIX, job.id], job);
}

/** One job, or null when unknown (or dropped from the history). */
export async function getJob(state: State, id: string): Promise<JobRecord | null> {
  if (!JOB_ID.test(id)) return null;
  return (await state.kv.get<JobRecord>([PREFIX, id])).value;
}

/** Stored jobs, newest first. */
export async function listJobs(state: State, limit = 50): Promise<JobRecord[]> {
  return await listValues<JobRecord>(state, [PREFIX], { reverse: true, limit });
}

/** Drops the oldest jobs beyond the newest `keep` (200); returns how many went. */
export async function pruneJobs(state: State, keep = KEEP): Promise<number> {
  const ids: string[] = [];
  for await (const e of state.kv.list({ prefix: [PREFIX] }, { reverse: true })) {
    ids.push(e.key[1] as string);
  }
  const old = ids.slice(keep);
  for (const id of old) await state.kv.delete([PREFIX, id]);
  return old.length;
}
