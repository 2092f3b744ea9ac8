/**
 * The alert machine: each round compares the conditions active now with the alerts kept in
 * the state store. What started goes into ONE mail, what cleared into ONE recovery mail (per
 * recipient), each start and clear is audited, and mails wait in an outbox until the relay
 * takes them — a relay that is down delays an alert, it does not lose it.
 * @module
 */
import type { Config } from "../config/mod.ts";
import { type OutgoingMail, sendMail } from "../mail/mod.ts";
import {
  type ActiveAlert,
  type AuditEntry,
  deleteQueuedAlertMail,
  listActiveAlertRecords,
  listDirectoryRunRecords,
  listDiskFree,
  listHeldDeletions,
  listMailboxResults,
  listQueuedAlertMails,
  listServerHealth,
  putQueuedAlertMail,
  type QueuedAlertMail,
  recordAlertRound,
  type State,
} from "../state/mod.ts";
import { log, redact } from "../support/mod.ts";
import { activeConditions, type AlertFacts, type DirectoryFact } from "./conditions.ts";
import { configOf, type ConfigSource } from "./config_source.ts";
import {
  type ClearedAlert,
  groupAlerts,
  type MailContext,
  recoveryMail,
  startMail,
  testAlertMail,
} from "./mail_text.ts";

/** Delivers one alert mail (default: through `smtp`); throws when the relay refuses it. */
export type SendAlertMail = (mail: OutgoingMail) => Promise<void>;

/** What one evaluation round did. */
export interface AlertRoundResult {
  started: ActiveAlert[];
  cleared: ClearedAlert[];
  /** The alerts active after the round. */
  active: ActiveAlert[];
  /** Mails queued this round (one per recipient and mail). */
  queued: number;
  /** Queued mails (of this round or earlier ones) the relay took, and those it did not. */
  sent: number;
  failed: number;
}

// A mail the relay has refused for a day is given up (the dashboard and the audit trail
// still have the alert): by then it is news of the past, and a relay fixed later must not
// deliver a flood of it.
const MAX_MAIL_AGE_MS = 24 * 3_600_000;

/** Runs one round: judge the conditions, record starts and clears, queue and send mails. */
export async function evaluateAlerts(
  source: ConfigSource,
  state: State,
  now: Date = new Date(),
  send?: SendAlertMail,
): Promise<AlertRoundResult> {
  const config = configOf(source);
  const at = now.toISOString();
  const conditions = activeConditions(await gatherFacts(config, state, now));
  const before = await listActiveAlertRecords(state);
  const previous = new Map(before.map((a) => [a.key, a]));
  const current = new Set(conditions.map((c) => c.key));

  const started: ActiveAlert[] = [];
  const changed: ActiveAlert[] = [];
  for (const c of conditions) {
    const p = previous.get(c.key);
    const alert: ActiveAlert = {
      key: c.key,
      kind: c.kind,
      subject: c.subject,
      summary: c.summary,
      since: p?.since ?? c.since ?? at,
      updatedAt: at,
      facts: c.facts,
    };
    if (!p) started.push(alert);
    else if (p.summary !== c.summary) changed.push(alert);
  }
  const cleared: ClearedAlert[] = before.filter((a) => !current.has(a.key))
    .map((a) => ({ ...a, clearedAt: at }));
  const active = [
    ...before.filter((a) => current.has(a.key)).map((a) =>
      changed.find((c) => c.key === a.key) ?? a
    ),
    ...started,
  ];

  const mails = queueMails(config, { started, cleared, active: active.length, now });
  const audits: AuditEntry[] = [
    ...started.map((a) => ({
      at,
      actor: "system",
      action: "alert-start",
      detail: { key: a.key, kind: a.kind, subject: a.subject, summary: a.summary, ...a.facts },
    })),
    ...cleared.map((a) => ({
      at,
      actor: "system",
      action: "alert-clear",
      detail: { key: a.key, kind: a.kind, subject: a.subject, since: a.since },
    })),
  ];
  await recordAlertRound(state, {
    put: [...started, ...changed],
    clear: cleared.map((a) => a.key),
    mails,
    audits,
  });
  if (started.length || cleared.length) {
    log(started.length ? "warn" : "info", "Alerts changed", {
      started: started.length,
      cleared: cleared.length,
      active: active.length,
      mails: mails.length,
    });
  }
  const { sent, failed } = await flushAlertMails(config, state, now, send);
  return { started, cleared, active, queued: mails.length, sent, failed };
}

/** The active alerts, causes first (servers, directory, disks, certificates, mailboxes). */
export async function listActiveAlerts(state: State): Promise<ActiveAlert[]> {
  return groupAlerts(await listActiveAlertRecords(state)).flatMap((g) => g.items);
}

/**
 * Sends the test alert ("vmirror test alert") to every alert recipient now, not through the
 * outbox; returns the recipients. Throws when no relay or recipient is set, or one send fails.
 */
export async function sendTestAlert(config: Config, send?: SendAlertMail): Promise<string[]> {
  if (!config.smtp) {
    throw new Error("Cannot send a test alert: no mail relay (smtp) is configured");
  }
  if (!config.alerts.to.length) {
    throw new Error("Cannot send a test alert: no alert recipients (alerts.to) are set");
  }
  const deliver = send ?? relaySend(config);
  const mail = testAlertMail({ now: new Date(), timeZone: config.timeZone, host: hostName() });
  const failures: string[] = [];
  for (const to of config.alerts.to) {
    try {
      await deliver({ to, ...mail });
    } catch (e) {
      failures.push(`to "${to}": ${redact((e as Error).message)}`);
    }
  }
  if (failures.length) throw new Error(`Cannot send the test alert ${failures.join("; ")}`);
  return [...config.alerts.to];
}

/**
 * Sends the queued mails, oldest first. A refused mail stays queued (attempts counted) and
 * holds back its recipient's later mails, so they arrive in order next round.
 */
export async function flushAlertMails(
  config: Config,
  state: State,
  now: Date,
  send?: SendAlertMail,
): Promise<{ sent: number; failed: number }> {
  const queued = await listQueuedAlertMails(state);
  if (!queued.length || (!config.smtp && !send)) return { sent: 0, failed: 0 };
  const deliver = send ?? relaySend(config);
  const blocked = new Set<string>();
  let sent = 0;
  let failed = 0;
  for (const m of queued) {
    if (now.getTime() - Date.parse(m.queuedAt) > MAX_MAIL_AGE_MS) {
      log("error", `Alert mail to "${m.to}" given up: not delivered within a day`, {
        subject: m.subject,
        attempts: m.attempts,
        error: m.lastError,
      });
      await deleteQueuedAlertMail(state, m.id);
      continue;
    }
    if (blocked.has(m.to)) continue;
    try {
      await deliver({ to: m.to, subject: m.subject, text: m.text });
      await deleteQueuedAlertMail(state, m.id);
      sent++;
    } catch (e) {
      failed++;
      blocked.add(m.to);
      const error = redact((e as Error).message);
      log("error", `Cannot send an alert mail to "${m.to}": it is retried next round`, {
        subject: m.subject,
        attempt: m.attempts + 1,
        error,
      });
      await putQueuedAlertMail(state, { ...m, attempts: m.attempts + 1, lastError: error });
    }
  }
  return { sent, failed };
}

// The mails of one round, one per recipient: the starts, then the clears.
function queueMails(
  config: Config,
  round: { started: ActiveAlert[]; cleared: ClearedAlert[]; active: number; now: Date },
): QueuedAlertMail[] {
  const to = config.alerts.to;
  if (!config.smtp || !to.length) return [];
  const ctx: MailContext = {
    now: round.now,
    timeZone: config.timeZone,
    host: hostName(),
    active: round.active,
  };
  const texts = [
    ...(round.started.length ? [startMail(round.started, ctx)] : []),
    ...(round.cleared.length ? [recoveryMail(round.cleared, ctx)] : []),
  ];
  const at = round.now.toISOString();
  const out: QueuedAlertMail[] = [];
  for (const [i, t] of texts.entries()) {
    for (const [j, address] of to.entries()) {
      out.push({
        // Sorts by round, then starts before clears: the outbox keeps the order of events.
        id: `${at}/${i}/${String(j).padStart(4, "0")}/${crypto.randomUUID()}`,
        to: address,
        subject: t.subject,
        text: t.text,
        queuedAt: at,
        attempts: 0,
      });
    }
  }
  return out;
}

async function gatherFacts(config: Config, state: State, now: Date): Promise<AlertFacts> {
  const [results, servers, held, disks] = await Promise.all([
    listMailboxResults(state),
    listServerHealth(state),
    listHeldDeletions(state),
    listDiskFree(state),
  ]);
  return {
    now,
    settings: config.alerts,
    results,
    servers,
    held,
    disks,
    // A directory no longer configured has no sync to fail.
    directory: config.ldap ? await lastDirectoryRun(state) : null,
  };
}

// The stored report's fields alerts read (engine/directory owns the full type).
interface StoredDirectoryRun {
  id: string;
  startedAt: string;
  ok?: boolean;
  error?: { message?: string };
  backup?: { error?: { message?: string } };
  counts?: { failed?: number };
}

async function lastDirectoryRun(state: State): Promise<DirectoryFact | null> {
  const [r] = await listDirectoryRunRecords<StoredDirectoryRun>(state, 1);
  if (!r) return null;
  const ok = r.ok !== false;
  const failed = r.counts?.failed ?? 0;
  const error = r.error?.message ?? r.backup?.error?.message ??
    (failed
      ? `${failed} change${failed === 1 ? "" : "s"} to the backup directory failed`
      : undefined);
  return { ok, startedAt: r.startedAt, ...(ok || !error ? {} : { error }) };
}

function relaySend(config: Config): SendAlertMail {
  return async (mail) => {
    const smtp = config.smtp;
    if (!smtp) throw new Error("no mail relay (smtp) is configured");
    await sendMail(smtp, mail);
  };
}

function hostName(): string | undefined {
  try {
    return Deno.hostname();
  } catch {
    // Without the permission to read it, mails do without.
    return undefined;
  }
}
