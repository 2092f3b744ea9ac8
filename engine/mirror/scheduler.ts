/**
 * Continuous mirroring: a STATUS poll of every subscribed mailbox each `schedule.syncSeconds`,
 * and IDLE on the recently active ones so their changes are mirrored within seconds.
 * @module
 */
import type { Config, SourceConfig } from "../config/mod.ts";
import { log } from "../support/mod.ts";
import type { TargetOpener } from "./mailbox.ts";
import { listSubscriptions, type MailboxResult, type State } from "../state/mod.ts";
import { mailboxLocks, runSync, type SyncSummary } from "./pass.ts";
import { sleep, Wakeup } from "../support/mod.ts";
import { IdleWatchers } from "./idle.ts";

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
  const afterPass = (s: SyncSummary, cause: "poll" | "idle") => {
    for (const r of s.mailboxes) if (active(r)) watchers.touch(r.mailbox);
    opts.onPass?.(s, cause);
  };

  const poll = async () => {
    while (!opts.signal.aborted) {
      const mailboxes = (await listSubscriptions(state)).map((s) => s.mailbox);
      if (mailboxes.length) {
        try {
          const s = await runSync(config, state, { mailboxes, locks, openTarget: opts.openTarget });
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
  }
}

function active(r: MailboxResult): boolean {
  return r.ok && r.copied + r.deleted + r.flagsUpdated + r.placeholders > 0;
}
