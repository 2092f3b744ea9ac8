/**
 * Kept on imapflow: restore and the portal open one connection per request (the lean login saves
 * nothing measurable there) and fetch extra header fields the lean session does not carry.
 *
 * Reading a mailbox read-only through imapflow (STATUS, EXAMINE, UID lists, Message-IDs,
 * BODY.PEEK fetches), for restore and the portal; the mirror pass reads production through its
 * own session (session.ts). Also the shapes both share. Nothing here sends STORE, EXPUNGE,
 * APPEND or SELECT.
 * @module
 */
import type { ImapFlow } from "imapflow";
import { parseMessageId } from "../mime/mod.ts";
import { flowFolder } from "./folder_names.ts";

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

/**
 * STATUS of a (configured) folder, or null when the folder does not exist. Folder names here
 * are as configured and mapped to the server's namespace (folder_names.ts: Cyrus's
 * "INBOX.Greetings" for "Greetings").
 */
export async function folderStatus(client: ImapFlow, folder: string): Promise<FolderStatus | null> {
  const condstore = client.capabilities.has("CONDSTORE") || client.capabilities.has("QRESYNC");
  let st;
  try {
    st = await client.status(flowFolder(client, folder), {
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

/** Opens a (configured) folder read-only (EXAMINE), so not even \Recent changes on production. */
export async function examine(client: ImapFlow, folder: string): Promise<void> {
  await client.mailboxOpen(flowFolder(client, folder), { readOnly: true });
}

/** Every UID of the examined folder. */
export async function listUids(client: ImapFlow): Promise<number[]> {
  if (!client.mailbox || client.mailbox.exists === 0) return [];
  const uids = await client.search({ all: true }, { uid: true });
  return (uids || []).sort((a, b) => a - b);
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

/** The full RFC 822 source of one message, fetched with BODY.PEEK[] (leaves \Seen alone). */
export async function fetchSource(client: ImapFlow, uid: number): Promise<Uint8Array | null> {
  const m = await client.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
  if (!m || !m.source) return null;
  return new Uint8Array(m.source.buffer, m.source.byteOffset, m.source.byteLength);
}
