/**
 * The backup MSS as a mirror target, over IMAP as the trusted server.
 * @module
 */
import type { ImapFlow } from "imapflow";
import type { ImapTargetConfig } from "./config.ts";
import { connectAs, disconnect, ImapError } from "./imap.ts";
import { StreamingAppender } from "./imap_append.ts";
import { permanentFlagsFilter } from "./plan.ts";
import { fetchMeta } from "./source.ts";
import {
  type MirrorTarget,
  sameIdentity,
  type TargetFolder,
  type TargetMessage,
} from "./target.ts";

/** Connects to the backup mailbox; folders are opened (and created) on demand. */
export async function openImapTarget(
  config: ImapTargetConfig,
  mailbox: string,
): Promise<MirrorTarget> {
  const client = await connectAs(config, mailbox);
  const fail = (op: string, e: unknown, detail?: string) =>
    new ImapError(config.name, mailbox, op, e, detail);
  // Opened only when a message is large enough to be streamed.
  let appender: StreamingAppender | null = null;
  const streamer = async () => (appender ??= await StreamingAppender.open(config, mailbox));
  return {
    name: config.name,
    placeholders: true,
    openFolder: async (folder) => {
      let box;
      try {
        box = await client.mailboxOpen(folder);
      } catch (e) {
        if (!/NONEXISTENT|doesn't exist|does not exist|not found/i.test(errText(e))) {
          throw fail(`select "${folder}"`, e);
        }
        try {
          await client.mailboxCreate(folder);
          box = await client.mailboxOpen(folder);
        } catch (e2) {
          throw fail(`create "${folder}"`, e2);
        }
      }
      return imapFolder(client, folder, box.uidValidity, box.permanentFlags, fail, streamer);
    },
    close: async () => {
      await appender?.logout();
      await disconnect(client);
    },
  };
}

function errText(e: unknown): string {
  const x = e as { responseText?: string; message?: string; serverResponseCode?: string };
  return `${x.serverResponseCode ?? ""} ${x.responseText ?? ""} ${x.message ?? ""}`;
}

function imapFolder(
  client: ImapFlow,
  folder: string,
  uidValidity: bigint,
  permanentFlags: Set<string> | undefined,
  fail: (op: string, e: unknown, detail?: string) => Error,
  streamer: () => Promise<StreamingAppender>,
): TargetFolder {
  const uidplus = client.capabilities.has("UIDPLUS");
  const folderInfo: TargetFolder = {
    uidValidity: Number(uidValidity),
    allowFlag: permanentFlagsFilter(permanentFlags),
    listUids: async () => {
      if (!client.mailbox || client.mailbox.exists === 0) return new Set();
      try {
        return new Set(await client.search({ all: true }, { uid: true }) || []);
      } catch (e) {
        throw fail(`list "${folder}"`, e);
      }
    },
    append: async (bytes, flags, internalDate) => {
      let res;
      try {
        res = await client.append(folder, bytes, flags, internalDate);
      } catch (e) {
        throw fail(`append to "${folder}"`, e);
      }
      if (!res) throw fail(`append to "${folder}"`, new Error("the server refused the APPEND"));
      if (res.uidValidity !== undefined && Number(res.uidValidity) !== Number(uidValidity)) {
        throw fail(`append to "${folder}"`, new Error("UIDVALIDITY changed during the pass"));
      }
      return uidplus && res.uid ? res.uid : null;
    },
    appendMany: client.capabilities.has("MULTIAPPEND")
      ? async (items) => {
        let res;
        try {
          res = await (await streamer()).appendMany(folder, items);
        } catch (e) {
          if (e instanceof ImapError) throw e;
          throw fail(`append ${items.length} message(s) to "${folder}"`, e);
        }
        if (res.uidValidity !== null && res.uidValidity !== Number(uidValidity)) {
          throw fail(`append to "${folder}"`, new Error("UIDVALIDITY changed during the pass"));
        }
        return uidplus ? res.uids : items.map(() => null);
      }
      : undefined,
    appendFile: async (path, size, flags, internalDate) => {
      let res;
      try {
        res = await (await streamer()).appendFile(folder, path, size, flags, internalDate);
      } catch (e) {
        if (e instanceof ImapError) throw e;
        throw fail(`append (streamed) to "${folder}"`, e);
      }
      if (res.uidValidity !== null && res.uidValidity !== Number(uidValidity)) {
        throw fail(`append to "${folder}"`, new Error("UIDVALIDITY changed during the pass"));
      }
      return uidplus ? res.uid : null;
    },
    find: async (identity) => {
      const all = identity.messageId
        ? await searchByMessageId(client, identity.messageId)
        : await folderInfo.listAll();
      const hit = all.find((m) => sameIdentity(m, identity));
      return hit ? hit.uid : null;
    },
    listAll: async () => {
      const uids = [...await folderInfo.listUids()];
      return (await fetchMeta(client, uids)).map((m): TargetMessage => ({
        uid: m.uid,
        size: m.size,
        internalDate: m.internalDate,
        messageId: m.messageId,
      }));
    },
    setFlags: async (uid, flags) => {
      let ok;
      try {
        ok = await client.messageFlagsSet(String(uid), flags, { uid: true });
      } catch (e) {
        throw fail(`set flags in "${folder}"`, e);
      }
      if (!ok) throw fail(`set flags in "${folder}"`, new Error("the server refused the STORE"));
    },
    remove: async (uids) => {
      if (!uids.length) return;
      const range = uids.join(",");
      if (!uidplus) {
        // Plain EXPUNGE would also take other \Deleted messages: only expunge when ours are
        // the only ones marked; otherwise they stay marked and the next pass tries again.
        await client.messageFlagsAdd(range, ["\\Deleted"], { uid: true });
        const marked = await client.search({ deleted: true }, { uid: true }) || [];
        const ours = new Set(uids);
        if (marked.some((u) => !ours.has(u))) {
          throw fail(
            `delete from "${folder}"`,
            new Error("no UIDPLUS and other messages are marked \\Deleted"),
          );
        }
      }
      let ok;
      try {
        ok = await client.messageDelete(range, { uid: true });
      } catch (e) {
        throw fail(`delete from "${folder}"`, e);
      }
      if (!ok) throw fail(`delete from "${folder}"`, new Error("the server refused UID EXPUNGE"));
    },
  };
  return folderInfo;
}

async function searchByMessageId(client: ImapFlow, messageId: string): Promise<TargetMessage[]> {
  const uids = await client.search({ header: { "message-id": messageId } }, { uid: true }) || [];
  if (!uids.length) return [];
  return (await fetchMeta(client, uids)).map((m) => ({
    uid: m.uid,
    size: m.size,
    internalDate: m.internalDate,
    messageId: m.messageId,
  }));
}
