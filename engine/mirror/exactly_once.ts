/**
 * Exactly once when the target answers late or not at all. An open intent (a copy whose
 * outcome is unknown: a crash, a cut connection, a timeout) is resolved before anything is
 * appended again: a target message is taken for it only if its identity matches, its bytes hash
 * to the intent's SHA-256, and neither the map nor another intent holds it. An intent not found
 * becomes an uncertain copy, since its bytes may still land (an answer lost, a server that
 * stores it late); the message is then copied again under a fresh intent. When a target
 * message unknown to the map later matches an uncertain copy exactly, it is the mirror's own
 * late landing: removed when the map already holds another copy of that message, recorded as
 * the copy otherwise. Nothing else on the target is ever touched here.
 * @module
 */
import { ImapError } from "../imap/mod.ts";
import type { ImapSession } from "../imap/mod.ts";
import {
  clearUncertainCopy,
  hasUncertainCopiesSince,
  type Intent,
  listIntents,
  listMap,
  listUncertainCopies,
  type MailboxResult,
  type MapEntry,
  markIntentUncertain,
  recordCopy,
  type State,
} from "../state/mod.ts";
import {
  type MessageIdentity,
  pickCandidate,
  sameIdentity,
  sha256Hex,
  sha256Stream,
  type TargetFolder,
  type TargetMessage,
} from "../target/mod.ts";

/** One folder being resolved: where, on which target, counted into which result. */
export interface ResolveJob {
  state: State;
  mailbox: string;
  folder: string;
  /** The source folder's UIDVALIDITY (the map's key). */
  uidValidity: number;
  tf: TargetFolder;
  result: MailboxResult;
}

// Above this many intents, one listing of the folder beats a search per intent.
const LIST_ABOVE_INTENTS = 3;
const WHOLE_FETCH_BYTES = 4 * 1024 * 1024;
const RANGE_BYTES = 1024 * 1024;
// Bytes held up in the network (a proxy, a slow server) reach the target within minutes.
const LATE_LANDING_WINDOW_MS = 60 * 60_000;

/**
 * Resolves the folder's open intents, then deals with late landings of uncertain copies.
 * Runs before the folder is planned, so the plan sees every copy that reached the target.
 */
export async function resolveOpenIntents(job: ResolveJob): Promise<void> {
  const { state, mailbox, folder, uidValidity, tf } = job;
  const intents = await listIntents(state, { mailbox, folder, uidValidity });
  if (intents.length) {
    const map = await listMap(state, { mailbox, folder, uidValidity });
    const taken = new Set(mappedTargetUids(map));
    const all = intents.length > LIST_ABOVE_INTENTS ? await tf.listAll() : null;
    // One FETCH for every candidate's bytes instead of one per intent.
    const digests = memoDigests(tf);
    const wanted = intents.map(identity);
    if (all) {
      await digests(
        all.filter((m) => !taken.has(m.uid) && wanted.some((w) => sameIdentity(m, w)))
          .map((m) => m.uid),
      );
    }
    for (const [k, intent] of intents.entries()) {
      const opts = { digest: intent.digest, exclude: taken };
      const uid = all
        ? await pickCandidate(all.filter((m) => sameIdentity(m, wanted[k])), { ...opts, digests })
        : await tf.find(wanted[k], opts);
      if (uid === null) {
        await markIntentUncertain(state, { mailbox, folder, uidValidity }, intent);
        continue;
      }
      taken.add(uid);
      // The APPEND landed: record it instead of copying again. Flags are re-checked by the
      // planner on this pass, since the entry claims none.
      await recordCopy(state, { mailbox, folder, uidValidity }, entryFor(intent, uid, tf));
    }
  }
  await settleLateLandings(job);
}

/**
 * Target messages unknown to the map that are provably the mirror's own late landings: the
 * identity and the SHA-256 of an uncertain copy. One whose message the map holds elsewhere is
 * removed (exactly that UID); one whose message the map lacks becomes its recorded copy.
 */
async function settleLateLandings(job: ResolveJob): Promise<void> {
  const { state, mailbox, folder, uidValidity, tf, result } = job;
  const uncertain = (await listUncertainCopies(state, { mailbox, folder, uidValidity }))
    .filter((u) => u.digest !== undefined);
  if (!uncertain.length) return;
  const map = await listMap(state, { mailbox, folder, uidValidity });
  const mapped = new Set(mappedTargetUids(map));
  const unknown = [...await tf.listUids()].filter((uid) => !mapped.has(uid));
  if (!unknown.length) return;
  const wanted = new Set(unknown);
  const strangers = (await tf.listAll()).filter((m) =>
    wanted.has(m.uid) && uncertain.some((u) => sameIdentity(m, identity(u)))
  );
  if (!strangers.length) return;
  const hashes = await tf.digests(strangers.map((m) => m.uid));
  const bySrc = new Map(map.map((e) => [e.srcUid, e]));
  const late: number[] = [];
  const used = new Set<(typeof uncertain)[number]>();
  for (const m of strangers) {
    const u = uncertain.find((u) =>
      !used.has(u) && sameIdentity(m, identity(u)) && hashes.get(m.uid) === u.digest
    );
    if (!u) continue;
    used.add(u);
    const entry = bySrc.get(u.srcUid);
    if (!entry) {
      // The message has no copy on record: this landing is it.
      await recordCopy(state, { mailbox, folder, uidValidity }, entryFor(u, m.uid, tf));
      bySrc.set(u.srcUid, entryFor(u, m.uid, tf));
    } else {
      late.push(m.uid);
    }
  }
  if (late.length) {
    const removed = await tf.remove(late);
    if (removed && "deferred" in removed) {
      result.warnings.push(removed.deferred);
      return;
    }
    result.warnings.push(
      `"${folder}": removed ${late.length} late-arriving duplicate(s) of the mirror's own ` +
        `copies (an APPEND answered after the copy was written again)`,
    );
  }
  for (const u of used) await clearUncertainCopy(state, { mailbox, folder, uidValidity }, u);
}

/**
 * Whether any of the folders still waits for late landings (an uncertain copy of the last
 * hour): such a folder is reconciled even when production has not changed, so a late landing
 * is removed within a pass or two instead of whenever the mailbox next changes.
 */
export async function awaitingLateLandings(
  state: State,
  mailbox: string,
  folders: string[],
): Promise<boolean> {
  const since = new Date(Date.now() - LATE_LANDING_WINDOW_MS);
  for (const folder of folders) {
    if (await hasUncertainCopiesSince(state, { mailbox, folder }, since)) return true;
  }
  return false;
}

/**
 * Whether a target message is a byte-identical copy of a source message: same identity, and
 * the same SHA-256 of the bytes on both sides. For adopting what the backup already holds.
 */
export async function sameBytes(
  source: { session: ImapSession; server: string; mailbox: string; folder: string },
  src: { uid: number; size: number },
  tf: TargetFolder,
  candidate: TargetMessage,
): Promise<boolean> {
  const target = (await tf.digests([candidate.uid])).get(candidate.uid);
  if (target === undefined) return false;
  let digest: string | null;
  try {
    digest = await sourceDigest(source.session, src.uid, src.size);
  } catch (e) {
    throw new ImapError(
      source.server,
      source.mailbox,
      `read UID ${src.uid} of "${source.folder}" to compare it`,
      e,
    );
  }
  return digest === target;
}

/** SHA-256 of a source message, read whole when small and in ranges when large. */
async function sourceDigest(
  session: ImapSession,
  uid: number,
  size: number,
): Promise<string | null> {
  if (size <= WHOLE_FETCH_BYTES) {
    const bytes = (await session.fetchBodies([uid])).get(uid);
    return bytes ? sha256Hex(bytes) : null;
  }
  const hash = sha256Stream();
  for (let offset = 0;; offset += RANGE_BYTES) {
    const chunk = await session.fetchRange(uid, offset, RANGE_BYTES);
    if (!chunk) return null;
    hash.update(chunk);
    if (chunk.length < RANGE_BYTES) return hash.digest("hex");
  }
}

function identity(i: Intent): MessageIdentity {
  return { messageId: i.messageId, internalDate: new Date(i.internalDate), size: i.size };
}

function mappedTargetUids(map: MapEntry[]): number[] {
  return map.filter((e) => e.kind !== "skipped").map((e) => e.targetUid);
}

function entryFor(intent: Intent, targetUid: number, tf: TargetFolder): MapEntry {
  return {
    srcUid: intent.srcUid,
    targetUid,
    targetUidValidity: tf.uidValidity,
    kind: intent.kind,
    messageId: intent.srcMessageId,
    internalDate: intent.internalDate,
    size: intent.srcSize,
    ...(intent.kind === "placeholder"
      ? { targetMessageId: intent.messageId, targetSize: intent.size }
      : {}),
    flags: ["(unknown)"],
    keptAs: intent.keptAs,
  };
}

function memoDigests(tf: TargetFolder): (uids: number[]) => Promise<Map<number, string>> {
  const known = new Map<number, string>();
  const asked = new Set<number>();
  return async (uids) => {
    const missing = uids.filter((u) => !asked.has(u));
    if (missing.length) {
      for (const [uid, hex] of await tf.digests(missing)) known.set(uid, hex);
      for (const u of missing) asked.add(u);
    }
    const out = new Map<number, string>();
    for (const u of uids) if (known.has(u)) out.set(u, known.get(u)!);
    return out;
  };
}
