/**
 * `deno run -A scripts/bench/shards.ts [--mailboxes 100000] [--appliances 1,2,4,8,…] [...]`: a
 * site beyond one appliance, on paper with a simulation. Each appliance mirrors the mailboxes of
 * its shard (config `shard: "i/n"`, FNV-1a of the mailbox number, each with its own data
 * directory). For each appliance count the model gives what one appliance holds (mailboxes,
 * kept sessions, memory), what the message store sees (sessions, logins, commands per second)
 * and the lag of a change, simulated event by event: changes arrive at random mailboxes
 * (Poisson), each is pushed by NOTIFY after the store's batching delay, waits for one of the
 * appliance's `concurrency` workers and takes the measured time of a one-message pass.
 *
 * The per-unit costs default to this lab's figures from `deno task bench` (2 cores, Dovecot on the
 * same machine); pass your own from a run against your store. Pure model code is exported for
 * the unit test.
 * @module
 */
import { parseArgs } from "node:util";

/** The model's inputs. */
export interface SiteModel {
  mailboxes: number;
  /** Changes (new message, flag, deletion) per mailbox in the busy hour. */
  changesPerHour: number;
  /** Sessions one appliance keeps open (limits.persistentSessions). */
  sessionsPerAppliance: number;
  /** limits.concurrency. */
  concurrency: number;
  /** Folders mirrored per mailbox (INBOX, Greetings). */
  folders: number;
  /** schedule.syncSeconds: every mailbox is verified by STATUS this often. */
  syncSeconds: number;
  /** Measured: a pass over one mailbox with one change, seconds of a worker. */
  changePassSeconds: number;
  /** Measured: a no-change pass per mailbox on a kept session, worker seconds. */
  steadyPerMailboxSeconds: number;
  /** Measured: a pass per mailbox with a login (cold), worker seconds. */
  coldPerMailboxSeconds: number;
  /** The store's delay before a NOTIFY push (Dovecot batches for 0.5 s). */
  notifyDelaySeconds: number;
  /** Memory: the appliance's base and each kept session, MB. */
  baseRssMb: number;
  sessionRssMb: number;
}

/** What one appliance count gives. */
export interface SiteOutcome {
  appliances: number;
  mailboxesEach: number;
  sessionsEach: number;
  /** Mailboxes without a kept session (polled with a login every syncSeconds). */
  polledEach: number;
  rssMbEach: number;
  coldPassSeconds: number;
  steadyPassSeconds: number;
  /** What the store sees from the whole site. */
  storeSessions: number;
  storeLoginsPerSecond: number;
  storeCommandsPerSecond: number;
  lagP50: number;
  lagP99: number;
}

/** A seeded PRNG (mulberry32), so the simulation repeats. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Nearest-rank percentile of sorted values. */
function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

/**
 * Lag of changes on one appliance over `hours` of the busy hour, event by event: the workers
 * serve changes in arrival order (after the push delay) while the polling passes take their
 * share of the workers' time. A change at a polled mailbox (no kept session) waits for the next
 * pass to reach it: uniformly within syncSeconds, plus that pass's own time.
 */
export function simulateLag(
  m: SiteModel,
  appliances: number,
  opts: { seed?: number; changes?: number } = {},
): { p50: number; p99: number } {
  const each = Math.ceil(m.mailboxes / appliances);
  const kept = Math.min(each, m.sessionsPerAppliance);
  const polled = each - kept;
  const rate = (each * m.changesPerHour) / 3600; // changes per second on this appliance
  const random = rng(opts.seed ?? 1);
  const n = opts.changes ?? 20000;
  // The polling passes' share of the workers: their time per syncSeconds.
  const pollBusy = (kept * m.steadyPerMailboxSeconds + polled * m.coldPerMailboxSeconds) /
    m.concurrency / m.syncSeconds;
  if (pollBusy >= 1) return { p50: Infinity, p99: Infinity };
  // A worker serves changes at (1 - pollBusy) of its speed.
  const service = m.changePassSeconds / (1 - pollBusy);
  const free = new Array(m.concurrency).fill(0);
  const lags: number[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += -Math.log(1 - random()) / rate;
    const atKept = random() < kept / each;
    const ready = atKept
      ? t + m.notifyDelaySeconds
      : t + random() * m.syncSeconds + (pollBusy * m.syncSeconds);
    let w = 0;
    for (let k = 1; k < free.length; k++) if (free[k] < free[w]) w = k;
    const start = Math.max(ready, free[w]);
    free[w] = start + service;
    lags.push(free[w] - t);
  }
  lags.sort((a, b) => a - b);
  return { p50: pct(lags, 50), p99: pct(lags, 99) };
}

/** The whole site with `appliances` appliances. */
export function siteOutcome(m: SiteModel, appliances: number): SiteOutcome {
  const each = Math.ceil(m.mailboxes / appliances);
  const kept = Math.min(each, m.sessionsPerAppliance);
  const polled = each - kept;
  const lag = simulateLag(m, appliances);
  const commandsPerMailboxPass = m.folders; // one STATUS per folder
  return {
    appliances,
    mailboxesEach: each,
    sessionsEach: kept,
    polledEach: polled,
    rssMbEach: m.baseRssMb + kept * m.sessionRssMb,
    coldPassSeconds: (each * m.coldPerMailboxSeconds) / m.concurrency,
    steadyPassSeconds: (kept * m.steadyPerMailboxSeconds + polled * m.coldPerMailboxSeconds) /
      m.concurrency,
    storeSessions: appliances * (kept + m.concurrency),
    storeLoginsPerSecond: (appliances * polled) / m.syncSeconds,
    storeCommandsPerSecond: (appliances * each * (commandsPerMailboxPass + (polled ? 1 : 0))) /
        m.syncSeconds + (m.mailboxes * m.changesPerHour * 8) / 3600,
    lagP50: lag.p50,
    lagP99: lag.p99,
  };
}

/** The lab's figures (see the README's performance section for the run they come from). */
export const LAB_MODEL: SiteModel = {
  mailboxes: 100_000,
  changesPerHour: 3,
  sessionsPerAppliance: 10_000,
  concurrency: 8,
  folders: 2,
  syncSeconds: 60,
  changePassSeconds: 0.12,
  steadyPerMailboxSeconds: 0.005,
  coldPerMailboxSeconds: 0.05,
  notifyDelaySeconds: 0.5,
  baseRssMb: 180,
  sessionRssMb: 0.012,
};

function main(): void {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      mailboxes: { type: "string" },
      appliances: { type: "string", default: "1,2,4,8,10,16" },
      "changes-per-hour": { type: "string" },
      sessions: { type: "string" },
      concurrency: { type: "string" },
      "sync-seconds": { type: "string" },
      "change-pass": { type: "string" },
      "steady-per-mailbox": { type: "string" },
      "cold-per-mailbox": { type: "string" },
      "session-rss": { type: "string" },
      "base-rss": { type: "string" },
    },
  });
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
  const m: SiteModel = {
    ...LAB_MODEL,
    mailboxes: num(values.mailboxes, LAB_MODEL.mailboxes),
    changesPerHour: num(values["changes-per-hour"], LAB_MODEL.changesPerHour),
    sessionsPerAppliance: num(values.sessions, LAB_MODEL.sessionsPerAppliance),
    concurrency: num(values.concurrency, LAB_MODEL.concurrency),
    syncSeconds: num(values["sync-seconds"], LAB_MODEL.syncSeconds),
    changePassSeconds: num(values["change-pass"], LAB_MODEL.changePassSeconds),
    steadyPerMailboxSeconds: num(values["steady-per-mailbox"], LAB_MODEL.steadyPerMailboxSeconds),
    coldPerMailboxSeconds: num(values["cold-per-mailbox"], LAB_MODEL.coldPerMailboxSeconds),
    sessionRssMb: num(values["session-rss"], LAB_MODEL.sessionRssMb),
    baseRssMb: num(values["base-rss"], LAB_MODEL.baseRssMb),
  };
  const counts = values.appliances!.split(",").map(Number).filter((n) => n >= 1);
  console.log(
    `site of ${m.mailboxes} mailboxes, ${m.changesPerHour} changes per mailbox in the busy hour, up to ${m.sessionsPerAppliance} kept sessions and concurrency ${m.concurrency} per appliance, syncSeconds ${m.syncSeconds}`,
  );
  console.log(
    "| appliances | mailboxes each | kept sessions each | polled each | RSS each | cold pass | steady pass | store sessions | store logins/s | store commands/s | lag p50 | lag p99 |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  const s = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} s` : "∞");
  for (const n of counts) {
    const o = siteOutcome(m, n);
    console.log(
      `| ${n} | ${o.mailboxesEach} | ${o.sessionsEach} | ${o.polledEach} | ${
        o.rssMbEach.toFixed(0)
      } MB | ${s(o.coldPassSeconds)} | ${s(o.steadyPassSeconds)} | ${o.storeSessions} | ${
        o.storeLoginsPerSecond.toFixed(1)
      } | ${o.storeCommandsPerSecond.toFixed(0)} | ${s(o.lagP50)} | ${s(o.lagP99)} |`,
    );
  }
}

if (import.meta.main) main();
