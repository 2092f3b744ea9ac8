/**
 * What a job may be asked to do, checked before it starts: the sync's mailboxes, the directory
 * sync's dry run, the restore's mailbox, mirror side, date, folders and UIDs. Pure: every
 * problem comes back as `{path, message}`, as the API answers with 400.
 * @module
 */
import { isMailboxId, MAILBOX_ID_RULE, zoneMidnight } from "../support/mod.ts";

/** One problem with a request, `path` naming the field ("mailboxes/2"). */
export interface ParamError {
  path: string;
  message: string;
}

/** A checked request, or its problems. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: ParamError[] };

/** "Sync now": the mailboxes, or none for every subscribed one. */
export interface SyncParams {
  mailboxes: string[];
}

/** Directory sync: plan only, or apply. */
export interface DirectorySyncParams {
  dryRun: boolean;
}

/** Restore of one mailbox into production. */
export interface RestoreParams {
  mailbox: string;
  /** The backup MSS or the file store; default: the configured target's kind. */
  from?: "backup" | "files";
  /** Only messages that arrived on or after this day (YYYY-MM-DD, the appliance's time zone). */
  since?: string;
  /** Default: the configured source folders. */
  folders?: string[];
  /** Only these mirror UIDs. */
  uids?: number[];
  /** Also the file store's deleted area. */
  includeDeleted?: boolean;
  dryRun: boolean;
}

/** The most mailboxes one "sync now" names. */
export const MAX_SYNC_MAILBOXES = 10_000;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Checks a "sync now" request: `{"mailboxes": [...]}` (empty or absent: all subscribed). */
export function parseSyncParams(body: unknown): Parsed<SyncParams> {
  const errors: ParamError[] = [];
  const obj = objectOf(body, errors, ["mailboxes"]);
  if (!obj) return { ok: false, errors };
  const mailboxes = mailboxList(obj.mailboxes, "mailboxes", errors) ?? [];
  return errors.length ? { ok: false, errors } : { ok: true, value: { mailboxes } };
}

/** Checks a directory sync request: `{"dryRun": true|false}` (absent: a dry run). */
export function parseDirectorySyncParams(body: unknown): Parsed<DirectorySyncParams> {
  const errors: ParamError[] = [];
  const obj = objectOf(body, errors, ["dryRun"]);
  if (!obj) return { ok: false, errors };
  const dryRun = bool(obj.dryRun, "dryRun", errors) ?? true;
  return errors.length ? { ok: false, errors } : { ok: true, value: { dryRun } };
}

/**
 * Checks a restore request: `{"mailbox", "from", "since", "folders", "uids", "includeDeleted",
 * "dryRun"}`; only an explicit `"dryRun": false` writes to production. The mailbox need not be
 * subscribed (a mailbox given up on may still be brought back).
 */
export function parseRestoreParams(
  body: unknown,
  opts: { timeZone: string; now?: Date },
): Parsed<RestoreParams> {
  const errors: ParamError[] = [];
  const obj = objectOf(body, errors, [
    "mailbox",
    "from",
    "since",
    "folders",
    "uids",
    "includeDeleted",
    "dryRun",
  ]);
  if (!obj) return { ok: false, errors };
  const value: RestoreParams = { mailbox: "", dryRun: true };
  if (typeof obj.mailbox !== "string" || !obj.mailbox) {
    errors.push({ path: "mailbox", message: "expected a mailbox id" });
  } else if (!isMailboxId(obj.mailbox)) {
    errors.push({ path: "mailbox", message: `invalid mailbox id: ${MAILBOX_ID_RULE}` });
  } else value.mailbox = obj.mailbox;
  if (obj.from !== undefined && obj.from !== null && obj.from !== "") {
    if (obj.from !== "backup" && obj.from !== "files") {
      errors.push({ path: "from", message: 'expected "backup" or "files"' });
    } else value.from = obj.from;
  }
  if (obj.since !== undefined && obj.since !== null && obj.since !== "") {
    const problem = typeof obj.since === "string"
      ? dayProblem(obj.since, opts.timeZone, opts.now ?? new Date())
      : "expected a date YYYY-MM-DD";
    if (problem) errors.push({ path: "since", message: problem });
    else value.since = obj.since as string;
  }
  if (obj.folders !== undefined && obj.folders !== null) {
    const folders = folderList(obj.folders, errors);
    if (folders?.length) value.folders = folders;
  }
  if (obj.uids !== undefined && obj.uids !== null) {
    if (!Array.isArray(obj.uids)) {
      errors.push({ path: "uids", message: "expected a list of UIDs" });
    } else {
      obj.uids.forEach((u, i) => {
        if (!Number.isSafeInteger(u) || (u as number) < 1) {
          errors.push({ path: `uids/${i}`, message: "expected a positive whole number" });
        }
      });
      if (obj.uids.length) value.uids = [...new Set(obj.uids as number[])];
    }
  }
  const deleted = bool(obj.includeDeleted, "includeDeleted", errors);
  if (deleted) value.includeDeleted = true;
  value.dryRun = bool(obj.dryRun, "dryRun", errors) ?? true;
  return errors.length ? { ok: false, errors } : { ok: true, value };
}

/** A list of mailbox ids from text: spaces, commas or new lines between them. */
export function splitMailboxes(text: string): string[] {
  return text.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
}

/** Midnight at the start of `day` (YYYY-MM-DD) in `timeZone`, as an instant. */
export function startOfDay(day: string, timeZone: string): Date {
  const m = DAY.exec(day);
  if (!m) throw new RangeError(`Invalid date "${day}": expected YYYY-MM-DD`);
  return zoneMidnight(Number(m[1]), Number(m[2]) - 1, Number(m[3]), timeZone);
}

function dayProblem(text: string, timeZone: string, now: Date): string | null {
  const m = DAY.exec(text);
  if (!m) return `expected a date YYYY-MM-DD, got "${text.slice(0, 40)}"`;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(y, mo - 1, d));
  if (
    mo < 1 || mo > 12 || probe.getUTCFullYear() !== y || probe.getUTCMonth() !== mo - 1 ||
    probe.getUTCDate() !== d
  ) return `no such day "${text}"`;
  if (startOfDay(text, timeZone).getTime() > now.getTime()) return `"${text}" is in the future`;
  return null;
}

function objectOf(
  body: unknown,
  errors: ParamError[],
  known: string[],
): Record<string, unknown> | null {
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body)) {
    errors.push({ path: "", message: "the body must be a JSON object" });
    return null;
  }
  const obj = body as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      errors.push({ path: k, message: `unknown field: expected ${known.join(", ")}` });
    }
  }
  return obj;
}

function bool(v: unknown, path: string, errors: ParamError[]): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") {
    errors.push({ path, message: "expected true or false" });
    return undefined;
  }
  return v;
}

function mailboxList(v: unknown, path: string, errors: ParamError[]): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    errors.push({ path, message: "expected a list of mailbox ids" });
    return undefined;
  }
  if (v.length > MAX_SYNC_MAILBOXES) {
    errors.push({ path, message: `at most ${MAX_SYNC_MAILBOXES} mailboxes at once` });
    return undefined;
  }
  const out: string[] = [];
  v.forEach((m, i) => {
    if (typeof m !== "string" || !isMailboxId(m)) {
      errors.push({
        path: `${path}/${i}`,
        message: `invalid mailbox id${
          typeof m === "string" ? ` "${m.slice(0, 70)}"` : ""
        }: ${MAILBOX_ID_RULE}`,
      });
    } else out.push(m);
  });
  return [...new Set(out)];
}

function folderList(v: unknown, errors: ParamError[]): string[] | undefined {
  if (!Array.isArray(v)) {
    errors.push({ path: "folders", message: "expected a list of folder names" });
    return undefined;
  }
  const out: string[] = [];
  v.forEach((f, i) => {
    // A name goes into IMAP commands and file store paths: no control characters.
    // deno-lint-ignore no-control-regex
    if (typeof f !== "string" || !f.trim() || f.length > 200 || /[\u0000-\u001f\u007f]/.test(f)) {
      errors.push({ path: `folders/${i}`, message: "expected a folder name" });
    } else out.push(f);
  });
  return [...new Set(out)];
}
