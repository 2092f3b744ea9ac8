/**
 * Where vmirror's time goes, in the benchmark's lab (run `deno task bench` first: it seeds the
 * mailboxes and writes the config used here). Each experiment reports wall time, this process's
 * CPU and both Dovecot instances' CPU:
 *
 * - per-mailbox check: a minimal raw session (SASL-IR login, STATUS, LOGOUT) against imapflow's
 *   `connectAs()` (ID, AUTHENTICATE, ID, NAMESPACE, ENABLE) + STATUS + logout — why the mirror
 *   pass now uses its own session (engine/imap/session.ts);
 * - the engine's state writes for 5,000 copies and 1,000 mailbox results (Deno KV on disk);
 * - copying 200 × 25 through imapflow (a FETCH and an APPEND round trip per message), against
 *   one FETCH per mailbox with pipelined APPENDs, and with one MULTIAPPEND per mailbox; then the
 *   real CLI (`vmirror sync --once`) and mbsync for comparison.
 *
 * `deno run -A scripts/bench/profile.ts [--concurrency N]`. Copies go to mbsync's Near mailboxes
 * 60000–60199, which are emptied before and after (the benchmark empties them anyway).
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import type { ImapFlow } from "imapflow";
import { type ImapEndpoint, loadConfig } from "../../engine/config/mod.ts";
import { connectAs, disconnect } from "../../engine/imap/mod.ts";
import { fetchMeta, fetchSource, folderStatus, listUids } from "../../engine/imap/mod.ts";
import { emptyResult } from "../../engine/mirror/mod.ts";
import {
  closeState,
  getCursor,
  openState,
  putCursor,
  putIntent,
  putMailboxResult,
  recordCopy,
} from "../../engine/state/mod.ts";
import { readLab } from "../lab.ts";
import type { LabInfo } from "../lab/types.ts";
import { pool } from "../lab/util.ts";
import { type Measured, serverCpu } from "./measure.ts";
import { ensureMbsync, mbsyncRc, runMbsync, writeMbsyncRc } from "./mbsync.ts";
import { subscribe, syncOnce, writeVmirrorConfig } from "./vmirror.ts";
import { RawImap } from "./raw_imap.ts";
import { benchPlan, inboxStatus, wipe } from "./setup.ts";

/** One experiment's cost. */
interface Cost {
  name: string;
  seconds: number;
  cpu: number;
  serverCpu: number;
  note?: string;
}

/** CPU seconds of this process so far. */
function selfCpu(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Runs `fn` and measures it. */
async function cost(
  name: string,
  servers: number[],
  fn: () => Promise<string | void>,
): Promise<Cost> {
  const c0 = selfCpu();
  const s0 = serverCpu(servers);
  const t0 = performance.now();
  const note = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const out = {
    name,
    seconds,
    cpu: selfCpu() - c0,
    serverCpu: serverCpu(servers) - s0,
    note: note || undefined,
  };
  console.error(
    `profile: ${name}: ${seconds.toFixed(2)} s, CPU ${out.cpu.toFixed(1)} s, Dovecot ${
      out.serverCpu.toFixed(1)
    } s`,
  );
  return out;
}

/** A measured subprocess as a cost row (CPU is the subprocess's own). */
function fromMeasured(name: string, m: Measured): Cost {
  console.error(
    `profile: ${name}: ${m.seconds.toFixed(2)} s, CPU ${m.cpuSeconds.toFixed(1)} s, Dovecot ${
      m.serverCpuSeconds.toFixed(1)
    } s`,
  );
  return { name, seconds: m.seconds, cpu: m.cpuSeconds, serverCpu: m.serverCpuSeconds };
}

/** Copies one mailbox the way the engine talks IMAP, without its state store and MIME work. */
async function copyLikeEngine(
  src: ImapEndpoint,
  dst: ImapEndpoint,
  from: string,
  to: string,
): Promise<void> {
  const source = await connectAs(src, from);
  let target: ImapFlow | null = null;
  try {
    await folderStatus(source, "INBOX");
    await source.mailboxOpen("INBOX", { readOnly: true });
    const uids = await listUids(source);
    const metas = await fetchMeta(source, uids);
    target = await connectAs(dst, to);
    await target.mailboxOpen("INBOX");
    for (const meta of metas) {
      const bytes = await fetchSource(source, meta.uid);
      if (bytes) await target.append("INBOX", bytes, meta.flags, meta.internalDate);
    }
  } finally {
    await disconnect(source);
    await disconnect(target);
  }
}

/** Copies one mailbox with one FETCH of every body and raw (multi)appends on the target. */
async function copyBatched(
  lab: LabInfo,
  src: ImapEndpoint,
  from: string,
  to: string,
  multi: boolean,
): Promise<void> {
  const source = await connectAs(src, from);
  const messages: { bytes: Uint8Array; flags: string[]; date: Date }[] = [];
  try {
    await source.mailboxOpen("INBOX", { readOnly: true });
    const query = { uid: true, flags: true, internalDate: true, source: true };
    for await (const m of source.fetch("1:*", query)) {
      messages.push({
        bytes: new Uint8Array(m.source!),
        flags: [...(m.flags ?? [])].filter((f) => f !== "\\Recent"),
        date: new Date(m.internalDate!),
      });
    }
  } finally {
    await disconnect(source);
  }
  const target = await RawImap.login(lab.imap.backup.port, {
    authzid: to,
    user: lab.trusted.user,
    password: lab.trusted.password,
  });
  try {
    await target.append("INBOX", messages, multi);
  } finally {
    await target.logout();
  }
}

/** The profile. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { concurrency: { type: "string", default: "8" } },
  });
  const conc = Number(values.concurrency);
  const lab = readLab();
  const plan = benchPlan();
  const servers = [lab.imap.prod.pidFile, lab.imap.backup.pidFile].map((f) =>
    Number(Deno.readTextFileSync(f).trim())
  );
  const configFile = join(lab.dir, "bench", "vmirror", "vmirror.json");
  const config = await loadConfig({ file: configFile, dataDir: await Deno.makeTempDir() });
  const src = config.source!;
  const dst = config.target as ImapEndpoint & { type: "imap" };
  const prod = await inboxStatus(lab, "prod", plan.heavy);
  if (plan.heavy.some((m) => prod.get(m)?.messages !== plan.perHeavy)) {
    throw new Error("Production is not seeded: run `deno task bench` first");
  }
  const creds = (m: string) => ({
    authzid: m,
    user: lab.trusted.user,
    password: lab.trusted.password,
  });
  const costs: Cost[] = [];

  costs.push(
    await cost(`raw login+STATUS+LOGOUT ×1000 (c=${conc})`, servers, async () => {
      await pool(plan.mailboxes, conc, async (m) => {
        const c = await RawImap.login(lab.imap.prod.port, creds(m));
        await c.command("STATUS INBOX (UIDVALIDITY UIDNEXT MESSAGES HIGHESTMODSEQ)");
        await c.logout();
      });
      return "3 round trips";
    }),
  );
  costs.push(
    await cost(`engine connectAs+STATUS+logout ×1000 (c=${conc})`, servers, async () => {
      await pool(plan.mailboxes, conc, async (m) => {
        const c = await connectAs(src, m);
        await folderStatus(c, "INBOX");
        await disconnect(c);
      });
      return "imapflow: CAPABILITY? ID, AUTHENTICATE (+ continuation), ID, NAMESPACE, ENABLE, STATUS, LOGOUT";
    }),
  );

  const kvDir = await Deno.makeTempDir({ prefix: "vmirror-profile-kv-" });
  costs.push(
    await cost("engine KV writes: 5,000 copies (intent + recordCopy)", [], async () => {
      const state = await openState(join(kvDir, "state.kv"));
      try {
        await pool(plan.heavy, conc, async (m) => {
          for (let uid = 1; uid <= plan.perHeavy; uid++) {
            const now = new Date().toISOString();
            await putIntent(state, { mailbox: m, folder: "INBOX", uidValidity: 1 }, {
              srcUid: uid,
              messageId: `<${m}.${uid}@x>`,
              internalDate: now,
              size: 36000,
              srcMessageId: `<${m}.${uid}@x>`,
              srcSize: 36000,
              kind: "copy",
              startedAt: now,
            });
            await recordCopy(state, { mailbox: m, folder: "INBOX", uidValidity: 1 }, {
              srcUid: uid,
              targetUid: uid,
              targetUidValidity: 1,
              kind: "copy",
              messageId: `<${m}.${uid}@x>`,
              internalDate: now,
              size: 36000,
              flags: [],
            });
          }
        });
      } finally {
        closeState(state);
      }
      return "2 commits per message";
    }),
  );
  costs.push(
    await cost("engine KV: 1,000 × (getCursor + putCursor + putMailboxResult)", [], async () => {
      const state = await openState(join(kvDir, "state.kv"));
      try {
        await pool(plan.mailboxes, conc, async (m) => {
          await getCursor(state, { mailbox: m, folder: "INBOX" });
          const now = new Date().toISOString();
          await putCursor(state, { mailbox: m, folder: "INBOX" }, {
            uidValidity: 1,
            uidNext: 2,
            syncedAt: now,
          });
          await putMailboxResult(state, emptyResult(m));
        });
      } finally {
        closeState(state);
      }
    }),
  );
  await Deno.remove(kvDir, { recursive: true }).catch(() => {});

  const near = plan.near.slice(0, plan.heavy.length);
  const pairs = plan.heavy.map((m, i) => ({ from: m, to: near[i] }));
  const copies: [string, (p: { from: string; to: string }) => Promise<void>][] = [
    [
      "copy 200×25 through imapflow, a FETCH and an APPEND each (no KV, no MIME)",
      (p) => copyLikeEngine(src, dst, p.from, p.to),
    ],
    [
      "copy 200×25: one FETCH per mailbox, pipelined APPENDs",
      (p) => copyBatched(lab, src, p.from, p.to, false),
    ],
    [
      "copy 200×25: one FETCH + one MULTIAPPEND per mailbox",
      (p) => copyBatched(lab, src, p.from, p.to, true),
    ],
  ];
  for (const [name, fn] of copies) {
    await wipe(lab, "backup", near);
    costs.push(
      await cost(`${name} (c=${conc})`, servers, () => pool(pairs, conc, fn).then(() => {})),
    );
    const st = await inboxStatus(lab, "backup", near);
    if (near.some((m) => st.get(m)?.messages !== plan.perHeavy)) throw new Error(`${name}: short`);
  }
  await wipe(lab, "backup", near);

  // The real tools in the same conditions, for reference.
  const dir = join(lab.dir, "bench", "profile");
  await wipe(lab, "backup", plan.heavy);
  const vm = await writeVmirrorConfig(lab, join(dir, "vmirror"), { concurrency: conc });
  await subscribe(vm, plan.heavy);
  costs.push(
    fromMeasured(`vmirror sync --once, real CLI (c=${conc})`, await syncOnce(vm, { servers })),
  );
  await wipe(lab, "backup", plan.heavy);
  const stateDir = join(dir, "mbsync-state");
  await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(stateDir, { recursive: true });
  const version = await ensureMbsync((l) => console.error(l));
  const rc = await writeMbsyncRc(
    dir,
    "mbsyncrc",
    mbsyncRc(lab, pairs.map((p) => ({ far: p.from, near: p.to })), { version, stateDir }),
  );
  costs.push(fromMeasured("mbsync -a, 200 channels", await runMbsync(rc, servers)));
  await wipe(lab, "backup", near);

  const w = Math.max(...costs.map((c) => c.name.length));
  console.log(`${"experiment".padEnd(w)} | seconds | own CPU s | Dovecot CPU s`);
  for (const c of costs) {
    console.log(
      `${c.name.padEnd(w)} | ${c.seconds.toFixed(2).padStart(7)} | ${
        c.cpu.toFixed(1).padStart(9)
      } | ${c.serverCpu.toFixed(1).padStart(13)}${c.note ? `   (${c.note})` : ""}`,
    );
  }
}

if (import.meta.main) await main();
