/**
 * A mirror pass over many mailboxes: a bounded pool, retries with backoff, one clear error per
 * server when the trusted server's credentials are refused, results stored for `status`.
 * @module
 */
import type { Config, SourceConfig } from "../config/mod.ts";
import { ImapError } from "../imap/mod.ts";
import { KeyedLock, log, pool } from "../support/mod.ts";
import { emptyResult, type MirrorContext, mirrorMailbox, type TargetOpener } from "./mailbox.ts";
import { type PendingMailbox, settlePass } from "./deletions.ts";
import { lagsOf } from "./copy.ts";
import {
  addPassStats,
  getMailboxResult,
  isEventful,
  listMailboxResults,
  mailboxFacts,
  type MailboxResult,
  putMailboxHistory,
  putMailboxResult,
  putMailboxResults,
  putRun,
  type State,
} from "../state/mod.ts";
import { mailboxPasses, passDuration } from "../metrics/mod.ts";
import { openImapTarget } from "../target/mod.ts";
import type { SourceSessions } from "./sessions.ts";

/** The outcome of one pass. */
export interface SyncSummary {
  startedAt: string;
  finishedAt: string;
  mailboxes: MailboxResult[];
  ok: number;
  failed: number;
  totals: {
    copied: number;
    deleted: number;
    flagsUpdated: number;
    placeholders: number;
    /** Deletions the mass-deletion guard held back (the copies are kept). */
    held: number;
    skipped: Record<string, number>;
  };
  /** Failures that concern a whole server (e.g. the trusted password), reported once. */
  serverErrors: { server: string; message: string; mailboxes: number }[];
}

/** Options for {@link runSync}. */
export interface SyncOptions {
  mailboxes: string[];
  /** Called as each mailbox finishes (progress). */
  onMailbox?: (result: MailboxResult, done: number, total: number) => void;
  /** Overrides how the target is opened (the file store plugs in here). */
  openTarget?: TargetOpener;
  /** Base delay before the first retry; doubles each time. */
  retryDelayMs?: number;
  /**
   * Shared with concurrent passes so one mailbox is never mirrored twice at once; default: the
   * process's own {@link mailboxLocks} (the scheduler and the console's "sync now" share it).
   */
  locks?: KeyedLock;
  /** Record the pass in the run history (default true; event-driven passes say false). */
  recordRun?: boolean;
  /** Production sessions kept between passes (the scheduler's pool); default a login each. */
  sessions?: SourceSessions;
}

// From this many mailboxes on, a pass lists every stored result once rather than reading each.
const PREFETCH_RESULTS = 50;

/** The process-wide per-mailbox locks every pass takes unless told otherwise. */
export const mailboxLocks: KeyedLock = new KeyedLock();

/** Picks the target implementation the config names. */
export async function targetOpener(config: Config): Promise<TargetOpener> {
  const t = config.target;
  if (!t) throw new Error("No target configured");
  if (t.type === "imap") return (mailbox) => openImapTarget(t, mailbox);
  const { openFileTarget } = await import("../files/mod.ts");
  return (mailbox) =>
    openFileTarget(t, mailbox, { rules: { broadcast: config.rules.compiled }, batch: true });
}

/** Mirrors the given mailboxes once; never throws for a mailbox's failure. */
export async function runSync(
  config: Config & { source: SourceConfig },
  state: State,
  opts: SyncOptions,
): Promise<SyncSummary> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const openTarget = opts.openTarget ?? await targetOpener(config);
  const mailboxes = [...new Set(opts.mailboxes)];
  // Deletions under each mailbox's own threshold wait for the end of a pass over several
  // mailboxes, so the guard sees the pass's whole share of the mirror before any is applied.
  const pending: PendingMailbox[] = [];
  const deferred = new Set<MailboxResult>();
  const ctx: MirrorContext = {
    config,
    state,
    openTarget,
    sessions: opts.sessions,
    deferDeletions: mailboxes.length > 1
      ? (mailbox, deletions, result) => {
        pending.push({ mailbox, deletions, result });
        deferred.add(result);
      }
      : undefined,
  };
  const results: MailboxResult[] = [];
  // server name → first credential failure; once two mailboxes fail auth there, the rest skip.
  const authFailures = new Map<string, { count: number; error: ImapError; confirmed: boolean }>();
  const authOk = new Set<string>();
  let done = 0;
  const locks = opts.locks ?? mailboxLocks;

  const one = async (mailbox: string): Promise<MailboxResult> => {
    const release = await locks.acquire(mailbox);
    try {
      return await oneLocked(mailbox);
    } finally {
      release?.();
    }
  };
  const oneLocked = async (mailbox: string): Promise<MailboxResult> => {
    for (const [server, f] of authFailures) {
      if (f.confirmed) {
        const r = emptyResult(mailbox);
        r.ok = false;
        r.error = {
          message: f.error.message.replace(/mailbox "[^"]*"/, `mailbox "${mailbox}"`),
          server,
          operation: f.error.operation,
        };
        return r;
      }
    }
    let attempt = 0;
    for (;;) {
      const r = emptyResult(mailbox);
      try {
        await mirrorMailbox(ctx, mailbox, r);
        authOk.add(config.source.name);
        if (config.target?.type === "imap") authOk.add(config.target.name);
        return r;
      } catch (e) {
        const err = e as Error;
        r.ok = false;
        r.finishedAt = new Date().toISOString();
        r.error = {
          message: err.message,
          server: e instanceof ImapError ? e.server : undefined,
          operation: e instanceof ImapError ? e.operation : undefined,
        };
        if (e instanceof ImapError && e.authFailed) {
          const f = authFailures.get(e.server) ?? { count: 0, error: e, confirmed: false };
          f.count++;
          // Two different mailboxes refused and none accepted: the trusted credentials are wrong.
          f.confirmed = f.count >= 2 && !authOk.has(e.server);
          authFailures.set(e.server, f);
          return r;
        }
        const transient = e instanceof ImapError ? e.transient : true;
        if (!transient || attempt >= config.limits.retries) return r;
        attempt++;
        const delay = (opts.retryDelayMs ?? 1000) * 2 ** (attempt - 1);
        log("warn", `Retrying mailbox "${mailbox}" in ${delay} ms: ${err.message}`);
        await new Promise((res) => setTimeout(res, delay));
      }
    }
  };

  // Each result's predecessor, read before it is overwritten, for the running facts: a pass
  // over many mailboxes reads them all in one listing instead of a read each.
  const previous = new Map<string, MailboxResult | null>();
  const prefetched = mailboxes.length >= PREFETCH_RESULTS
    ? new Map((await listMailboxResults(state)).map((r) => [r.mailbox, r]))
    : null;
  // Quiet results (nothing found, nothing failed) are written in batches; anything else at once.
  const quiet: MailboxResult[] = [];
  const flushQuiet = async () => {
    if (quiet.length) await putMailboxResults(state, quiet.splice(0));
  };
  const finish = async (r: MailboxResult) => {
    results.push(r);
    const prev = prefetched
      ? prefetched.get(r.mailbox) ?? null
      : await getMailboxResult(state, r.mailbox);
    previous.set(r.mailbox, prev);
    Object.assign(r, mailboxFacts(prev, r));
    if (!isEventful(r) && !deferred.has(r)) {
      quiet.push(r);
      if (quiet.length >= 100) await flushQuiet();
    } else await putMailboxResult(state, r);
    // A result whose deletions wait for the pass is recorded once they are settled.
    if (!(deferred.has(r) && r.ok)) await recordOutcome(state, r);
    opts.onMailbox?.(r, ++done, mailboxes.length);
  };

  // Mailboxes run one at a time until one succeeds, so a refused trusted password is recognised
  // (two refusals, no success) before the pool fans out; after a success, a refusal concerns
  // only its own mailbox.
  const queue = [...mailboxes];
  while (queue.length && !results.some((r) => r.ok)) {
    const r = await one(queue.shift()!);
    await finish(r);
    if (!r.ok && !r.error?.server) break; // not an IMAP failure: no reason to hold the pool back
  }
  await pool(queue, config.limits.concurrency, async (m) => await finish(await one(m)));
  await flushQuiet();
  // Only mailboxes whose pass succeeded hand deletions over (a failed one threw before).
  const settled = pending.filter((p) => p.result.ok);
  if (settled.length) {
    await settlePass(config, state, settled, {
      openTarget,
      lock: (m) => locks.acquire(m),
    });
    for (const p of settled) {
      Object.assign(p.result, mailboxFacts(previous.get(p.mailbox) ?? null, p.result));
      await putMailboxResult(state, p.result);
      await recordOutcome(state, p.result);
    }
  }

  results.sort((a, b) => a.mailbox.localeCompare(b.mailbox, "en", { numeric: true }));
  const summary = summarize(startedAt, results);
  summary.serverErrors = [...authFailures].filter(([, f]) => f.confirmed).map(([server, f]) => ({
    server,
    message: `The trusted server's credentials were refused by "${server}": ${
      f.error.message.replace(/^.*?: /, "")
    }`,
    mailboxes: results.filter((r) => r.error?.server === server).length,
  }));
  if (opts.recordRun !== false) {
    await putRun(state, {
      id: crypto.randomUUID(),
      startedAt,
      finishedAt: summary.finishedAt,
      mailboxes: results.length,
      failed: summary.failed,
      copied: summary.totals.copied,
      deleted: summary.totals.deleted,
      flagsUpdated: summary.totals.flagsUpdated,
    });
  }
  passDuration.observe((performance.now() - t0) / 1000);
  return summary;
}

/**
 * A finished mailbox result's history entry, statistics and metrics. A quiet mailbox costs no
 * KV write here: neither history nor statistics change for it.
 */
async function recordOutcome(state: State, r: MailboxResult): Promise<void> {
  mailboxPasses.inc({ result: r.ok ? "ok" : "failed" });
  if (!isEventful(r)) return;
  await putMailboxHistory(state, r);
  await addPassStats(state, {
    at: r.finishedAt,
    copied: r.copied,
    deleted: r.deleted,
    placeholders: r.placeholders,
    skipped: r.skipped,
    lags: lagsOf(r),
  });
}

function summarize(startedAt: string, results: MailboxResult[]): SyncSummary {
  const totals = {
    copied: 0,
    deleted: 0,
    flagsUpdated: 0,
    placeholders: 0,
    held: 0,
    skipped: {} as Record<string, number>,
  };
  for (const r of results) {
    totals.held += r.held ?? 0;
    totals.copied += r.copied;
    totals.deleted += r.deleted;
    totals.flagsUpdated += r.flagsUpdated;
    totals.placeholders += r.placeholders;
    for (const [k, v] of Object.entries(r.skipped)) {
      totals.skipped[k] = (totals.skipped[k] ?? 0) + v;
    }
  }
  const failed = results.filter((r) => !r.ok).length;
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    mailboxes: results,
    ok: results.length - failed,
    failed,
    totals,
    serverErrors: [],
  };
}

/** Renders a summary as the text `sync --once` prints. */
export function formatSummary(s: SyncSummary): string {
  const lines: string[] = [];
  const serverWide = new Set(s.serverErrors.map((e) => e.server));
  for (const e of s.serverErrors) {
    lines.push(`ERROR ${e.message} (${e.mailboxes} mailbox(es) not synced)`);
  }
  for (const r of s.mailboxes) {
    const skipped = Object.entries(r.skipped).map(([k, v]) => `skipped: ${k} ${v}`);
    const cols = [
      r.mailbox.padEnd(8),
      r.ok ? "ok    " : "FAILED",
      `copied ${r.copied}`,
      `deleted ${r.deleted}`,
      `flags updated ${r.flagsUpdated}`,
      `placeholders ${r.placeholders}`,
      ...(r.adopted ? [`adopted ${r.adopted}`] : []),
      ...(r.held ? [`deletions held ${r.held}`] : []),
      ...skipped,
    ];
    if (r.error && !(r.error.server && serverWide.has(r.error.server))) {
      cols.push(`error: ${r.error.message}`);
    }
    lines.push(cols.join("  "));
    for (const w of r.warnings) lines.push(`         warning: ${w}`);
  }
  const t = s.totals;
  const skipped = Object.entries(t.skipped).map(([k, v]) => `, skipped: ${k} ${v}`).join("");
  const held = t.held ? `, deletions held ${t.held}` : "";
  lines.push(
    `${s.mailboxes.length} mailbox(es): ${s.ok} ok, ${s.failed} failed; copied ${t.copied}, deleted ${t.deleted}, flags updated ${t.flagsUpdated}, placeholders ${t.placeholders}${skipped}${held}`,
  );
  return lines.join("\n");
}
