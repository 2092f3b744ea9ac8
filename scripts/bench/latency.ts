/**
 * New-message → mirrored latency of continuous mode: `vmirror serve` with IDLE on the active
 * mailboxes; messages appended one at a time on production, each timed until the backup
 * announces it (the benchmark IDLEs on the backup too).
 * @module
 */

import { join } from "node:path";
import type { ImapFlow } from "imapflow";
import { seedMailbox } from "../lab.ts";
import type { LabInfo } from "../lab/types.ts";
import { pool, sleep } from "../lab/util.ts";
import { peakRssOf, sessionsOf } from "./proc.ts";
import { ArrivalWatcher, closeSession, firstMessage, labSession, withMessageId } from "./imap.ts";
import type { BenchPlan } from "./setup.ts";
import { wipe } from "./setup.ts";
import { startServe, subscribe, writeVmirrorConfig } from "./vmirror.ts";

/** What the latency run measured (milliseconds). */
export interface LatencyResult {
  /** Messages into IDLE-watched mailboxes: latency of each that arrived. */
  idle: number[];
  idleSent: number;
  /** Messages into subscribed mailboxes without IDLE (picked up by the STATUS poll). */
  polled: number[];
  polledSent: number;
  syncSeconds: number;
  /** vmirror's IDLE sessions on production when the measurement started. */
  idleSessions: number;
  /** Peak RSS of `vmirror serve` (VmHWM) in MiB, read just before it was stopped. */
  servePeakRssMb: number;
}

/** Options of {@linkcode measureLatency}. */
export interface LatencyOptions {
  dir: string;
  concurrency: number;
  /** Messages into IDLE-watched mailboxes (default 50). */
  samples?: number;
  /** Messages into polled mailboxes (default: one per polled mailbox). */
  polledSamples?: number;
  /** `schedule.syncSeconds` of the serve config (default 30). */
  syncSeconds?: number;
  log: (s: string) => void;
}

/** A random delay in [min, max) ms. */
function jitter(min: number, max: number): number {
  return min + Math.random() * (max - min);
}

/** Runs the latency measurement; serve is stopped with SIGTERM at the end. */
export async function measureLatency(
  lab: LabInfo,
  plan: BenchPlan,
  opts: LatencyOptions,
): Promise<LatencyResult> {
  const syncSeconds = opts.syncSeconds ?? 30;
  const samples = opts.samples ?? 50;
  const polledSamples = Math.min(
    opts.polledSamples ?? plan.latencyPolled.length,
    plan.latencyPolled.length,
  );
  const all = [...plan.latencyIdle, ...plan.latencyPolled];
  const log = opts.log;

  // Fresh mailboxes on both sides: one message each on the IDLE set (the first pass copies it,
  // which makes the mailbox "active", hence watched), none on the polled set.
  await wipe(lab, "prod", all);
  await wipe(lab, "backup", all);
  await pool(plan.latencyIdle, 8, (m) => seedMailbox("prod", m, { dir: lab.dir, count: 1 }));
  const template = await firstMessage(lab, "prod", plan.latencyIdle[0]);

  const setup = await writeVmirrorConfig(lab, opts.dir, {
    concurrency: opts.concurrency,
    schedule: { syncSeconds, idle: true, idleMailboxes: plan.latencyIdle.length },
    // A kept session for each active mailbox only: the polled ones log in at every pass.
    limits: { persistentSessions: plan.latencyIdle.length },
  });
  await subscribe(setup, all);

  const watchers = new Map<string, ArrivalWatcher>();
  const appenders = new Map<string, ImapFlow>();
  await pool(all, 8, async (m) => {
    watchers.set(m, await ArrivalWatcher.open(lab, "backup", m));
    appenders.set(m, await labSession(lab, "prod", m));
  });

  const logFile = join(opts.dir, "serve.log");
  const serve = startServe(setup);
  log(
    `bench: latency: vmirror serve (pid ${serve.pid}) on 127.0.0.1:${serve.port}, log "${logFile}"`,
  );

  let serveRss = NaN;
  let idleSessions = 0;
  const idle: number[] = [];
  const polled: number[] = [];
  try {
    // The first pass copies one message into each IDLE mailbox, then watchers start.
    for (const m of plan.latencyIdle) {
      if (!(await watchers.get(m)!.waitForCount(1, 90_000))) {
        throw new Error(
          `vmirror serve did not mirror mailbox "${m}" within 90 s; see "${logFile}"`,
        );
      }
    }
    // Ours: one appender session per mailbox; vmirror's: its kept session (or IDLE) per active one.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = await sessionsOf(lab);
      idleSessions = plan.latencyIdle.filter((m) => (s.get(m) ?? 0) >= 2).length;
      const pollBusy = plan.latencyPolled.some((m) => (s.get(m) ?? 0) > 1);
      if ((idleSessions === plan.latencyIdle.length && !pollBusy) || Date.now() > deadline) break;
      await sleep(200);
    }
    await sleep(500); // from LOGIN to IDLE: EXAMINE and the IDLE command itself
    log(
      `bench: latency: ${idleSessions}/${plan.latencyIdle.length} IDLE sessions up; ${samples} messages at 0.2–1 s intervals`,
    );

    const nonce = `${Date.now().toString(36)}.${crypto.randomUUID().slice(0, 6)}`;
    const send = async (mailbox: string, id: string) => {
      const bytes = withMessageId(template, id);
      const t0 = performance.now();
      const res = await appenders.get(mailbox)!.append("INBOX", bytes, [], new Date());
      if (!res) throw new Error(`APPEND to mailbox "${mailbox}" on production failed`);
      return t0;
    };
    const waits: Promise<void>[] = [];
    for (let k = 0; k < samples; k++) {
      await sleep(jitter(200, 1000));
      const m = plan.latencyIdle[Math.floor(Math.random() * plan.latencyIdle.length)];
      const id = `<lat.${nonce}.${k}@bench.lab>`;
      const t0 = await send(m, id);
      waits.push(
        watchers.get(m)!.waitFor(id, 60_000).then((t) => {
          if (t !== null) idle.push(t - t0);
        }),
      );
    }
    await Promise.all(waits);

    log(
      `bench: latency: ${polledSamples} message(s) into mailboxes without IDLE (syncSeconds ${syncSeconds})`,
    );
    const pollWaits: Promise<void>[] = [];
    for (let j = 0; j < polledSamples; j++) {
      if (j > 0) await sleep(jitter(3000, 9000));
      const m = plan.latencyPolled[j];
      const id = `<poll.${nonce}.${j}@bench.lab>`;
      const t0 = await send(m, id);
      pollWaits.push(
        watchers.get(m)!.waitFor(id, (syncSeconds * 2 + 30) * 1000).then((t) => {
          if (t !== null) polled.push(t - t0);
        }),
      );
    }
    await Promise.all(pollWaits);
    serveRss = peakRssOf(serve.pid);
  } finally {
    await serve.stop({ logFile, log });
    await Promise.all([...watchers.values()].map((w) => w.close()));
    await Promise.all([...appenders.values()].map((c) => closeSession(c)));
  }
  idle.sort((a, b) => a - b);
  polled.sort((a, b) => a - b);
  return {
    idle,
    idleSent: samples,
    polled,
    polledSent: polledSamples,
    syncSeconds,
    idleSessions,
    servePeakRssMb: serveRss,
  };
}

/** The p-th percentile (0–100) of sorted values, nearest rank. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
