/**
 * APPEND to the backup: one message (from memory, or streamed from a spool file), or a batch
 * in one MULTIAPPEND (RFC 3502), with flags and INTERNALDATE; the UIDs from APPENDUID
 * (UIDPLUS) when the server gives them. A refusal for the message's size is told apart from
 * other failures ({@linkcode TooBigError}): the mirror leaves a placeholder for such a message.
 * @module
 */
import { expectOk, type Runner } from "../command.ts";
import {
  type CommandPart,
  flagList,
  imapDate,
  type Literal,
  literal,
  mailboxArg,
} from "../encode.ts";
import { appendUid } from "../parse.ts";

/** What the server said to an APPEND. */
export interface AppendResult {
  uidValidity: number | null;
  uid: number | null;
}

/** One message of an APPEND: its bytes (or a literal that streams them), flags and date. */
export interface AppendItem {
  body: Literal;
  flags: string[];
  internalDate: Date;
}

// Streaming a file: the chunk read and written at a time.
const CHUNK = 256 * 1024;

/** The server refused an APPEND for the size of a message: over its limit, never to be stored. */
export class TooBigError extends Error {
  override name = "TooBigError";
  /** Built from the server's tagged answer. */
  constructor(readonly answer: string) {
    super(`APPEND refused for the message's size: ${answer}`);
  }
}

/**
 * Whether a tagged answer to APPEND refuses the message for its size, in the words of the
 * servers met so far:
 * - `NO [TOOBIG] …` (RFC 4469, RFC 7889's APPENDLIMIT) — Cyrus with `maxmessagesize`:
 *   "NO [TOOBIG] Message size exceeds fixed limit"; Dovecot for a literal over its APPENDLIMIT;
 * - `NO [LIMIT] …` about the size — Dovecot's `quota_max_mail_size`: "NO [LIMIT] Mail size is
 *   larger than the maximum size allowed by server configuration".
 * Not a quota that is full (`[OVERQUOTA]`: the mailbox, not the message, is the problem) and not
 * a BAD (a malformed command), which stay failures.
 */
export function refusedForSize(answer: string): boolean {
  const m = /^NO\s+\[([A-Z-]+)[^\]]*\]\s*(.*)$/is.exec(answer.trim());
  if (!m) return false;
  const code = m[1].toUpperCase();
  if (code === "TOOBIG") return true;
  return code === "LIMIT" && /\b(size|too (large|big)|larger|bigger)\b/i.test(m[2]);
}

/** Whether an error, or one of its causes, is a {@linkcode TooBigError}. */
export function isTooBig(e: unknown): boolean {
  for (let c = e; c instanceof Error; c = c.cause) if (c instanceof TooBigError) return true;
  return false;
}

/**
 * RFC 7889's APPENDLIMIT from the capabilities (`APPENDLIMIT=1048576`; Cyrus announces its
 * `maxmessagesize` so), or null when the server names none.
 */
export function appendLimit(capabilities: Iterable<string>): number | null {
  for (const c of capabilities) {
    const m = /^APPENDLIMIT=(\d+)$/i.exec(c);
    if (m) return Number(m[1]);
  }
  return null;
}

// Throws TooBigError for a refusal for size, else as expectOk does.
function expectAppended(answer: string): void {
  if (refusedForSize(answer)) throw new TooBigError(answer);
  expectOk("APPEND", answer);
}

/** Appends one message; a refusal for its size throws {@linkcode TooBigError}. */
export async function append(
  runner: Runner,
  folder: string,
  item: AppendItem,
): Promise<AppendResult> {
  const done = await runner.run([`APPEND ${mailboxArg(folder)}`, ...itemParts(item)]);
  expectAppended(done);
  const res = appendUid(done);
  return res?.uids.length === 1
    ? { uidValidity: res.uidValidity, uid: res.uids[0] }
    : { uidValidity: null, uid: null };
}

/**
 * Appends several messages in one MULTIAPPEND: all or none, one round trip. Returns the
 * UIDVALIDITY and the UIDs in order (from APPENDUID), or nulls without UIDPLUS. One message
 * over the server's size limit refuses them all ({@linkcode TooBigError}).
 */
export async function appendMany(
  runner: Runner,
  folder: string,
  items: AppendItem[],
): Promise<{ uidValidity: number | null; uids: (number | null)[] }> {
  const done = await runner.run([`APPEND ${mailboxArg(folder)}`, ...items.flatMap(itemParts)]);
  expectAppended(done);
  const res = appendUid(done);
  return {
    uidValidity: res ? res.uidValidity : null,
    uids: res && res.uids.length === items.length ? res.uids : items.map(() => null),
  };
}

/** A literal that streams `size` bytes of the file at `path` in chunks. */
export function fileLiteral(path: string, size: number): Literal {
  return {
    size,
    write: async (send) => {
      const file = await Deno.open(path, { read: true });
      try {
        const chunk = new Uint8Array(CHUNK);
        let sent = 0;
        while (sent < size) {
          const n = await file.read(chunk.subarray(0, Math.min(CHUNK, size - sent)));
          if (n === null) throw new Error(`"${path}" is shorter than ${size} bytes`);
          await send(chunk.subarray(0, n));
          sent += n;
        }
      } finally {
        file.close();
      }
    },
  };
}

/** A message held in memory as an {@link AppendItem}. */
export function bytesItem(bytes: Uint8Array, flags: string[], internalDate: Date): AppendItem {
  return { body: literal(bytes), flags, internalDate };
}

function itemParts(item: AppendItem): CommandPart[] {
  return [` ${flagList(item.flags)} "${imapDate(item.internalDate)}" `, item.body];
}
