/**
 * What the lean session writes: quoted strings, literals for 8-bit values, INTERNALDATEs, UID
 * sets and mailbox names in modified UTF-7. Pure functions, no I/O.
 * @module
 */
import { MONTH_NAMES } from "../mime/mod.ts";

/** A literal inside a command: its size and how its bytes are sent. */
export interface Literal {
  size: number;
  /** Writes exactly `size` bytes through `send` (the session frames them). */
  write: (send: (bytes: Uint8Array) => Promise<void>) => Promise<void>;
}

/** One piece of a command line: text as is, or a literal the session frames (`{n}` or `{n+}`). */
export type CommandPart = string | Literal;

/** An IMAP quoted string. */
export function quote(s: string): string {
  if (/[\r\n\0]/.test(s)) throw new Error("CR, LF and NUL cannot be sent in a quoted string");
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A literal holding `bytes`. */
export function literal(bytes: Uint8Array): Literal {
  return { size: bytes.length, write: (send) => send(bytes) };
}

/**
 * A search value as the server must receive it: the bytes of a header value as read from the
 * wire (decoded one char per byte with `TextDecoder("latin1")`, as the FETCH and MIME readers
 * hand them out). 7-bit values go as a quoted string; 8-bit ones as a literal of those same bytes,
 * with `charset` true so that the search says `CHARSET UTF-8` (RFC 3501 6.4.4: a quoted string
 * may hold 7-bit characters only, and 8-bit text in another charset than US-ASCII needs one).
 */
export function searchValue(wireText: string): { value: CommandPart; charset: boolean } {
  if (!/[\u0080-\uffff]/.test(wireText)) return { value: quote(wireText), charset: false };
  return { value: literal(latin1Bytes(wireText)), charset: true };
}

// The readers decode wire bytes with TextDecoder("latin1"), which the Encoding standard makes
// windows-1252: 0x80–0x9F become other characters (0x9F is "Ÿ"). Their inverse, built from
// that same decoder.
const WINDOWS_1252 = new Map(
  [...new TextDecoder("latin1").decode(Uint8Array.from({ length: 256 }, (_, i) => i))]
    .map((c, i) => [c, i]),
);

/** A string decoded from wire bytes with `TextDecoder("latin1")` back to those bytes. */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const b = WINDOWS_1252.get(s[i]);
    if (b === undefined) throw new Error(`"${s[i]}" was not decoded from a latin1 byte`);
    out[i] = b;
  }
  return out;
}

/** An INTERNALDATE as IMAP writes it: `"01-Jan-2026 10:00:00 +0000"` (without the quotes). */
export function imapDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}-${MONTH_NAMES[d.getUTCMonth()]}-${d.getUTCFullYear()} ${
    p(d.getUTCHours())
  }:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** A UID set for a command, runs collapsed ("3:7,9"). */
export function uidSet(uids: number[]): string {
  if (!uids.length) throw new Error("an empty UID set cannot be sent");
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const parts: string[] = [];
  let start = sorted[0];
  let prev = start;
  for (const u of [...sorted.slice(1), NaN]) {
    if (u === prev + 1) {
      prev = u;
      continue;
    }
    parts.push(start === prev ? `${start}` : `${start}:${prev}`);
    start = prev = u;
  }
  return parts.join(",");
}

/** A flag list for STORE and APPEND: `(\Seen $Forwarded)`. */
export function flagList(flags: string[]): string {
  return `(${flags.join(" ")})`;
}

/** A folder name as a command argument: modified UTF-7, quoted. */
export function mailboxArg(folder: string): string {
  return quote(encodeMailboxName(folder));
}

/** Modified UTF-7 (RFC 3501 5.1.3) for mailbox names. */
export function encodeMailboxName(name: string): string {
  let out = "";
  let pending: number[] = [];
  const flush = () => {
    if (!pending.length) return;
    const bytes = new Uint8Array(pending.length * 2);
    pending.forEach((c, i) => {
      bytes[i * 2] = c >> 8;
      bytes[i * 2 + 1] = c & 0xff;
    });
    out += `&${bytes.toBase64({ omitPadding: true }).replace(/\//g, ",")}-`;
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      flush();
      out += c === 0x26 ? "&-" : name[i];
    } else pending.push(c);
  }
  flush();
  return out;
}
