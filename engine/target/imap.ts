/**
 * The backup MSS as a mirror target, over IMAP as the trusted server: one lean session per
 * mailbox (engine/imap/session.ts) that selects, creates, lists, appends (MULTIAPPEND for a
 * batch, streamed from a file for a large message), stores flags and expunges.
 * @module
 */
import type { ImapTargetConfig } from "../config/mod.ts";
import { ImapError } from "../imap/mod.ts";
import { ImapSession } from "../imap/mod.ts";
import { permanentFlagsFilter } from "./flags.ts";
import {
  type MirrorTarget,
  pickCandidate,
  sameIdentity,
  sha256Hex,
  sha256Stream,
  type TargetFolder,
} from "./target.ts";

// Messages up to this size are hashed from one FETCH of their bodies; larger ones are read in
// ranges, so hashing a candidate never holds a large message whole.
const WHOLE_FETCH_BYTES = 4 * 1024 * 1024;
const RANGE_BYTES = 1024 * 1024;

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
    find: async (identity, opts = {}) => {
      const candidates = identity.messageId
        ? await guard(`search "${folder}"`, async () => {
          const uids = await session.searchMessageId(identity.messageId!);
          return uids.length ? await session.fetchIdentities(uids) : [];
        })
        : await folderInfo.listAll();
      return await pickCandidate(candidates.filter((m) => sameIdentity(m, identity)), {
        ...opts,
        digests: folderInfo.digests,
      });
    },
    digests: async (uids) => {
      if (!uids.length) return new Map();
      return await guard(
        `read ${uids.length} message(s) of "${folder}" to compare them`,
        () => digestMessages(session, uids),
      );
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

/** SHA-256 of the selected folder's messages by UID; a UID gone meanwhile is absent. */
async function digestMessages(session: ImapSession, uids: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const sizes = await session.fetchIdentities(uids);
  let group: number[] = [];
  let groupBytes = 0;
  const flushGroup = async () => {
    if (!group.length) return;
    for (const [uid, bytes] of await session.fetchBodies(group)) out.set(uid, sha256Hex(bytes));
    group = [];
    groupBytes = 0;
  };
  for (const m of sizes) {
    if (m.size > WHOLE_FETCH_BYTES) {
      const hex = await digestInRanges(session, m.uid);
      if (hex !== null) out.set(m.uid, hex);
      continue;
    }
    if (groupBytes + m.size > WHOLE_FETCH_BYTES) await flushGroup();
    group.push(m.uid);
    groupBytes += m.size;
  }
  await flushGroup();
  return out;
}

async function digestInRanges(session: ImapSession, uid: number): Promise<string | null> {
  const hash = sha256Stream();
  for (let offset = 0;; offset += RANGE_BYTES) {
    const chunk = await session.fetchRange(uid, offset, RANGE_BYTES);
    if (!chunk) return null;
    hash.update(chunk);
    if (chunk.length < RANGE_BYTES) return hash.digest("hex");
  }
}
