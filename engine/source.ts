/**
 * Reading production, read-only: STATUS, EXAMINE, UID lists, flags, BODY.PEEK fetches.
 * Nothing here sends STORE, EXPUNGE, APPEND or SELECT to the source.
 * @module
 */
import type { ImapFlow } from "imapflow";
import { parseMessageId } from "./mime.ts";

/** A folder's change-detection values, from STATUS. */
export interface FolderStatus {
  uidValidity: number;
  uidNext: number;
  messages: number;
  /** Present only when the server has CONDSTORE. */
  highestModseq?: string;
}

/** Metadata of one message, enough to record and to find it again. */
export interface MessageMeta {
  uid: number;
  size: number;
  internalDate: Date;
  messageId: string | null;
  flags: string[];
}

/** STATUS of a folder, or null when the folder does not exist. */
export async function folderStatus(client: ImapFlow, folder: string): Promise<FolderStatus | null> {
  const condstore = client.capabilities.has("CONDSTORE") || client.capabilities.has("QRESYNC");
  let st;
  try {
    st = await client.status(folder, {
      uidValidity: true,
      uidNext: true,
      messages: true,
      highestModseq: condstore,
    });
  } catch (e) {
    if (
      /NONEXISTENT|doesn't exist|does not exist|not found/i.test(String(
        (e as { responseText?: string }).responseText ?? (e as Error).message,
      ))
    ) return null;
    throw e;
  }
  if (!st) return null;
  return {
    uidValidity: Number(st.uidValidity ?? 0),
    uidNext: st.uidNext ?? 0,
    messages: st.messages ?? 0,
    highestModseq: st.highestModseq !== undefined ? String(st.highestModseq) : undefined,
  };
}

/**
 * STATUS of several folders: one STATUS each for one or two folders; from three on, one
 * LIST-STATUS (RFC 5819) where the server has it (imapflow follows it with an LSUB, so it
 * only pays from three folders). A folder that does not exist maps to null.
 */
export async function folderStatuses(
  client: ImapFlow,
  folders: string[],
): Promise<Map<string, FolderStatus | null>> {
  const out = new Map<string, FolderStatus | null>();
  if (folders.length < 3 || !client.capabilities.has("LIST-STATUS")) {
    for (const f of folders) out.set(f, await folderStatus(client, f));
    return out;
  }
  const condstore = client.capabilities.has("CONDSTORE") || client.capabilities.has("QRESYNC");
  // Not listOnly: imapflow attaches the inline STATUS data only on a full list (the RETURN
  // options still make it one round trip).
  const listed = await client.list({
    statusQuery: { uidValidity: true, uidNext: true, messages: true, highestModseq: condstore },
  });
  const byPath = new Map(
    listed.map((l) => [l.path.toUpperCase() === "INBOX" ? "INBOX" : l.path, l]),
  );
  for (const f of folders) {
    const l = byPath.get(f.toUpperCase() === "INBOX" ? "INBOX" : f);
    const st = l?.status;
    if (!l || !st || l.flags.has("\\Noselect") || l.flags.has("\\NonExistent")) {
      out.set(f, l && !st ? await folderStatus(client, f) : null);
      continue;
    }
    out.set(f, {
      uidValidity: Number(st.uidValidity ?? 0),
      uidNext: st.uidNext ?? 0,
      messages: st.messages ?? 0,
      highestModseq: st.highestModseq !== undefined ? String(st.highestModseq) : undefined,
    });
  }
  return out;
}

/** Opens a folder read-only (EXAMINE), so not even \Recent changes on production. */
export async function examine(client: ImapFlow, folder: string): Promise<void> {
  await client.mailboxOpen(folder, { readOnly: true });
}

/** Every UID of the examined folder. */
export async function listUids(client: ImapFlow): Promise<number[]> {
  if (!client.mailbox || client.mailbox.exists === 0) return [];
  const uids = await client.search({ all: true }, { uid: true });
  return (uids || []).sort((a, b) => a - b);
}

/** Flags of the examined folder's messages; with `changedSince`, only those changed since. */
export async function listFlags(
  client: ImapFlow,
  opts: { changedSince?: string } = {},
): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  if (!client.mailbox || client.mailbox.exists === 0) return out;
  const options = opts.changedSince !== undefined
    ? { uid: true, changedSince: BigInt(opts.changedSince) }
    : { uid: true };
  for await (const m of client.fetch("1:*", { uid: true, flags: true }, options)) {
    out.set(m.uid, [...(m.flags ?? [])]);
  }
  return out;
}

/** Size, date, Message-ID and flags of the given UIDs (collected before any other command). */
export async function fetchMeta(client: ImapFlow, uids: number[]): Promise<MessageMeta[]> {
  return await fetchMetaWith(client, uids, { headers: [], read: () => ({}) });
}

/** Header fields to fetch besides the Message-ID, and what to make of them. */
export interface ExtraHeaders<T> {
  /** Field names, e.g. `["x-vmirror-placeholder"]`. */
  headers: string[];
  /** Reads the extra values from the fetched header block (which holds Message-ID too). */
  read: (headers: Uint8Array | undefined) => T;
}

/** {@link fetchMeta}, plus what `extra` reads from more header fields of each message. */
export async function fetchMetaWith<T>(
  client: ImapFlow,
  uids: number[],
  extra: ExtraHeaders<T>,
): Promise<(MessageMeta & T)[]> {
  const out: (MessageMeta & T)[] = [];
  for (let i = 0; i < uids.length; i += 500) {
    const range = uids.slice(i, i + 500).join(",");
    const query = {
      uid: true,
      flags: true,
      size: true,
      internalDate: true,
      headers: ["message-id", ...extra.headers],
    };
    // Collected first: imapflow runs one command at a time, so nothing else may be sent here.
    for await (const m of client.fetch(range, query, { uid: true })) {
      out.push({
        uid: m.uid,
        size: m.size ?? 0,
        internalDate: new Date(m.internalDate ?? 0),
        messageId: parseMessageId(m.headers),
        flags: [...(m.flags ?? [])],
        ...extra.read(m.headers),
      });
    }
  }
  return out.sort((a, b) => a.uid - b.uid);
}

/** Full sources of several messages in one FETCH (BODY.PEEK[]), collected before returning. */
export async function fetchSources(
  client: ImapFlow,
  uids: number[],
): Promise<Map<number, Uint8Array>> {
  const out = new Map<number, Uint8Array>();
  if (!uids.length) return out;
  for await (const m of client.fetch(uids.join(","), { uid: true, source: true }, { uid: true })) {
    if (m.source) {
      out.set(m.uid, new Uint8Array(m.source.buffer, m.source.byteOffset, m.source.byteLength));
    }
  }
  return out;
}

/** The full RFC 822 source of one message, fetched with BODY.PEEK[] (leaves \Seen alone). */
export async function fetchSource(client: ImapFlow, uid: number): Promise<Uint8Array | null> {
  const m = await client.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
  if (!m || !m.source) return null;
  return new Uint8Array(m.source.buffer, m.source.byteOffset, m.source.byteLength);
}

/**
 * Copies one message's source into a file in chunks of BODY.PEEK[]<offset.length>, so a
 * message of any size costs one chunk of memory. Returns the bytes written.
 */
export async function spoolSource(
  client: ImapFlow,
  uid: number,
  path: string,
  chunkBytes = 1024 * 1024,
): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  let offset = 0;
  try {
    for (;;) {
      const m = await client.fetchOne(
        String(uid),
        { uid: true, source: { start: offset, maxLength: chunkBytes } },
        { uid: true },
      );
      if (!m) throw new Error(`UID ${uid} vanished while it was read`);
      const chunk = m.source ?? new Uint8Array(0);
      let off = 0;
      while (off < chunk.length) off += await file.write(chunk.subarray(off));
      offset += chunk.length;
      if (chunk.length < chunkBytes) break;
    }
    await file.sync();
  } finally {
    file.close();
  }
  return offset;
}
