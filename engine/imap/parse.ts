/**
 * Reading what the server says, without building token trees: a response is its text with each
 * literal's place marked by a NUL, plus the literals' bytes; the readers below pick the items the
 * mirror needs out of it. Pure functions, no I/O.
 * @module
 */
import { MONTH_NAMES, parseMessageId } from "../mime/mod.ts";

/** One response: its text (each literal written `{n}` then a NUL marker), and the literals' bytes. */
export interface Response {
  text: string;
  literals: Uint8Array[];
}

/** One message as a flag scan reports it. */
export interface FlagScan {
  uid: number;
  flags: string[];
  size?: number;
  internalDate?: Date;
}

/** What {@link parseIdentity} reads of one message. */
export interface FetchedIdentity {
  uid: number;
  size: number;
  internalDate: Date;
  messageId: string | null;
  flags: string[];
}

const latin1 = new TextDecoder("latin1");

/** The response as one line, its literals inlined as latin1 text (for lines read as text). */
export function inlineLiterals(r: Response): string {
  if (!r.literals.length) return r.text;
  return r.text.split("\u0000")
    .map((p, i) => i < r.literals.length ? p + latin1.decode(r.literals[i]) : p)
    .join("");
}

/** Whether a tagged answer (the text after the tag) is OK. */
export function isOk(answer: string): boolean {
  return /^OK/i.test(answer);
}

/** Whether a tagged answer (the text after the tag) is NO. */
export function isNo(answer: string): boolean {
  return /^NO/i.test(answer);
}

/** The capabilities of a `[CAPABILITY …]` code (greeting, tagged OK), upper-cased, or null. */
export function capabilityCode(line: string): Set<string> | null {
  const m = /\[CAPABILITY ([^\]]*)\]/i.exec(line);
  return m ? new Set(m[1].toUpperCase().split(/\s+/)) : null;
}

/** The capabilities of a `* CAPABILITY …` response, upper-cased, or null. */
export function capabilityResponse(text: string): Set<string> | null {
  const m = /^\* CAPABILITY (.*)$/i.exec(text);
  return m ? new Set(m[1].toUpperCase().split(/\s+/)) : null;
}

/** The change in the message count an `* n EXISTS` or `* n EXPUNGE` makes, else null. */
export function countChange(text: string): { exists: number } | { expunged: true } | null {
  const m = /^\* (\d+) (EXISTS|EXPUNGE)\b/i.exec(text);
  if (!m) return null;
  return m[2].toUpperCase() === "EXISTS" ? { exists: Number(m[1]) } : { expunged: true };
}

/** The items of a `* STATUS folder (NAME value …)` response, names upper-cased, or null. */
export function statusItems(text: string): Record<string, string> | null {
  const m = /^\* STATUS .*\(([^()]*)\)\s*$/i.exec(text);
  if (!m) return null;
  const out: Record<string, string> = {};
  const parts = m[1].trim().split(/\s+/);
  for (let i = 0; i + 1 < parts.length; i += 2) out[parts[i].toUpperCase()] = parts[i + 1];
  return out;
}

/** The response code of an `* OK [NAME value]` that SELECT and EXAMINE read, or null. */
export function openingCode(
  text: string,
): { name: "UIDVALIDITY" | "HIGHESTMODSEQ" | "PERMANENTFLAGS"; value: string } | null {
  const m = /^\* OK \[(UIDVALIDITY|HIGHESTMODSEQ|PERMANENTFLAGS) ([^\]]*)\]/i.exec(text);
  if (!m) return null;
  return { name: m[1].toUpperCase() as "UIDVALIDITY", value: m[2] };
}

/** The UIDs of a `* SEARCH …` response, or null for another response. */
export function searchUids(text: string): number[] | null {
  const m = /^\* SEARCH\b(.*)$/i.exec(text);
  if (!m) return null;
  return m[1].trim().split(/\s+/).filter((n) => /^\d+$/.test(n)).map(Number);
}

/** `[APPENDUID validity uids]` of a tagged OK (UIDPLUS), the UIDs expanded, or null. */
export function appendUid(answer: string): { uidValidity: number; uids: number[] } | null {
  const m = /\[APPENDUID (\d+) ([\d:,]+)\]/i.exec(answer);
  return m ? { uidValidity: Number(m[1]), uids: expandUidSet(m[2]) } : null;
}

/** A parenthesized flag list ("(\\Seen $Forwarded)") as a set, in order. */
export function parseFlagList(list: string): Set<string> {
  return new Set(list.replace(/^\(|\)$/g, "").trim().split(/\s+/).filter(Boolean));
}

/** Which literal (0-based) follows the text position `at`. */
export function literalIndex(text: string, at: number): number {
  let n = 0;
  for (let i = text.indexOf("\u0000"); i >= 0 && i < at; i = text.indexOf("\u0000", i + 1)) n++;
  return n;
}

/** Whether a response is a `* n FETCH (…)`. */
export function isFetch(text: string): boolean {
  return /^\* \d+ FETCH \(/i.test(text);
}

/** The UID item of a FETCH response, or null. */
export function fetchUid(text: string): number | null {
  const m = /[( ]UID (\d+)/i.exec(text);
  return m ? Number(m[1]) : null;
}

/** Reads one `* n FETCH (UID … FLAGS (…) RFC822.SIZE … INTERNALDATE "…")` response. */
export function parseFlagScan(text: string): FlagScan | null {
  if (!isFetch(text)) return null;
  const uid = fetchUid(text);
  const flags = /[( ]FLAGS (\([^)]*\))/i.exec(text);
  if (uid === null || !flags) return null;
  const size = /[( ]RFC822\.SIZE (\d+)/i.exec(text);
  const date = /[( ]INTERNALDATE "([^"]+)"/i.exec(text);
  return {
    uid,
    flags: [...parseFlagList(flags[1])],
    ...(size ? { size: Number(size[1]) } : {}),
    ...(date ? { internalDate: parseImapDate(date[1]) } : {}),
  };
}

/** Reads one `* n FETCH (UID … RFC822.SIZE … INTERNALDATE "…" BODY[…] {n})` response. */
export function parseIdentity(r: Response): FetchedIdentity | null {
  if (!isFetch(r.text)) return null;
  // The text holds only markers for literals, so a header's text cannot fake an item.
  const head = r.text;
  const uid = fetchUid(head);
  const size = /[( ]RFC822\.SIZE (\d+)/i.exec(head);
  const date = /[( ]INTERNALDATE "([^"]+)"/i.exec(head);
  if (uid === null || !size || !date) return null;
  const flags = /[( ]FLAGS (\([^)]*\))/i.exec(head);
  return {
    uid,
    size: Number(size[1]),
    internalDate: parseImapDate(date[1]),
    messageId: parseMessageId(r.literals[0]),
    flags: flags ? [...parseFlagList(flags[1])] : [],
  };
}

/** The `BODY[]` literal of a FETCH response with its UID, or null. */
export function parseBody(r: Response): { uid: number; bytes: Uint8Array } | null {
  if (!isFetch(r.text)) return null;
  const uid = fetchUid(r.text);
  const body = /[( ]BODY\[\] \{\d+\}/i.exec(r.text);
  if (uid === null || !body) return null;
  return { uid, bytes: r.literals[literalIndex(r.text, body.index)] };
}

/** The `BODY[]<offset>` part of a FETCH response with its UID (empty for `""`), or null. */
export function parseBodyRange(r: Response): { uid: number; bytes: Uint8Array } | null {
  const uid = fetchUid(r.text);
  const lit = /[( ]BODY\[\]<\d+> (?:\{\d+\}|"")/i.exec(r.text);
  if (uid === null || !lit) return null;
  const bytes = lit[0].endsWith('""')
    ? new Uint8Array(0)
    : r.literals[literalIndex(r.text, lit.index)];
  return { uid, bytes };
}

/** An INTERNALDATE (`"23-Nov-2026 10:00:00 +0100"`) as a Date. */
export function parseImapDate(s: string): Date {
  const m = /^\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/
    .exec(s);
  const month = m ? MONTH_NAMES.findIndex((n) => n.toLowerCase() === m[2].toLowerCase()) : -1;
  if (!m || month < 0) throw new Error(`unreadable INTERNALDATE "${s}"`);
  const offset = (m[7] === "-" ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  return new Date(
    Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) -
      offset * 60_000,
  );
}

/** Expands an IMAP UID set ("10:12,15") in order. */
export function expandUidSet(set: string): number[] {
  const out: number[] = [];
  for (const part of set.split(",")) {
    const [a, b] = part.split(":").map(Number);
    if (b === undefined) out.push(a);
    else for (let u = Math.min(a, b); u <= Math.max(a, b); u++) out.push(u);
  }
  return out;
}
