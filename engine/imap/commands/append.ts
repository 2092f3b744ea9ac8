/**
 * APPEND to the backup: one message (from memory, or streamed from a spool file), or a batch
 * in one MULTIAPPEND (RFC 3502), with flags and INTERNALDATE; the UIDs from APPENDUID
 * (UIDPLUS) when the server gives them.
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

/** Appends one message. */
export async function append(
  runner: Runner,
  folder: string,
  item: AppendItem,
): Promise<AppendResult> {
  const done = await runner.run([`APPEND ${mailboxArg(folder)}`, ...itemParts(item)]);
  expectOk("APPEND", done);
  const res = appendUid(done);
  return res?.uids.length === 1
    ? { uidValidity: res.uidValidity, uid: res.uids[0] }
    : { uidValidity: null, uid: null };
}

/**
 * Appends several messages in one MULTIAPPEND: all or none, one round trip. Returns the
 * UIDVALIDITY and the UIDs in order (from APPENDUID), or nulls without UIDPLUS.
 */
export async function appendMany(
  runner: Runner,
  folder: string,
  items: AppendItem[],
): Promise<{ uidValidity: number | null; uids: (number | null)[] }> {
  const done = await runner.run([`APPEND ${mailboxArg(folder)}`, ...items.flatMap(itemParts)]);
  expectOk("APPEND", done);
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
