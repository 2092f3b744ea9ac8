/**
 * How current the mirror stays for every mailbox, not just a watched few: `vmirror serve` over
 * all the benchmark's mailboxes with a session kept per mailbox (limits.persistentSessions),
 * changes made at random mailboxes — a new message, then a flag on it, then its deletion — each
 * timed from production's answer until the backup shows it (a session per sampled mailbox on the
 * backup polls with NOOP every 25 ms). The added messages are deleted again, so production ends
 * as it began.
 * @module
 */

import { join } from "node:path";
import type { ImapFlow } from "imapflow";
import type { LabInfo } from "../lab/types.ts";
import { sleep } from "../lab/util.ts";
import { peakRssOf, sessionsOf } from "./proc.ts";
import { closeSession, firstMessage, labSession, withMessageId } from "./imap.ts";
import { startServe, type VmirrorSetup } from "./vmirror.ts";

/** What the run measured (milliseconds, sorted). */
export interface LagResult {
  added: number[];
  flagged: number[];
  deleted: number[];
  samples: number;
  /** Mailboxes serve mirrored, and how many had a session parked when sampling began. */
  mailboxes: number;
  parkedSessions: number;
  /** How long serve took from start until its sessions were parked (the cold start). */
  warmUpSeconds: number;
  servePeakRssMb: number;
  syncSeconds: number;
}

/** Options of {@linkcode measureLag}. */
export interface LagOptions {
  dir: string;
  samples: number;
  /** Changes in flight at once (each on its own mailbox). */
  workers: number;
  syncSeconds: number;
  persistentSessions: number;
  log: (s: string) => void;
}

/** Polls the backup's INBOX of one mailbox with NOOP/SEARCH until `pred` holds; its time. */
async function until(
  backup: ImapFlow,
  pred: () => Promise<boolean>,
  timeoutMs: number,
): Promise<number | null> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    await backup.noop().catch(() => {});
    if (await pred()) return performance.now();
    await sleep(25);
  }
  return null;
}

/**
 * Runs serve over `setup` (already mirrored: its subscriptions, cursors and maps) with a session
 * kept per mailbox, then samples changes at random mailboxes of `mailboxes`.
 */
export async function measureLag(
  lab: LabInfo,
  setup: VmirrorSetup,
  mailboxes: string[],
  opts: LagOptions,
): Promise<LagResult> {
  const raw = JSON.parse(await Deno.readTextFile(setup.config));
  raw.schedule = { ...raw.schedule, syncSeconds: opts.syncSeconds, idle: true, idleMailboxes: 20 };
  raw.limits = { ...raw.limits, persistentSessions: opts.persistentSessions };
  await Deno.mkdir(opts.dir, { recursive: true });
  const config = join(opts.dir, "serve-lag.json");
  await Deno.writeTextFile(config, JSON.stringify(raw, null, 2));
  const serveSetup = { config, data: setup.data };
  const template = await firstMessage(lab, "prod", mailboxes[0]);

  const logFile = join(opts.dir, "serve-lag.log");
  const t0 = performance.now();
  const serve = startServe(serveSetup);
  opts.log(`bench: lag: vmirror serve (pid ${serve.pid}), log "${logFile}"`);

  const added: number[] = [];
  const flagged: number[] = [];
  const deleted: number[] = [];
  let parked = 0;
  let warmUp = NaN;
  let rss = NaN;
  try {
    // The cold start: serve's first pass logs in to every mailbox and parks the sessions.
    const want = Math.min(opts.persistentSessions, mailboxes.length);
    const deadline = Date.now() + 600_000;
    for (;;) {
      const s = await sessionsOf(lab);
      parked = mailboxes.filter((m) => (s.get(m) ?? 0) >= 1).length;
      if (parked >= want || Date.now() > deadline) break;
      await sleep(500);
    }
    warmUp = (performance.now() - t0) / 1000;
    await sleep(1000);
    opts.log(
      `bench: lag: ${parked}/${mailboxes.length} sessions parked after ${
        warmUp.toFixed(1)
      } s; ${opts.samples} changes at random mailboxes, ${opts.workers} at a time`,
    );

    const nonce = `${Date.now().toString(36)}.${crypto.randomUUID().slice(0, 6)}`;
    const busy = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < opts.samples) {
        const k = next++;
        let m: string;
        do m = mailboxes[Math.floor(Math.random() * mailboxes.length)]; while (busy.has(m));
        busy.add(m);
        const prod = await labSession(lab, "prod", m);
        const backup = await labSession(lab, "backup", m);
        try {
          await prod.mailboxOpen("INBOX");
          await backup.mailboxOpen("INBOX", { readOnly: true });
          await sleep(200 + Math.random() * 800);
          const id = `<lag.${nonce}.${k}@bench.lab>`;
          const find = async () =>
            (await backup.search({ header: { "message-id": id } }, { uid: true })) || [];
          let sent = performance.now();
          const t0s = sent;
          const res = await prod.append("INBOX", withMessageId(template, id), [], new Date());
          if (!res || !res.uid) throw new Error(`APPEND to mailbox "${m}" failed`);
          const arrived = await until(backup, async () => (await find()).length > 0, 60_000);
          if (arrived === null) continue;
          added.push(arrived - sent);
          const [uid] = await find();
          sent = performance.now();
          const tf = sent;
          await prod.messageFlagsAdd(String(res.uid), ["\\Flagged"], { uid: true });
          const isFlagged = async () => {
            const msg = await backup.fetchOne(String(uid), { flags: true }, { uid: true });
            return !!msg && msg.flags?.has("\\Flagged") === true;
          };
          const f = await until(backup, isFlagged, 60_000);
          if (f !== null) flagged.push(f - sent);
          sent = performance.now();
          await prod.messageDelete(String(res.uid), { uid: true });
          const d = await until(backup, async () => (await find()).length === 0, 60_000);
          if (d !== null) deleted.push(d - sent);
          const ms = (v: number | null, from: number) =>
            v === null ? "missing" : `${(v - from).toFixed(0)} ms`;
          opts.log(
            `bench: lag: ${k + 1}/${opts.samples} mailbox ${m}: new ${
              (arrived - t0s).toFixed(0)
            } ms, flag ${ms(f, tf)}, deletion ${ms(d, sent)}`,
          );
        } finally {
          busy.delete(m);
          await closeSession(prod);
          await closeSession(backup);
        }
      }
    };
    await Promise.all(Array.from({ length: opts.workers }, worker));
    rss = peakRssOf(serve.pid);
  } finally {
    await serve.stop({ graceMs: 30_000, logFile, log: opts.log });
  }
  const sorted = (a: number[]) => a.sort((x, y) => x - y);
  return {
    added: sorted(added),
    flagged: sorted(flagged),
    deleted: sorted(deleted),
    samples: opts.samples,
    mailboxes: mailboxes.length,
    parkedSessions: parked,
    warmUpSeconds: warmUp,
    servePeakRssMb: rss,
    syncSeconds: opts.syncSeconds,
  };
}
