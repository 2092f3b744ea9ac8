/**
 * The words of alert mails (pure): one mail for the problems that started in a round, one for
 * those that cleared, grouped by kind, so a burst of 500 failing mailboxes reads as a few
 * lines; and the test alert.
 * @module
 */
import type { ActiveAlert, AlertKind } from "../state/mod.ts";
import { formatInZone } from "../support/mod.ts";

/** An alert whose condition is over. */
export interface ClearedAlert extends ActiveAlert {
  clearedAt: string;
}

/** What every mail mentions beside the alerts. */
export interface MailContext {
  now: Date;
  /** The appliance's time zone (every date in it). */
  timeZone: string;
  /** The appliance's host name, when known. */
  host?: string;
  /** Alerts active after this round (the dashboard lists them). */
  active: number;
}

/** A mail's subject and body. */
export interface MailText {
  subject: string;
  text: string;
}

/** The alerts of one kind, in the order mails list them. */
export interface AlertGroup<T extends ActiveAlert> {
  kind: AlertKind;
  title: string;
  items: T[];
}

/** The subject of the test alert. */
export const TEST_ALERT_SUBJECT = "vmirror test alert";

// Causes first: a server down explains the failing mailboxes listed after it.
const KINDS: { kind: AlertKind; title: string; one: string; many: string }[] = [
  {
    kind: "server-down",
    title: "Servers unreachable",
    one: "server unreachable",
    many: "servers unreachable",
  },
  {
    kind: "directory-failed",
    title: "Directory sync",
    one: "directory sync failed",
    many: "directory syncs failed",
  },
  { kind: "disk-low", title: "Disk space", one: "disk low on space", many: "disks low on space" },
  {
    kind: "certificate-expiring",
    title: "TLS certificates",
    one: "certificate expiring",
    many: "certificates expiring",
  },
  {
    kind: "deletions-held",
    title: "Deletions held by the mass-deletion guard",
    one: "mailbox with held deletions",
    many: "mailboxes with held deletions",
  },
  {
    kind: "mailbox-failing",
    title: "Mailboxes failing pass after pass",
    one: "mailbox failing",
    many: "mailboxes failing",
  },
];

// A mail is queued in the state store (64 KiB a value, two bytes a character for text beyond
// Latin-1): the body stays well under it; the dashboard has the whole list.
const MAX_TEXT = 28_000;
const MAX_LINES_PER_GROUP = 50;

/** Groups alerts by kind, causes first; within a kind by subject. */
export function groupAlerts<T extends ActiveAlert>(alerts: T[]): AlertGroup<T>[] {
  return KINDS.map((k) => ({
    kind: k.kind,
    title: k.title,
    items: alerts.filter((a) => a.kind === k.kind).sort((a, b) => compareSubjects(a, b)),
  })).filter((g) => g.items.length > 0);
}

/** "2 servers unreachable, 500 mailboxes failing": counts per kind. */
export function countWords(alerts: ActiveAlert[]): string {
  return KINDS.map((k) => {
    const n = alerts.filter((a) => a.kind === k.kind).length;
    return n === 0 ? "" : `${n} ${n === 1 ? k.one : k.many}`;
  }).filter(Boolean).join(", ");
}

/** The mail for the problems that started in one round. */
export function startMail(started: ActiveAlert[], ctx: MailContext): MailText {
  const n = started.length;
  const lines = [
    `vmirror${on(ctx)} found ${n === 1 ? "a new problem" : `${n} new problems`} (${
      when(ctx.now.toISOString(), ctx.timeZone)
    }):`,
  ];
  for (const g of groupAlerts(started)) {
    lines.push("", `${g.title} (${g.items.length}):`, ...groupLines(g, ctx, "start"));
  }
  lines.push("", ...footer(ctx, n));
  return {
    subject: `vmirror alert: ${countWords(started)}`,
    text: cap(lines.join("\n")),
  };
}

/** The mail for the problems that cleared in one round. */
export function recoveryMail(cleared: ClearedAlert[], ctx: MailContext): MailText {
  const n = cleared.length;
  const lines = [
    `vmirror${on(ctx)}: ${n === 1 ? "a problem has" : `${n} problems have`} cleared (${
      when(ctx.now.toISOString(), ctx.timeZone)
    }):`,
  ];
  for (const g of groupAlerts(cleared)) {
    lines.push("", `${g.title} (${g.items.length}):`, ...groupLines(g, ctx, "clear"));
  }
  lines.push(
    "",
    ctx.active === 0
      ? "Nothing else needs attention now."
      : `Still active: ${ctx.active} (see the dashboard of the admin console).`,
  );
  return {
    subject: `vmirror recovered: ${countWords(cleared)} cleared`,
    text: cap(lines.join("\n")),
  };
}

/** The test alert: proves the relay takes mail to the alert recipients. */
export function testAlertMail(ctx: Omit<MailContext, "active">): MailText {
  return {
    subject: TEST_ALERT_SUBJECT,
    text: [
      `This is a test alert from vmirror${on({ ...ctx, active: 0 })}, sent ${
        when(ctx.now.toISOString(), ctx.timeZone)
      }.`,
      "",
      "Alert mails go to this address: one when problems start (servers unreachable, mailboxes",
      "failing pass after pass, deletions held, disks low on space, certificates expiring, a",
      "failed directory sync) and one when they clear. Nothing needs to be done.",
    ].join("\n") + "\n",
  };
}

/** A date in the appliance's time zone: "2025-03-01 14:05 Europe/Berlin". */
export const when = formatInZone;

// One group's lines. Failing mailboxes with the same cause share a line of mailbox numbers:
// a burst of hundreds is a few lines, not hundreds.
function groupLines<T extends ActiveAlert>(
  g: AlertGroup<T>,
  ctx: MailContext,
  mode: "start" | "clear",
): string[] {
  const dated = (a: T) =>
    mode === "start"
      ? `since ${when(a.since, ctx.timeZone)}`
      : `since ${when(a.since, ctx.timeZone)}, cleared ${
        when((a as unknown as ClearedAlert).clearedAt, ctx.timeZone)
      }`;
  if (g.kind === "mailbox-failing") {
    const byCause = new Map<string, T[]>();
    for (const a of g.items) {
      const cause = mode === "start" ? String(a.facts?.reason ?? "") : "";
      byCause.set(cause, [...(byCause.get(cause) ?? []), a]);
    }
    const out: string[] = [];
    for (const [cause, items] of byCause) {
      const head = mode === "start"
        ? `- ${items.length === 1 ? "mailbox" : `${items.length} mailboxes`}${
          cause ? `, failing with: ${cause}` : ""
        }`
        : `- ${items.length === 1 ? "mailbox" : `${items.length} mailboxes`} passing again`;
      out.push(head, ...wrapList(items.map((a) => a.subject), "    "));
    }
    return out;
  }
  const shown = g.items.slice(0, MAX_LINES_PER_GROUP).map((a) => `- ${a.summary} (${dated(a)})`);
  const more = g.items.length - shown.length;
  return more > 0 ? [...shown, `- … and ${more} more (see the dashboard)`] : shown;
}

function footer(ctx: MailContext, started: number): string[] {
  const before = ctx.active - started;
  return [
    ...(before > 0 ? [`Also still active from before: ${before}.`] : []),
    "The dashboard of the admin console lists every active alert.",
    "One mail is sent when problems start, and one when they clear.",
  ];
}

// Words separated by ", " in lines of at most 76 characters.
function wrapList(words: string[], indent: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    const next = line ? `${line}, ${w}` : w;
    if (indent.length + next.length > 76 && line) {
      lines.push(`${indent}${line},`);
      line = w;
    } else {
      line = next;
    }
  }
  if (line) lines.push(`${indent}${line}`);
  return lines;
}

function on(ctx: MailContext): string {
  return ctx.host ? ` on ${ctx.host}` : "";
}

function cap(text: string): string {
  const t = text.endsWith("\n") ? text : `${text}\n`;
  return t.length <= MAX_TEXT
    ? t
    : `${t.slice(0, MAX_TEXT)}\n… (cut here: the dashboard lists everything)\n`;
}

// Mailbox numbers in numeric order, other subjects alphabetically.
function compareSubjects(a: ActiveAlert, b: ActiveAlert): number {
  return a.subject.localeCompare(b.subject, "en", { numeric: true });
}
