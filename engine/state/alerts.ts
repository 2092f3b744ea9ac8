/**
 * The alert tables of the monitor (engine/monitor): the conditions active now, the alert mails
 * not yet delivered (an outbox, so a relay that is down delays a mail instead of losing it), and
 * the newest free-space reading of each watched disk.
 *
 * - `["alert", key]` → ActiveAlert (key e.g. "mailbox-failing:4006", "server-down:target")
 * - `["alertmail", id]` → QueuedAlertMail (id sorts by queueing time)
 * - `["disk", which]` → DiskFree
 * @module
 */
import { keys } from "./keys.ts";
import { inBatches, listValues, type State } from "./kv.ts";
import type { AuditEntry } from "./audit.ts";

/** What an alert is about. */
export type AlertKind =
  | "server-down"
  | "directory-failed"
  | "disk-low"
  | "certificate-expiring"
  | "deletions-held"
  | "mailbox-failing";

/** A condition that needs an administrator, active since `since`. */
export interface ActiveAlert {
  /** `<kind>:<subject>`, e.g. "mailbox-failing:4006"; one alert per key. */
  key: string;
  kind: AlertKind;
  /** What it is about: a mailbox, a server role, a disk ("data", "files"), "directory". */
  subject: string;
  /** One line in the admin's words (no date: the reader shows `since`). */
  summary: string;
  /** When the condition began (a server: since it is down), else when it was first seen. */
  since: string;
  /** When the summary last changed. */
  updatedAt: string;
  /** Structured facts for the audit trail (never a secret). */
  facts?: Record<string, unknown>;
}

/** One alert mail to one recipient, kept until the relay accepts it. */
export interface QueuedAlertMail {
  id: string;
  to: string;
  subject: string;
  text: string;
  queuedAt: string;
  attempts: number;
  lastError?: string;
}

/** The newest free-space reading of a watched disk. */
export interface DiskFree {
  /** "data": the data directory; "files": the file store's root. */
  which: "data" | "files";
  path: string;
  checkedAt: string;
  /** Null when it could not be read (see `error`). */
  freeBytes: number | null;
  totalBytes: number | null;
  freePercent: number | null;
  error?: string;
}

/** What one evaluation round changes, written mails first (a crash re-sends, never loses). */
export interface AlertRound {
  /** Alerts started or whose summary changed. */
  put: ActiveAlert[];
  /** Keys of alerts that cleared. */
  clear: string[];
  mails: QueuedAlertMail[];
  /** Audit entries of the starts and clears, written with them. */
  audits: AuditEntry[];
}

const ALERT = "alert";
const MAIL = "alertmail";
const DISK = "disk";

/** Every active alert, in key order. */
export async function listActiveAlertRecords(state: State): Promise<ActiveAlert[]> {
  return await listValues<ActiveAlert>(state, [ALERT]);
}

/** Writes one round's changes: queued mails, then alerts and their audit entries. */
export async function recordAlertRound(state: State, round: AlertRound): Promise<void> {
  // A mail may be near KV's 64 KiB value cap: a few per atomic keeps each under its size limit.
  await inBatches(state, round.mails, {
    size: 4,
    apply: (op, m) => op.set([MAIL, m.id], m),
    error: "Cannot queue alert mails: the state store refused the write",
  });
  type Change =
    | { put: ActiveAlert }
    | { clear: string }
    | { audit: AuditEntry };
  const changes: Change[] = [
    ...round.put.map((a) => ({ put: a })),
    ...round.clear.map((k) => ({ clear: k })),
    ...round.audits.map((e) => ({ audit: e })),
  ];
  await inBatches(state, changes, {
    size: 200,
    apply: (op, c) => {
      if ("put" in c) op.set([ALERT, c.put.key], c.put);
      else if ("clear" in c) op.delete([ALERT, c.clear]);
      else op.set(keys.audit(c.audit.at, crypto.randomUUID()), c.audit);
    },
    error: "Cannot record alert changes: the state store refused the write",
  });
}

/** Alert mails waiting for the relay, oldest first. */
export async function listQueuedAlertMails(state: State): Promise<QueuedAlertMail[]> {
  return await listValues<QueuedAlertMail>(state, [MAIL]);
}

/** Updates a queued mail (its attempts and last error). */
export async function putQueuedAlertMail(state: State, mail: QueuedAlertMail): Promise<void> {
  await state.kv.set([MAIL, mail.id], mail);
}

/** Removes a queued mail (delivered, or given up). */
export async function deleteQueuedAlertMail(state: State, id: string): Promise<void> {
  await state.kv.delete([MAIL, id]);
}

/** Stores a disk's newest reading. */
export async function putDiskFree(state: State, d: DiskFree): Promise<void> {
  await state.kv.set([DISK, d.which], d);
}

/** The newest reading of every watched disk. */
export async function listDiskFree(state: State): Promise<DiskFree[]> {
  return await listValues<DiskFree>(state, [DISK]);
}

/** Forgets a disk's reading (it is no longer watched). */
export async function deleteDiskFree(state: State, which: DiskFree["which"]): Promise<void> {
  await state.kv.delete([DISK, which]);
}
