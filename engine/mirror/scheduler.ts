/**
 * Continuous mirroring: a STATUS poll of every subscribed mailbox each `schedule.syncSeconds`
 * over production sessions kept open between passes (sessions.ts), whose NOTIFY pushes, where
 * the server offers it, get a changed mailbox mirrored within seconds; on a server without
 * NOTIFY, IDLE on the recently active mailboxes does that for them.
 * @module
 */
import { type Config, inShard, type SourceConfig } from "../config/mod.ts";
import { log } from "../support/mod.ts";
import type { TargetOpener } from "./mailbox.ts";
import { listSubscriptions, type MailboxResult, type State } from "../state/mod.ts";
import { mailboxLocks, runSync, type SyncSummary } from "./pass.ts";
import { sleep, Wakeup } from "../support/mod.ts";
import { IdleWatchers } from "./idle.ts";
import { SourceSessions } from "./sessions.ts";

/** Options for {@link runScheduler}. */
export interface SchedulerOptions {
  signal: AbortSignal;
  /** Overrides the target (tests). */
  openTarget?: TargetOpener;
  /** Called after every pass (tests, metrics). */
  onPass?: (summary: SyncSummary, cause: "poll" | "idle") => void;
  /** How long to gather IDLE events before the triggered pass starts. */
  debounceMs?: number;
}

/** Runs until the signal aborts. */
export async function runScheduler(
  config: Config & { source: SourceConfig },
  state: State,
  opts: SchedulerOptions,
): Promise<void> {
  // Per-mailbox exclusion between passes that may overlap (poll, IDLE-triggered, and the
  // console's "sync now"): the process-wide locks.
  const locks = mailboxLocks;
  const dirty = new Set<string>();
  const bell = new Wakeup();
  const watchers = new IdleWatchers(
    config.source,
    config.schedule.idle ? config.schedule.idleMailboxes : 0,
    (mailbox) => {
      dirty.add(mailbox);
      bell.ring();
    },
  );
  const sessions = new SourceSessions(
    config.source,
    config.limits.persistentSessions,
    config.schedule.idle
      ? (mailbox) => {
        dirty.add(mailbox);
        bell.ring();
      }
      : undefined,
  );
  const afterPass = (s: SyncSummary, cause: "poll" | "idle") => {
    for (const r of s.mailboxes) {
      // A parked session that reports changes itself makes an IDLE connection redundant.
      if (sessions.notifies(r.mailbox)) watchers.stop(r.mailbox);
      else if (active(r)) watchers.touch(r.mailbox);
    }
    opts.onPass?.(s, cause);
  };

  const poll = async () => {
    while (!opts.signal.aborted) {
      const mailboxes = (await listSubscriptions(state)).map((s) => s.mailbox)
        .filter((m) => inShard(m, config.shard));
      sessions.retain(new Set(mailboxes));
      if (mailboxes.length) {
        try {
          const s = await runSync(config, state, {
            mailboxes,
            locks,
            openTarget: opts.openTarget,
            sessions,
          });
          log("info", "Mirror pass done", {
            mailboxes: s.mailboxes.length,
            failed: s.failed,
            copied: s.totals.copied,
            deleted: s.totals.deleted,
            deletionsHeld: s.totals.held,
          });
          afterPass(s, "poll");
        } catch (e) {
          log("error", `Mirror pass failed: ${(e as Error).message}`);
        }
      }
      await sleep(config.schedule.syncSeconds * 1000, opts.signal);
    }
  };

  const triggered = async () => {
    while (!opts.signal.aborted) {
      if (!dirty.size) {
        await bell.wait(opts.signal);
        continue;
      }
      // Short: Dovecot already holds IDLE notifications back ~0.5 s to batch them.
      await sleep(opts.debounceMs ?? 50, opts.signal);
      const subscribed = new Set((await listSubscriptions(state)).map((s) => s.mailbox));
      const mailboxes = [...dirty].filter((m) => subscribed.has(m));
      dirty.clear();
      for (const m of watchers.mailboxes) if (!subscribed.has(m)) watchers.stop(m);
      if (!mailboxes.length) continue;
      try {
        const s = await runSync(config, state, {
          mailboxes,
          locks,
          openTarget: opts.openTarget,
          recordRun: false,
          sessions,
        });
        afterPass(s, "idle");
      } catch (e) {
        log("error", `Triggered mirror pass failed: ${(e as Error).message}`);
      }
    }
  };

  try {
    await Promise.all([poll(), triggered()]);
  } finally {
    watchers.stopAll();
    await sessions.close();
  }
}

function active(r: MailboxResult): boolean {
  return r.ok && r.copied + r.deleted + r.flagsUpdated + r.placeholders > 0;
}
