/**
 * `deno task bench`: vmirror against mbsync (isync, one-way Pull, `CopyArrivalDate yes`) on the
 * same lab data in the same run — the initial copy of 200 mailboxes × 25 voicemails and a
 * no-change pass over 1,000 mailboxes (with logins, and on kept sessions), the initial copy
 * against the store's floor, the lag of changes over 1,000 mailboxes, the file store against
 * rsync --fsync (scripts/bench/files.ts) — plus new-message → mirrored latency of `vmirror serve`.
 * Results go to stdout as a table; progress to stderr.
 *
 * Options: `--concurrency N` (vmirror's `limits.concurrency`, default 8), `--repeat N` (timed
 * runs per scenario and tool, the median is reported; default 3), `--samples N` (latency
 * messages, default 50), `--skip-latency`, `--skip-lag`, `--skip-files`. The lab is the one `deno task lab` uses;
 * `VMIRROR_LAB_DIR` and `VMIRROR_LAB_PORT_OFFSET` select another, which keeps the benchmark apart
 * from a test suite that resets the default lab. `scripts/bench/profile.ts` breaks the costs down.
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { startLab } from "./lab.ts";
import type { LabInfo } from "./lab/types.ts";
import { run } from "./lab/util.ts";
import { measureLatency, percentile } from "./bench/latency.ts";
import { cyrusBenchMain, wantsPair } from "./bench/cyrus.ts";
import { aptInstall } from "./bench/proc.ts";
import { intOption } from "./bench/args.ts";
import { ensureMbsync, mbsyncRc, runMbsync, writeMbsyncRc } from "./bench/mbsync.ts";
import { hasGnuTime, type Measured } from "./bench/measure.ts";
import { floorLines } from "./bench/floor.ts";
import { median, type Row, table } from "./bench/report.ts";
import {
  type BenchPlan,
  benchPlan,
  ensureLogins,
  expectedCount,
  inboxStatus,
  seedProduction,
  wipe,
} from "./bench/setup.ts";
import { startupCost, subscribe, syncOnce, writeVmirrorConfig } from "./bench/vmirror.ts";
import { measureSteady, type SteadyResult } from "./bench/steady.ts";
import { type LagResult, measureLag } from "./bench/lag.ts";
import { runScale } from "./bench/scale.ts";
import { type FilesBenchResult, filesLines, measureFiles } from "./bench/files.ts";

const USAGE =
  "usage: deno task bench [--concurrency N] [--repeat N] [--samples N] [--skip-latency] [--lag-samples N] [--skip-lag] [--skip-files] [--scale N [--sessions N]]";

/** Parsed command line. */
interface BenchArgs {
  concurrency: number;
  repeat: number;
  samples: number;
  latency: boolean;
  lagSamples: number;
  lag: boolean;
  /** The file store against rsync --fsync. */
  files: boolean;
  /** `--scale N`: only the scale run over N mailboxes. */
  scale: number;
  sessions: number;
}

const T0 = performance.now();

/** Progress line on stderr, with the elapsed time. */
function progress(line: string): void {
  const s = ((performance.now() - T0) / 1000).toFixed(0).padStart(4);
  console.error(`[${s} s] ${line}`);
}

/** Parses and checks the command line. */
function parse(args: string[]): BenchArgs {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      concurrency: { type: "string", default: "8" },
      repeat: { type: "string", default: "3" },
      samples: { type: "string", default: "50" },
      "skip-latency": { type: "boolean", default: false },
      "lag-samples": { type: "string", default: "40" },
      "skip-lag": { type: "boolean", default: false },
      "skip-files": { type: "boolean", default: false },
      scale: { type: "string", default: "0" },
      sessions: { type: "string", default: "1000" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  return {
    concurrency: intOption("concurrency", values.concurrency, 1, 64),
    repeat: intOption("repeat", values.repeat, 1, 10),
    samples: intOption("samples", values.samples, 1, 1000),
    latency: !values["skip-latency"],
    lagSamples: intOption("lag-samples", values["lag-samples"], 1, 1000),
    lag: !values["skip-lag"],
    files: !values["skip-files"],
    scale: intOption("scale", values.scale, 0, 100000),
    sessions: intOption("sessions", values.sessions, 0, 100000),
  };
}

/** First line of a command's output, or "unknown". */
async function versionOf(cmd: string, args: string[]): Promise<string> {
  try {
    return (await run(cmd, args, { allowFail: true })).stdout.trim().split("\n")[0] || "unknown";
  } catch {
    return "unknown";
  }
}

/** Installs GNU time (package `time`) when /usr/bin/time is missing. */
async function ensureGnuTime(): Promise<void> {
  if (hasGnuTime()) return;
  progress("installing GNU time (package time) with apt-get");
  await aptInstall("time");
}

/** Fails unless every mailbox holds the expected number of messages on that side. */
async function verifyCounts(
  lab: LabInfo,
  side: "prod" | "backup",
  mailboxes: string[],
  expected: (i: number) => number,
  what: string,
): Promise<void> {
  const st = await inboxStatus(lab, side, mailboxes);
  const wrong = mailboxes.filter((m, i) => st.get(m)?.messages !== expected(i));
  if (wrong.length) {
    const m = wrong[0];
    throw new Error(
      `${what}: ${wrong.length} mailbox(es) hold the wrong number of messages, e.g. "${m}" has ${
        st.get(m)?.messages
      }, expected ${expected(mailboxes.indexOf(m))}`,
    );
  }
}

/** Work directories of one run (below the lab dir, which git ignores). */
function workDirs(lab: LabInfo) {
  const root = join(lab.dir, "bench");
  return {
    root,
    vmirror: join(root, "vmirror"),
    mbsync: join(root, "mbsync"),
    mbsyncState: join(root, "mbsync", "state"),
    latency: join(root, "latency"),
  };
}

/** Empties every destination and every tool's state, ready for an initial copy. */
async function freshDestinations(lab: LabInfo, plan: BenchPlan): Promise<void> {
  const dirs = workDirs(lab);
  await wipe(lab, "backup", [...plan.mailboxes, ...plan.near]);
  await Deno.remove(dirs.mbsyncState, { recursive: true }).catch(() => {});
  await Deno.mkdir(dirs.mbsyncState, { recursive: true });
}

/** The benchmark. */
async function main(args: BenchArgs): Promise<number> {
  const plan = benchPlan();
  progress("starting the lab (idempotent)");
  const lab = await startLab({ log: (s) => progress(s) });
  await ensureGnuTime();
  if (args.scale) {
    const servers = [lab.imap.prod.pidFile, lab.imap.backup.pidFile].map((f) =>
      Number(Deno.readTextFileSync(f).trim())
    );
    const lines = await runScale(lab, {
      mailboxes: args.scale,
      perMailbox: 3,
      sessions: args.sessions,
      lagSamples: args.lagSamples,
      // With every mailbox kept, the poll only verifies (changes are pushed): the default
      // interval; otherwise the polled mailboxes' lag is the interval plus a pass.
      syncSeconds: args.sessions >= args.scale ? 60 : 15,
      concurrency: args.concurrency,
      servers,
      log: progress,
    });
    console.log([`Dovecot processes: ${loginMode(lab)}`, ...lines].join("\n"));
    return 0;
  }
  const isync = await ensureMbsync(progress);
  const loadBefore = loadAverage();
  const versions = {
    dovecot: await versionOf("dovecot", ["--version"]),
    isync,
    deno: Deno.version.deno,
    cpus: navigator.hardwareConcurrency,
    cpu: (await versionOf("sh", ["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]))
      .trim(),
  };

  progress("bench logins (prod 50000–50999, 51000–51023; backup also 60000–60999)");
  const latencyBoxes = [...plan.latencyIdle, ...plan.latencyPolled];
  await ensureLogins(lab, "prod", [...plan.mailboxes, ...latencyBoxes]);
  await ensureLogins(lab, "backup", [...plan.mailboxes, ...plan.near, ...latencyBoxes]);
  const seeded = await seedProduction(lab, plan, { concurrency: 8, log: progress });
  if (!seeded.seeded) progress(`production already seeded: ${seeded.reused} mailboxes reused`);
  await verifyCounts(lab, "prod", plan.mailboxes, (i) => expectedCount(plan, i), "production");
  const prod = await inboxStatus(lab, "prod", plan.mailboxes);
  const heavyMessages = plan.heavy.reduce((n, m) => n + prod.get(m)!.messages, 0);
  const heavyBytes = plan.heavy.reduce((n, m) => n + prod.get(m)!.bytes, 0);
  const allMessages = plan.mailboxes.reduce((n, m) => n + prod.get(m)!.messages, 0);

  const dirs = workDirs(lab);
  const pairs = plan.mailboxes.map((far, i) => ({ far, near: plan.near[i] }));
  const rcOpts = { version: isync, stateDir: dirs.mbsyncState };
  const rcHeavy = await writeMbsyncRc(
    dirs.mbsync,
    "mbsyncrc-200",
    mbsyncRc(lab, pairs.slice(0, plan.heavy.length), rcOpts),
  );
  const rcAll = await writeMbsyncRc(dirs.mbsync, "mbsyncrc-1000", mbsyncRc(lab, pairs, rcOpts));

  const servers = [lab.imap.prod.pidFile, lab.imap.backup.pidFile].map((f) =>
    Number(Deno.readTextFileSync(f).trim())
  );

  // ---- initial copy: 200 × 25, each repetition onto empty destinations and fresh state -------
  const copyScenario = `initial copy ${plan.heavy.length}×${plan.perHeavy}`;
  const ncScenario = `no-change ${plan.mailboxes.length}`;
  const vmName = `vmirror c=${args.concurrency}`;
  const mbName = `mbsync ${isync}`;
  const runs = new Map<string, Measured[]>();
  const record = (key: string, m: Measured) => runs.set(key, [...(runs.get(key) ?? []), m]);
  let vm = await writeVmirrorConfig(lab, dirs.vmirror, { concurrency: args.concurrency });
  for (let rep = 1; rep <= args.repeat; rep++) {
    await freshDestinations(lab, plan);
    vm = await writeVmirrorConfig(lab, dirs.vmirror, { concurrency: args.concurrency });
    await subscribe(vm, plan.mailboxes);

    progress(`initial copy ${rep}/${args.repeat}: vmirror, ${plan.heavy.length} mailboxes`);
    await settle();
    const v = await syncOnce(vm, { mailboxes: plan.heavy, servers });
    if (v.copied !== heavyMessages) {
      throw new Error(`vmirror copied ${v.copied} messages, expected ${heavyMessages}`);
    }
    await verifyCounts(lab, "backup", plan.heavy, () => plan.perHeavy, "vmirror's copy");
    record("copy vm", v);
    progress(`  vmirror: ${describe(v)}`);

    progress(`initial copy ${rep}/${args.repeat}: mbsync, ${plan.heavy.length} channels`);
    await settle();
    const b = await runMbsync(rcHeavy, servers);
    const near = plan.near.slice(0, plan.heavy.length);
    await verifyCounts(lab, "backup", near, () => plan.perHeavy, "mbsync's copy");
    record("copy mb", b);
    progress(`  mbsync: ${describe(b)}`);
  }

  // ---- no-change pass over 1,000: both tools first mirror everything (untimed) ---------------
  progress(`first pass over all ${plan.mailboxes.length} mailboxes (not timed): vmirror`);
  const first = await syncOnce(vm);
  if (first.mailboxesSynced !== plan.mailboxes.length) {
    throw new Error(`vmirror synced ${first.mailboxesSynced} mailboxes, expected 1000`);
  }
  progress(`first pass over all ${plan.mailboxes.length} mailboxes (not timed): mbsync`);
  await runMbsync(rcAll);
  const expectAll = (i: number) => expectedCount(plan, i);
  await verifyCounts(lab, "backup", plan.mailboxes, expectAll, "vmirror's mirror");
  await verifyCounts(lab, "backup", plan.near, expectAll, "mbsync's mirror");

  for (let rep = 1; rep <= args.repeat; rep++) {
    progress(`no-change pass ${rep}/${args.repeat}: vmirror --mailbox ×${plan.mailboxes.length}`);
    await settle();
    const n = await syncOnce(vm, { mailboxes: plan.mailboxes, servers });
    progress(`  ${describe(n)}`);
    progress(`no-change pass ${rep}/${args.repeat}: vmirror (all subscribed)`);
    await settle();
    const a = await syncOnce(vm, { servers });
    progress(`  ${describe(a)}`);
    progress(`no-change pass ${rep}/${args.repeat}: mbsync -a`);
    await settle();
    const b = await runMbsync(rcAll, servers);
    progress(`  ${describe(b)}`);
    for (const p of [n, a]) {
      if (p.copied !== 0 || p.mailboxesSynced !== plan.mailboxes.length) {
        throw new Error(`vmirror's no-change pass copied ${p.copied} (expected 0)`);
      }
    }
    record("nc named", n);
    record("nc all", a);
    record("nc mb", b);
  }
  await verifyCounts(lab, "backup", plan.mailboxes, expectAll, "vmirror's mirror");
  await verifyCounts(lab, "backup", plan.near, expectAll, "mbsync's mirror");
  const startup = await startupCost();

  // ---- no-change pass as serve runs it: sessions kept open between passes ---------------------
  progress(`no-change passes on kept sessions: a cold start, then ${args.repeat} steady`);
  await settle();
  const steady: SteadyResult = await measureSteady(vm, {
    repeat: args.repeat,
    persistentSessions: plan.mailboxes.length,
    servers,
  });
  progress(
    `  cold ${steady.cold.seconds.toFixed(2)} s, steady ${
      steady.steady.map((p) => p.seconds.toFixed(2)).join(", ")
    } s, ${steady.parked} sessions parked`,
  );
  for (const p of [steady.cold, ...steady.steady]) {
    if (p.copied !== 0 || p.failed !== 0) {
      throw new Error(`kept-session no-change pass copied ${p.copied}, failed ${p.failed}`);
    }
  }

  // ---- lag: every mailbox current within seconds ----------------------------------------------
  const lag: LagResult | undefined = args.lag
    ? await measureLag(lab, vm, plan.mailboxes, {
      dir: dirs.vmirror,
      samples: args.lagSamples,
      workers: 4,
      // Polls come between the changes: each asks every kept session for its STATUS again, and
      // a change after that must still be pushed (Dovecot once stopped pushing after a look).
      syncSeconds: 10,
      persistentSessions: plan.mailboxes.length,
      log: progress,
    })
    : undefined;
  if (lag) {
    await verifyCounts(lab, "prod", plan.mailboxes, expectAll, "production after the lag run");
  }

  // ---- the file store against rsync --fsync, 20 mailboxes × 100 -------------------------------
  const files: FilesBenchResult | undefined = args.files
    ? await measureFiles(lab, {
      mailboxes: 20,
      messages: 100,
      concurrency: args.concurrency,
      repeat: args.repeat,
      servers: servers.slice(0, 1),
      log: progress,
    })
    : undefined;

  // ---- latency ---------------------------------------------------------------------------------
  const latency = args.latency
    ? await measureLatency(lab, plan, {
      dir: dirs.latency,
      concurrency: args.concurrency,
      samples: args.samples,
      log: progress,
    })
    : undefined;

  // ---- report ----------------------------------------------------------------------------------
  const row = (
    key: string,
    base: Omit<Row, "seconds" | "runs" | "peakRssMb" | "cpu" | "serverCpu">,
  ) => {
    const ms = runs.get(key) ?? [];
    return {
      ...base,
      seconds: median(ms.map((m) => m.seconds)),
      runs: ms.map((m) => m.seconds),
      peakRssMb: Math.max(...ms.map((m) => m.peakRssMb)),
      cpu: median(ms.map((m) => m.cpuSeconds)),
      serverCpu: median(ms.map((m) => m.serverCpuSeconds)),
    };
  };
  const copyBase = {
    scenario: copyScenario,
    mailboxes: plan.heavy.length,
    messages: heavyMessages,
    bytes: heavyBytes,
  };
  const ncBase = { scenario: ncScenario, mailboxes: plan.mailboxes.length, messages: 0, bytes: 0 };
  const vmCopy: Row = row("copy vm", { ...copyBase, tool: vmName });
  const mbCopy: Row = row("copy mb", { ...copyBase, tool: mbName });
  const vmNamed: Row = row("nc named", { ...ncBase, tool: `${vmName} --mailbox` });
  const vmAll: Row = row("nc all", { ...ncBase, tool: `${vmName} subscribed` });
  const mbNc: Row = row("nc mb", { ...ncBase, tool: mbName });
  vmCopy.ratio = mbCopy.seconds / vmCopy.seconds;
  vmNamed.ratio = mbNc.seconds / vmNamed.seconds;
  vmAll.ratio = mbNc.seconds / vmAll.seconds;
  const rows = [vmCopy, mbCopy, vmNamed, vmAll, mbNc];

  const out: string[] = [];
  out.push(
    `vmirror benchmark — Dovecot ${versions.dovecot}, isync ${versions.isync}, Deno ${versions.deno}, ${versions.cpus} CPU(s) ${versions.cpu}`,
  );
  out.push(
    `lab ${lab.dir}: production ${plan.mailboxes.length} mailboxes (${allMessages} messages), ${plan.heavy.length} with ${plan.perHeavy} voicemails (${heavyMessages} messages, ${
      (heavyBytes / 1e6).toFixed(1)
    } MB, ${(heavyBytes / heavyMessages / 1024).toFixed(1)} KiB each); INBOX only`,
  );
  out.push(
    `median of ${args.repeat} run(s); seconds = wall clock of the whole process (vmirror: \`deno run -A main.ts sync --once --json\`, start-up ${
      startup.seconds.toFixed(2)
    } s and ${
      startup.peakRssMb.toFixed(0)
    } MB RSS of it; mbsync: \`mbsync -a\`); peak RSS = max over runs; MB = 10^6 bytes;`,
  );
  out.push(`Dovecot processes: ${loginMode(lab)}`);
  out.push(
    `CPU s = user+system CPU of the tool; Dovecot CPU s = both Dovecot instances meanwhile (logins fork processes); load average before: ${loadBefore}, after: ${loadAverage()}`,
  );
  out.push("");
  out.push(table(rows));
  out.push("");
  for (const r of rows) {
    out.push(`  runs ${r.scenario} / ${r.tool}: ${r.runs.map((s) => s.toFixed(2)).join(", ")} s`);
  }
  out.push("");
  const verdict = (ratio: number | undefined, target: number) =>
    `${(ratio ?? NaN).toFixed(2)}× (target ≥ ${target}×: ${
      (ratio ?? 0) >= target ? "MET" : "NOT MET"
    })`;
  // Each repetition runs both tools back to back: its ratio is less exposed to other load.
  const paired = (vmRow: Row, mbRow: Row) => {
    const r = vmRow.runs.map((v, i) => mbRow.runs[i] / v);
    return `paired per run ${r.map((x) => x.toFixed(2)).join(", ")}, median ${
      median(r).toFixed(2)
    }`;
  };
  out.push(
    `initial copy throughput vs mbsync: ${verdict(vmCopy.ratio, 2)}; ${paired(vmCopy, mbCopy)}`,
  );
  // The initial copy against the message store's own CPU time (its floor on these cores).
  const floorInput = { vm: runs.get("copy vm") ?? [], mb: runs.get("copy mb") ?? [] };
  out.push(...floorLines({ ...floorInput, messages: heavyMessages, cores: versions.cpus }));
  out.push(
    `no-change pass vs mbsync, --mailbox ×1000: ${verdict(vmNamed.ratio, 5)}; ${
      paired(vmNamed, mbNc)
    }`,
  );
  out.push(
    `no-change pass vs mbsync, all subscribed: ${verdict(vmAll.ratio, 5)}; ${paired(vmAll, mbNc)}`,
  );
  const mbNcMedian = mbNc.seconds;
  const steadyMedian = median(steady.steady.map((p) => p.seconds));
  out.push(
    `no-change pass on kept sessions (as serve runs it), ${steady.mailboxes} mailboxes, ${steady.parked} sessions kept: cold start ${
      steady.cold.seconds.toFixed(2)
    } s (${(mbNcMedian / steady.cold.seconds).toFixed(1)}× mbsync, Dovecot CPU ${
      steady.cold.serverCpuSeconds.toFixed(1)
    } s); steady ${steady.steady.map((p) => p.seconds.toFixed(3)).join(", ")} s, median ${
      steadyMedian.toFixed(3)
    } s, Dovecot CPU ${median(steady.steady.map((p) => p.serverCpuSeconds)).toFixed(2)} s: ${
      verdict(mbNcMedian / steadyMedian, 20)
    }`,
  );
  if (lag) {
    const p = (a: number[], q: number) => {
      const v = percentile(a, q);
      return Number.isFinite(v) ? `${v.toFixed(0)} ms` : "-";
    };
    const line = (what: string, a: number[]) =>
      `  ${what}: ${a.length}/${lag.samples} seen; p50 ${p(a, 50)}, p99 ${p(a, 99)}, max ${
        p(a, 100)
      } (target p50 ≤ 1 s, p99 ≤ 5 s: ${
        a.length === lag.samples && percentile(a, 50) <= 1000 && percentile(a, 99) <= 5000
          ? "MET"
          : "NOT MET"
      })`;
    out.push("");
    out.push(
      `lag, change on production → on the backup, vmirror serve over ${lag.mailboxes} mailboxes (${lag.parkedSessions} sessions kept, NOTIFY where offered; syncSeconds ${lag.syncSeconds}; cold start until all parked ${
        lag.warmUpSeconds.toFixed(1)
      } s; peak RSS ${lag.servePeakRssMb.toFixed(0)} MB):`,
    );
    out.push(line("new message", lag.added));
    out.push(line("flag change", lag.flagged));
    out.push(line("deletion", lag.deleted));
  }
  if (files) out.push("", ...filesLines(files));
  if (latency) {
    const ms = (v: number | undefined) =>
      v !== undefined && Number.isFinite(v) ? `${v.toFixed(0)} ms` : "-";
    out.push("");
    out.push(
      `latency new message on production → on backup, vmirror serve (c=${args.concurrency}, ${latency.idleSessions} active mailboxes with a session of their own: kept with NOTIFY, or IDLE where the server lacks it; syncSeconds ${latency.syncSeconds}; backup polled by NOOP every 25 ms):`,
    );
    out.push(
      `  active: ${latency.idle.length}/${latency.idleSent} arrived; p50 ${
        ms(percentile(latency.idle, 50))
      }, p99 ${ms(percentile(latency.idle, 99))}, min ${ms(latency.idle[0])}, max ${
        ms(latency.idle[latency.idle.length - 1])
      }`,
    );
    out.push(
      `  polled (no IDLE): ${latency.polled.length}/${latency.polledSent} arrived; ${
        latency.polled.map((v) => `${(v / 1000).toFixed(1)} s`).join(", ") || "-"
      } (bound: syncSeconds + one pass)`,
    );
    out.push(`  vmirror serve peak RSS ${latency.servePeakRssMb.toFixed(1)} MB`);
  }
  console.log(out.join("\n"));
  progress("done");
  return 0;
}

/**
 * Writes every dirty page to disk before a timed run, so no run pays for the previous one's
 * writeback (a wipe, the other tool's copy) while both tools' servers fsync each message.
 */
async function settle(): Promise<void> {
  await run("sync", []);
}

/** The 1, 5 and 15 minute load averages (other work on the machine skews timings). */
function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

/** How the lab's Dovecot runs its login and imap processes (it decides what a login costs). */
function loginMode(lab: LabInfo): string {
  const conf = Deno.readTextFileSync(lab.imap.prod.configFile);
  const count = (service: string) =>
    new RegExp(`service ${service} \\{[^}]*?service_count = (\\d+)`).exec(conf)?.[1] ?? "1";
  const login = count("imap-login") === "0"
    ? "login processes long-lived (high-performance mode)"
    : "a login process per connection";
  const imap = count("imap") === "1"
    ? "an imap process per session"
    : `imap processes reused for up to ${count("imap")} sessions`;
  return `${login}, ${imap} (Dovecot 2.3's performance tuning advice; both tools use the same servers)`;
}

/** One measured run as a progress line. */
function describe(m: Measured): string {
  return `${m.seconds.toFixed(2)} s, CPU ${m.cpuSeconds.toFixed(1)} s, Dovecot CPU ${
    m.serverCpuSeconds.toFixed(1)
  } s, peak RSS ${m.peakRssMb.toFixed(0)} MB`;
}

if (import.meta.main) {
  // `--pair cyrus`: Cyrus on both sides, against mbsync on the same pair (its own options).
  if (wantsPair(Deno.args)) Deno.exit(await cyrusBenchMain(Deno.args));
  let args: BenchArgs;
  try {
    args = parse(Deno.args);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  try {
    Deno.exit(await main(args));
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    for (let c = (e as Error).cause as Error | undefined; c; c = c.cause as Error | undefined) {
      console.error(`  caused by: ${c.message ?? String(c)}`);
    }
    Deno.exit(1);
  }
}
