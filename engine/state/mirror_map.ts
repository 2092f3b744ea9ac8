/**
 * The mirror's own record of each folder: the cursor of its last complete pass, the map from
 * source to target messages, the intents of copies under way and the copies whose outcome
 * stayed unknown. Exactly-once copying rests on these tables.
 * @module
 */
import { type FolderKey, type FolderRef, keys } from "./keys.ts";
import { deleteUnder, inBatches, listValues, type State, StateError } from "./kv.ts";

/** Where one folder's last complete pass left off. */
export interface Cursor {
  uidValidity: number;
  uidNext: number;
  highestModseq?: string;
  /** The target folder's UIDVALIDITY the map's target UIDs belong to (IMAP targets). */
  targetUidValidity?: number;
  syncedAt: string;
}

/** One source message and what stands for it on the target. */
export interface MapEntry {
  srcUid: number;
  /** Target UID (IMAP) or 0 where the target names it by key. */
  targetUid: number;
  /** File-store key (relative path) for file targets. */
  targetKey?: string;
  targetUidValidity?: number;
  /** "skipped" remembers a message not mirrored (e.g. broadcast) so it is not fetched again. */
  kind: "copy" | "placeholder" | "skipped";
  /** Why a message was skipped. */
  reason?: string;
  /** The source message's identity (Message-ID, INTERNALDATE, RFC822.SIZE). */
  messageId: string | null;
  internalDate: string;
  size: number;
  /** The target message's Message-ID and size where they differ (placeholders). */
  targetMessageId?: string | null;
  targetSize?: number;
  /** Flags as last written to the target, sorted. */
  flags: string[];
  /** Where the original is kept when the target holds a placeholder. */
  keptAs?: string;
}

/** A copy that started but has not been recorded; resolved by search at the next pass. */
export interface Intent {
  srcUid: number;
  /** Identity of what is being written to the target. */
  messageId: string | null;
  internalDate: string;
  size: number;
  /** Identity of the source message, for the map entry. */
  srcMessageId: string | null;
  srcSize: number;
  kind: "copy" | "placeholder";
  startedAt: string;
  /**
   * SHA-256 (hex) of the exact bytes written (a placeholder's own): a candidate on the target
   * is this copy only if its bytes hash to it. Absent in intents written by older builds.
   */
  digest?: string;
  /** Where the original is kept when a placeholder is written. */
  keptAs?: string;
}

/**
 * A copy whose APPEND outcome stayed unknown: not found on the target when its intent was
 * resolved, yet its bytes may still land there (an answer lost, a server that stored it late).
 * A target message unknown to the map that matches it is the mirror's own late landing.
 */
export interface UncertainCopy extends Intent {
  /** When the intent was found unresolved and turned into this record. */
  since: string;
}

/** The cursor of one folder, or null before its first complete pass. */
export async function getCursor(state: State, f: FolderRef): Promise<Cursor | null> {
  return (await state.kv.get<Cursor>(keys.cursor(f))).value;
}

/** Saves a folder's cursor; call only once the pass's actions are durable. */
export async function putCursor(state: State, f: FolderRef, cursor: Cursor): Promise<void> {
  await state.kv.set(keys.cursor(f), cursor);
}

/** Every map entry of a folder for one source UIDVALIDITY, ordered by source UID. */
export async function listMap(state: State, k: FolderKey): Promise<MapEntry[]> {
  return await listValues<MapEntry>(state, keys.map(k));
}

/** The source UIDVALIDITY values that have map entries for a folder. */
export async function mapUidValidities(state: State, f: FolderRef): Promise<number[]> {
  const seen = new Set<number>();
  for await (const e of state.kv.list({ prefix: keys.mapsOfFolder(f) }, { limit: 100000 })) {
    seen.add(e.key[3] as number);
  }
  return [...seen];
}

/** Records that a copy is about to be written, before a single byte goes to the target. */
export async function putIntent(state: State, k: FolderKey, intent: Intent): Promise<void> {
  await state.kv.set(keys.intent(k, intent.srcUid), intent);
}

/** Records several intents in one atomic write (a batch about to be written). */
export async function putIntents(state: State, k: FolderKey, intents: Intent[]): Promise<void> {
  await inBatches(state, intents, {
    apply: (op, it) => op.set(keys.intent(k, it.srcUid), it),
    error: `Cannot record intents in "${k.folder}" of "${k.mailbox}"`,
  });
}

/** Records finished copies and clears their intents, atomically per batch of 250. */
export async function recordCopies(
  state: State,
  k: FolderKey,
  entries: MapEntry[],
): Promise<void> {
  await inBatches(state, entries, {
    // Two mutations per entry.
    size: 250,
    apply: (op, e) => op.set(keys.mapEntry(k, e.srcUid), e).delete(keys.intent(k, e.srcUid)),
    error: `Cannot record copies in "${k.folder}" of "${k.mailbox}"`,
  });
}

/** Open intents of a folder (copies that may or may not have reached the target). */
export async function listIntents(state: State, k: FolderKey): Promise<Intent[]> {
  return await listValues<Intent>(state, keys.intents(k));
}

/** Records a finished copy and clears its intent in one atomic write. */
export async function recordCopy(state: State, k: FolderKey, entry: MapEntry): Promise<void> {
  const res = await state.kv.atomic()
    .set(keys.mapEntry(k, entry.srcUid), entry)
    .delete(keys.intent(k, entry.srcUid))
    .commit();
  if (!res.ok) throw new StateError(`Cannot record the copy of UID ${entry.srcUid}`);
}

// A late landing shows up within minutes; a week covers a backup that was down for days.
const UNCERTAIN_KEEP_MS = 7 * 86_400_000;

/**
 * Turns an unresolved intent into an uncertain copy in one atomic write, so the copy can be
 * written again under a fresh intent while a late landing of this one stays recognisable.
 */
export async function markIntentUncertain(
  state: State,
  k: FolderKey,
  intent: Intent,
): Promise<void> {
  const record: UncertainCopy = { ...intent, since: new Date().toISOString() };
  const res = await state.kv.atomic()
    .delete(keys.intent(k, intent.srcUid))
    .set(keys.uncertain(k, intent.srcUid, intent.startedAt), record, {
      expireIn: UNCERTAIN_KEEP_MS,
    })
    .commit();
  if (!res.ok) {
    throw new StateError(`Cannot record the unknown outcome of the copy of UID ${intent.srcUid}`);
  }
}

/** The uncertain copies of a folder (KV drops them a week after they were recorded). */
export async function listUncertainCopies(state: State, k: FolderKey): Promise<UncertainCopy[]> {
  return await listValues<UncertainCopy>(state, keys.uncertains(k));
}

/** Whether a folder has an uncertain copy recorded after `since` (any source UIDVALIDITY). */
export async function hasUncertainCopiesSince(
  state: State,
  f: FolderRef,
  since: Date,
): Promise<boolean> {
  for await (const e of state.kv.list<UncertainCopy>({ prefix: keys.uncertainOfFolder(f) })) {
    if (Date.parse(e.value.since) > since.getTime()) return true;
  }
  return false;
}

/** Forgets an uncertain copy (its late landing was found and dealt with). */
export async function clearUncertainCopy(
  state: State,
  k: FolderKey,
  copy: UncertainCopy,
): Promise<void> {
  await state.kv.delete(keys.uncertain(k, copy.srcUid, copy.startedAt));
}

/** Updates map entries (e.g. new flags, re-paired target UIDs) in one atomic write. */
export async function putMapEntries(
  state: State,
  k: FolderKey,
  entries: MapEntry[],
): Promise<void> {
  await inBatches(state, entries, {
    apply: (op, e) => op.set(keys.mapEntry(k, e.srcUid), e),
    error: `Cannot update the map of "${k.folder}" of "${k.mailbox}"`,
  });
}

/** Removes map entries whose messages are gone from both sides. */
export async function deleteMapEntries(
  state: State,
  k: FolderKey,
  srcUids: number[],
): Promise<void> {
  await inBatches(state, srcUids, {
    apply: (op, uid) => op.delete(keys.mapEntry(k, uid)),
    error: `Cannot delete from the map of "${k.folder}" of "${k.mailbox}"`,
  });
}

/** Deletes every map entry and intent of one source UIDVALIDITY (after re-pairing). */
export async function dropUidValidity(state: State, k: FolderKey): Promise<void> {
  const error = `Cannot drop UIDVALIDITY ${k.uidValidity} of "${k.folder}" of "${k.mailbox}"`;
  await deleteUnder(state, keys.map(k), error);
  await deleteUnder(state, keys.intents(k), error);
}

/** How many messages the mirror holds (copies and placeholders) for one mailbox, or in all. */
export async function countMirrored(state: State, mailbox?: string): Promise<number> {
  let n = 0;
  for await (
    const e of state.kv.list<MapEntry>({ prefix: keys.mapsOf(mailbox) }, { batchSize: 1000 })
  ) {
    if (e.value.kind !== "skipped") n++;
  }
  return n;
}
