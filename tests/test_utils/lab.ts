/**
 * Test helpers that talk to the lab's real servers directly (not through vmirror): snapshots of
 * a mailbox, wiping a mailbox, appending scratch messages.
 * @module
 */
import { ImapFlow } from "imapflow";
import { join } from "node:path";
import { addLabUser, readLab } from "../../scripts/lab.ts";
import type { LabInfo } from "../../scripts/lab/types.ts";
import { loadConfig } from "../../engine/config/mod.ts";
import type { Config, SourceConfig } from "../../engine/config/mod.ts";

/** The running lab's description. */
export function lab(): LabInfo {
  return readLab();
}

/** A master-user IMAP session on one side of the lab, impersonating `mailbox`. */
export async function labImap(side: "prod" | "backup", mailbox: string): Promise<ImapFlow> {
  const l = lab();
  const client = new ImapFlow({
    host: "127.0.0.1",
    port: l.imap[side].port,
    secure: false,
    doSTARTTLS: false,
    auth: {
      user: l.trusted.user,
      pass: l.trusted.password,
      authzid: mailbox,
      loginMethod: "AUTH=PLAIN",
    },
    logger: false,
    disableCompression: true,
    disableAutoIdle: true,
  });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** One message as a test compares it. */
export interface SnapMessage {
  uid: number;
  flags: string[];
  internalDate: number;
  size: number;
  messageId: string | null;
  bytes: Uint8Array;
}

/** Folder → messages, plus HIGHESTMODSEQ (which proves nothing was stored). */
export interface Snapshot {
  folders: Record<
    string,
    { uidValidity: number; highestModseq: string | null; messages: SnapMessage[] }
  >;
}

/** Reads every message of the given folders (read-only: EXAMINE + BODY.PEEK). */
export async function snapshot(
  side: "prod" | "backup",
  mailbox: string,
  folders: string[],
): Promise<Snapshot> {
  return await withImap(side, mailbox, (client) => snapshotOf(client, folders));
}

/**
 * Reads every message of the given folders through an open client, keyed by the names given;
 * `serverName` maps a name to the server's own (Cyrus: `Greetings` → `INBOX.Greetings`).
 */
export async function snapshotOf(
  client: ImapFlow,
  folders: string[],
  serverName: (name: string) => string = (n) => n,
): Promise<Snapshot> {
  const out: Snapshot = { folders: {} };
  const existing = new Set((await client.list()).map((f) => f.path));
  for (const name of folders) {
    const folder = serverName(name);
    if (!existing.has(folder)) continue;
    const box = await client.mailboxOpen(folder, { readOnly: true });
    const messages: SnapMessage[] = [];
    if (box.exists > 0) {
      const q = { uid: true, flags: true, internalDate: true, size: true, source: true };
      for await (const m of client.fetch("1:*", q)) {
        const bytes = new Uint8Array(m.source!);
        messages.push({
          uid: m.uid,
          flags: [...(m.flags ?? [])].filter((f) => f !== "\\Recent").sort(),
          internalDate: new Date(m.internalDate!).getTime(),
          size: m.size!,
          messageId: messageIdOf(bytes),
          bytes,
        });
      }
    }
    out.folders[name] = {
      uidValidity: Number(box.uidValidity),
      highestModseq: box.highestModseq !== undefined ? String(box.highestModseq) : null,
      messages,
    };
  }
  return out;
}

/** The Message-ID header of raw bytes. */
export function messageIdOf(bytes: Uint8Array): string | null {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 16384));
  const m = /^message-id:[ \t]*(<[^>\r\n]+>)/im.exec(head);
  return m ? m[1] : null;
}

/** Empties a mailbox on one side: every message of every folder, and folders but INBOX. */
export async function wipeMailbox(side: "prod" | "backup", mailbox: string): Promise<void> {
  await withImap(side, mailbox, async (client) => {
    for (const f of await client.list()) {
      if (f.path.toUpperCase() === "INBOX") {
        const box = await client.mailboxOpen("INBOX");
        if (box.exists > 0) await client.messageDelete("1:*");
      } else {
        await client.mailboxDelete(f.path);
      }
    }
  });
}

/** Appends raw messages to a folder (creating it); returns the UIDs. */
export async function appendRaw(
  side: "prod" | "backup",
  mailbox: string,
  folder: string,
  messages: { bytes: Uint8Array; flags?: string[]; date?: Date }[],
): Promise<number[]> {
  return await withImap(side, mailbox, async (client) => {
    const uids: number[] = [];
    if (folder.toUpperCase() !== "INBOX") {
      const existing = new Set((await client.list()).map((f) => f.path));
      if (!existing.has(folder)) await client.mailboxCreate(folder);
    }
    for (const m of messages) {
      const res = await client.append(folder, m.bytes, m.flags ?? [], m.date ?? new Date());
      if (res && res.uid) uids.push(res.uid);
    }
    return uids;
  });
}

/** Runs `fn` with a session on one side (for flag changes and deletions made by "users"). */
export async function withImap<T>(
  side: "prod" | "backup",
  mailbox: string,
  fn: (c: ImapFlow) => Promise<T>,
): Promise<T> {
  return await withClient(await labImap(side, mailbox), fn);
}

/** Runs `fn` with an open client, then logs out and closes it, whatever `fn` did. */
export async function withClient<T>(
  client: ImapFlow,
  fn: (c: ImapFlow) => Promise<T>,
): Promise<T> {
  try {
    return await fn(client);
  } finally {
    await client.logout().catch(() => {});
    client.close();
  }
}

/** The lab's vmirror config (IMAP target) with a scratch data dir and optional overrides. */
export async function labConfig(
  dataDir: string,
  patch: (raw: Record<string, unknown>) => void = () => {},
  which: "imap" | "files" = "imap",
): Promise<Config & { source: SourceConfig }> {
  const l = lab();
  const raw = JSON.parse(await Deno.readTextFile(l.configs[which]));
  patch(raw);
  const file = join(dataDir, "vmirror.json");
  await Deno.mkdir(dataDir, { recursive: true });
  await Deno.writeTextFile(file, JSON.stringify(raw, null, 2));
  return await loadConfig({ file, dataDir }) as Config & { source: SourceConfig };
}

/** Copies of a seeded message with fresh Message-IDs (for scratch mailboxes of any size). */
export function variant(bytes: Uint8Array, n: number): Uint8Array {
  const text = new TextDecoder("latin1").decode(bytes);
  const replaced = text.replace(
    /^(message-id:[ \t]*<)([^>\r\n]+)>/im,
    (_m, a, id) => `${a}v${n}.${id}>`,
  );
  return Uint8Array.from(replaced, (c) => c.charCodeAt(0));
}

/** A scratch mailbox of the tests' own (not a seeded subscriber), empty on both sides. */
export async function scratchMailbox(mailbox: string): Promise<string> {
  for (const side of ["prod", "backup"] as const) {
    await addLabUser(side, mailbox, "246810");
    await wipeMailbox(side, mailbox);
  }
  return mailbox;
}

/**
 * Empties a scratch mailbox and fills one folder on production with `count` variants of a seeded
 * mailbox's voicemail (fresh Message-IDs, dates a minute apart); returns their UIDs.
 */
export async function fillScratch(
  mailbox: string,
  count: number,
  folder = "INBOX",
): Promise<number[]> {
  await scratchMailbox(mailbox);
  const seeded = await snapshot("prod", "4002", ["INBOX"]);
  const marker = lab().broadcast;
  const broadcast = new RegExp(`^${marker.header}:\\s*${marker.value}\\s*$`, "im");
  const pool = seeded.folders.INBOX.messages.filter((m) =>
    !broadcast.test(new TextDecoder("latin1").decode(m.bytes.subarray(0, 8192)))
  );
  return await appendRaw(
    "prod",
    mailbox,
    folder,
    Array.from({ length: count }, (_, i) => {
      const src = pool[i % pool.length];
      return {
        bytes: variant(src.bytes, i + 1),
        flags: src.flags,
        date: new Date(src.internalDate - i * 60_000),
      };
    }),
  );
}
