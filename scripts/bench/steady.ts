/**
 * The no-change pass as `vmirror serve` runs it: production sessions kept open between passes
 * (limits.persistentSessions), each pass a STATUS per folder on an open session. A child process
 * (this file run as a script) runs the scheduler's pass function over every subscribed mailbox:
 * the first pass from a cold start (no sessions: a login each, then parked), then `repeat`
 * steady passes; it prints each pass's wall time and the message store's CPU time as JSON.
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO_DIR } from "../lab/paths.ts";
import { serverCpu } from "./measure.ts";
import type { VmirrorSetup } from "./vmirror.ts";

/** What one child run measured. */
export interface SteadyResult {
  /** The first pass: every session opened (logins), then parked. */
  cold: PassTime;
  /** The passes after it, on parked sessions. */
  steady: PassTime[];
  /** Sessions parked after the last pass. */
  parked: number;
  /** Mailboxes of each pass. */
  mailboxes: number;
}

/** One pass. */
export interface PassTime {
  seconds: number;
  /** CPU seconds of the watched servers meanwhile. */
  serverCpuSeconds: number;
  copied: number;
  failed: number;
}

/** Runs the child over `setup`'s subscribed mailboxes; throws if it fails. */
export async function measureSteady(
  setup: VmirrorSetup,
  opts: { repeat: number; persistentSessions: number; servers: number[] },
): Promise<SteadyResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(REPO_DIR, "scripts/bench/steady.ts"),
      "--config",
      setup.config,
      "--data",
      setup.data,
      "--repeat",
      String(opts.repeat),
      "--sessions",
      String(opts.persistentSessions),
      "--servers",
      opts.servers.join(","),
    ],
    cwd: REPO_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  if (!out.success) {
    throw new Error(`steady no-change passes failed: ${text.decode(out.stderr).slice(-2000)}`);
  }
  return JSON.parse(text.decode(out.stdout)) as SteadyResult;
}

async function child(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      config: { type: "string" },
      data: { type: "string" },
      repeat: { type: "string", default: "3" },
      sessions: { type: "string", default: "1000" },
      servers: { type: "string", default: "" },
    },
  });
  const { loadConfig } = await import("../../engine/config/mod.ts");
  const { openState, closeState, listSubscriptions } = await import("../../engine/state/mod.ts");
  const { runSync } = await import("../../engine/mirror/mod.ts");
  const { SourceSessions } = await import("../../engine/mirror/mod.ts");
  const { acquireDataLock } = await import("../../engine/support/mod.ts");
  const config = await loadConfig({ file: values.config!, dataDir: values.data! });
  if (!config.source) throw new Error("no source configured");
  const source = config.source;
  const servers = values.servers!.split(",").filter(Boolean).map(Number);
  using _lock = await acquireDataLock(config.dataDir, { verb: "bench" });
  const state = await openState(join(config.dataDir, "state.kv"));
  // As serve keeps them: listening where the server offers NOTIFY (pushes are only counted).
  let pushes = 0;
  const sessions = new SourceSessions(source, Number(values.sessions), () => pushes++);
  try {
    const mailboxes = (await listSubscriptions(state)).map((s) => s.mailbox);
    const pass = async (): Promise<PassTime> => {
      const cpu0 = serverCpu(servers);
      const t0 = performance.now();
      const s = await runSync({ ...config, source }, state, {
        mailboxes,
        sessions,
        recordRun: false,
      });
      return {
        seconds: (performance.now() - t0) / 1000,
        serverCpuSeconds: serverCpu(servers) - cpu0,
        copied: s.totals.copied,
        failed: s.failed,
      };
    };
    const cold = await pass();
    const steady: PassTime[] = [];
    for (let i = 0; i < Number(values.repeat); i++) steady.push(await pass());
    const result: SteadyResult = {
      cold,
      steady,
      parked: sessions.size,
      mailboxes: mailboxes.length,
    };
    console.log(JSON.stringify(result));
  } finally {
    await sessions.close();
    closeState(state);
  }
}

if (import.meta.main) {
  try {
    await child();
    Deno.exit(0);
  } catch (e) {
    console.error((e as Error).stack ?? String(e));
    Deno.exit(1);
  }
}
