/**
 * `deno task bench --scale N`: one appliance over N mailboxes (10,000 in the issue) on the lab's
 * Dovecot — production mailboxes 200000… with a few messages each, written straight into their
 * Maildirs (seeding 30,000 messages over IMAP would take longer than the benchmark), empty
 * backups. Reports the initial copy, the no-change pass from a cold start (a login each), the
 * KV store's size on disk, `vmirror serve` with sessions kept (`--sessions`, default 1,000): the
 * lag of changes at random mailboxes (kept or not), peak RSS, and CPU per hour while idle.
 * @module
 */

import { join } from "node:path";
import type { LabInfo } from "../lab/types.ts";
import { lookupUser, pool, sleep } from "../lab/util.ts";
import { firstMessage, withMessageId } from "./imap.ts";
import { cpuOf } from "./proc.ts";
import { measureLag } from "./lag.ts";
import { percentile } from "./latency.ts";
import { dovecotOf, ensureLogins, inboxStatus, wipe } from "./setup.ts";
import { startServe, subscribe, syncOnce, writeVmirrorConfig } from "./vmirror.ts";

/** Options of {@linkcode runScale}. */
export interface ScaleOptions {
  mailboxes: number;
  perMailbox: number;
  sessions: number;
  lagSamples: number;
  syncSeconds: number;
  concurrency: number;
  servers: number[];
  log: (s: string) => void;
}

/** The scale run's mailbox numbers. */
export function scaleMailboxes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(200000 + i));
}

/**
 * Writes `count` messages into each mailbox's Maildir (`cur`, as delivered and seen or not),
 * owned by vmail, dated a minute apart; Dovecot indexes them on first access.
 */
async function seedMaildirs(
  lab: LabInfo,
  mailboxes: string[],
  count: number,
  template: Uint8Array,
  log: (s: string) => void,
): Promise<void> {
  const d = dovecotOf(lab, "prod");
  const vmail = await lookupUser("vmail");
  if (!vmail) throw new Error('system user "vmail" is missing');
  const status = await inboxStatus(lab, "prod", mailboxes);
  const todo = mailboxes.filter((m) => status.get(m)?.messages !== count);
  if (!todo.length) return log(`bench: scale: production already holds ${count} each`);
  await wipe(lab, "prod", todo);
  const t0 = performance.now();
  let done = 0;
  await pool(todo, 8, async (m) => {
    const maildir = join(d.mailRoot, m, "Maildir");
    for (const sub of ["cur", "new", "tmp"]) {
      await Deno.mkdir(join(maildir, sub), { recursive: true, mode: 0o700 });
    }
    const base = Date.now() - count * 60_000;
    for (let k = 0; k < count; k++) {
      const bytes = withMessageId(template, `<scale.${m}.${k}.${base}@bench.lab>`);
      const at = new Date(base + k * 60_000);
      const name = `${Math.floor(at.getTime() / 1000)}.M${k}P${m}.lab,S=${bytes.length}:2,${
        k % 2 ? "S" : ""
      }`;
      const file = join(maildir, "cur", name);
      await Deno.writeFile(file, bytes, { mode: 0o600 });
      await Deno.utime(file, at, at);
    }
    for (
      const p of [
        join(d.mailRoot, m),
        maildir,
        ...["cur", "new", "tmp"].map((s) => join(maildir, s)),
      ]
    ) {
      await Deno.chown(p, vmail.uid, vmail.gid);
    }
    for await (const e of Deno.readDir(join(maildir, "cur"))) {
      await Deno.chown(join(maildir, "cur", e.name), vmail.uid, vmail.gid);
    }
    if (++done % 1000 === 0) {
      log(
        `bench: scale: seeded ${done}/${todo.length} (${
          ((performance.now() - t0) / 1000).toFixed(0)
        } s)`,
      );
    }
  });
  const after = await inboxStatus(lab, "prod", todo);
  const wrong = todo.filter((m) => after.get(m)?.messages !== count);
  if (wrong.length) {
    throw new Error(`seeding left ${wrong.length} mailbox(es) wrong, e.g. ${wrong[0]}`);
  }
}

/** Bytes of the files of a directory tree. */
async function treeBytes(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) n += await treeBytes(p);
    else if (e.isFile) n += (await Deno.stat(p)).size;
  }
  return n;
}

/** CPU per hour of an idle `vmirror serve` over the setup's mailboxes (sessions kept). */
async function idleCpuPerHour(
  setup: { config: string; data: string },
  seconds: number,
  log: (s: string) => void,
): Promise<{ cpuSecondsPerHour: number; warmUp: number }> {
  const serve = startServe(setup);
  try {
    // Until the first pass has parked the sessions: CPU stops climbing fast.
    const t0 = performance.now();
    let last = cpuOf(serve.pid);
    for (;;) {
      await sleep(5000);
      const now = cpuOf(serve.pid);
      if (now - last < 0.2 || performance.now() - t0 > 600_000) break;
      last = now;
    }
    const warmUp = (performance.now() - t0) / 1000;
    log(
      `bench: scale: serve idle after ${warmUp.toFixed(0)} s; measuring ${seconds} s of idle CPU`,
    );
    const c0 = cpuOf(serve.pid);
    await sleep(seconds * 1000);
    const used = cpuOf(serve.pid) - c0;
    return { cpuSecondsPerHour: (used * 3600) / seconds, warmUp };
  } finally {
    await serve.stop();
  }
}

/** The whole scale run; returns the report lines. */
export async function runScale(lab: LabInfo, opts: ScaleOptions): Promise<string[]> {
  const log = opts.log;
  const mailboxes = scaleMailboxes(opts.mailboxes);
  log(`bench: scale: logins for ${mailboxes.length} mailboxes on both sides`);
  await ensureLogins(lab, "prod", mailboxes);
  await ensureLogins(lab, "backup", mailboxes);
  const template = await firstMessage(lab, "prod", "4001");
  await seedMaildirs(lab, mailboxes, opts.perMailbox, template, log);
  await wipe(lab, "backup", mailboxes);

  const dir = join(lab.dir, "bench", "scale");
  const vm = await writeVmirrorConfig(lab, dir, { concurrency: opts.concurrency });
  const raw = JSON.parse(await Deno.readTextFile(vm.config));
  raw.limits = { ...raw.limits, persistentSessions: opts.sessions };
  raw.schedule = { ...raw.schedule, syncSeconds: opts.syncSeconds };
  await Deno.writeTextFile(vm.config, JSON.stringify(raw, null, 2));
  await subscribe(vm, mailboxes);

  log(`bench: scale: initial copy of ${mailboxes.length} mailboxes`);
  const copy = await syncOnce(vm, { servers: opts.servers });
  log(`bench: scale: initial copy ${copy.seconds.toFixed(1)} s, ${copy.copied} messages`);
  const expected = mailboxes.length * opts.perMailbox;
  if (copy.copied !== expected) throw new Error(`copied ${copy.copied}, expected ${expected}`);
  log(`bench: scale: no-change pass, cold (a login each)`);
  const cold = await syncOnce(vm, { servers: opts.servers });
  if (cold.copied !== 0) throw new Error(`the no-change pass copied ${cold.copied}`);
  const kvBytes = await treeBytes(vm.data);

  const idle = await idleCpuPerHour(vm, 60, log);
  const lag = await measureLag(lab, vm, mailboxes, {
    dir,
    samples: opts.lagSamples,
    workers: 4,
    syncSeconds: opts.syncSeconds,
    persistentSessions: opts.sessions,
    log,
  });
  const ms = (a: number[], q: number) => {
    const v = percentile(a, q);
    return Number.isFinite(v) ? `${(v / 1000).toFixed(1)} s` : "-";
  };
  const met = (ok: boolean) => (ok ? "MET" : "NOT MET");
  const all = [...lag.added, ...lag.flagged, ...lag.deleted].sort((a, b) => a - b);
  return [
    `scale: ${mailboxes.length} mailboxes × ${opts.perMailbox} messages, concurrency ${opts.concurrency}, ${opts.sessions} sessions kept, syncSeconds ${opts.syncSeconds}`,
    `  initial copy: ${copy.seconds.toFixed(1)} s (${
      (expected / copy.seconds).toFixed(0)
    } msgs/s), peak RSS ${copy.peakRssMb.toFixed(0)} MB, CPU ${
      copy.cpuSeconds.toFixed(1)
    } s, Dovecot CPU ${copy.serverCpuSeconds.toFixed(1)} s`,
    `  no-change pass, cold: ${cold.seconds.toFixed(1)} s (target ≤ 60 s: ${
      met(cold.seconds <= 60)
    }), peak RSS ${cold.peakRssMb.toFixed(0)} MB, Dovecot CPU ${
      cold.serverCpuSeconds.toFixed(1)
    } s`,
    `  state on disk (KV and the rest of the data dir): ${(kvBytes / 1e6).toFixed(1)} MB`,
    `  serve idle: ${idle.cpuSecondsPerHour.toFixed(0)} CPU s per hour (after a ${
      idle.warmUp.toFixed(0)
    } s cold start)`,
    `  serve steady state, changes at random mailboxes (${lag.parkedSessions} kept when sampling began): new p50 ${
      ms(lag.added, 50)
    } p99 ${ms(lag.added, 99)}; flag p50 ${ms(lag.flagged, 50)} p99 ${
      ms(lag.flagged, 99)
    }; deletion p50 ${ms(lag.deleted, 50)} p99 ${ms(lag.deleted, 99)}; all p99 ${
      ms(all, 99)
    } (target ≤ 30 s: ${
      met(all.length === 3 * lag.samples && percentile(all, 99) <= 30_000)
    }); peak RSS ${lag.servePeakRssMb.toFixed(0)} MB (target ≤ 300 MB: ${
      met(lag.servePeakRssMb <= 300)
    })`,
  ];
}
