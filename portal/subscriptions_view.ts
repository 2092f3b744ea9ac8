/**
 * The subscriptions console's pure parts: reading a pasted list or an uploaded CSV into mailbox
 * ids (each bad entry kept with its line, never dropped), paging, the rows the list shows and
 * the CSV it exports. No I/O.
 * @module
 */
import type { MailboxResult, Subscription } from "../engine/state/mod.ts";
import { isMailboxId, MAILBOX_ID_RULE } from "../engine/support/mod.ts";

/** One entry of a pasted list or a CSV, with the line it came from (1-based). */
export interface ListEntry {
  value: string;
  line: number;
}

/** An entry that is not a mailbox id, and why. */
export interface InvalidEntry {
  value: string;
  /** The line of the pasted list or CSV (absent for the JSON API's array). */
  line?: number;
  reason: string;
}

/** What a list of entries holds: the mailbox ids (each once, in order) and the bad entries. */
export interface CheckedList {
  mailboxes: string[];
  invalid: InvalidEntry[];
}

/** How many entries one request may hold (an appliance mirrors thousands, not millions). */
export const MAX_ENTRIES = 20_000;

/** Entries of a pasted list: one or many per line, separated by commas, semicolons or spaces. */
export function parsePastedList(text: string): ListEntry[] {
  const out: ListEntry[] = [];
  for (const [i, line] of splitLines(text).entries()) {
    for (const value of line.split(/[\s,;]+/)) if (value) out.push({ value, line: i + 1 });
  }
  return out;
}

// Cells of a header row (the first line) that name the mailbox column.
const HEADER_NAMES = new Set(["mailbox", "mailboxes", "mailbox id", "mailbox_id", "id", "number"]);

/** What a CSV holds: its entries, and the header row's first cell when it had one. */
export interface CsvList {
  entries: ListEntry[];
  /** The first row's first cell when that row was read as a header (shown, never silent). */
  header: string | null;
}

/**
 * Entries of a CSV: the first column of each row (RFC 4180 quoting; comma, or semicolon when
 * the first line has one and no comma, as spreadsheets in some locales write). The first row is
 * a header when its first cell is a known column name ("mailbox", "id", …) or holds no digit
 * and is no mailbox id; anything else on line 1 is an entry (a typo there is reported, not
 * taken for a header). Blank rows are skipped.
 */
export function parseMailboxCsv(text: string): CsvList {
  const body = text.replace(/^\uFEFF/, "");
  const firstLine = splitLines(body)[0] ?? "";
  const sep = !firstLine.includes(",") && firstLine.includes(";") ? ";" : ",";
  const entries: ListEntry[] = [];
  let header: string | null = null;
  for (const row of csvRows(body, sep)) {
    const value = (row.cells[0] ?? "").trim();
    if (row.cells.every((c) => !c.trim())) continue;
    if (row.line === 1 && isHeader(value)) {
      header = value;
      continue;
    }
    entries.push({ value, line: row.line });
  }
  return { entries, header };
}

function isHeader(cell: string): boolean {
  return HEADER_NAMES.has(cell.toLowerCase()) || (!/\d/.test(cell) && !isMailboxId(cell));
}

/** Splits entries into valid mailbox ids (first occurrence kept) and invalid ones with reasons. */
export function checkEntries(entries: readonly (ListEntry | string)[]): CheckedList {
  const mailboxes: string[] = [];
  const seen = new Set<string>();
  const invalid: InvalidEntry[] = [];
  for (const e of entries) {
    const { value, line } = typeof e === "string" ? { value: e, line: undefined } : e;
    const at = line === undefined ? {} : { line };
    if (!isMailboxId(value)) {
      invalid.push({ value: value.slice(0, 100), ...at, reason: invalidReason(value) });
    } else if (!seen.has(value)) {
      seen.add(value);
      mailboxes.push(value);
    }
  }
  if (mailboxes.length > MAX_ENTRIES) {
    for (const value of mailboxes.splice(MAX_ENTRIES)) {
      invalid.push({ value, reason: `more than ${MAX_ENTRIES} mailboxes in one request` });
    }
  }
  return { mailboxes, invalid };
}

function invalidReason(value: string): string {
  if (value.length > 64) return "longer than 64 characters";
  return `not a mailbox id (${MAILBOX_ID_RULE})`;
}

/** A requested page clamped to the pages there are. */
export interface Paging {
  /** 1-based. */
  page: number;
  pageSize: number;
  pages: number;
  offset: number;
}

/** Reads a `page` query value (1-based; anything else is page 1). */
export function pageParam(raw: string | undefined | null): number {
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 1 ? n : 1;
}

/** The paging of `total` items, `page` clamped to the last page (at least one page). */
export function paging(total: number, page: number, pageSize: number): Paging {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const p = Math.min(Math.max(1, Math.floor(page)), pages);
  return { page: p, pageSize, pages, offset: (p - 1) * pageSize };
}

/**
 * The page numbers a pager links to: the first, the last, and two around the current one,
 * with null where pages are left out (so 400 pages never make 400 links).
 */
export function pageLinks(page: number, pages: number): (number | null)[] {
  const want = new Set([1, pages, page - 2, page - 1, page, page + 1, page + 2]);
  const list = [...want].filter((n) => n >= 1 && n <= pages).sort((a, b) => a - b);
  const out: (number | null)[] = [];
  for (const [i, n] of list.entries()) {
    if (i > 0 && n - list[i - 1] > 1) out.push(null);
    out.push(n);
  }
  return out;
}

/** The state a mailbox's newest result gives it. */
export type RowState = "ok" | "failed" | "never";

/** One mailbox as the list and the API show it. */
export interface SubscriptionRow {
  mailbox: string;
  origin: Subscription["origin"];
  addedAt: string;
  orphanedSince: string | null;
  state: RowState;
  lastPassAt: string | null;
  error?: { message: string; server?: string; operation?: string; folder?: string };
}

/** A subscription and its newest result (if any) as one row. */
export function subscriptionRow(sub: Subscription, last?: MailboxResult | null): SubscriptionRow {
  const row: SubscriptionRow = {
    mailbox: sub.mailbox,
    origin: sub.origin,
    addedAt: sub.addedAt,
    orphanedSince: sub.orphanedSince ?? null,
    state: !last ? "never" : last.ok ? "ok" : "failed",
    lastPassAt: last?.finishedAt ?? null,
  };
  if (last && !last.ok && last.error) row.error = last.error;
  return row;
}

/** The CSV columns of an export; the first is the mailbox, so the file imports as it is. */
export const CSV_COLUMNS = [
  "mailbox",
  "managed_by",
  "added_at",
  "orphaned_since",
  "state",
  "last_pass_at",
  "error",
] as const;

/** The export: a header row, then one row per mailbox (CRLF, as RFC 4180 has it). */
export function subscriptionsCsv(rows: Iterable<SubscriptionRow>): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const r of rows) {
    lines.push(
      [
        r.mailbox,
        r.origin,
        r.addedAt,
        r.orphanedSince ?? "",
        r.state,
        r.lastPassAt ?? "",
        r.error?.message ?? "",
      ].map(csvCell).join(","),
    );
  }
  return lines.join("\r\n") + "\r\n";
}

/**
 * One CSV cell: quoted when it holds a separator, quote or line break; a cell a spreadsheet
 * would run as a formula (=, +, -, @ first) gets a leading apostrophe.
 */
export function csvCell(value: string): string {
  const v = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",;\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

// RFC 4180 rows with the line each starts on; a quoted cell may span lines.
function csvRows(text: string, sep: string): { line: number; cells: string[] }[] {
  const rows: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  const endRow = () => {
    cells.push(cell);
    rows.push({ line: start, cells });
    cells = [];
    cell = "";
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        if (ch === "\n" || (ch === "\r" && text[i + 1] !== "\n")) line++;
        cell += ch;
      }
    } else if (ch === '"' && !cell.trim()) {
      quoted = true;
      cell = "";
    } else if (ch === sep) {
      cells.push(cell);
      cell = "";
    } else if (ch === "\r" || ch === "\n") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRow();
      line++;
      start = line;
    } else {
      cell += ch;
    }
  }
  if (cell !== "" || cells.length) endRow();
  return rows;
}

/** A duration as "42 s", "3 min 5 s" or "2 h 10 min"; null is "—". */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, seconds);
  if (s < 10) return `${Math.round(s * 10) / 10} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const total = Math.round(s);
  if (total < 3600) {
    const sec = total % 60;
    return `${Math.floor(total / 60)} min${sec ? ` ${sec} s` : ""}`;
  }
  const min = Math.floor(total / 60) % 60;
  if (total < 86400) return `${Math.floor(total / 3600)} h${min ? ` ${min} min` : ""}`;
  const h = Math.floor(total / 3600) % 24;
  return `${Math.floor(total / 86400)} d${h ? ` ${h} h` : ""}`;
}
