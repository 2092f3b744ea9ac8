/**
 * The short message stored in place of a voicemail too long or too big for the backup side:
 * same sender, recipients and date, a subject and body saying where the original is kept.
 * Pure logic, no I/O.
 * @module
 */

import { createHash } from "node:crypto";
import {
  type Address,
  encodeHeaderWords,
  foldHeader,
  formatAddress,
  formatDate,
  headerValue,
  parseDate,
  replaceControls,
} from "../mime/mod.ts";
import type { Classified } from "./classify.ts";

/** Why the original was not copied. */
export type PlaceholderReason = "too-long" | "too-big";

/** Options for buildPlaceholder. */
export interface PlaceholderOptions {
  reason: PlaceholderReason;
  /** Duration of the original in seconds, if known. */
  seconds: number | null;
  /** Size of the original in bytes. */
  bytes: number;
  /** Where the original is kept (a path or URL), shown to the reader. */
  keptAs: string;
  /** This host's name: the right-hand side of the new Message-ID. */
  hostname: string;
  /** The limit that was exceeded, shown in the body when given. */
  limitSeconds?: number;
  limitBytes?: number;
  /** Clock for the body's "made at" line and a Date for originals without one. */
  now?: Date;
}

const SUBJECT_PREFIX = "Voice message kept on the application server";

// A placeholder stays a short note whatever the original's headers hold (a hostile message may
// carry a megabyte-long subject or address, or thousands of recipients).
const MAX_TEXT = 200;
const MAX_ADDRESS = 254; // RFC 5321's longest forward path, brackets aside
const MAX_RECIPIENTS = 50;

function clip(text: string, max = MAX_TEXT): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  // Never end on half of a surrogate pair.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

// An address fit for a header, with its name clipped; null when the address is empty or too
// long to be real.
function headerAddress(a: Address): Address | null {
  if (!a.address || a.address.length > MAX_ADDRESS) return null;
  return { name: clip(a.name), address: a.address };
}

/** Builds the placeholder message (CRLF, MIME, text/plain) for a voicemail kept elsewhere. */
export function buildPlaceholder(original: Classified, opts: PlaceholderOptions): Uint8Array {
  const now = opts.now ?? new Date();
  const host = safeHostname(opts.hostname);
  const headers: [string, string][] = [];
  const add = (name: string, value: string) => headers.push([name, value]);

  add("Message-ID", placeholderMessageId(original, host));
  add("Date", originalDate(original, now));
  const from = original.from && headerAddress(original.from);
  add("From", from ? formatAddress(from) : `vmirror@${host}`);
  const to = original.to.slice(0, MAX_RECIPIENTS).map(headerAddress).filter((a) => a !== null)
    .map(formatAddress);
  if (to.length > 0) add("To", to.join(", "));
  // Only the original subject is encoded, so the prefix stays readable in any client.
  const subject = clip(original.subject?.trim() ?? "");
  add("Subject", subject ? `${SUBJECT_PREFIX}: ${encodeHeaderWords(subject)}` : SUBJECT_PREFIX);
  // Threading survives so the placeholder sits where the original would.
  const inReplyTo = safeMessageId(original.inReplyTo);
  if (inReplyTo) add("In-Reply-To", inReplyTo);
  const references = original.references.map(safeMessageId).filter((id) => id !== null)
    .slice(-20);
  if (references.length > 0) add("References", references.join(" "));
  copyMarkings(original, add);
  add("X-Vmirror-Placeholder", encodeHeaderWords(safeMessageId(original.messageId) ?? "none"));
  add("X-Vmirror-Reason", opts.reason);
  add("MIME-Version", "1.0");
  add("Content-Type", "text/plain; charset=utf-8");

  const text = bodyText(original, opts, host, now);
  const plain = /^[\x20-\x7e\n]*$/.test(text) && text.split("\n").every((l) => l.length <= 76);
  add("Content-Transfer-Encoding", plain ? "7bit" : "quoted-printable");
  const body = plain ? text.split("\n").join("\r\n") : encodeQuotedPrintable(text);

  const head = headers.map(([name, value]) => foldHeader(name, value)).join("\r\n");
  return new TextEncoder().encode(`${head}\r\n\r\n${body}\r\n`);
}

// Deterministic, so re-running a mirror makes the same placeholder and never a duplicate.
function placeholderMessageId(original: Classified, host: string): string {
  const key = original.messageId ??
    // Without a Message-ID, the fields that identify a voicemail stand in for it.
    [original.from?.address ?? "", original.date?.toISOString() ?? "", original.subject ?? ""]
      .join("\n");
  const hash = createHash("sha256").update(`${key}\nplaceholder`).digest("hex").slice(0, 32);
  return `<${hash}.placeholder@${host}>`;
}

function safeHostname(hostname: string): string {
  const clean = hostname.toLowerCase().replace(/[^a-z0-9._-]/g, "").replace(/^[.]+|[.]+$/g, "");
  return clean || "localhost";
}

// A msg-id goes into structured headers verbatim only if it cannot break them.
function safeMessageId(id: string | null): string | null {
  if (id === null || id.length > 250) return null;
  return /^<[\x21-\x3b\x3d\x3f-\x7e]+>$/.test(id) ? id : null;
}

// The original Date text is kept when it is plain and parseable (its zone is part of what the
// sender wrote); otherwise the parsed instant is written in UTC.
function originalDate(original: Classified, now: Date): string {
  const raw = headerValue(original.headers, "date");
  if (raw !== null && raw.length <= 100 && /^[\x20-\x7e]+$/.test(raw) && parseDate(raw)) {
    return raw;
  }
  return formatDate(original.date ?? now);
}

function copyMarkings(original: Classified, add: (name: string, value: string) => void): void {
  let importance = false;
  let sensitivity = false;
  for (const name of ["Importance", "X-Priority", "Priority", "Sensitivity"]) {
    const value = headerValue(original.headers, name);
    // One token, optionally with a comment (`1 (Highest)`): anything else is not copied.
    if (value === null || value.length > 100 || !/^[\x21-\x7e]+( \([\x20-\x7e]*\))?$/.test(value)) {
      continue;
    }
    add(name, value);
    if (name === "Importance") importance = true;
    if (name === "Sensitivity") sensitivity = true;
  }
  // Urgency may have come from X-Priority or Priority alone; say it the common way too.
  if (original.urgent && !importance) add("Importance", "High");
  if (original.private && !sensitivity) add("Sensitivity", "Private");
}

function bodyText(original: Classified, opts: PlaceholderOptions, host: string, now: Date): string {
  const seconds = opts.seconds ?? original.durationSeconds;
  let why: string;
  if (opts.reason === "too-long") {
    const length = seconds === null ? "of unknown length" : `${formatSeconds(seconds)} long`;
    why = opts.limitSeconds === undefined
      ? `The message is ${length}, longer than this mailbox keeps.`
      : `The message is ${length}; the limit is ${formatSeconds(opts.limitSeconds)}.`;
  } else {
    why = opts.limitBytes === undefined
      ? `The message is ${formatBytes(opts.bytes)}, bigger than this mailbox keeps.`
      : `The message is ${formatBytes(opts.bytes)}; the limit is ${formatBytes(opts.limitBytes)}.`;
  }
  const line = (label: string, value: string) => `  ${label.padEnd(11)} ${oneLine(value)}`;
  const lines = [
    "This voice message is kept on the application server, not in this mailbox.",
    "",
    why,
    // Never clipped: the reader needs the whole path.
    `The original is kept as: ${replaceControls(opts.keptAs, " ").trim()}`,
    "",
    "Original message:",
    line("From:", original.from ? showAddress(original.from) : "(unknown)"),
  ];
  if (original.to.length > 0) {
    const more = original.to.length > MAX_RECIPIENTS
      ? ` and ${original.to.length - MAX_RECIPIENTS} more`
      : "";
    const shown = original.to.slice(0, MAX_RECIPIENTS).map(showAddress).join(", ");
    lines.push(line("To:", clip(shown, 3 * MAX_TEXT) + more));
  }
  lines.push(
    line("Date:", original.date ? originalDate(original, now) : "(unknown)"),
    line("Subject:", original.subject ?? "(none)"),
    line("Message-ID:", original.messageId ?? "(none)"),
    line("Length:", seconds === null ? "(unknown)" : formatSeconds(seconds)),
    line("Size:", formatBytes(opts.bytes)),
  );
  if (original.urgent) lines.push(line("Priority:", "urgent"));
  if (original.private) lines.push(line("Privacy:", "private"));
  lines.push("", `Placeholder made by vmirror on ${host} at ${now.toISOString()}.`);
  return lines.join("\n");
}

function oneLine(value: string): string {
  return replaceControls(clip(value, 4 * MAX_TEXT), " ").trim();
}

function showAddress(a: Address): string {
  const address = clip(a.address, MAX_ADDRESS);
  return a.name ? `${clip(a.name)} <${address}>` : address;
}

/** Formats seconds for people: "45 s", "14 min 5 s", "1 h 2 min 3 s". */
export function formatSeconds(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts: string[] = [];
  if (h > 0) parts.push(`${h} h`);
  if (m > 0) parts.push(`${m} min`);
  if (s > 0 || parts.length === 0) parts.push(`${s} s`);
  return parts.join(" ");
}

function formatBytes(bytes: number): string {
  const exact = `${String(Math.round(bytes)).replace(/\B(?=(\d{3})+(?!\d))/g, ",")} bytes`;
  if (bytes < 1_000_000) return exact;
  return `${(bytes / 1_000_000).toFixed(1)} MB (${exact})`;
}

// RFC 2045 6.7: lines of at most 76 characters, soft breaks with `=`, hard breaks as CRLF.
function encodeQuotedPrintable(text: string): string {
  const encoder = new TextEncoder();
  return text.split("\n").map((line) => {
    const bytes = encoder.encode(line);
    const out: string[] = [];
    let current = "";
    bytes.forEach((b, i) => {
      const last = i === bytes.length - 1;
      const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
      const token = literal
        ? String.fromCharCode(b)
        : `=${b.toString(16).toUpperCase().padStart(2, "0")}`;
      if (current.length + token.length > 75) {
        out.push(`${current}=`);
        current = "";
      }
      current += token;
    });
    out.push(current);
    return out.join("\r\n");
  }).join("\r\n");
}
