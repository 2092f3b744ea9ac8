/**
 * vmirror driven as an operator would: the real CLI (`deno run -A main.ts`) as a subprocess, a
 * config derived from the lab's, a data directory of the benchmark's own.
 * @module
 */

import { join } from "node:path";
import { REPO_DIR } from "../lab/paths.ts";
import type { LabInfo } from "../lab/types.ts";
import { sleep } from "../lab/util.ts";
import { assertOk, measure, type Measured } from "./measure.ts";
import { freePort } from "./proc.ts";
import { V8_FLAGS } from "../release/launchers.ts";

/** Where one vmirror instance of the benchmark keeps its config and state. */
export interface VmirrorSetup {
  config: string;
  data: string;
}

/** Options of {@linkcode writeVmirrorConfig}. */
export interface VmirrorConfigOptions {
  concurrency: number;
  /** `schedule` section for `serve`. */
  schedule?: Record<string, unknown>;
  /** More `limits` (e.g. `persistentSessions`). */
  limits?: Record<string, unknown>;
}

/**
 * Writes a config for the benchmark: the lab's IMAP config with INBOX as the only folder (what
 * mbsync's `Patterns INBOX` copies too), the given concurrency, and no `ldap` section (serve's
 * directory sync would subscribe the lab's own mailboxes); `data` starts empty.
 */
export async function writeVmirrorConfig(
  lab: LabInfo,
  dir: string,
  opts: VmirrorConfigOptions,
): Promise<VmirrorSetup> {
  const raw = JSON.parse(await Deno.readTextFile(lab.configs.imap));
  raw.source.folders = ["INBOX"];
  delete raw.source.greetingsFolder;
  delete raw.ldap;
  raw.limits = { ...raw.limits, ...opts.limits, concurrency: opts.concurrency };
  if (opts.schedule) raw.schedule = { ...raw.schedule, ...opts.schedule };
  await Deno.mkdir(dir, { recursive: true });
  const config = join(dir, "vmirror.json");
  const data = join(dir, "data");
  await Deno.remove(data, { recursive: true }).catch(() => {});
  await Deno.writeTextFile(config, JSON.stringify(raw, null, 2) + "\n");
  return { config, data };
}

/** The argv of `deno run -A main.ts <verb> --config … --data …`. */
export function vmirrorArgs(setup: VmirrorSetup, verb: string, args: string[] = []): string[] {
  return [
    "run",
    "-A",
    V8_FLAGS, // as the launchers and the executable run the appliance
    join(REPO_DIR, "main.ts"),
    verb,
    "--config",
    setup.config,
    "--data",
    setup.data,
    ...args,
  ];
}

/** `vmirror subscribe` of many mailboxes (chunked to keep argv small). */
export async function subscribe(setup: VmirrorSetup, mailboxes: string[]): Promise<void> {
  for (let i = 0; i < mailboxes.length; i += 500) {
    const res = await new Deno.Command(Deno.execPath(), {
      args: vmirrorArgs(setup, "subscribe", mailboxes.slice(i, i + 500)),
      cwd: REPO_DIR,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (res.code !== 0) {
      throw new Error(`vmirror subscribe failed: ${new TextDecoder().decode(res.stderr)}`);
    }
  }
}

/** A measured `sync --once --json` pass with its parsed summary. */
export interface VmirrorPass extends Measured {
  copied: number;
  mailboxesSynced: number;
  failed: number;
}

/** Options of {@linkcode syncOnce}. */
export interface SyncOnceOptions {
  /** Only these mailboxes (`--mailbox`); default: every subscribed one. */
  mailboxes?: string[];
  /** Server master pids whose CPU time is measured alongside. */
  servers?: number[];
}

/** Times `vmirror sync --once --json`, over the named mailboxes or (none) all subscribed. */
export async function syncOnce(
  setup: VmirrorSetup,
  opts: SyncOnceOptions = {},
): Promise<VmirrorPass> {
  const named = (opts.mailboxes ?? []).flatMap((m) => ["--mailbox", m]);
  const m = assertOk(
    "vmirror sync --once",
    await measure(Deno.execPath(), vmirrorArgs(setup, "sync", ["--once", "--json", ...named]), {
      cwd: REPO_DIR,
      servers: opts.servers,
    }),
  );
  const summary = JSON.parse(m.stdout) as {
    mailboxes: unknown[];
    failed: number;
    totals: { copied: number };
  };
  if (summary.failed > 0) throw new Error(`vmirror sync: ${summary.failed} mailbox(es) failed`);
  return {
    ...m,
    copied: summary.totals.copied,
    mailboxesSynced: summary.mailboxes.length,
    failed: summary.failed,
  };
}

/** Times `vmirror version`: the CLI's fixed start-up cost (Deno, module graph), for context. */
export async function startupCost(): Promise<Measured> {
  return assertOk(
    "vmirror version",
    await measure(Deno.execPath(), ["run", "-A", join(REPO_DIR, "main.ts"), "version"], {
      cwd: REPO_DIR,
    }),
  );
}

/** A running `vmirror serve` of the benchmark, its output kept in memory until it stops. */
export interface RunningServe {
  pid: number;
  port: number;
  /** SIGTERM, then SIGKILL after `graceMs`; writes the output to `logFile` when given. */
  stop(opts?: { graceMs?: number; logFile?: string; log?: (s: string) => void }): Promise<void>;
}

/** Starts `vmirror serve` over `setup` on a free loopback port. */
export function startServe(setup: VmirrorSetup): RunningServe {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: vmirrorArgs(setup, "serve", ["--listen", `127.0.0.1:${port}`]),
    cwd: REPO_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]).catch(() => ["", ""]);
  return {
    pid: child.pid,
    port,
    async stop(opts = {}) {
      const graceMs = opts.graceMs ?? 20_000;
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      const exited = await Promise.race([
        child.status.then(() => true),
        sleep(graceMs).then(() => false),
      ]);
      if (!exited) {
        opts.log?.(
          `bench: vmirror serve did not stop within ${graceMs / 1000} s of SIGTERM; killing it`,
        );
        child.kill("SIGKILL");
        await child.status;
      }
      const [out, err] = await output;
      if (opts.logFile) await Deno.writeTextFile(opts.logFile, out + err);
    },
  };
}
