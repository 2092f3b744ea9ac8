/**
 * `deno task bench --pair cyrus`: the benchmark's initial copy (200 mailboxes × 25 voicemails)
 * and no-change pass (1,000 mailboxes) with Cyrus IMAP on both sides — the lab's seeded Cyrus as
 * production, its second Cyrus as backup — for vmirror and for mbsync on the same Cyrus pair.
 *
 * vmirror logs in as the trusted server (SASL PLAIN, the mailbox as authorization id: Cyrus's
 * proxy authorization). mbsync has no authorization id, and Cyrus no `mailbox*trusted` login form,
 * so it logs in per mailbox with the mailbox's own password (the bench PIN, in the lab's sasldb):
 * one login per mailbox and side for both tools, as in the Dovecot benchmark. The lab's own
 * bookkeeping (counting, emptying the destinations) uses trusted logins, untimed.
 *
 * Options: `--repeat N` (timed runs per scenario and tool, median reported; default 3),
 * `--concurrency N` (vmirror's `limits.concurrency`, default 8), `--total N` and `--heavy N`
 * (a smaller plan for a quick look; defaults 1,000 and 200).
 * @module
 */

import { parseArgs } from "node:util";
import type { ImapFlow } from "imapflow";
import { join } from "node:path";
import { startLab } from "../lab.ts";
import { setCyrusUser, trustedClient } from "../lab/cyrus.ts";
import { type CyrusLayout, labLayout } from "../lab/paths.ts";
import { appendVoicemails } from "../lab/seed.ts";
import type { LabCyrusServer, LabInfo } from "../lab/types.ts";
import { pool, run } from "../lab/util.ts";
import { planVoiceMessages } from "../lab/voicemail.ts";
import { ensureMbsync, mbsyncRc, type MbsyncServers, runMbsync, writeMbsyncRc } from "./mbsync.ts";
import { intOption } from "./args.ts";
import { hasGnuTime, type Measured } from "./measure.ts";
import { median, type Row, table } from "./report.ts";
import { BENCH_PIN, type BenchPlan, benchPlan, expectedCount } from "./setup.ts";
import { subscribe, syncOnce, type VmirrorSetup, writeVmirrorConfig } from "./vmirror.ts";

const USAGE =
  "usage: deno task bench --pair cyrus [--repeat N] [--concurrency N] [--total N] [--heavy N]";

/** Whether the command line asks for another server pair than the default Dovecot one. */
export function wantsPair(args: string[]): boolean {
  return args.some((a) => a === "--pair" || a.startsWith("--pair="));
}

/** Parsed options of the Cyrus benchmark. */
interface CyrusBenchArgs {
  repeat: number;
  concurrency: number;
  total: number;
  heavy: number;
}

function parse(args: string[]): CyrusBenchArgs {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      pair: { type: "string" },
      repeat: { type: "string", default: "3" },
      concurrency: { type: "string", default: "8" },
      total: { type: "string", default: "1000" },
      heavy: { type: "string", default: "200" },
    },
  });
  if (values.pair !== "cyrus") throw new Error(`--pair: expected "cyrus", got "${values.pair}"`);
  return {
    repeat: intOption("repeat", values.repeat, 1, 10),
    concurrency: intOption("concurrency", values.concurrency, 1, 64),
    total: intOption("total", values.total, 1, 1000),
    heavy: intOption("heavy", values.heavy, 1, 1000),
  };
}

const T0 = performance.now();

function progress(line: string): void {
  const s = ((performance.now() - T0) / 1000).toFixed(0).padStart(4);
  console.error(`[${s} s] ${line}`);
}

// ---- counting and emptying: trusted logins (a Cyrus admin may list others' mailboxes, not read them)

/** One Cyrus as the lab's trusted server sees it: count and empty any mailbox's INBOX. */
class CyrusBoxes {
  constructor(readonly server: LabCyrusServer, readonly lab: LabInfo) {}

  async #with<T>(mailbox: string, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
    const c = await trustedClient({
      host: this.server.host,
      port: this.server.port,
      trustedUser: this.lab.trusted.user,
      trustedPassword: this.lab.trusted.password,
    }, mailbox);
    try {
      return await fn(c);
    } finally {
      await c.logout().catch(() => c.close());
    }
  }

  /** Messages in each mailbox's INBOX (created empty at the first login), 8 logins at a time. */
  async counts(mailboxes: string[]): Promise<number[]> {
    return await pool(
      mailboxes,
      8,
      (m) =>
        this.#with(m, async (c) => {
          const st = await c.status("INBOX", { messages: true });
          return st ? st.messages ?? 0 : 0;
        }),
    );
  }

  /** Expunges every message of each mailbox's INBOX, 8 at a time. */
  async empty(mailboxes: string[]): Promise<void> {
    await pool(mailboxes, 8, (m) =>
      this.#with(m, async (c) => {
        const box = await c.mailboxOpen("INBOX");
        if (box.exists > 0) await c.messageDelete("1:*");
      }));
  }
}

// ---- set-up: logins, production's voicemail, empty destinations ----------------------------------

/** Users a Cyrus's sasldb already holds. */
async function sasldbUsers(c: CyrusLayout): Promise<Set<string>> {
  const out = await run("sasldblistusers2", ["-f", c.sasldb], { allowFail: true });
  return new Set(out.stdout.split("\n").map((l) => l.split("@")[0].trim()).filter(Boolean));
}

/** Gives every mailbox a login with the bench PIN on one Cyrus (mbsync logs in as it). */
async function ensureCyrusLogins(c: CyrusLayout, mailboxes: string[]): Promise<number> {
  const have = await sasldbUsers(c);
  const missing = mailboxes.filter((m) => !have.has(m));
  // One at a time: saslpasswd2 rewrites one database file.
  for (const m of missing) await setCyrusUser(c, m, BENCH_PIN);
  return missing.length;
}

/** Seeds the Cyrus production to the plan, skipping mailboxes that hold the expected count. */
async function seedCyrus(lab: LabInfo, prod: CyrusBoxes, plan: BenchPlan): Promise<number> {
  const counts = await prod.counts(plan.mailboxes);
  const todo = plan.mailboxes.map((mailbox, i) => ({ mailbox, count: expectedCount(plan, i) }))
    .filter((x, i) => counts[i] !== x.count);
  if (!todo.length) return 0;
  progress(`bench: seeding ${todo.length} Cyrus production mailbox(es) (not timed)`);
  const login = {
    host: lab.cyrus.host,
    port: lab.cyrus.port,
    trustedUser: lab.trusted.user,
    trustedPassword: lab.trusted.password,
  };
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  await prod.empty(todo.map((x) => x.mailbox));
  await pool(todo, 8, async ({ mailbox, count }) => {
    const specs = planVoiceMessages(mailbox, count, { now, nonce: `${now.getTime()}` });
    await appendVoicemails(login, mailbox, specs, { audioDir: `${lab.dir}/audio` });
  });
  return todo.length;
}

/** Fails unless every mailbox of a Cyrus holds the expected number of messages. */
async function verify(
  boxes: CyrusBoxes,
  mailboxes: string[],
  expected: (i: number) => number,
  what: string,
): Promise<void> {
  const counts = await boxes.counts(mailboxes);
  for (const [i, m] of mailboxes.entries()) {
    const n = counts[i];
    if (n !== expected(i)) throw new Error(`${what}: "${m}" holds ${n}, expected ${expected(i)}`);
  }
}

// ---- the tools --------------------------------------------------------------------------------

/** mbsync on the Cyrus pair: per mailbox an own login on each Cyrus (the bench PIN). */
function cyrusServers(lab: LabInfo): MbsyncServers {
  return {
    farPort: lab.cyrus.port,
    nearPort: lab.cyrusBackup.port,
    login: (mailbox) => ({ user: mailbox, pass: BENCH_PIN }),
  };
}

/** vmirror's bench config pointed at the Cyrus pair. */
async function vmirrorOnCyrus(lab: LabInfo, dir: string, concurrency: number) {
  const setup: VmirrorSetup = await writeVmirrorConfig(lab, dir, { concurrency });
  const raw = JSON.parse(await Deno.readTextFile(setup.config));
  for (const [endpoint, server] of [[raw.source, lab.cyrus], [raw.target, lab.cyrusBackup]]) {
    Object.assign(endpoint, { name: server.name, host: server.host, port: server.port });
  }
  await Deno.writeTextFile(setup.config, JSON.stringify(raw, null, 2) + "\n");
  return setup;
}

function describe(m: Measured): string {
  return `${m.seconds.toFixed(2)} s, CPU ${m.cpuSeconds.toFixed(1)} s, Cyrus CPU ${
    m.serverCpuSeconds.toFixed(1)
  } s, peak RSS ${m.peakRssMb.toFixed(0)} MB`;
}

/** Runs the Cyrus → Cyrus benchmark and prints its table; the exit code. */
export async function cyrusBenchMain(argv: string[]): Promise<number> {
  let args: CyrusBenchArgs;
  try {
    args = parse(argv);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const plan = benchPlan({ total: args.total, heavy: args.heavy });
  progress("starting the lab (idempotent)");
  const lab = await startLab({ log: progress });
  const layout = labLayout(lab.dir, lab.portOffset);
  if (!hasGnuTime()) {
    progress("installing GNU time (package time) with apt-get");
    await run("apt-get", ["install", "-y", "-q", "time"], {
      env: { DEBIAN_FRONTEND: "noninteractive" },
    });
  }
  const isync = await ensureMbsync(progress);
  progress("bench logins on both Cyrus (prod 50000…, backup 60000…)");
  await ensureCyrusLogins(layout.cyrus, plan.mailboxes);
  await ensureCyrusLogins(layout.cyrusBackup, plan.near);
  const prodBoxes = new CyrusBoxes(lab.cyrus, lab);
  const backupBoxes = new CyrusBoxes(lab.cyrusBackup, lab);
  const seeded = await seedCyrus(lab, prodBoxes, plan);
  if (!seeded) progress(`production already seeded: ${plan.mailboxes.length} mailboxes reused`);
  await verify(prodBoxes, plan.mailboxes, (i) => expectedCount(plan, i), "Cyrus production");
  const heavyMessages = plan.heavy.length * plan.perHeavy;
  const dirs = { root: join(lab.dir, "bench-cyrus") };
  const mbDir = join(dirs.root, "mbsync");
  const stateDir = join(mbDir, "state");
  const pairs = plan.mailboxes.map((far, i) => ({ far, near: plan.near[i] }));
  const rcOpts = { version: isync, stateDir, servers: cyrusServers(lab) };
  const rcHeavy = await writeMbsyncRc(
    mbDir,
    "mbsyncrc-heavy",
    mbsyncRc(lab, pairs.slice(0, plan.heavy.length), rcOpts),
  );
  const rcAll = await writeMbsyncRc(mbDir, "mbsyncrc-all", mbsyncRc(lab, pairs, rcOpts));
  const servers = [lab.cyrus.pidFile, lab.cyrusBackup.pidFile].map((f) =>
    Number(Deno.readTextFileSync(f).trim())
  );
  const runs = new Map<string, Measured[]>();
  const record = (key: string, m: Measured) => runs.set(key, [...(runs.get(key) ?? []), m]);
  const fresh = async (mailboxes: string[]) => {
    await backupBoxes.empty(mailboxes);
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    await Deno.mkdir(stateDir, { recursive: true });
    await run("sync", []);
  };
  // Every destination mailbox exists before the first timed run (created at first login).
  await backupBoxes.counts([...plan.mailboxes, ...plan.near]);

  let vm = await vmirrorOnCyrus(lab, join(dirs.root, "vmirror"), args.concurrency);
  for (let rep = 1; rep <= args.repeat; rep++) {
    await fresh([...plan.heavy, ...plan.near.slice(0, plan.heavy.length)]);
    vm = await vmirrorOnCyrus(lab, join(dirs.root, "vmirror"), args.concurrency);
    await subscribe(vm, plan.mailboxes);
    progress(`initial copy ${rep}/${args.repeat}: vmirror, ${plan.heavy.length} mailboxes`);
    const v = await syncOnce(vm, { mailboxes: plan.heavy, servers });
    if (v.copied !== heavyMessages) {
      throw new Error(`vmirror copied ${v.copied} messages, expected ${heavyMessages}`);
    }
    await verify(backupBoxes, plan.heavy, () => plan.perHeavy, "vmirror's copy");
    record("copy vm", v);
    progress(`  vmirror: ${describe(v)}`);
    progress(`initial copy ${rep}/${args.repeat}: mbsync, ${plan.heavy.length} channels`);
    await run("sync", []);
    const b = await runMbsync(rcHeavy, servers);
    const near = plan.near.slice(0, plan.heavy.length);
    await verify(backupBoxes, near, () => plan.perHeavy, "mbsync's copy");
    record("copy mb", b);
    progress(`  mbsync: ${describe(b)}`);
  }

  progress(`first pass over all ${plan.mailboxes.length} mailboxes (not timed): both tools`);
  const first = await syncOnce(vm);
  if (first.mailboxesSynced !== plan.mailboxes.length) {
    throw new Error(`vmirror synced ${first.mailboxesSynced} mailboxes`);
  }
  await runMbsync(rcAll);
  const expectAll = (i: number) => expectedCount(plan, i);
  await verify(backupBoxes, plan.mailboxes, expectAll, "vmirror's mirror");
  await verify(backupBoxes, plan.near, expectAll, "mbsync's mirror");
  for (let rep = 1; rep <= args.repeat; rep++) {
    progress(`no-change pass ${rep}/${args.repeat}: vmirror (all subscribed)`);
    await run("sync", []);
    const a = await syncOnce(vm, { servers });
    if (a.copied !== 0 || a.mailboxesSynced !== plan.mailboxes.length) {
      throw new Error(`vmirror's no-change pass copied ${a.copied} (expected 0)`);
    }
    progress(`  ${describe(a)}`);
    progress(`no-change pass ${rep}/${args.repeat}: mbsync -a`);
    await run("sync", []);
    const b = await runMbsync(rcAll, servers);
    progress(`  ${describe(b)}`);
    record("nc vm", a);
    record("nc mb", b);
  }

  const row = (key: string, base: Pick<Row, "scenario" | "tool" | "mailboxes" | "messages">) => {
    const ms = runs.get(key) ?? [];
    return {
      ...base,
      bytes: 0,
      seconds: median(ms.map((m) => m.seconds)),
      runs: ms.map((m) => m.seconds),
      peakRssMb: Math.max(...ms.map((m) => m.peakRssMb)),
      cpu: median(ms.map((m) => m.cpuSeconds)),
      serverCpu: median(ms.map((m) => m.serverCpuSeconds)),
    } as Row;
  };
  const copy = { scenario: `initial copy ${plan.heavy.length}×${plan.perHeavy}` };
  const nc = { scenario: `no-change ${plan.mailboxes.length}` };
  const vmName = `vmirror c=${args.concurrency}`;
  const mbName = `mbsync ${isync}`;
  const rows = [
    row("copy vm", { ...copy, tool: vmName, mailboxes: plan.heavy.length, messages: 0 }),
    row("copy mb", { ...copy, tool: mbName, mailboxes: plan.heavy.length, messages: 0 }),
    row("nc vm", {
      ...nc,
      tool: `${vmName} subscribed`,
      mailboxes: plan.mailboxes.length,
      messages: 0,
    }),
    row("nc mb", { ...nc, tool: mbName, mailboxes: plan.mailboxes.length, messages: 0 }),
  ];
  rows[0].messages = rows[1].messages = heavyMessages;
  rows[0].ratio = rows[1].seconds / rows[0].seconds;
  rows[2].ratio = rows[3].seconds / rows[2].seconds;
  const cyrusVersion = (await run("dpkg-query", ["-W", "-f=${Version}", "cyrus-common"])).stdout;
  const out = [
    `vmirror benchmark, Cyrus → Cyrus — Cyrus IMAP ${cyrusVersion} (two instances), isync ${isync}, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPU(s)`,
    `production ${plan.mailboxes.length} mailboxes, ${plan.heavy.length} with ${plan.perHeavy} voicemails; INBOX only; median of ${args.repeat} run(s); vmirror: trusted proxy login per mailbox; mbsync: the mailbox's own login`,
    "",
    table(rows).replace("Dovecot CPU s", "Cyrus CPU s  "),
    "",
    ...rows.map((r) =>
      `  runs ${r.scenario} / ${r.tool}: ${r.runs.map((s) => s.toFixed(2)).join(", ")} s`
    ),
    "",
    `initial copy vs mbsync: ${rows[0].ratio!.toFixed(2)}×; no-change pass vs mbsync: ${
      rows[2].ratio!.toFixed(2)
    }×`,
  ];
  console.log(out.join("\n"));
  progress("done");
  return 0;
}
