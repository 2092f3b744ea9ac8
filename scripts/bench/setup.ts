/**
 * The benchmark's own mailboxes in the lab: logins on both Dovecot instances (added in bulk),
 * production seeded once and reused while it still holds the expected counts, destinations wiped.
 * @module
 */

import { addLabUser, resetMailbox, seedMailbox } from "../lab.ts";
import { readUsers } from "../lab/dovecot.ts";
import { type DovecotLayout, labLayout } from "../lab/paths.ts";
import type { LabInfo, LabSide } from "../lab/types.ts";
import { pool, run } from "../lab/util.ts";

/** Which mailbox numbers the benchmark uses, and what production holds in them. */
export interface BenchPlan {
  /** The 1,000 production mailboxes (vmirror's targets have the same numbers on the backup). */
  mailboxes: string[];
  /** The first 200 of them: 25 voicemails each, the initial-copy set. */
  heavy: string[];
  /** mbsync's Near mailbox on the backup for each production mailbox (same index). */
  near: string[];
  /** Production mailboxes of the latency test: IDLE-watched ones first, then polled ones. */
  latencyIdle: string[];
  /** Latency mailboxes left out of the first pass, so vmirror does not IDLE on them. */
  latencyPolled: string[];
  /** Messages per heavy mailbox. */
  perHeavy: number;
}

/** PIN of every benchmark login (the tools log in as the trusted server, never with it). */
export const BENCH_PIN = "135790";

/** The standard plan: prod 50000–50999, mbsync's Near 60000–60999, latency 51000–51023. */
export function benchPlan(
  opts: { total?: number; heavy?: number; perHeavy?: number } = {},
): BenchPlan {
  const total = opts.total ?? 1000;
  const heavy = Math.min(opts.heavy ?? 200, total);
  const num = (base: number, n: number) => Array.from({ length: n }, (_, i) => String(base + i));
  const latency = num(51000, 24);
  return {
    mailboxes: num(50000, total),
    heavy: num(50000, heavy),
    near: num(60000, total),
    latencyIdle: latency.slice(0, 20),
    latencyPolled: latency.slice(20),
    perHeavy: opts.perHeavy ?? 25,
  };
}

/** Messages production should hold in mailbox `i` of the plan (heavy: 25; the rest 1 or 2). */
export function expectedCount(plan: BenchPlan, i: number): number {
  return i < plan.heavy.length ? plan.perHeavy : 1 + (i % 2);
}

/** One Dovecot instance of the lab. */
export function dovecotOf(lab: LabInfo, side: LabSide): DovecotLayout {
  return labLayout(lab.dir, lab.portOffset).dovecot[side];
}

/**
 * Makes sure every mailbox has a login on one side. addLabUser rewrites the passwd-file and waits
 * for Dovecot to reload it (a second or more per call), so the missing ones are written in one go
 * and the last goes through addLabUser, which bumps the mtime and waits for the reload.
 */
export async function ensureLogins(
  lab: LabInfo,
  side: LabSide,
  mailboxes: string[],
): Promise<number> {
  const d = dovecotOf(lab, side);
  for (let attempt = 0; attempt < 3; attempt++) {
    const users = readUsers(d);
    const missing = mailboxes.filter((m) => !users.has(m));
    if (!missing.length) return attempt === 0 ? 0 : mailboxes.length;
    for (const m of missing.slice(0, -1)) users.set(m, BENCH_PIN);
    const text = [...users].map(([u, p]) => `${u}:{PLAIN}${p}::::::`).join("\n") + "\n";
    // In place: the file keeps its owner, group (dovecot) and mode.
    await Deno.writeTextFile(d.usersFile, text);
    await addLabUser(side, missing[missing.length - 1], BENCH_PIN, { dir: lab.dir });
  }
  // A concurrent addLabUser (the test suite) may have rewritten the file from an older copy.
  const users = readUsers(d);
  const missing = mailboxes.filter((m) => !users.has(m));
  if (missing.length) {
    throw new Error(
      `Cannot add ${missing.length} bench login(s) on "${side}": file keeps changing`,
    );
  }
  return mailboxes.length;
}

/** Runs doveadm against one instance for a list of users (via `-F`, one process for all). */
async function doveadmUsers(
  lab: LabInfo,
  side: LabSide,
  users: string[],
  cmd: { command: string[]; args: string[]; formatter?: string },
): Promise<string> {
  const file = await Deno.makeTempFile({ prefix: "vmirror-bench-users-" });
  try {
    await Deno.writeTextFile(file, users.join("\n") + "\n");
    const fmt = cmd.formatter ? ["-f", cmd.formatter] : [];
    const conf = dovecotOf(lab, side).configFile;
    const res = await run("doveadm", ["-c", conf, ...fmt, ...cmd.command, "-F", file, ...cmd.args]);
    return res.stdout;
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** Message count and total RFC 822 size of each user's INBOX. */
export async function inboxStatus(
  lab: LabInfo,
  side: LabSide,
  users: string[],
): Promise<Map<string, { messages: number; bytes: number }>> {
  const out = new Map<string, { messages: number; bytes: number }>();
  for (let i = 0; i < users.length; i += 1000) {
    const text = await doveadmUsers(lab, side, users.slice(i, i + 1000), {
      command: ["mailbox", "status"],
      args: ["messages vsize", "INBOX"],
      formatter: "tab",
    });
    for (const line of text.split("\n").slice(1)) {
      const [user, , messages, vsize] = line.split("\t");
      if (user) out.set(user, { messages: Number(messages), bytes: Number(vsize) });
    }
  }
  return out;
}

/** Expunges every message of every folder of the given users (one doveadm process). */
export async function wipe(lab: LabInfo, side: LabSide, users: string[]): Promise<void> {
  if (!users.length) return;
  await doveadmUsers(lab, side, users, { command: ["expunge"], args: ["mailbox", "*", "all"] });
}

/** Seeds production to the plan, skipping mailboxes that already hold the expected count. */
export async function seedProduction(
  lab: LabInfo,
  plan: BenchPlan,
  opts: { concurrency: number; log: (s: string) => void },
): Promise<{ seeded: number; reused: number }> {
  const status = await inboxStatus(lab, "prod", plan.mailboxes);
  const todo = plan.mailboxes
    .map((m, i) => ({ mailbox: m, count: expectedCount(plan, i) }))
    .filter((x) => status.get(x.mailbox)?.messages !== x.count);
  if (!todo.length) return { seeded: 0, reused: plan.mailboxes.length };
  opts.log(`bench: seeding ${todo.length} production mailbox(es) (not timed)`);
  let done = 0;
  const t0 = performance.now();
  await pool(todo, opts.concurrency, async (x) => {
    await resetMailbox("prod", x.mailbox, { dir: lab.dir });
    await seedMailbox("prod", x.mailbox, { dir: lab.dir, count: x.count });
    if (++done % 100 === 0 || done === todo.length) {
      const s = ((performance.now() - t0) / 1000).toFixed(0);
      opts.log(`bench: seeded ${done}/${todo.length} mailboxes (${s} s)`);
    }
  });
  return { seeded: todo.length, reused: plan.mailboxes.length - todo.length };
}
