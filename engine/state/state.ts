/**
 * The state store: the only module that touches Deno KV.
 *
 * Key layout (every key starts with its table name):
 * - `["meta", "schema"]` → schema version (number)
 * - `["sub", mailbox]` → {@link Subscription}
 * - `["cursor", mailbox, folder]` → {@link Cursor}: where the last complete pass left off
 * - `["map", mailbox, folder, srcUidValidity, srcUid]` → {@link MapEntry}: source → target
 * - `["intent", mailbox, folder, srcUidValidity, srcUid]` → {@link Intent}: a copy under way
 * - `["uncertain", mailbox, folder, srcUidValidity, srcUid, startedAt]` → {@link UncertainCopy}
 * - `["last", mailbox]` → {@link MailboxResult}: the newest result per mailbox
 * - `["held", mailbox]` → {@link HeldDeletions}: deletions the mass-deletion guard holds back
 * - `["run", startedAt, runId]` → {@link RunRecord}: history of passes (summaries only)
 * - `["audit", at, id]` → {@link AuditEntry}
 * - `["settings"]` → settings saved from the admin portal (secrets sealed, see engine/config/secrets.ts)
 * - `["dirrun", startedAt, id]` → directory sync results
 * - `["portal", "session", sha256(token)]` → a portal session (expires with it)
 * - `["portal", "throttle", kind, id]` → failed-login counters and lockouts (expire)
 * - `["portal", "admin"]` → the admin password's PBKDF2 hash
 * - `["portal", "summary", mailbox, folder, uidValidity, uid]` → parsed message summaries
 * @module
 */

/** The schema version this build writes; older stores are migrated forward at open. */
export const SCHEMA_VERSION = 1;

/** A mirrored mailbox and why it is mirrored. */
export interface Subscription {
  mailbox: string;
  /** "manual" subscriptions are never removed by a directory pass. */
  origin: "manual" | "directory";
  addedAt: string;
  /** Set by the directory pass when the mailbox vanished from the directory. */
  orphanedSince?: string;
}

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

/** What one pass did to one mailbox. */
export interface MailboxResult {
  mailbox: string;
  ok: boolean;
  startedAt: string;
  finishedAt: string;
  copied: number;
  deleted: number;
  flagsUpdated: number;
  placeholders: number;
  /** Messages the backup already held, taken into the map instead of copied again. */
  adopted?: number;
  /** Deletions the mass-deletion guard held back in this pass (the copies are kept). */
  held?: number;
  skipped: Record<string, number>;
  warnings: string[];
  error?: { message: string; server?: string; operation?: string; folder?: string };
}

/** One pass over many mailboxes. */
export interface RunRecord {
  id: string;
  startedAt: string;
  finishedAt: string;
  mailboxes: number;
  failed: number;
  copied: number;
  deleted: number;
  flagsUpdated: number;
}

/** Who did what, when, from where. */
export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  detail?: Record<string, unknown>;
  from?: string;
}

/** A state store that cannot be opened or is newer than this build. */
export class StateError extends Error {
  override name = "StateError";
}

/** An open state store; close it when done. */
export interface State {
  kv: Deno.Kv;
}

type Migration = (kv: Deno.Kv) => Promise<void>;

// Index i upgrades schema i → i+1. Version 0 is an empty store.
const MIGRATIONS: Migration[] = [
  async (_kv) => {
    // 0 → 1: the first layout; nothing to convert.
  },
];

/** Opens (creating) the store at `path` (":memory:" for tests) and migrates it forward. */
export async function openState(path: string): Promise<State> {
  if (path !== ":memory:") {
    const dir = path.replace(/[\\/][^\\/]*$/, "");
    if (dir && dir !== path) await Deno.mkdir(dir, { recursive: true });
  }
  let kv: Deno.Kv;
  try {
    kv = await Deno.openKv(path);
  } catch (e) {
    throw new StateError(`Cannot open the state store "${path}": ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    await migrate(kv, MIGRATIONS);
  } catch (e) {
    kv.close();
    throw e;
  }
  return { kv };
}

/** Closes the store. */
export function closeState(state: State): void {
  state.kv.close();
}

/** Runs the migrations from the stored version up; exported for tests with custom steps. */
export async function migrate(kv: Deno.Kv, steps: Migration[]): Promise<number> {
  for (;;) {
    const cur = await kv.get<number>(["meta", "schema"]);
    const version = cur.value ?? 0;
    if (version > steps.length) {
      throw new StateError(
        `The state store has schema ${version}, newer than this build's ${steps.length}: upgrade vmirror`,
      );
    }
    if (version === steps.length) return version;
    await steps[version](kv);
    // The versionstamp check makes two processes racing on one store migrate once.
    await kv.atomic().check(cur).set(["meta", "schema"], version + 1).commit();
  }
}

/** The schema version stored. */
export async function schemaVersion(state: State): Promise<number> {
  return (await state.kv.get<number>(["meta", "schema"])).value ?? 0;
}

// ---- subscriptions ----

/** Adds subscriptions; returns the mailboxes that were new. An existing one keeps its origin. */
export async function addSubscriptions(
  state: State,
  mailboxes: string[],
  opts: { origin?: Subscription["origin"]; now?: Date } = {},
): Promise<string[]> {
  const added: string[] = [];
  for (const mailbox of mailboxes) {
    const key = ["sub", mailbox];
    const cur = await state.kv.get<Subscription>(key);
    if (cur.value) {
      // A manual subscribe of a directory-managed mailbox pins it as manual.
      if (opts.origin === "manual" && cur.value.origin !== "manual") {
        await state.kv.atomic().check(cur).set(key, { ...cur.value, origin: "manual" }).commit();
      }
      continue;
    }
    const sub: Subscription = {
      mailbox,
      origin: opts.origin ?? "manual",
      addedAt: (opts.now ?? new Date()).toISOString(),
    };
    const res = await state.kv.atomic().check(cur).set(key, sub).commit();
    if (res.ok) added.push(mailbox);
  }
  return added;
}

/** Removes subscriptions; returns the mailboxes that were subscribed. Mirrored data stays. */
export async function removeSubscriptions(state: State, mailboxes: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const mailbox of mailboxes) {
    const cur = await state.kv.get<Subscription>(["sub", mailbox]);
    if (!cur.value) continue;
    await state.kv.atomic().check(cur).delete(["sub", mailbox]).commit();
    removed.push(mailbox);
  }
  return removed;
}

/** Replaces one subscription record (e.g. to mark it orphaned). */
export async function putSubscription(state: State, sub: Subscription): Promise<void> {
  await state.kv.set(["sub", sub.mailbox], sub);
}

/** Every subscription, ordered by mailbox. */
export async function listSubscriptions(state: State): Promise<Subscription[]> {
  const out: Subscription[] = [];
  for await (const e of state.kv.list<Subscription>({ prefix: ["sub"] })) out.push(e.value);
  return out;
}

/** One subscription, or null. */
export async function getSubscription(state: State, mailbox: string): Promise<Subscription | null> {
  return (await state.kv.get<Subscription>(["sub", mailbox])).value;
}

// ---- cursors and maps ----

/** The cursor of one folder, or null before its first complete pass. */
export async function getCursor(
  state: State,
  mailbox: string,
  folder: string,
): Promise<Cursor | null> {
  return (await state.kv.get<Cursor>(["cursor", mailbox, folder])).value;
}

/** Saves a folder's cursor; call only once the pass's actions are durable. */
export async function putCursor(
  state: State,
  mailbox: string,
  folder: string,
  cursor: Cursor,
): Promise<void> {
  await state.kv.set(["cursor", mailbox, folder], cursor);
}

/** Forgets a folder's cursor so the next pass does a full scan. */
export async function deleteCursor(state: State, mailbox: string, folder: string): Promise<void> {
  await state.kv.delete(["cursor", mailbox, folder]);
}

/** Every map entry of a folder for one source UIDVALIDITY, ordered by source UID. */
export async function listMap(
  state: State,
  mailbox: string,
  folder: string,
  uidValidity: number,
): Promise<MapEntry[]> {
  return await listRecords<MapEntry>(state, ["map", mailbox, folder, uidValidity]);
}

/** The source UIDVALIDITY values that have map entries for a folder. */
export async function mapUidValidities(
  state: State,
  mailbox: string,
  folder: string,
): Promise<number[]> {
  const seen = new Set<number>();
  for await (const e of state.kv.list({ prefix: ["map", mailbox, folder] }, { limit: 100000 })) {
    seen.add(e.key[3] as number);
  }
  return [...seen];
}

/** Records that a copy is about to be written, before a single byte goes to the target. */
export async function putIntent(
  state: State,
  mailbox: string,
  folder: string,
  uidValidity: number,
  intent: Intent,
): Promise<void> {
  await state.kv.set(["intent", mailbox, folder, uidValidity, intent.srcUid], intent);
}

/** Records several intents in one atomic write (a batch about to be written). */
export async function putIntents(
  state: State,
  mailbox: string,
  folder: string,
  uidValidity: number,
  intents: Intent[],
): Promise<void> {
  await inBatches(state, intents, {
    apply: (op, it) => op.set(["intent", mailbox, folder, uidValidity, it.srcUid], it),
    error: `Cannot record intents in "${folder}" of "${mailbox}"`,
  });
}

/** Records finished copies and clears their intents, atomically per batch of 250. */
export async function recordCopies(
  state: State,
  mailbox: string,
  folder: string,
  uidValidity: number,
  entries: MapEntry[],
): Promise<void> {
  await inBatches(state, entries, {
    // Two mutations per entry.
    size: 250,
    apply: (op, e) =>
      op.set(["map", mailbox, folder, uidValidity, e.srcUid], e)
        .delete(["intent", mailbox, folder, uidValidity, e.srcUid]),
    error: `Cannot record copies in "${folder}" of "${mailbox}"`,
  });
}

/** Open intents of a folder (copies that may or may not have reached the target). */
export async function listIntents(
  state: State,
  mailbox: string,
  folder: string,
  uidValidity: number,
): Promise<Intent[]> {
  return await listRecords<Intent>(state, ["intent", mailbox, folder, uidValidity]);
}

/** Drops an intent that turned out to have written nothing. */
export async function clearIntent(
  state: State,
  mailbox: string,
  folder: string,
  uidValidity: number,
  srcUid: number,
): Promise<void> {
  await state.kv.delete(["intent", mailbox, folder, uidValidity, srcUid]);
}

/** Records a finished copy and clears its intent in one atomic write. */
export async function recordCopy(
  state: State,
  mailbox: string,
  folder: string,
  uidValidity: number,
  entry: MapEntry,
): Promise<void> {
  const res = await state.kv.atomic()
    .set(["map", mailbox, folder, uidValidity, entry.srcUid], entry)
    .delete(["intent", mailbox, folder, uidValidity, entry.srcUid])
    .commit();
  if (!res.ok) throw new StateError(`Cannot record the copy of UID ${entry.srcUid}`);
}

// ---- copies of unknown outcome (see UncertainCopy) ----

// A late landing shows up within minutes; a week covers a backup that was down for days.
const UNCERTAIN_KEEP_MS = 7 * 86_400_000;

/**
 * Turns an unresolved intent into an uncertain copy in one atomic write, so the copy can be
 * written again under a fresh intent while a late landing of this one stays recognisable.
 */
export async function markIntentUncertain(
  state: State,
  mailbox: string,
  folder: string,
  uidValidity: number,
  intent: Intent,
): Promise<void> {
  const record: UncertainCopy = { ...intent, since: new Date().toISOString() };
  const res = await state.kv.atomic()
    .delete(["intent", mailbox, folder, uidValidity, intent.srcUid])
    .set(
      ["uncertain", mailbox, folder, uidValidity, intent.srcUid, intent.startedAt],
      record,
      { expireIn: UNCERTAIN_KEEP_MS },
    )
    .commit();
  if (!res.ok) {
    throw new StateError(`Cannot record the unknown outcome of the copy of UID ${intent.srcUid}`);
  }
}

/** The uncertain copies of a folder (KV drops them a week after they were recorded). */
export async function listUncertainCopies(
  state: State,
  mailbox: string,
  folder: string,
  uidValidity: number,
): Promise<UncertainCopy[]> {
  return await listRecords<UncertainCopy>(state, ["uncertain", mailbox, folder, uidValidity]);
}

/** Whether a folder has an uncertain copy recorded after `since` (any source UIDVALIDITY). */
export async function hasUncertainCopiesSince(
  state: State,
  mailbox: string,
  folder: string,
  since: Date,
): Promise<boolean> {
  for await (const e of state.kv.list<UncertainCopy>({ prefix: ["uncertain", mailbox, folder] })) {
    if (Date.parse(e.value.since) > since.getTime()) return true;
  }
  return false;
}

/** Forgets an uncertain copy (its late landing was found and dealt with). */
export async function clearUncertainCopy(
  state: State,
  mailbox: string,
  folder: string,
  uidValidity: number,
  copy: UncertainCopy,
): Promise<void> {
  await state.kv.delete(["uncertain", mailbox, folder, uidValidity, copy.srcUid, copy.startedAt]);
}

/** Updates map entries (e.g. new flags, re-paired target UIDs) in one atomic write. */
export async function putMapEntries(
  state: State,
  mailbox: string,
  folder: string,
  uidValidity: number,
  entries: MapEntry[],
): Promise<void> {
  await inBatches(state, entries, {
    apply: (op, e) => op.set(["map", mailbox, folder, uidValidity, e.srcUid], e),
    error: `Cannot update the map of "${folder}" of "${mailbox}"`,
  });
}

/** Removes map entries whose messages are gone from both sides. */
export async function deleteMapEntries(
  state: State,
  mailbox: string,
  folder: string,
  uidValidity: number,
  srcUids: number[],
): Promise<void> {
  await inBatches(state, srcUids, {
    apply: (op, uid) => op.delete(["map", mailbox, folder, uidValidity, uid]),
    error: `Cannot delete from the map of "${folder}" of "${mailbox}"`,
  });
}

/** Deletes every map entry and intent of one source UIDVALIDITY (after re-pairing). */
export async function dropUidValidity(
  state: State,
  mailbox: string,
  folder: string,
  uidValidity: number,
): Promise<void> {
  for (const table of ["map", "intent"]) {
    const keys = await listKeys(state, [table, mailbox, folder, uidValidity]);
    await inBatches(state, keys, {
      apply: (op, k) => op.delete(k),
      error: `Cannot drop UIDVALIDITY ${uidValidity} of "${folder}" of "${mailbox}"`,
    });
  }
}

/** How many messages the mirror holds (copies and placeholders) for one mailbox, or in all. */
export async function countMirrored(state: State, mailbox?: string): Promise<number> {
  let n = 0;
  const prefix = mailbox === undefined ? ["map"] : ["map", mailbox];
  for await (const e of state.kv.list<MapEntry>({ prefix }, { batchSize: 1000 })) {
    if (e.value.kind !== "skipped") n++;
  }
  return n;
}

// ---- the mass-deletion guard ----

/** Deletions the mass-deletion guard holds back for one mailbox. */
export interface HeldDeletions {
  mailbox: string;
  /** When they were first held (the hold ends `holdHours` later if production stays so). */
  since: string;
  updatedAt: string;
  /** Deletions planned by the newest pass, and the mailbox's mirror size then. */
  count: number;
  mirrored: number;
  /** "mailbox": too large a share of the mailbox; "total": of the whole mirror in one pass. */
  reason: "mailbox" | "total";
  /** Set by an operator: the next pass applies them whatever their size. */
  released?: { at: string; by: string };
}

/** The held deletions of one mailbox, or null. */
export async function getHeldDeletions(
  state: State,
  mailbox: string,
): Promise<HeldDeletions | null> {
  return (await state.kv.get<HeldDeletions>(["held", mailbox])).value;
}

/** Every mailbox with held deletions. */
export async function listHeldDeletions(state: State): Promise<HeldDeletions[]> {
  return await listRecords<HeldDeletions>(state, ["held"]);
}

/** Records (or refreshes) held deletions. */
export async function putHeldDeletions(state: State, held: HeldDeletions): Promise<void> {
  await state.kv.set(["held", held.mailbox], held);
}

/** Forgets a mailbox's held deletions (applied, or production has the messages again). */
export async function clearHeldDeletions(state: State, mailbox: string): Promise<void> {
  await state.kv.delete(["held", mailbox]);
}

/**
 * Marks held deletions released (all, or those of `mailboxes`); returns the records changed.
 * Conflict-checked, so a pass refreshing a record at the same moment does not undo a release.
 */
export async function releaseHeldDeletions(
  state: State,
  opts: { mailboxes?: string[]; by: string },
): Promise<HeldDeletions[]> {
  const targets = opts.mailboxes
    ? (await Promise.all(opts.mailboxes.map((m) => state.kv.get<HeldDeletions>(["held", m]))))
    : await Array.fromAsync(state.kv.list<HeldDeletions>({ prefix: ["held"] }));
  const out: HeldDeletions[] = [];
  for (let entry of targets) {
    for (let attempt = 0; entry.value && attempt < 5; attempt++) {
      const value: HeldDeletions = {
        ...entry.value,
        released: { at: new Date().toISOString(), by: opts.by },
      };
      const res = await state.kv.atomic().check(entry).set(entry.key, value).commit();
      if (res.ok) {
        out.push(value);
        break;
      }
      entry = await state.kv.get<HeldDeletions>(entry.key);
    }
  }
  return out;
}

// ---- results, runs, audit ----

/** Stores a mailbox's newest result. */
export async function putMailboxResult(state: State, result: MailboxResult): Promise<void> {
  await state.kv.set(["last", result.mailbox], result);
}

/** Newest result of every mailbox that has one. */
export async function listMailboxResults(state: State): Promise<MailboxResult[]> {
  return await listRecords<MailboxResult>(state, ["last"]);
}

/** Appends a pass to the run history. */
export async function putRun(state: State, run: RunRecord): Promise<void> {
  await state.kv.set(["run", run.startedAt, run.id], run);
}

/** The newest runs first. */
export async function listRuns(state: State, limit = 20): Promise<RunRecord[]> {
  return await listRecords<RunRecord>(state, ["run"], { reverse: true, limit });
}

/** Writes one audit entry. */
export async function audit(state: State, entry: Omit<AuditEntry, "at"> & { at?: string }) {
  const at = entry.at ?? new Date().toISOString();
  await state.kv.set(["audit", at, crypto.randomUUID()], { ...entry, at });
}

/** Audit entries, newest first. */
export async function listAudit(state: State, limit = 100): Promise<AuditEntry[]> {
  return await listRecords<AuditEntry>(state, ["audit"], { reverse: true, limit });
}

/** Settings saved from the admin portal (secrets still sealed). */
export async function getSettings(state: State): Promise<Record<string, unknown>> {
  return (await state.kv.get<Record<string, unknown>>(["settings"])).value ?? {};
}

/** Replaces the saved settings; callers seal secrets first. */
export async function putSettings(state: State, settings: Record<string, unknown>): Promise<void> {
  await state.kv.set(["settings"], settings);
}

/** Generic small records for other modules' tables; `expireIn` (ms) lets KV drop them. */
export async function putRecord(
  state: State,
  key: Deno.KvKey,
  value: unknown,
  opts: { expireIn?: number } = {},
): Promise<void> {
  await state.kv.set(key, value, opts.expireIn ? { expireIn: opts.expireIn } : undefined);
}

/** One record, or null. */
export async function getRecord<T>(state: State, key: Deno.KvKey): Promise<T | null> {
  return (await state.kv.get<T>(key)).value;
}

/** Deletes one record. */
export async function deleteRecord(state: State, key: Deno.KvKey): Promise<void> {
  await state.kv.delete(key);
}

/** Deletes every record under a prefix. */
export async function deleteRecords(state: State, prefix: Deno.KvKey): Promise<number> {
  const keys = await listKeys(state, prefix);
  await inBatches(state, keys, {
    apply: (op, k) => op.delete(k),
    error: `Cannot delete the records under ${JSON.stringify(prefix)}`,
  });
  return keys.length;
}

/**
 * Read-modify-write of one record with a versionstamp check, retried on conflict, so two
 * processes (the service and a CLI run) never lose each other's update. `fn` returning null
 * deletes the record.
 */
export async function updateRecord<T>(
  state: State,
  key: Deno.KvKey,
  fn: (current: T | null) => T | null,
  opts: { expireIn?: number } = {},
): Promise<T | null> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const cur = await state.kv.get<T>(key);
    const next = fn(cur.value);
    const op = state.kv.atomic().check(cur);
    if (next === null) op.delete(key);
    else op.set(key, next, opts.expireIn ? { expireIn: opts.expireIn } : undefined);
    if ((await op.commit()).ok) return next;
  }
  throw new StateError(`Cannot update the record ${JSON.stringify(key)}: too many conflicts`);
}

/** Lists a table's records, newest key last unless reversed. */
export async function listRecords<T>(
  state: State,
  prefix: Deno.KvKey,
  opts: { reverse?: boolean; limit?: number } = {},
): Promise<T[]> {
  const out: T[] = [];
  for await (const e of state.kv.list<T>({ prefix }, opts)) out.push(e.value);
  return out;
}

// ---- batched writes ----

/** How {@link inBatches} writes a list: one atomic operation per batch. */
interface BatchOptions<T> {
  /** Items per atomic operation (default 500). */
  size?: number;
  /** Adds one item's mutations to the batch's operation. */
  apply: (op: Deno.AtomicOperation, item: T) => void;
  /** The StateError message when a batch is not committed. */
  error: string;
}

// KV caps an atomic at 1,000 mutations; batches keep each write well under it. Each batch is
// atomic on its own: a failure leaves the batches before it written.
async function inBatches<T>(
  state: State,
  items: readonly T[],
  opts: BatchOptions<T>,
): Promise<void> {
  const size = opts.size ?? 500;
  for (let i = 0; i < items.length; i += size) {
    const op = state.kv.atomic();
    for (const item of items.slice(i, i + size)) opts.apply(op, item);
    const res = await op.commit();
    if (!res.ok) throw new StateError(opts.error);
  }
}

async function listKeys(state: State, prefix: Deno.KvKey): Promise<Deno.KvKey[]> {
  const keys: Deno.KvKey[] = [];
  for await (const e of state.kv.list({ prefix })) keys.push(e.key);
  return keys;
}
