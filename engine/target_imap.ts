/**
 * The backup MSS as a mirror target, over IMAP as the trusted server: one lean session per
 * mailbox (engine/imap_session.ts) that selects, creates, lists, appends (MULTIAPPEND for a
 * batch, streamed from a file for a large message), stores flags and expunges.
 * @module
 */
import type { ImapTargetConfig } from "./config.ts";
import { ImapError } from "./imap.ts";
import { ImapSession } from "./imap_session.ts";
import { permanentFlagsFilter } from "./plan.ts";
import { type MirrorTarget, sameIdentity, type TargetFolder } from "./target.ts";

/** Connects to the backup mailbox; folders are opened (and created) on demand. */
export async function openImapTarget(
  config: ImapTargetConfig,
  mailbox: string,
): Promise<MirrorTarget> {
  const session = await ImapSession.open(config, mailbox);
  const fail = (op: string, e: unknown) => new ImapError(config.name, mailbox, op, e);
  return {
    name: config.name,
    placeholders: true,
    openFolder: async (folder) => {
      let box;
      try {
        box = await session.select(folder);
        if (!box) {
          await session.create(folder);
          box = await session.select(folder);
        }
      } catch (e) {
        throw fail(`open "${folder}"`, e);
      }
      if (!box) throw fail(`open "${folder}"`, new Error("the server refused to SELECT it"));
      return imapFolder(session, folder, box.uidValidity, box.permanentFlags, fail);
    },
    close: async () => {
      await session.logout();
    },
  };
}

function imapFolder(
  session: ImapSession,
  folder: string,
  uidValidity: number,
  permanentFlags: Set<string> | undefined,
  fail: (op: string, e: unknown) => Error,
): TargetFolder {
  const uidplus = session.has("UIDPLUS");
  const guard = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw e instanceof ImapError ? e : fail(op, e);
    }
  };
  // An APPENDUID under another UIDVALIDITY means the folder was rebuilt under our feet.
  const checkValidity = (v: number | null) => {
    if (v !== null && v !== uidValidity) {
      throw fail(`append to "${folder}"`, new Error("UIDVALIDITY changed during the pass"));
    }
  };
  const folderInfo: TargetFolder = {
    uidValidity,
    allowFlag: permanentFlagsFilter(permanentFlags),
    listUids: async () => {
      // A folder SELECT found empty and nothing appended since needs no SEARCH.
      if (session.exists === 0) return new Set();
      return new Set(await guard(`list "${folder}"`, () => session.uidSearch("ALL")));
    },
    append: async (bytes, flags, internalDate) => {
      const res = await guard(
        `append to "${folder}"`,
        () => session.append(folder, bytes, flags, internalDate),
      );
      checkValidity(res.uidValidity);
      return uidplus ? res.uid : null;
    },
    appendMany: session.has("MULTIAPPEND")
      ? async (items) => {
        const res = await guard(
          `append ${items.length} message(s) to "${folder}"`,
          () => session.appendMany(folder, items),
        );
        checkValidity(res.uidValidity);
        return uidplus ? res.uids : items.map(() => null);
      }
      : undefined,
    appendFile: async (path, size, flags, internalDate) => {
      const res = await guard(
        `append (streamed) to "${folder}"`,
        () => session.appendFile(folder, path, size, flags, internalDate),
      );
      checkValidity(res.uidValidity);
      return uidplus ? res.uid : null;
    },
    find: async (identity) => {
      const candidates = identity.messageId
        ? await guard(`search "${folder}"`, async () => {
          const uids = await session.searchMessageId(identity.messageId!);
          return uids.length ? await session.fetchIdentities(uids) : [];
        })
        : await folderInfo.listAll();
      const hit = candidates.find((m) => sameIdentity(m, identity));
      return hit ? hit.uid : null;
    },
    listAll: async () => {
      const uids = [...await folderInfo.listUids()];
      if (!uids.length) return [];
      return await guard(`read "${folder}"`, () => session.fetchIdentities(uids));
    },
    setFlags: async (uid, flags) => {
      await guard(`set flags in "${folder}"`, () => session.setFlags([uid], flags));
    },
    remove: async (uids) => {
      if (!uids.length) return;
      if (uidplus) {
        // UID EXPUNGE takes only the listed UIDs that are marked \Deleted: mark them first.
        await guard(`delete from "${folder}"`, async () => {
          await session.addFlags(uids, ["\\Deleted"]);
          await session.uidExpunge(uids);
        });
        return;
      }
      // Plain EXPUNGE would also take other \Deleted messages: only expunge when ours are
      // the only ones marked; otherwise they stay marked and the next pass tries again, while
      // this pass goes on with its copies and flags.
      return await guard(`delete from "${folder}"`, async () => {
        await session.addFlags(uids, ["\\Deleted"]);
        const ours = new Set(uids);
        const others = (await session.uidSearch("DELETED")).filter((u) => !ours.has(u));
        if (others.length) {
          return {
            deferred: `"${folder}": ${uids.length} deletion(s) wait: the backup has no UIDPLUS ` +
              `and ${others.length} other message(s) are marked \\Deleted there`,
          };
        }
        await session.expunge();
      });
    },
  };
  return folderInfo;
}
