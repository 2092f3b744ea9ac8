/**
 * Deleting from the mirror what production deleted, behind the mass-deletion guard: a pass that
 * would empty most of a mailbox's mirror, or take a large share of the whole mirror at once,
 * looks like a production accident, so its deletions are held (the copies stay) until an
 * operator releases them or production has stayed that way for `holdHours`.
 * @module
 */
import type { Config } from "../config/mod.ts";
import {
  type DeleteGuardSettings,
  holdMessage,
  type HoldReason,
  overMailboxShare,
  overTotalShare,
  releaseDue,
} from "./delete_guard.ts";
import { ImapError } from "../imap/mod.ts";
import { log } from "../support/mod.ts";
import {
  clearHeldDeletions,
  countMirrored,
  type Cursor,
  deleteMapEntries,
  getHeldDeletions,
  type MailboxResult,
  type MapEntry,
  putCursor,
  putHeldDeletions,
  type State,
} from "../state/mod.ts";
import type { MirrorTarget } from "../target/mod.ts";

/** The deletions one folder's plan asks for, and the cursor to save once they are applied. */
export interface FolderDeletions {
  folder: string;
  /** The source folder's UIDVALIDITY (the map's key). */
  uidValidity: number;
  entries: MapEntry[];
  cursor: Cursor;
}

/** What the guard decided for one mailbox's deletions. */
export type DeletionVerdict =
  | { action: "apply"; released?: "released" | "expired" }
  | { action: "hold"; reason: HoldReason; mirrored: number }
  /** Under the mailbox's own threshold; the pass judges the total once every mailbox is planned. */
  | { action: "later" };

/** Counts the deletions of a mailbox's folders. */
export function plannedCount(deletions: readonly FolderDeletions[]): number {
  return deletions.reduce((n, d) => n + d.entries.length, 0);
}

/**
 * Judges one mailbox's planned deletions. `wholePass` false means other mailboxes of the same
 * pass are still being planned, so the share of the whole mirror is judged later by the pass.
 */
export async function judgeMailbox(
  state: State,
  mailbox: string,
  planned: number,
  opts: { guard: DeleteGuardSettings; wholePass: boolean; now?: Date },
): Promise<DeletionVerdict> {
  const g = opts.guard;
  if (!g.enabled || planned === 0) return { action: "apply" };
  const held = await getHeldDeletions(state, mailbox);
  const due = releaseDue(held, opts.now ?? new Date(), g);
  if (due) return { action: "apply", released: due };
  // The mailbox's mirror is counted only when the deletions could exceed the minimum at all.
  if (planned > g.mailboxMinMessages) {
    const mirrored = await countMirrored(state, mailbox);
    if (overMailboxShare(planned, mirrored, g)) {
      return { action: "hold", reason: "mailbox", mirrored };
    }
  }
  if (!opts.wholePass) return { action: "later" };
  const pass = await judgePass(state, planned, g);
  return pass.hold
    ? { action: "hold", reason: "total", mirrored: pass.mirrored }
    : { action: "apply" };
}

/**
 * Whether one pass's deletions, planned over several mailboxes, are too many for the mirror. The
 * whole mirror is counted only when the pass could exceed the minimum at all.
 */
async function judgePass(
  state: State,
  planned: number,
  guard: DeleteGuardSettings,
): Promise<{ hold: boolean; mirrored: number }> {
  if (!guard.enabled || planned <= guard.totalMinMessages) return { hold: false, mirrored: 0 };
  const mirrored = await countMirrored(state);
  return { hold: overTotalShare(planned, mirrored, guard), mirrored };
}

/** Keeps the copies, records the hold, and says so in the result and the log. */
export async function holdDeletions(
  state: State,
  mailbox: string,
  deletions: readonly FolderDeletions[],
  opts: { reason: HoldReason; mirrored: number; guard: DeleteGuardSettings; result: MailboxResult },
): Promise<void> {
  const planned = plannedCount(deletions);
  const now = new Date().toISOString();
  const before = await getHeldDeletions(state, mailbox);
  const since = before?.since ?? now;
  await putHeldDeletions(state, {
    mailbox,
    since,
    updatedAt: now,
    count: planned,
    mirrored: opts.mirrored,
    reason: opts.reason,
  });
  const message = holdMessage(mailbox, planned, {
    mirrored: opts.mirrored,
    reason: opts.reason,
    since,
    holdHours: opts.guard.holdHours,
  });
  opts.result.held = (opts.result.held ?? 0) + planned;
  opts.result.warnings.push(message);
  log("warn", `Mailbox "${mailbox}": ${message}`);
}

/**
 * Applies a mailbox's deletions on an open target: removes exactly the mirrored copies, forgets
 * their map entries, and saves each folder's cursor. A target that cannot remove safely now
 * (no UIDPLUS and a foreign \Deleted mark) defers: map and cursor stay, the next pass retries.
 */
export async function applyDeletions(
  state: State,
  mailbox: string,
  deletions: readonly FolderDeletions[],
  opts: { target: MirrorTarget; result: MailboxResult; released?: "released" | "expired" },
): Promise<void> {
  const { target, result } = opts;
  let deferredAny = false;
  for (const d of deletions) {
    const tf = await target.openFolder(d.folder);
    const removed = await tf.remove(d.entries.map((e) => e.targetUid));
    if (removed && "deferred" in removed) {
      result.warnings.push(removed.deferred);
      deferredAny = true;
      continue;
    }
    await deleteMapEntries(
      state,
      { mailbox, folder: d.folder, uidValidity: d.uidValidity },
      d.entries.map((e) => e.srcUid),
    );
    result.deleted += d.entries.length;
    await putCursor(state, { mailbox, folder: d.folder }, d.cursor);
  }
  if (opts.released && !deferredAny) {
    log(
      "info",
      `Mailbox "${mailbox}": held deletions applied (${
        opts.released === "released" ? "released by an operator" : "the hold time has passed"
      })`,
    );
  }
  if (!deferredAny) await clearHeldDeletions(state, mailbox);
}

/** A mailbox whose deletions wait for the pass's verdict on the whole mirror. */
export interface PendingMailbox {
  mailbox: string;
  deletions: FolderDeletions[];
  result: MailboxResult;
}

/** Settles deletions left for the end of a pass: all held, or each applied on a fresh target. */
export async function settlePass(
  config: Config,
  state: State,
  pending: readonly PendingMailbox[],
  opts: {
    openTarget: (mailbox: string) => Promise<MirrorTarget>;
    lock?: (mailbox: string) => Promise<() => void>;
  },
): Promise<void> {
  const guard = config.limits.deleteGuard;
  const planned = pending.reduce((n, p) => n + plannedCount(p.deletions), 0);
  const verdict = await judgePass(state, planned, guard);
  for (const p of pending) {
    const release = await opts.lock?.(p.mailbox);
    try {
      if (verdict.hold) {
        await holdDeletions(state, p.mailbox, p.deletions, {
          reason: "total",
          mirrored: verdict.mirrored,
          guard,
          result: p.result,
        });
        continue;
      }
      const target = await opts.openTarget(p.mailbox);
      try {
        await applyDeletions(state, p.mailbox, p.deletions, { target, result: p.result });
      } finally {
        await target.close();
      }
    } catch (e) {
      p.result.ok = false;
      p.result.error = {
        message: (e as Error).message,
        server: e instanceof ImapError ? e.server : config.target?.name,
        operation: e instanceof ImapError ? e.operation : "delete what production deleted",
      };
    } finally {
      release?.();
    }
  }
}
