/**
 * The jobs of one state store: running ones in memory (progress lines, watchers, one job of a
 * kind per target), every job in the state store as it starts and as it ends. A job whose
 * record says "running" but which this process does not run was cut short by a stop.
 * @module
 */
import {
  getJob,
  JOB_RECORD_MAX_BYTES,
  type JobKind,
  type JobRecord,
  jobRecordBytes,
  listJobs,
  newJobId,
  pruneJobs,
  putJob,
  type State,
} from "../state/mod.ts";
import { log, redact } from "../support/mod.ts";

/** A job as callers see it (a copy: changing it changes nothing). */
export type Job = JobRecord;

/** Progress lines a job keeps. */
export const MAX_PROGRESS_LINES = 200;

// A progress line longer than this is cut: lines are for people, reports carry the detail.
const MAX_LINE = 500;

/** What a job's work reports at the end. */
export interface JobOutcome {
  ok: boolean;
  result?: unknown;
  summary?: string;
}

/** What a job's work is given. */
export interface JobContext {
  id: string;
  /** Adds a progress line (watchers get it at once). */
  progress(line: string): void;
}

/** A job to start. */
export interface JobSpec {
  kind: JobKind;
  params: Record<string, unknown>;
  /**
   * What it works on: mailbox ids, or "*" for everything of its kind (all mailboxes, the
   * directory). Two jobs of a kind whose targets meet do not run at once.
   */
  targets: string[];
  startedBy: string;
  run: (ctx: JobContext) => Promise<JobOutcome>;
  /** Shortens a large result to about `maxBytes` for the stored record. */
  compact?: (result: unknown, maxBytes: number) => unknown;
  /** Called once the job has ended and is stored (audit). */
  onFinish?: (job: Job) => Promise<void> | void;
}

/** A job of the same kind already works on the target. */
export class JobConflictError extends Error {
  override name = "JobConflictError";
  /** Builds the error naming the running job. */
  constructor(readonly running: Job) {
    super(
      `A ${running.kind} job is already running on the same ${
        running.kind === "restore" ? "mailbox" : "target"
      }: job "${running.id}", started by ${running.startedBy} at ${running.startedAt}`,
    );
  }
}

/** What a watcher is told: each new progress line (numbered from 1), then the end. */
export type JobEvent =
  | { type: "progress"; n: number; line: string }
  | { type: "done"; job: Job };

interface Live {
  job: JobRecord;
  targets: string[];
  listeners: Set<(e: JobEvent) => void>;
  finished: Promise<void>;
  /** The start record's write: the end record is written after it. */
  stored: Promise<void>;
}

/** The running jobs of one state store, and the way to the finished ones. */
export class JobRegistry {
  readonly #state: State;
  readonly #live = new Map<string, Live>();

  /** A registry over `state` (use {@link jobRegistry} for the process's one). */
  constructor(state: State) {
    this.#state = state;
  }

  /**
   * Starts a job and returns it at once (state "running"); the work goes on in the background.
   * Throws {@link JobConflictError} when a job of the kind already works on one of its targets.
   */
  start(spec: JobSpec): Job {
    const clash = this.#conflict(spec.kind, spec.targets);
    if (clash) throw new JobConflictError(copy(clash.job));
    const now = new Date();
    const job: JobRecord = {
      id: newJobId(now),
      kind: spec.kind,
      params: spec.params,
      startedBy: spec.startedBy,
      startedAt: now.toISOString(),
      state: "running",
      progress: [],
      lines: 0,
    };
    let done!: () => void;
    const live: Live = {
      job,
      targets: spec.targets,
      listeners: new Set(),
      finished: new Promise<void>((r) => (done = r)),
      stored: this.#store(job, spec.compact).then(() => pruneJobs(this.#state)).then(
        () => {},
        (e) => log("error", `Cannot store job "${job.id}": ${redact((e as Error).message)}`),
      ),
    };
    this.#live.set(job.id, live);
    const progress = (line: string) => {
      for (const one of String(line).split(/\r?\n/)) {
        const text = one.length > MAX_LINE ? `${one.slice(0, MAX_LINE)}…` : one;
        job.progress.push(text);
        if (job.progress.length > MAX_PROGRESS_LINES) job.progress.shift();
        job.lines++;
        this.#emit(live, { type: "progress", n: job.lines, line: text });
      }
    };
    // Deferred a turn, so the caller has the job (and can watch it) before any line is written.
    queueMicrotask(async () => {
      try {
        const out = await spec.run({ id: job.id, progress });
        job.state = out.ok ? "done" : "failed";
        job.result = out.result;
        job.summary = out.summary;
      } catch (e) {
        job.state = "failed";
        job.error = redact((e as Error).message ?? String(e));
        job.summary = job.error;
        progress(`FAILED: ${job.error}`);
      }
      job.finishedAt = new Date().toISOString();
      await live.stored;
      let kept = false;
      try {
        await this.#store(job, spec.compact);
      } catch (e) {
        // Kept in memory instead, so the outcome can still be read until the process ends.
        kept = true;
        log("error", `Cannot store job "${job.id}": ${redact((e as Error).message)}`);
      }
      try {
        await spec.onFinish?.(copy(job));
      } catch (e) {
        log("error", `After job "${job.id}": ${redact((e as Error).message)}`);
      }
      this.#emit(live, { type: "done", job: copy(job) });
      live.listeners.clear();
      if (!kept) this.#live.delete(job.id);
      done();
    });
    return copy(job);
  }

  /** A job by id: a running one from memory, a finished one from the state store. */
  async get(id: string): Promise<Job | null> {
    const live = this.#live.get(id);
    if (live) return copy(live.job);
    const stored = await getJob(this.#state, id);
    return stored ? this.#settled(stored) : null;
  }

  /** Recent jobs, newest first (running ones included). */
  async list(limit = 50): Promise<Job[]> {
    const stored = await listJobs(this.#state, limit);
    const byId = new Map(stored.map((j) => [j.id, this.#settled(j)]));
    for (const [id, l] of this.#live) byId.set(id, copy(l.job));
    return [...byId.values()].sort((a, b) => b.id.localeCompare(a.id)).slice(0, limit);
  }

  /** The jobs running now, oldest first. */
  running(): Job[] {
    return [...this.#live.values()].filter((l) => l.job.state === "running").map((l) =>
      copy(l.job)
    );
  }

  /** Waits until the job ends or `ms` pass; then the job as it is (null when unknown). */
  async wait(id: string, ms: number): Promise<Job | null> {
    const live = this.#live.get(id);
    if (live && live.job.state === "running" && ms > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        live.finished,
        new Promise<void>((r) => (timer = setTimeout(r, ms))),
      ]);
      clearTimeout(timer);
    }
    return await this.get(id);
  }

  /**
   * Follows a running job: the job now (its progress lines end with line number `job.lines`)
   * and every later event to `listener`, the last being "done". Null when the job is not
   * running here (finished: read it with {@link get}). Call `stop` when the watcher goes.
   */
  follow(id: string, listener: (e: JobEvent) => void): { job: Job; stop: () => void } | null {
    const live = this.#live.get(id);
    if (!live || live.job.state !== "running") return null;
    live.listeners.add(listener);
    return { job: copy(live.job), stop: () => live.listeners.delete(listener) };
  }

  /** Watchers of a job now (tests: a stream that closed has let go). */
  watchers(id: string): number {
    return this.#live.get(id)?.listeners.size ?? 0;
  }

  /** Resolves when every job running now has ended and is stored (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.running().length) {
      await Promise.all([...this.#live.values()].map((l) => l.finished));
    }
  }

  #conflict(kind: JobKind, targets: string[]): Live | undefined {
    for (const l of this.#live.values()) {
      if (l.job.kind !== kind || l.job.state !== "running") continue;
      if (l.targets.includes("*") || targets.includes("*")) return l;
      if (targets.some((t) => l.targets.includes(t))) return l;
    }
    return undefined;
  }

  #emit(live: Live, e: JobEvent): void {
    for (const fn of [...live.listeners]) {
      try {
        fn(e);
      } catch (err) {
        live.listeners.delete(fn);
        log("warn", `A watcher of job "${live.job.id}" failed: ${(err as Error).message}`);
      }
    }
  }

  // Running in the store but not here: the process that ran it stopped before it ended.
  #settled(job: JobRecord): Job {
    if (job.state !== "running" || this.#live.has(job.id)) return job;
    const error = "interrupted: the appliance stopped while the job ran";
    return { ...job, state: "failed", error, summary: error };
  }

  async #store(job: JobRecord, compact: JobSpec["compact"]): Promise<void> {
    await putJob(this.#state, fitRecord(job, compact));
  }
}

/**
 * The record shortened to fit the state store: fewer progress lines, then the result made
 * smaller by `compact`, and at last the result left out (its summary stays).
 */
export function fitRecord(
  job: JobRecord,
  compact?: (result: unknown, maxBytes: number) => unknown,
  maxBytes = JOB_RECORD_MAX_BYTES,
): JobRecord {
  let out: JobRecord = copy(job);
  if (jobRecordBytes(out) <= maxBytes) return out;
  out.progress = out.progress.slice(-50);
  if (jobRecordBytes(out) <= maxBytes || out.result === undefined) return out;
  if (compact) {
    const rest = jobRecordBytes({ ...out, result: undefined });
    out = { ...out, result: compact(out.result, Math.max(1_000, maxBytes - rest - 1_000)) };
    if (jobRecordBytes(out) <= maxBytes) return out;
  }
  return { ...out, result: { truncated: "the report was too large to keep" } };
}

function copy(job: JobRecord): JobRecord {
  return { ...job, progress: [...job.progress] };
}

const registries = new WeakMap<State, JobRegistry>();

/** The process's registry for a state store: the pages, the API and the CLI share it. */
export function jobRegistry(state: State): JobRegistry {
  let r = registries.get(state);
  if (!r) registries.set(state, r = new JobRegistry(state));
  return r;
}
