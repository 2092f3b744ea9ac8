/**
 * Directory sync: reads the production directory over LDAP, keeps the directory-managed
 * subscriptions in step with it (orphans wait out a grace period), and mirrors names, recorded
 * names and PINs to the backup directory — only the attributes that differ.
 * @module
 */
import { serialize } from "node:v8";
import {
  recordedNamesFailed,
  type RecordedNamesResult,
  storeRecordedNames,
} from "./recorded_names.ts";
import { type Config, ConfigError, inShard, type LdapConfig } from "../config/mod.ts";
import {
  type AttrChange,
  describeChange,
  type DirectoryPlan,
  type DirEntry,
  planDirectory,
} from "./plan.ts";
import {
  addEntry,
  closeLdap,
  LdapError,
  type LdapSession,
  modifyEntry,
  openLdap,
  searchEntries,
} from "./ldap.ts";
import { log, redact } from "../support/mod.ts";
import { directoryPassDuration } from "../metrics/mod.ts";
import {
  addDirectoryPassStats,
  addSubscriptions,
  getSubscription,
  listDirectoryRunRecords,
  listSubscriptions,
  putDirectoryRunRecord,
  putSubscription,
  removeSubscriptions,
  type State,
} from "../state/mod.ts";
import { KeyedLock, pool, sleep } from "../support/mod.ts";

/** Options for {@link runDirectorySync}. */
export interface DirectorySyncOptions {
  /** Plan only: nothing is changed and the run is not recorded. */
  dryRun?: boolean;
  /** The time the grace periods are measured against (tests move it forward). */
  now?: Date;
  /** Progress lines (pages read, failures, applied counts). */
  onProgress?: (line: string) => void;
  /** Creates a mailbox on the backup MSS for an entry added to the backup directory. */
  provisionMailbox?: (mailbox: string) => Promise<void>;
  /** Backup changes in flight at once on the backup connection (default 8). */
  concurrency?: number;
}

/** One attribute change as reported: never a PIN's value. */
export interface ReportedChange {
  attr: string;
  op: AttrChange["op"];
  detail: string;
}

/** What happened (or would happen) to one backup entry. */
export interface BackupOutcome {
  mailbox: string;
  dn: string;
  op: "add" | "modify";
  /** Modify: each attribute changed. */
  changes?: ReportedChange[];
  /** Add: the attribute names written. */
  attributes?: string[];
  status: "planned" | "done" | "failed";
  error?: string;
  /** Add with an IMAP target: what happened to the mailbox on the backup MSS. */
  mailboxProvisioning?: string;
}

/** A failure that stopped a whole side of the pass. */
export interface DirectoryFailure {
  message: string;
  server?: string;
  operation?: string;
}

/** The outcome of one directory pass; also what is stored under `["dirrun", …]`. */
export interface DirectoryReport {
  id: string;
  startedAt: string;
  finishedAt: string;
  /** The time grace periods were measured against. */
  asOf: string;
  durationMs: number;
  dryRun: boolean;
  /** False when a directory could not be read or a backup change failed. */
  ok: boolean;
  source: { url: string; baseDn: string; entries: number };
  target?: { url: string; baseDn: string; entries: number };
  /** The production directory could not be read: nothing was changed. */
  error?: DirectoryFailure;
  counts: {
    /** Production entries with a usable mailbox number. */
    entries: number;
    managed: number;
    subscribed: number;
    orphaned: number;
    unorphaned: number;
    unsubscribed: number;
    pending: number;
    added: number;
    modified: number;
    missing: number;
    failed: number;
    onlyOnBackup: number;
    warnings: number;
  };
  subscriptions: {
    subscribe: string[];
    orphan: { mailbox: string; reason: string }[];
    unorphan: string[];
    unsubscribe: { mailbox: string; orphanedSince: string }[];
    pending: { mailbox: string; orphanedSince: string; unsubscribeAfter: string }[];
  };
  backup: {
    /** The backup directory could not be read: no backup change was made. */
    error?: DirectoryFailure;
    changes: BackupOutcome[];
    /** Missing on the backup and not created (`ldap.provisionMissing` is off). */
    missing: { mailbox: string; dn: string }[];
  };
  warnings: string[];
  /** With a file-store target: recorded names written beside the messages, and what failed. */
  recordedNames?: RecordedNamesResult;
  /** Lists shortened in the stored record: field → items left out. */
  truncated?: Record<string, number>;
}

// KV values are capped at 64 KiB (V8-serialized); the stored record keeps counts and the
// first items of each list.
const RECORD_MAX_BYTES = 60_000;

// One directory pass that writes at a time in this process: the timer's and the console's
// "directory sync now" would otherwise subscribe and orphan over each other (dry runs only read).
const passLock = new KeyedLock();

/** Runs one directory pass (or plans it with `dryRun`); LDAP failures end up in the report. */
export async function runDirectorySync(
  config: Config,
  state: State,
  opts: DirectorySyncOptions = {},
): Promise<DirectoryReport> {
  if (opts.dryRun) return await directoryPass(config, state, opts);
  return await passLock.run("directory", () => directoryPass(config, state, opts));
}

async function directoryPass(
  config: Config,
  state: State,
  opts: DirectorySyncOptions,
): Promise<DirectoryReport> {
  const ldap = config.ldap;
  if (!ldap) throw new ConfigError(`Directory sync needs the "ldap" section of the configuration`);
  const t0 = performance.now();
  const now = opts.now ?? new Date();
  const progress = opts.onProgress ?? (() => {});
  const report = emptyReport(ldap, now, !!opts.dryRun);
  const binaryAttributes = [ldap.attributes.recordedName, ldap.attributes.pin];
  let target: LdapSession | undefined;
  try {
    // ---- read ----
    let production: DirEntry[];
    try {
      const read = await readDirectory(ldap.source, "production", binaryAttributes, progress);
      production = read.entries;
      if (!read.encrypted) report.warnings.push(...plainTextWarning(read.server));
    } catch (e) {
      if (!(e instanceof LdapError)) throw e;
      report.error = failure(e);
      progress(`FAILED: ${report.error.message}`);
      return await finish(state, report, t0);
    }
    report.source.entries = production.length;

    let backup: DirEntry[] | null = null;
    if (ldap.target) {
      try {
        target = await openLdap(ldap.target, { binaryAttributes });
        progress(`Reading the backup directory "${target.server}" under "${ldap.target.baseDn}"`);
        backup = await searchEntries(target, ldap.target.baseDn, {
          filter: ldap.target.filter,
          pageSize: ldap.target.pageSize,
          onPage: (n) => progress(`  backup: ${n} entries read`),
        });
        report.target!.entries = backup.length;
      } catch (e) {
        if (!(e instanceof LdapError)) throw e;
        // Subscriptions come from production alone: they still follow it.
        report.backup.error = failure(e);
        progress(`FAILED: ${report.backup.error.message}`);
        if (target) await closeLdap(target);
        target = undefined;
      }
      if (target && !target.encrypted) report.warnings.push(...plainTextWarning(target.server));
    }

    // ---- plan ----
    const plan = planDirectory({
      production,
      backup,
      subscriptions: await listSubscriptions(state),
      now,
      graceDays: ldap.orphanGraceDays,
      classesOfService: ldap.classesOfService,
      attributes: ldap.attributes,
      sourceBaseDn: ldap.source.baseDn,
      targetBaseDn: ldap.target?.baseDn,
      provisionMissing: ldap.provisionMissing,
    });
    // Another appliance of the site mirrors the mailboxes of the other shards.
    if (config.shard) plan.subscribe = plan.subscribe.filter((m) => inShard(m, config.shard));
    fillFromPlan(report, plan);
    progress(planLine(report));

    // ---- apply ----
    if (!opts.dryRun) {
      await applySubscriptions(state, plan, now);
      if (config.target?.type === "files") {
        const subscribed = new Set((await listSubscriptions(state)).map((s) => s.mailbox));
        const names = await storeRecordedNames(config.target, production, {
          mailboxAttr: ldap.attributes.mailbox,
          recordedNameAttr: ldap.attributes.recordedName,
          mailboxes: subscribed,
          exclude: new Set(plan.duplicates.map((d) => d.mailbox)),
        });
        report.recordedNames = names;
        for (const line of recordedNameFailures(names)) progress(`FAILED ${line}`);
        progress(recordedNamesLine(names));
      }
      if (target) {
        await applyBackup(target, plan, report, {
          ...opts,
          progress,
          imapTarget: config.target?.type === "imap",
        });
      }
    }
    return await finish(state, report, t0);
  } finally {
    if (target) await closeLdap(target);
  }
}

/** The stored directory runs, newest first. */
export async function listDirectoryRuns(state: State, limit = 10): Promise<DirectoryReport[]> {
  return await listDirectoryRunRecords<DirectoryReport>(state, limit);
}

/** The report as text: counts, then one line per change; PIN values never appear. */
export function formatDirectoryReport(report: DirectoryReport): string {
  const c = report.counts;
  const s = report.subscriptions;
  const lines: string[] = [];
  const when = report.dryRun ? " (dry run: nothing was changed)" : "";
  lines.push(`Directory sync ${report.startedAt}${when}`);
  lines.push(
    `Production "${report.source.url}" under "${report.source.baseDn}": ${report.source.entries} entries, ${c.entries} subscribers`,
  );
  if (report.target) {
    lines.push(
      `Backup "${report.target.url}" under "${report.target.baseDn}": ${report.target.entries} entries`,
    );
  }
  if (report.error) {
    lines.push(`FAILED: ${report.error.message}`);
    return lines.join("\n");
  }
  lines.push(
    `Subscriptions${report.dryRun ? " (planned)" : ""}: ${c.subscribed} subscribed, ` +
      `${c.orphaned} orphaned, ${c.unorphaned} back in the directory, ` +
      `${c.unsubscribed} unsubscribed, ${c.pending} in their grace period`,
  );
  if (report.target) {
    lines.push(
      `Backup directory${report.dryRun ? " (planned)" : ""}: ${c.added} added, ` +
        `${c.modified} modified, ${c.missing} missing (not created), ${c.failed} failed, ` +
        `${c.onlyOnBackup} only on the backup (left alone)`,
    );
  }
  if (report.backup.error) lines.push(`FAILED: ${report.backup.error.message}`);
  for (const m of s.subscribe) lines.push(`  subscribe ${m}`);
  for (const o of s.orphan) lines.push(`  orphan ${o.mailbox}: ${o.reason}`);
  for (const m of s.unorphan) lines.push(`  back in the directory ${m}`);
  for (const u of s.unsubscribe) {
    lines.push(`  unsubscribe ${u.mailbox}: orphaned since ${u.orphanedSince} (messages kept)`);
  }
  for (const p of s.pending) {
    lines.push(
      `  orphaned ${p.mailbox} since ${p.orphanedSince}: unsubscribed after ${p.unsubscribeAfter}`,
    );
  }
  for (const ch of report.backup.changes) {
    const failed = ch.status === "failed" ? "FAILED " : "";
    if (ch.op === "add") {
      const mbx = ch.mailboxProvisioning ? `; mailbox: ${ch.mailboxProvisioning}` : "";
      lines.push(`  ${failed}add "${ch.dn}" (${ch.attributes?.join(", ")})${mbx}`);
    } else {
      lines.push(`  ${failed}modify "${ch.dn}": ${ch.changes?.map((x) => x.detail).join("; ")}`);
    }
    if (ch.error) lines.push(`    ${ch.error}`);
  }
  for (const m of report.backup.missing) {
    lines.push(`  missing on the backup "${m.dn}" (ldap.provisionMissing is off)`);
  }
  if (report.recordedNames) {
    lines.push(recordedNamesLine(report.recordedNames));
    for (const f of recordedNameFailures(report.recordedNames)) lines.push(`  FAILED ${f}`);
  }
  if (report.warnings.length) {
    lines.push("Warnings:");
    for (const w of report.warnings) lines.push(`  ${w}`);
  }
  if (report.truncated) {
    const left = Object.entries(report.truncated).map(([k, n]) => `${n} ${k}`).join(", ");
    lines.push(`(stored record shortened: ${left} not listed)`);
  }
  const ms = report.durationMs;
  lines.push(`Took ${ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`}`);
  return lines.join("\n");
}

/** One line about a run, for `vmirror status`. */
export function formatDirectoryRunLine(report: DirectoryReport): string {
  const c = report.counts;
  if (report.error) return `directory\t${report.startedAt}\tFAILED\t${report.error.message}`;
  return [
    "directory",
    report.startedAt,
    report.ok ? "ok" : "FAILED",
    `${c.entries} subscribers`,
    `subscribed ${c.subscribed}`,
    `orphaned ${c.orphaned}`,
    `unsubscribed ${c.unsubscribed}`,
    `pending ${c.pending}`,
    ...(report.target
      ? [`backup added ${c.added}`, `modified ${c.modified}`, `failed ${c.failed}`]
      : []),
    ...(report.recordedNames ? [`recorded names ${recordedNamesShort(report.recordedNames)}`] : []),
    report.backup.error ? `error: ${report.backup.error.message}` : "",
    report.recordedNames?.storeError ? `error: ${report.recordedNames.storeError.message}` : "",
  ].filter(Boolean).join("\t");
}

/** Options for {@link runDirectorySchedule}. */
export interface DirectoryScheduleOptions {
  /** Stops the loop. */
  signal: AbortSignal;
  provisionMailbox?: (mailbox: string) => Promise<void>;
  /** Runs a pass at once whatever the history says (the directory settings just changed). */
  runNow?: boolean;
}

/**
 * `serve`'s directory timer: a pass when the last recorded one is `schedule.directoryHours`
 * old (at once on a fresh store), a failed one retried after at most an hour; never throws.
 */
export async function runDirectorySchedule(
  config: Config,
  state: State,
  opts: DirectoryScheduleOptions,
): Promise<void> {
  if (!config.ldap) return;
  const every = config.schedule.directoryHours * 3_600_000;
  let now = opts.runNow ?? false;
  while (!opts.signal.aborted) {
    let wait = 0;
    if (now) now = false;
    else {try {
        const last = (await listDirectoryRuns(state, 1))[0];
        if (last) {
          const interval = last.ok ? every : Math.min(every, 3_600_000);
          wait = Date.parse(last.startedAt) + interval - Date.now();
        }
      } catch (e) {
        log("error", `Cannot read the directory run history: ${redact((e as Error).message)}`);
        wait = every;
      }}
    if (wait > 0) {
      // setTimeout caps at ~24.8 days; the loop re-checks what is due after each wake-up.
      await sleep(Math.min(wait, 2 ** 31 - 1), opts.signal);
      continue;
    }
    try {
      const r = await runDirectorySync(config, state, { provisionMailbox: opts.provisionMailbox });
      log(r.ok ? "info" : "error", `Directory sync ${r.ok ? "done" : "failed"}`, {
        subscribers: r.counts.entries,
        subscribed: r.counts.subscribed,
        orphaned: r.counts.orphaned,
        unsubscribed: r.counts.unsubscribed,
        added: r.counts.added,
        modified: r.counts.modified,
        failed: r.counts.failed,
        error: r.error?.message ?? r.backup.error?.message,
      });
    } catch (e) {
      log("error", `Directory sync failed: ${redact((e as Error).message)}`);
      await sleep(Math.min(every, 3_600_000), opts.signal);
    }
  }
}

// ---- steps ----

async function readDirectory(
  endpoint: LdapConfig["source"],
  label: string,
  binaryAttributes: string[],
  progress: (line: string) => void,
): Promise<{ entries: DirEntry[]; encrypted: boolean; server: string }> {
  const session = await openLdap(endpoint, { binaryAttributes });
  try {
    progress(`Reading the ${label} directory "${session.server}" under "${endpoint.baseDn}"`);
    const entries = await searchEntries(session, endpoint.baseDn, {
      filter: endpoint.filter,
      pageSize: endpoint.pageSize,
      onPage: (n) => progress(`  ${label}: ${n} entries read`),
    });
    return { entries, encrypted: session.encrypted, server: session.server };
  } finally {
    await closeLdap(session);
  }
}

async function applySubscriptions(state: State, plan: DirectoryPlan, now: Date): Promise<void> {
  await addSubscriptions(state, plan.subscribe, { origin: "directory", now });
  // Each change re-reads the record: a manual `subscribe` since the plan pins it as manual,
  // and a pass must never touch a manual subscription.
  for (const o of plan.orphan) {
    const sub = await getSubscription(state, o.mailbox);
    if (sub?.origin === "directory" && !sub.orphanedSince) {
      await putSubscription(state, { ...sub, orphanedSince: now.toISOString() });
    }
  }
  for (const m of plan.unorphan) {
    const sub = await getSubscription(state, m);
    if (sub?.origin === "directory" && sub.orphanedSince) {
      const { orphanedSince: _, ...rest } = sub;
      await putSubscription(state, rest);
    }
  }
  for (const u of plan.unsubscribe) {
    const sub = await getSubscription(state, u.mailbox);
    if (sub?.origin === "directory") await removeSubscriptions(state, [u.mailbox]);
  }
}

async function applyBackup(
  target: LdapSession,
  plan: DirectoryPlan,
  report: DirectoryReport,
  opts: DirectorySyncOptions & { progress: (line: string) => void; imapTarget: boolean },
): Promise<void> {
  const outcomes = new Map(report.backup.changes.map((o) => [`${o.op} ${o.dn}`, o]));
  type Job = { kind: "modify"; m: DirectoryPlan["backupModifies"][number] } | {
    kind: "add";
    a: DirectoryPlan["backupAdds"][number];
  };
  const jobs: Job[] = [
    ...plan.backupModifies.map((m) => ({ kind: "modify" as const, m })),
    ...plan.backupAdds.map((a) => ({ kind: "add" as const, a })),
  ];
  let done = 0;
  const step = Math.max(100, Math.ceil(jobs.length / 10));
  await pool(jobs, opts.concurrency ?? 8, async (job) => {
    const dn = job.kind === "modify" ? job.m.dn : job.a.dn;
    const outcome = outcomes.get(`${job.kind} ${dn}`)!;
    try {
      if (job.kind === "modify") await modifyEntry(target, dn, job.m.changes);
      else await addEntry(target, dn, job.a.attributes);
      outcome.status = "done";
    } catch (e) {
      if (!(e instanceof LdapError)) throw e;
      // One refused entry (schema, access) must not stop the others.
      outcome.status = "failed";
      outcome.error = e.message +
        (e.code === 68 && job.kind === "add"
          ? " (it exists but the backup search did not return it: check ldap.target.filter)"
          : "");
      opts.progress(`FAILED ${outcome.error}`);
    }
    if (job.kind === "add" && outcome.status === "done" && opts.imapTarget) {
      outcome.mailboxProvisioning = await provision(job.a.mailbox, opts.provisionMailbox);
    }
    done++;
    if (done % step === 0 && done < jobs.length) {
      opts.progress(`  backup: ${done}/${jobs.length} changes applied`);
    }
  });
  report.counts.added = report.backup.changes.filter((o) => o.op === "add" && o.status === "done")
    .length;
  report.counts.modified =
    report.backup.changes.filter((o) => o.op === "modify" && o.status === "done").length;
  report.counts.failed = report.backup.changes.filter((o) => o.status === "failed").length;
}

async function provision(
  mailbox: string,
  provisionMailbox: DirectorySyncOptions["provisionMailbox"],
): Promise<string> {
  if (!provisionMailbox) {
    // On an MSS the directory entry is what creates the mailbox; nothing more to do here.
    return "no provisioner configured: left to the backup MSS (the directory entry provisions it)";
  }
  try {
    await provisionMailbox(mailbox);
    return "created on the backup MSS";
  } catch (e) {
    return `not created: ${redact((e as Error).message)}`;
  }
}

// ---- report ----

function emptyReport(ldap: LdapConfig, now: Date, dryRun: boolean): DirectoryReport {
  const startedAt = new Date().toISOString();
  return {
    id: crypto.randomUUID(),
    startedAt,
    finishedAt: startedAt,
    asOf: now.toISOString(),
    durationMs: 0,
    dryRun,
    ok: false,
    source: { url: ldap.source.url, baseDn: ldap.source.baseDn, entries: 0 },
    target: ldap.target
      ? { url: ldap.target.url, baseDn: ldap.target.baseDn, entries: 0 }
      : undefined,
    counts: {
      entries: 0,
      managed: 0,
      subscribed: 0,
      orphaned: 0,
      unorphaned: 0,
      unsubscribed: 0,
      pending: 0,
      added: 0,
      modified: 0,
      missing: 0,
      failed: 0,
      onlyOnBackup: 0,
      warnings: 0,
    },
    subscriptions: { subscribe: [], orphan: [], unorphan: [], unsubscribe: [], pending: [] },
    backup: { changes: [], missing: [] },
    warnings: [],
  };
}

function fillFromPlan(report: DirectoryReport, plan: DirectoryPlan): void {
  report.subscriptions = {
    subscribe: plan.subscribe,
    orphan: plan.orphan,
    unorphan: plan.unorphan,
    unsubscribe: plan.unsubscribe,
    pending: plan.pending,
  };
  report.backup.changes = [
    ...plan.backupModifies.map((m): BackupOutcome => ({
      mailbox: m.mailbox,
      dn: m.dn,
      op: "modify",
      changes: m.changes.map((c) => ({ attr: c.attr, op: c.op, detail: describeChange(c) })),
      status: "planned",
    })),
    ...plan.backupAdds.map((a): BackupOutcome => ({
      mailbox: a.mailbox,
      dn: a.dn,
      op: "add",
      attributes: Object.keys(a.attributes),
      status: "planned",
    })),
  ];
  report.backup.missing = plan.missingOnBackup;
  report.warnings.push(...plan.warnings);
  const c = report.counts;
  c.entries = plan.entries;
  c.managed = plan.managed.length;
  c.subscribed = plan.subscribe.length;
  c.orphaned = plan.orphan.length;
  c.unorphaned = plan.unorphan.length;
  c.unsubscribed = plan.unsubscribe.length;
  c.pending = plan.pending.length;
  // Planned counts; the apply step replaces them with what the backup accepted.
  c.added = plan.backupAdds.length;
  c.modified = plan.backupModifies.length;
  c.missing = plan.missingOnBackup.length;
  c.onlyOnBackup = plan.onlyOnBackup.length;
}

function planLine(r: DirectoryReport): string {
  const c = r.counts;
  return `Plan: subscribe ${c.subscribed}, orphan ${c.orphaned}, back ${c.unorphaned}, ` +
    `unsubscribe ${c.unsubscribed}, pending ${c.pending}` +
    (r.target ? `; backup add ${c.added}, modify ${c.modified}, missing ${c.missing}` : "");
}

async function finish(state: State, report: DirectoryReport, t0: number): Promise<DirectoryReport> {
  report.finishedAt = new Date().toISOString();
  report.durationMs = Math.round(performance.now() - t0);
  report.counts.warnings = report.warnings.length;
  report.ok = !report.error && !report.backup.error && report.counts.failed === 0 &&
    !(report.recordedNames && recordedNamesFailed(report.recordedNames));
  if (!report.dryRun) {
    await putDirectoryRunRecord(state, compactReport(report));
    directoryPassDuration.observe(report.durationMs / 1000);
    await addDirectoryPassStats(state, { ok: report.ok });
  }
  return report;
}

/** The report with its lists shortened so the stored record stays under the KV value cap. */
export function compactReport(
  report: DirectoryReport,
  maxBytes = RECORD_MAX_BYTES,
): DirectoryReport {
  for (let cap = 200;; cap = Math.floor(cap / 2)) {
    const truncated: Record<string, number> = {};
    const cut = <T>(name: string, list: T[]): T[] => {
      if (list.length <= cap) return list;
      truncated[name] = list.length - cap;
      return list.slice(0, cap);
    };
    const s = report.subscriptions;
    const out: DirectoryReport = {
      ...report,
      subscriptions: {
        subscribe: cut("subscribe", s.subscribe),
        orphan: cut("orphan", s.orphan),
        unorphan: cut("unorphan", s.unorphan),
        unsubscribe: cut("unsubscribe", s.unsubscribe),
        pending: cut("pending", s.pending),
      },
      backup: {
        ...report.backup,
        // When shortened, failures first: they are what an operator looks for.
        changes: cut(
          "backup changes",
          report.backup.changes.length <= cap ? report.backup.changes : [
            ...report.backup.changes.filter((c) => c.status === "failed"),
            ...report.backup.changes.filter((c) => c.status !== "failed"),
          ],
        ),
        missing: cut("missing", report.backup.missing),
      },
      warnings: cut("warnings", report.warnings),
      ...(report.recordedNames && {
        recordedNames: {
          ...report.recordedNames,
          failed: cut("recorded names failed", report.recordedNames.failed),
          duplicates: cut("recorded names left alone", report.recordedNames.duplicates),
        },
      }),
    };
    if (Object.keys(truncated).length) out.truncated = truncated;
    // Measured as KV measures it: V8 stores a string with one non-Latin-1 character ("→") at
    // two bytes per character.
    if (serialize(out).length <= maxBytes || cap === 0) return out;
  }
}

function recordedNamesLine(r: RecordedNamesResult): string {
  return `Recorded names in the file store: ${recordedNamesShort(r)}`;
}

function recordedNamesShort(r: RecordedNamesResult): string {
  const failed = r.failed.length + (r.storeError ? 1 + r.storeError.notTried : 0);
  return `${r.stored} stored, ${r.unchanged} unchanged, ${failed} failed, ` +
    `${r.duplicates.length} left alone (mailbox in several entries)`;
}

function recordedNameFailures(r: RecordedNamesResult): string[] {
  const out = r.failed.map((f) => `recorded name of "${f.mailbox}" not stored: ${f.error}`);
  if (r.storeError) {
    const more = r.storeError.notTried;
    out.push(
      `recorded names not stored: ${r.storeError.message}${
        more ? ` (${more} more not tried)` : ""
      }`,
    );
  }
  return out;
}

function failure(e: LdapError): DirectoryFailure {
  return { message: e.message, server: e.server, operation: e.operation };
}

// Loopback traffic never leaves the host (the lab); anything else deserves the warning.
function plainTextWarning(server: string): string[] {
  const host = new URL(server).hostname.replace(/^\[|\]$/g, "");
  if (/^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(host)) return [];
  return [
    `"${server}" is reached without TLS: the bind password and PINs cross the network in clear (use ldaps:// or startTls)`,
  ];
}
