/**
 * Starting the console's jobs with the engine's own functions — runSync (under the process-wide
 * mailbox locks the scheduler takes too), runDirectorySync, runRestore (holding the mailbox's
 * lock, so no mirror pass runs on it meanwhile) — with their progress lines, a one-line
 * summary, and audit entries at the start and the end.
 * @module
 */
import { type Config, ConfigError, requireSections } from "../config/mod.ts";
import { compactReport, type DirectoryReport, runDirectorySync } from "../directory/mod.ts";
import { formatSummary, mailboxLocks, runSync, type SyncSummary } from "../mirror/mod.ts";
import {
  defaultRestoreFrom,
  formatRestoreReport,
  type RestoreReport,
  runRestore,
} from "../restore/mod.ts";
import { audit, listSubscriptions, type State } from "../state/mod.ts";
import { log, redact } from "../support/mod.ts";
import { compactRestoreReport, compactSyncSummary } from "./compact.ts";
import type { DirectorySyncParams, ParamError, RestoreParams, SyncParams } from "./params.ts";
import { startOfDay } from "./params.ts";
import {
  type Job,
  JobConflictError,
  type JobContext,
  type JobOutcome,
  type JobRegistry,
  jobRegistry,
  type JobSpec,
} from "./registry.ts";

/** A job asked for, its parameters checked (params.ts). */
export type JobRequest =
  | { kind: "sync"; params: SyncParams }
  | { kind: "directory-sync"; params: DirectorySyncParams }
  | { kind: "restore"; params: RestoreParams };

/** Who starts a job, with what configuration. */
export interface StartContext {
  /** The configuration now (the live one's current value). */
  config: Config;
  state: State;
  /** The audit actor ("admin:root"). */
  actor: string;
  /** The client's address, for the audit log. */
  from?: string;
  /** Default: the process's registry for `state`. */
  registry?: JobRegistry;
}

/** A started job, or why it was not started (400: the request; 409: a job already runs). */
export type StartResult =
  | { ok: true; job: Job }
  | { ok: false; status: 400; errors: ParamError[] }
  | { ok: false; status: 409; error: string; running: Job };

/** The audit action of each kind. */
export const AUDIT_ACTIONS = {
  "sync": "sync-now",
  "directory-sync": "directory-sync",
  "restore": "restore",
} as const;

/** Checks what the job needs (configuration, subscriptions) and starts it. */
export async function startJob(request: JobRequest, ctx: StartContext): Promise<StartResult> {
  const registry = ctx.registry ?? jobRegistry(ctx.state);
  let spec: JobSpec | ParamError[];
  try {
    spec = request.kind === "sync"
      ? await syncSpec(request.params, ctx)
      : request.kind === "directory-sync"
      ? directorySpec(request.params, ctx)
      : restoreSpec(request.params, ctx);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, status: 400, errors: [{ path: "", message: e.message }] };
  }
  if (Array.isArray(spec)) return { ok: false, status: 400, errors: spec };
  const action = AUDIT_ACTIONS[request.kind];
  const finish = spec.onFinish;
  spec.onFinish = async (job) => {
    if (finish) await finish(job);
    else await auditJob(ctx, action, finishDetail(job));
  };
  let job: Job;
  try {
    job = registry.start(spec);
  } catch (e) {
    if (!(e instanceof JobConflictError)) throw e;
    return { ok: false, status: 409, error: e.message, running: e.running };
  }
  await auditJob(ctx, action, { stage: "started", job: job.id, ...startDetail(request) });
  return { ok: true, job };
}

// ---- sync now ----

async function syncSpec(params: SyncParams, ctx: StartContext): Promise<JobSpec | ParamError[]> {
  const config = requireSections(ctx.config, "sync now", ["source", "target"]);
  const named = params.mailboxes;
  if (named.length) {
    const subscribed = new Set((await listSubscriptions(ctx.state)).map((s) => s.mailbox));
    const errors = named.flatMap((m, i) =>
      subscribed.has(m) ? [] : [{
        path: `mailboxes/${i}`,
        message: `mailbox "${m}" is not subscribed: subscribe it first`,
      }]
    );
    if (errors.length) return errors;
  }
  return {
    kind: "sync",
    params: { ...params },
    targets: named.length ? [...named] : ["*"],
    startedBy: ctx.actor,
    compact: (r, max) => compactSyncSummary(r as SyncSummary, max),
    run: async (job) => {
      const mailboxes = named.length
        ? named
        : (await listSubscriptions(ctx.state)).map((s) => s.mailbox);
      job.progress(
        named.length
          ? `Syncing ${plural(mailboxes.length, "mailbox", "mailboxes")}`
          : `Syncing every subscribed mailbox (${mailboxes.length})`,
      );
      const busy = mailboxes.filter((m) => mailboxLocks.isHeld(m));
      if (busy.length) {
        job.progress(
          `Waiting for the pass under way on ${listed(busy)} (the scheduler or another sync)`,
        );
      }
      const summary = await runSync(config, ctx.state, {
        mailboxes,
        onMailbox: (r, i, n) => {
          const counts =
            `copied ${r.copied}, deleted ${r.deleted}, flags updated ${r.flagsUpdated}`;
          job.progress(
            `[${i}/${n}] ${r.mailbox} ${
              r.ok ? `ok: ${counts}` : `FAILED: ${r.error?.message ?? "unknown error"}`
            }`,
          );
        },
      });
      for (const e of summary.serverErrors) job.progress(`ERROR ${e.message}`);
      const line = formatSummary(summary).split("\n").at(-1)!;
      job.progress(line);
      return {
        ok: summary.failed === 0 && summary.serverErrors.length === 0,
        result: summary,
        summary: line,
      };
    },
  };
}

// ---- directory sync ----

function directorySpec(params: DirectorySyncParams, ctx: StartContext): JobSpec {
  const config = requireSections(ctx.config, "directory sync", ["ldap"]);
  return {
    kind: "directory-sync",
    params: { ...params },
    targets: ["*"],
    startedBy: ctx.actor,
    compact: (r, max) => compactReport(r as DirectoryReport, max),
    run: async (job) => {
      job.progress(params.dryRun ? "Planning a directory sync (dry run)" : "Directory sync");
      const report = await runDirectorySync(config, ctx.state, {
        dryRun: params.dryRun,
        onProgress: (line) => job.progress(line),
      });
      const summary = directorySummary(report);
      job.progress(summary);
      return { ok: report.ok, result: report, summary };
    },
  };
}

/** One line on a directory pass: what changed (or would), or why it failed. */
export function directorySummary(r: DirectoryReport): string {
  if (r.error) return `FAILED: ${r.error.message}`;
  const c = r.counts;
  const verb = r.dryRun ? "would " : "";
  const parts = [
    `${c.entries} subscribers in the directory`,
    `${verb}subscribe ${c.subscribed}`,
    `${verb}orphan ${c.orphaned}`,
    `${verb}unsubscribe ${c.unsubscribed}`,
  ];
  if (r.target) {
    parts.push(`backup: ${verb}add ${c.added}, ${verb}modify ${c.modified}, failed ${c.failed}`);
  }
  if (r.backup.error) parts.push(`backup FAILED: ${r.backup.error.message}`);
  return parts.join("; ");
}

// ---- restore ----

function restoreSpec(params: RestoreParams, ctx: StartContext): JobSpec | ParamError[] {
  const config = requireSections(ctx.config, "restore", ["source", "target"]);
  const configured = defaultRestoreFrom(config);
  if (params.from && params.from !== configured) {
    return [{
      path: "from",
      message: params.from === "backup"
        ? `the mirror is the file store "${config.target.name}": use "files"`
        : `the mirror is the backup MSS "${config.target.name}": use "backup"`,
    }];
  }
  const from = params.from ?? configured;
  const since = params.since ? startOfDay(params.since, config.timeZone) : undefined;
  const mailbox = params.mailbox;
  const run = async (job: JobContext): Promise<JobOutcome> => {
    const report = await runRestore(config, ctx.state, {
      mailbox,
      from,
      since,
      folders: params.folders,
      uids: params.uids,
      includeDeleted: params.includeDeleted,
      dryRun: params.dryRun,
      actor: ctx.actor,
      onProgress: (line) => job.progress(line),
    });
    const text = formatRestoreReport(report);
    for (const w of report.warnings) job.progress(`warning: ${w}`);
    const summary = text.split("\n").at(-1)!;
    job.progress(summary);
    return { ok: report.ok, result: report, summary };
  };
  return {
    kind: "restore",
    // As run: the defaults filled in, so a confirm repeats exactly what was previewed.
    params: { ...params, from, folders: params.folders ?? [...config.source.folders] },
    targets: [mailbox],
    startedBy: ctx.actor,
    compact: (r, max) => compactRestoreReport(r as RestoreReport, max),
    run: params.dryRun ? run : async (job) => {
      // Production changes under the restore: no mirror pass of the mailbox meanwhile (it would
      // see the appended messages half-recorded).
      if (mailboxLocks.isHeld(mailbox)) {
        job.progress(`Waiting for the mirror pass under way on mailbox "${mailbox}"`);
      }
      const release = await mailboxLocks.acquire(mailbox);
      try {
        return await run(job);
      } finally {
        release();
      }
    },
    onFinish: async (job) => {
      // A restore that wrote has its own audit entry from runRestore (counts, folders).
      if (!params.dryRun && job.result !== undefined) return;
      await auditJob(ctx, "restore", finishDetail(job));
    },
  };
}

// ---- audit ----

// What was asked; a long list of mailboxes is shortened (an audit entry is one KV value).
function startDetail(request: JobRequest): Record<string, unknown> {
  if (request.kind !== "sync") return { ...request.params };
  const named = request.params.mailboxes;
  if (!named.length) return { mailboxes: "all subscribed" };
  return named.length > 50
    ? { mailboxes: named.slice(0, 50), more: named.length - 50 }
    : { mailboxes: named };
}

function finishDetail(job: Job): Record<string, unknown> {
  const detail: Record<string, unknown> = {
    stage: "finished",
    job: job.id,
    state: job.state,
    dryRun: job.params.dryRun ?? false,
    summary: job.summary,
  };
  const r = job.result as Record<string, unknown> | undefined;
  if (job.kind === "sync" && r) {
    const s = r as unknown as SyncSummary;
    Object.assign(detail, {
      mailboxes: s.ok + s.failed,
      ok: s.ok,
      failed: s.failed,
      copied: s.totals.copied,
      deleted: s.totals.deleted,
      flagsUpdated: s.totals.flagsUpdated,
      held: s.totals.held,
    });
  } else if (job.kind === "directory-sync" && r) {
    const d = r as unknown as DirectoryReport;
    const c = d.counts;
    Object.assign(detail, {
      ok: d.ok,
      subscribed: c.subscribed,
      orphaned: c.orphaned,
      unsubscribed: c.unsubscribed,
      added: c.added,
      modified: c.modified,
      failed: c.failed,
    });
  } else if (job.kind === "restore" && r) {
    const x = r as unknown as RestoreReport;
    Object.assign(detail, {
      mailbox: x.mailbox,
      from: x.from,
      since: x.since,
      folders: x.folders,
      appended: x.appended,
      failed: x.failed,
      skipped: x.skipped,
    });
  }
  if (job.error) detail.error = job.error;
  return detail;
}

async function auditJob(
  ctx: StartContext,
  action: string,
  detail: Record<string, unknown>,
): Promise<void> {
  try {
    await audit(ctx.state, { actor: ctx.actor, action, detail, from: ctx.from });
  } catch (e) {
    log("error", `Cannot write the audit entry "${action}": ${redact((e as Error).message)}`);
  }
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function listed(mailboxes: string[]): string {
  const shown = mailboxes.slice(0, 5).map((m) => `"${m}"`).join(", ");
  return mailboxes.length > 5 ? `${shown} and ${mailboxes.length - 5} more` : shown;
}
