/**
 * One mailbox, one reconcile: reads production (read-only), plans, applies to the target, and
 * records every copy so that a crash at any point neither loses nor duplicates a message.
 * @module
 */
import type { Config, SourceConfig } from "../config/mod.ts";
import { type FlagScan, ImapSession } from "../imap/mod.ts";
import { withImapContext } from "../imap/mod.ts";
import { plan } from "./plan.ts";
import type { SourceSessions } from "./sessions.ts";
import { mirrorFlags } from "../target/mod.ts";
import { copyMessages } from "./copy.ts";
import { awaitingLateLandings, resolveOpenIntents, sameBytes } from "./exactly_once.ts";
import type { FolderStatus, MessageMeta } from "../imap/mod.ts";
import {
  applyDeletions,
  type FolderDeletions,
  holdDeletions,
  judgeMailbox,
  plannedCount,
} from "./deletions.ts";
import {
  clearHeldDeletions,
  type Cursor,
  deleteMapEntries,
  dropUidValidity,
  getCursor,
  listMap,
  type MailboxResult,
  type MapEntry,
  mapUidValidities,
  putCursor,
  putMapEntries,
  recordCopy,
  type State,
} from "../state/mod.ts";
import {
  IdentityIndex,
  type MirrorTarget,
  sameIdentity,
  type TargetFolder,
  type TargetMessage,
} from "../target/mod.ts";

/** Opens the target side for one mailbox (IMAP backup or file store). */
export type TargetOpener = (mailbox: string) => Promise<MirrorTarget>;

/** Everything one reconcile needs. */
export interface MirrorContext {
  config: Config & { source: SourceConfig };
  state: State;
  openTarget: TargetOpener;
  /**
   * Set by a pass over several mailboxes: deletions under the mailbox's own threshold are handed
   * here, to be judged against the whole mirror once every mailbox is planned.
   */
  deferDeletions?: (mailbox: string, deletions: FolderDeletions[], result: MailboxResult) => void;
  /** Production sessions kept between passes (the scheduler's); without it, a login per pass. */
  sessions?: SourceSessions;
}

/** Counters of one pass, filled in as actions become durable. */
function emptyResult(mailbox: string): MailboxResult {
  const now = new Date().toISOString();
  return {
    mailbox,
    ok: true,
    startedAt: now,
    finishedAt: now,
    copied: 0,
    deleted: 0,
    flagsUpdated: 0,
    placeholders: 0,
    skipped: {},
    warnings: [],
  };
}

/** Mirrors every configured folder of one mailbox; throws on failure (counters so far kept). */
export async function mirrorMailbox(
  ctx: MirrorContext,
  mailbox: string,
  result: MailboxResult = emptyResult(mailbox),
): Promise<MailboxResult> {
  const { config, state } = ctx;
  const folders = config.source.folders;
  // One lean session per mailbox (SASL-IR login, then plain commands): an unchanged mailbox
  // costs a login and a STATUS per folder; a changed one goes on in the same session.
  const cursors = await Promise.all(folders.map((f) => getCursor(state, { mailbox, folder: f })));
  const sessions = ctx.sessions;
  // A listening parked session answers for every folder in one round trip: when nothing
  // changed, that is the whole pass.
  const looked = sessions ? await sessions.look(mailbox) : null;
  if (
    looked &&
    folders.every((f, i) => {
      const items = looked.get(f);
      // A configured folder the mailbox has never had (no cursor, not listed) is unchanged too.
      if (!items) return !cursors[i];
      return cursors[i] && unchanged(cursors[i]!, folderStatusOf(items));
    }) &&
    !await awaitingLateLandings(state, mailbox, folders)
  ) {
    for (const f of folders) {
      if (!looked.has(f)) result.warnings.push(missingFolderWarning(f));
    }
    result.finishedAt = new Date().toISOString();
    return result;
  }
  let { session: source, reused } = sessions
    ? await sessions.take(mailbox)
    : { session: await ImapSession.open(config.source, mailbox), reused: false };
  let target: MirrorTarget | null = null;
  const lazyTarget = async () => (target ??= await ctx.openTarget(mailbox));
  let statuses: Map<string, FolderStatus | null> | undefined;
  let sound = false;
  try {
    try {
      statuses = await readStatuses(source, config.source, mailbox, folders);
    } catch (e) {
      // A parked session the server has ended meanwhile (autologout, restart): one new login.
      if (!reused || !sessions) throw e;
      source.close();
      reused = false;
      source = await sessions.open(mailbox);
      statuses = await readStatuses(source, config.source, mailbox, folders);
    }
    const seen = statuses;
    if (
      folders.every((f, i) => cursors[i] && seen.get(f) && unchanged(cursors[i]!, seen.get(f)!)) &&
      !await awaitingLateLandings(state, mailbox, folders)
    ) {
      sound = true;
      result.finishedAt = new Date().toISOString();
      return result;
    }
    const deletions: FolderDeletions[] = [];
    for (const folder of config.source.folders) {
      const status = seen.get(folder) ?? null;
      await mirrorFolder(ctx, { mailbox, folder, source, lazyTarget, result, deletions }, status);
    }
    await settleMailbox(ctx, mailbox, deletions, { result, lazyTarget });
    sound = true;
  } finally {
    if (sessions && sound) {
      // A mailbox that just changed deserves a kept session more than a quiet one.
      const active = result.copied + result.deleted + result.flagsUpdated + result.placeholders > 0;
      await sessions.give(mailbox, source, { active, seen: statuses });
    } else await source.quit();
    // deno-lint-ignore no-explicit-any -- TS narrows the closure-assigned variable to null
    await (target as any)?.close();
  }
  result.finishedAt = new Date().toISOString();
  return result;
}

export { emptyResult };

function missingFolderWarning(folder: string): string {
  return `folder "${folder}" does not exist on production`;
}

/** STATUS of every folder; a folder that does not exist maps to null. */
async function readStatuses(
  session: ImapSession,
  source: SourceConfig,
  mailbox: string,
  folders: string[],
): Promise<Map<string, FolderStatus | null>> {
  const out = new Map<string, FolderStatus | null>();
  for (const f of folders) {
    const st = await withImapContext(
      { server: source.name, mailbox, operation: `read the status of "${f}"` },
      () => session.status(f),
    );
    out.set(f, st && folderStatusOf(st));
  }
  return out;
}

/** A STATUS answer's items (upper-cased names) as the values a cursor is compared with. */
function folderStatusOf(st: Record<string, string>): FolderStatus {
  return {
    uidValidity: Number(st.UIDVALIDITY ?? 0),
    uidNext: Number(st.UIDNEXT ?? 0),
    messages: Number(st.MESSAGES ?? 0),
    highestModseq: st.HIGHESTMODSEQ,
  };
}

const COPY_SLICE = 500;

interface FolderJob {
  mailbox: string;
  folder: string;
  source: ImapSession;
  lazyTarget: () => Promise<MirrorTarget>;
  result: MailboxResult;
  /** Filled by each folder: what production deleted, applied once the guard has judged. */
  deletions: FolderDeletions[];
}

/** Applies, holds or hands over the mailbox's planned deletions (the mass-deletion guard). */
async function settleMailbox(
  ctx: MirrorContext,
  mailbox: string,
  deletions: FolderDeletions[],
  opts: { result: MailboxResult; lazyTarget: () => Promise<MirrorTarget> },
): Promise<void> {
  const { state, config } = ctx;
  const guard = config.limits.deleteGuard;
  const planned = plannedCount(deletions);
  if (planned === 0) {
    // Production holds every mirrored message again (or never lost any): nothing is held.
    await clearHeldDeletions(state, mailbox);
    return;
  }
  const verdict = await judgeMailbox(state, mailbox, planned, {
    guard,
    wholePass: !ctx.deferDeletions,
  });
  if (verdict.action === "hold") {
    await holdDeletions(state, mailbox, deletions, { ...verdict, guard, result: opts.result });
  } else if (verdict.action === "later") {
    ctx.deferDeletions!(mailbox, deletions, opts.result);
  } else {
    await applyDeletions(state, mailbox, deletions, {
      target: await opts.lazyTarget(),
      result: opts.result,
      released: verdict.released,
    });
  }
}

async function mirrorFolder(
  ctx: MirrorContext,
  job: FolderJob,
  status: FolderStatus | null,
): Promise<void> {
  const { state, config } = ctx;
  const { mailbox, folder, source, result } = job;
  const server = config.source.name;
  const op = <T>(operation: string, fn: () => Promise<T>) =>
    withImapContext({ server, mailbox, operation }, fn);

  if (!status) {
    result.warnings.push(missingFolderWarning(folder));
    return;
  }
  const cursor = await getCursor(state, { mailbox, folder });
  if (
    cursor && unchanged(cursor, status) && !await awaitingLateLandings(state, mailbox, [folder])
  ) return;

  await op(`examine "${folder}"`, async () => {
    const box = await source.examine(folder);
    if (!box) throw new Error(`the server refused to EXAMINE it`);
    // Everything below is keyed by the STATUS values: a folder rebuilt in between waits a pass.
    if (box.uidValidity !== status.uidValidity) {
      throw new Error(`its UIDVALIDITY changed during the pass (retried on the next one)`);
    }
  });
  const incremental = !!cursor && cursor.uidValidity === status.uidValidity &&
    cursor.highestModseq !== undefined && status.highestModseq !== undefined;
  // Size and date come along, so new messages need no FETCH of their own before the copy.
  const scanned = await op(
    `read the flags of "${folder}"`,
    () => source.fetchFlags(incremental ? { changedSince: cursor!.highestModseq } : {}),
  );
  // A full scan already names every UID; only an incremental one needs the UID list.
  const uids = incremental
    ? await op(`list "${folder}"`, async () => source.exists ? await source.uidSearch("ALL") : [])
    : [...scanned.keys()].sort((a, b) => a - b);

  const target = await job.lazyTarget();
  const tf = await target.openFolder(folder);

  // A source UIDVALIDITY change renumbers every message: re-pair old entries by identity.
  for (const oldValidity of await mapUidValidities(state, { mailbox, folder })) {
    if (oldValidity === status.uidValidity) continue;
    await repairSource(ctx, job, tf, oldValidity, status.uidValidity, uids);
  }
  let map = await listMap(state, { mailbox, folder, uidValidity: status.uidValidity });
  // A target UIDVALIDITY change makes every stored target UID stale: find them again.
  if (map.some((e) => e.kind !== "skipped" && e.targetUidValidity !== tf.uidValidity)) {
    map = await repairTarget(ctx, job, tf, status.uidValidity, map);
  }
  await resolveIntents(ctx, job, tf, status.uidValidity);
  map = await listMap(state, { mailbox, folder, uidValidity: status.uidValidity });

  const targetUids = await tf.listUids();
  const p = plan({
    source: uids.map((uid) => ({ uid, flags: scanned.get(uid)?.flags })),
    map,
    targetUids,
    allowFlag: tf.allowFlag,
  });
  for (const f of p.refusedFlags) {
    result.warnings.push(`"${folder}": the backup refuses keyword "${f}" (kept on production)`);
  }

  // Deletions wait for the end of the mailbox (or of the pass): the mass-deletion guard judges
  // them together, and until they are applied the folder's cursor stays where it was.
  const removals = p.actions.filter((a) => a.type === "delete");
  const forgets = p.actions.filter((a) => a.type === "forget").map((a) => a.srcUid);
  await deleteMapEntries(state, { mailbox, folder, uidValidity: status.uidValidity }, forgets);

  const copies = p.actions.filter((a) => a.type === "copy").map((a) => a.uid);
  let strangers = p.unknownOnTarget.length;
  if (copies.length) {
    // A backup that already holds a message (a lost state store, an earlier mirror product)
    // gets it adopted, not duplicated.
    const adoptable = strangers ? await unknownMessages(tf, p.unknownOnTarget) : [];
    const copyContext = {
      config,
      state,
      mailbox,
      folder,
      source,
      target,
      tf,
      uidValidity: status.uidValidity,
      result,
    };
    // In slices, so a folder of tens of thousands of new messages holds one slice's metadata.
    for (let i = 0; i < copies.length; i += COPY_SLICE) {
      const slice = copies.slice(i, i + COPY_SLICE);
      // Adoption compares Message-IDs, so only then are the headers fetched before the copy;
      // otherwise the scan's data will do, and the copy reads the Message-ID from the body.
      const { metas: known, missing } = adoptable.length
        ? { metas: [], missing: slice }
        : fromScan(slice, scanned);
      const fetched = missing.length
        ? await op(`read message data in "${folder}"`, () => source.fetchIdentities(missing))
        : [];
      const metas = [...known, ...fetched].sort((a, b) => a.uid - b.uid);
      const toCopy: MessageMeta[] = [];
      for (const meta of metas) {
        if (await adopt(ctx, job, tf, status.uidValidity, meta, adoptable)) strangers--;
        else toCopy.push(meta);
      }
      await copyMessages(copyContext, toCopy);
    }
  }
  if (strangers > 0) {
    result.warnings.push(
      `"${folder}": ${strangers} message(s) on the backup not known to the mirror (left alone)`,
    );
  }

  const flagUpdates: MapEntry[] = [];
  for (const a of p.actions) {
    if (a.type !== "setFlags") continue;
    await tf.setFlags(a.entry.targetUid, a.flags);
    flagUpdates.push({ ...a.entry, flags: a.flags });
  }
  await putMapEntries(state, { mailbox, folder, uidValidity: status.uidValidity }, flagUpdates);
  result.flagsUpdated += flagUpdates.length;

  // The cursor holds the values read before the scan, so changes made during it are seen next time.
  const cursorNow: Cursor = {
    uidValidity: status.uidValidity,
    uidNext: status.uidNext,
    highestModseq: status.highestModseq,
    targetUidValidity: tf.uidValidity,
    syncedAt: new Date().toISOString(),
  };
  if (removals.length) {
    job.deletions.push({
      folder,
      uidValidity: status.uidValidity,
      entries: removals.map((a) => a.entry),
      cursor: cursorNow,
    });
  } else {
    await putCursor(state, { mailbox, folder }, cursorNow);
  }
}

/**
 * The metadata of `uids` as the folder scan read it, Message-ID unknown (null), and the UIDs
 * it cannot give: not scanned (an incremental scan names only what changed) or incomplete.
 */
function fromScan(
  uids: number[],
  scanned: Map<number, FlagScan>,
): { metas: MessageMeta[]; missing: number[] } {
  const metas: MessageMeta[] = [];
  const missing: number[] = [];
  for (const uid of uids) {
    const s = scanned.get(uid);
    if (s?.size === undefined || !s.internalDate) {
      missing.push(uid);
      continue;
    }
    metas.push({
      uid,
      size: s.size,
      internalDate: s.internalDate,
      messageId: null,
      flags: s.flags,
    });
  }
  return { metas, missing };
}

function unchanged(
  cursor: { uidValidity: number; uidNext: number; highestModseq?: string },
  s: FolderStatus,
) {
  // Without CONDSTORE a flag change is invisible to STATUS, so every pass must scan.
  return cursor.highestModseq !== undefined && s.highestModseq !== undefined &&
    cursor.uidValidity === s.uidValidity && cursor.uidNext === s.uidNext &&
    cursor.highestModseq === s.highestModseq;
}

async function unknownMessages(tf: TargetFolder, uids: number[]): Promise<TargetMessage[]> {
  const wanted = new Set(uids);
  return (await tf.listAll()).filter((m) => wanted.has(m.uid));
}

async function adopt(
  ctx: MirrorContext,
  job: FolderJob,
  tf: TargetFolder,
  uidValidity: number,
  meta: MessageMeta,
  candidates: TargetMessage[],
): Promise<boolean> {
  // Adoption needs the Message-ID to agree (not merely be absent), besides date and size, and
  // the bytes to be the same on both sides: two voicemails can share all three.
  const identity = { messageId: meta.messageId, internalDate: meta.internalDate, size: meta.size };
  const source = {
    session: job.source,
    server: ctx.config.source.name,
    mailbox: job.mailbox,
    folder: job.folder,
  };
  let i = -1;
  for (const [k, m] of candidates.entries()) {
    if (m.messageId !== meta.messageId || !sameIdentity(m, identity)) continue;
    if (await sameBytes(source, meta, tf, m)) {
      i = k;
      break;
    }
  }
  if (i < 0) return false;
  const [hit] = candidates.splice(i, 1);
  const { flags } = mirrorFlags(meta.flags, tf.allowFlag);
  await tf.setFlags(hit.uid, flags);
  await recordCopy(ctx.state, { mailbox: job.mailbox, folder: job.folder, uidValidity }, {
    srcUid: meta.uid,
    targetUid: hit.uid,
    targetUidValidity: tf.uidValidity,
    kind: "copy",
    messageId: meta.messageId,
    internalDate: meta.internalDate.toISOString(),
    size: meta.size,
    flags,
  });
  job.result.adopted = (job.result.adopted ?? 0) + 1;
  return true;
}

// Exactly once when the target answered late or not at all: see engine/mirror/exactly_once.ts.
async function resolveIntents(
  ctx: MirrorContext,
  job: FolderJob,
  tf: TargetFolder,
  uidValidity: number,
): Promise<void> {
  const { mailbox, folder, result } = job;
  await resolveOpenIntents({ state: ctx.state, mailbox, folder, uidValidity, tf, result });
}

async function repairSource(
  ctx: MirrorContext,
  job: FolderJob,
  _tf: TargetFolder,
  oldValidity: number,
  newValidity: number,
  uids: number[],
): Promise<void> {
  const { state, config } = ctx;
  const { mailbox, folder, source, result } = job;
  const old = await listMap(state, { mailbox, folder, uidValidity: oldValidity });
  const metas = await withImapContext(
    { server: config.source.name, mailbox, operation: `re-read "${folder}"` },
    () => source.fetchIdentities(uids),
  );
  const fresh: MapEntry[] = [];
  const index = new IdentityIndex(metas);
  for (const e of old) {
    const hit = index.take({
      messageId: e.messageId,
      internalDate: new Date(e.internalDate),
      size: e.size,
    });
    if (hit) fresh.push({ ...e, srcUid: hit.uid });
  }
  await putMapEntries(state, { mailbox, folder, uidValidity: newValidity }, fresh);
  // Entries not re-paired point at copies whose source is gone or renumbered beyond
  // recognition; the new map does not know their target UIDs, so they stay as "unknown".
  await dropUidValidity(state, { mailbox, folder, uidValidity: oldValidity });
  result.warnings.push(
    `"${folder}": production UIDVALIDITY changed ${oldValidity} → ${newValidity}; re-paired ${fresh.length} of ${old.length}`,
  );
}

async function repairTarget(
  ctx: MirrorContext,
  job: FolderJob,
  tf: TargetFolder,
  uidValidity: number,
  map: MapEntry[],
): Promise<MapEntry[]> {
  const { state } = ctx;
  const { mailbox, folder, result } = job;
  const index = new IdentityIndex(await tf.listAll());
  let repaired = 0;
  const out = map.map((e) => {
    if (e.kind === "skipped" || e.targetUidValidity === tf.uidValidity) return e;
    const hit = index.take({
      messageId: e.targetMessageId ?? e.messageId,
      internalDate: new Date(e.internalDate),
      size: e.targetSize ?? e.size,
    });
    if (hit) repaired++;
    // An entry with no match gets target UID 0, which is never present: the planner re-copies it.
    return {
      ...e,
      targetUid: hit ? hit.uid : 0,
      targetUidValidity: tf.uidValidity,
      flags: hit ? e.flags : [],
    };
  });
  await putMapEntries(state, { mailbox, folder, uidValidity }, out);
  result.warnings.push(`"${folder}": backup UIDVALIDITY changed; re-paired ${repaired} message(s)`);
  return out;
}
