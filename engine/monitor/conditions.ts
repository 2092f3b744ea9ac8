/**
 * Which alerts are active, from facts alone (pure): mailboxes failing pass after pass, servers
 * unreachable too long, deletions held by the mass-deletion guard, disks low on space, server
 * certificates about to expire, a failed directory pass. The alert machine (alerts.ts) turns
 * changes of this set into mails.
 * @module
 */
import type { Config } from "../config/mod.ts";
import type {
  AlertKind,
  DiskFree,
  HeldDeletions,
  MailboxResult,
  ServerHealth,
  ServerRole,
} from "../state/mod.ts";
import { redact } from "../support/mod.ts";

/** The newest directory pass, as far as alerts care. */
export interface DirectoryFact {
  ok: boolean;
  startedAt: string;
  /** Why it failed, when it did. */
  error?: string;
}

/** Everything the conditions are judged from. */
export interface AlertFacts {
  now: Date;
  settings: Config["alerts"];
  results: MailboxResult[];
  servers: ServerHealth[];
  held: HeldDeletions[];
  disks: DiskFree[];
  /** The newest directory pass; null when none ran or no directory is configured. */
  directory: DirectoryFact | null;
}

/** One active condition (an alert is kept per key while its condition lasts). */
export interface Condition {
  key: string;
  kind: AlertKind;
  subject: string;
  summary: string;
  /** When it began, if the facts say (else: when it was first seen). */
  since?: string;
  facts: Record<string, unknown>;
}

/** How a server role is named to the administrator. */
export const ROLE_WORDS: Record<ServerRole, string> = {
  "source": "production message store",
  "target": "backup",
  "ldap-source": "production directory",
  "ldap-target": "backup directory",
  "smtp": "mail relay",
};

const DAY_MS = 86_400_000;

/** The conditions active now, from the facts (pure). */
export function activeConditions(f: AlertFacts): Condition[] {
  return [
    ...serversDown(f),
    ...directoryFailed(f),
    ...disksLow(f),
    ...certificatesExpiring(f),
    ...deletionsHeld(f),
    ...mailboxesFailing(f),
  ];
}

/** A mailbox's failed passes in a row (a result from before the count: 1 if it failed). */
export function failStreak(r: MailboxResult): number {
  return r.failStreak ?? (r.ok ? 0 : 1);
}

function mailboxesFailing(f: AlertFacts): Condition[] {
  const n = f.settings.failedPasses;
  return f.results.filter((r) => failStreak(r) >= n).map((r) => {
    const streak = failStreak(r);
    const reason = r.error ? clip(redact(r.error.message)) : "";
    const why = reason ? `: ${reason}` : "";
    return {
      key: `mailbox-failing:${r.mailbox}`,
      kind: "mailbox-failing",
      subject: r.mailbox,
      summary: `Mailbox ${r.mailbox} failed ${streak} passes in a row${why}`,
      facts: {
        mailbox: r.mailbox,
        failStreak: streak,
        reason,
        ...(r.error?.server ? { server: r.error.server } : {}),
        ...(r.error?.operation ? { operation: r.error.operation } : {}),
      },
    };
  });
}

function serversDown(f: AlertFacts): Condition[] {
  const minMs = f.settings.unreachableMinutes * 60_000;
  return f.servers.filter((h) =>
    !h.up && h.downSince !== null && f.now.getTime() - Date.parse(h.downSince) >= minMs
  ).map((h) => ({
    key: `server-down:${h.role}`,
    kind: "server-down",
    subject: h.role,
    summary: `The ${ROLE_WORDS[h.role]} "${h.name}" is unreachable: ${clip(h.detail)}`,
    since: h.downSince!,
    facts: { role: h.role, server: h.name },
  }));
}

function deletionsHeld(f: AlertFacts): Condition[] {
  // A released hold is the operator's answer already: the next pass applies it.
  return f.held.filter((h) => !h.released).map((h) => ({
    key: `deletions-held:${h.mailbox}`,
    kind: "deletions-held",
    subject: h.mailbox,
    summary: `Mailbox ${h.mailbox}: ${h.count} deletion${
      h.count === 1 ? "" : "s"
    } held by the mass-deletion guard (${
      h.reason === "mailbox"
        ? `too large a share of its ${h.mirrored} mirrored messages`
        : "part of a pass deleting too much of the whole mirror"
    }) — release them in the admin console if production really lost them`,
    since: h.since,
    facts: { mailbox: h.mailbox, count: h.count, reason: h.reason },
  }));
}

function disksLow(f: AlertFacts): Condition[] {
  const limit = f.settings.diskFreePercent;
  return f.disks.filter((d) => d.freePercent !== null && d.freePercent < limit).map((d) => ({
    key: `disk-low:${d.which}`,
    kind: "disk-low",
    subject: d.which,
    summary: `The disk of the ${
      d.which === "data" ? "data directory" : "file store"
    } "${d.path}" has ${d.freePercent!.toFixed(1)} % free (alert under ${limit} %)`,
    facts: { disk: d.which, path: d.path, freePercent: round1(d.freePercent!) },
  }));
}

function certificatesExpiring(f: AlertFacts): Condition[] {
  const out: Condition[] = [];
  for (const h of f.servers) {
    if (!h.certificateExpiresAt) continue;
    const at = Date.parse(h.certificateExpiresAt);
    if (Number.isNaN(at)) continue;
    const days = Math.floor((at - f.now.getTime()) / DAY_MS);
    if (days >= f.settings.certificateDays) continue;
    const day = h.certificateExpiresAt.slice(0, 10);
    out.push({
      key: `certificate-expiring:${h.role}`,
      kind: "certificate-expiring",
      subject: h.role,
      summary: at <= f.now.getTime()
        ? `The TLS certificate of the ${ROLE_WORDS[h.role]} "${h.name}" expired on ${day}: renew it`
        : `The TLS certificate of the ${
          ROLE_WORDS[h.role]
        } "${h.name}" expires on ${day} (in ${days} day${days === 1 ? "" : "s"}): renew it`,
      facts: { role: h.role, server: h.name, expiresAt: h.certificateExpiresAt },
    });
  }
  return out;
}

function directoryFailed(f: AlertFacts): Condition[] {
  const d = f.directory;
  if (!d || d.ok) return [];
  return [{
    key: "directory-failed:directory",
    kind: "directory-failed",
    subject: "directory",
    summary: `The last directory sync failed${d.error ? `: ${clip(redact(d.error))}` : ""}`,
    since: d.startedAt,
    facts: { startedAt: d.startedAt },
  }];
}

// One line of a mail or the dashboard: long server texts are cut.
function clip(text: string, max = 240): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
