/**
 * The initial copy against the message store's floor. On the lab both Dovecot instances share
 * the machine's cores with the tool, and every copied message costs the store CPU it cannot
 * avoid (a login, a FETCH on production; an APPEND, its index update and fsync on the backup).
 * The store's CPU time is read from /proc (both Dovecot masters and their children,
 * {@linkcode serverCpu} in measure.ts) around each run; then
 *
 * - `floor = store CPU / cores`: no client can finish sooner, whatever it does;
 * - `shared floor = (store CPU + tool CPU) / cores`: the bound on a machine where the tool runs
 *   beside the store, as in the lab — the wall time above it is waiting (round trips, fsyncs);
 *
 * and the verdict is the median wall time against `1.15 × floor`. The store CPU of both tools'
 * runs is shown per message: the smaller one is the work the store cannot be spared.
 *
 * `deno task bench` adds {@linkcode floorLines} to its report. Standalone,
 * `deno run -A scripts/bench/floor.ts [--repeat N] [--concurrency N]` repeats vmirror's initial
 * copy of the benchmark's 200 × 25 (seeded by `deno task bench`) and prints the same lines.
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { median } from "./report.ts";
import type { Measured } from "./measure.ts";

/** What the floor is computed from: both tools' measured initial copies of the same messages. */
export interface FloorInput {
  /** vmirror's runs (each with the store's CPU meanwhile). */
  vm: Measured[];
  /** mbsync's runs of the same copy (may be empty). */
  mb: Measured[];
  /** Messages each run copied. */
  messages: number;
  /** Cores of the machine (the store and the tool share them). */
  cores: number;
}

/** The floor of one tool's runs (medians). */
export interface Floor {
  /** Median wall-clock seconds. */
  seconds: number;
  /** Median store CPU seconds during a run. */
  storeCpu: number;
  /** Median CPU seconds of the tool itself. */
  toolCpu: number;
  /** Store CPU milliseconds per copied message. */
  storeMsPerMessage: number;
  /** Store CPU / cores. */
  floor: number;
  /** (Store CPU + tool CPU) / cores. */
  sharedFloor: number;
  /** Wall time ÷ floor (1.00 = at the floor). */
  ratio: number;
}

/** How far within the floor the initial copy must be. */
export const FLOOR_TARGET = 1.15;

/** The floor of a set of runs of one tool; null without runs. */
export function floorOf(runs: Measured[], messages: number, cores: number): Floor | null {
  if (!runs.length || cores < 1) return null;
  const seconds = median(runs.map((m) => m.seconds));
  const storeCpu = median(runs.map((m) => m.serverCpuSeconds));
  const toolCpu = median(runs.map((m) => m.cpuSeconds));
  const floor = storeCpu / cores;
  return {
    seconds,
    storeCpu,
    toolCpu,
    storeMsPerMessage: messages > 0 ? (storeCpu * 1000) / messages : NaN,
    floor,
    sharedFloor: (storeCpu + toolCpu) / cores,
    ratio: seconds / floor,
  };
}

/** The report's lines: vmirror's initial copy against the store's floor, mbsync beside it. */
export function floorLines(input: FloorInput): string[] {
  const vm = floorOf(input.vm, input.messages, input.cores);
  if (!vm) return [];
  const mb = floorOf(input.mb, input.messages, input.cores);
  const s = (v: number) => `${v.toFixed(2)} s`;
  const pct = (v: number) => `${v >= 0 ? "+" : ""}${(v * 100).toFixed(0)} %`;
  const met = vm.seconds <= FLOOR_TARGET * vm.floor ? "MET" : "NOT MET";
  const lines = [
    `initial copy against the store's floor (floor = Dovecot CPU / ${input.cores} cores; shared floor = (Dovecot CPU + tool CPU) / cores):`,
    `  vmirror: ${s(vm.seconds)}; Dovecot CPU ${s(vm.storeCpu)} (${
      vm.storeMsPerMessage.toFixed(2)
    } ms per message) → floor ${s(vm.floor)}, wall ${pct(vm.ratio - 1)} (target ≤ ${
      pct(FLOOR_TARGET - 1)
    }: ${met}); with its own CPU ${s(vm.toolCpu)} shared floor ${s(vm.sharedFloor)}, wall ${
      pct(vm.seconds / vm.sharedFloor - 1)
    } (waiting)`,
  ];
  if (mb) {
    lines.push(
      `  mbsync: ${s(mb.seconds)}; Dovecot CPU ${s(mb.storeCpu)} (${
        mb.storeMsPerMessage.toFixed(2)
      } ms per message) → floor ${s(mb.floor)}, wall ${pct(mb.ratio - 1)}; shared floor ${
        s(mb.sharedFloor)
      }, wall ${pct(mb.seconds / mb.sharedFloor - 1)}`,
    );
    // The store's unavoidable work is the lesser of what the two tools cost it.
    const least = Math.min(vm.storeCpu, mb.storeCpu) / input.cores;
    lines.push(
      `  vmirror against the lesser floor of both tools (${s(least)}): wall ${
        pct(vm.seconds / least - 1)
      }; vmirror ${(mb.seconds / vm.seconds).toFixed(2)}× mbsync`,
    );
  }
  return lines;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      repeat: { type: "string", default: "3" },
      concurrency: { type: "string", default: "8" },
    },
  });
  const { readLab } = await import("../lab.ts");
  const { benchPlan, wipe } = await import("./setup.ts");
  const { subscribe, syncOnce, writeVmirrorConfig } = await import("./vmirror.ts");
  const lab = await readLab();
  const plan = benchPlan();
  const servers = [lab.imap.prod.pidFile, lab.imap.backup.pidFile].map((f) =>
    Number(Deno.readTextFileSync(f).trim())
  );
  const dir = join(lab.dir, "bench", "floor");
  const runs: Measured[] = [];
  let messages = 0;
  for (let rep = 0; rep < Number(values.repeat); rep++) {
    await wipe(lab, "backup", plan.heavy);
    const vm = await writeVmirrorConfig(lab, dir, { concurrency: Number(values.concurrency) });
    await subscribe(vm, plan.heavy);
    // As the benchmark does: no run pays for the previous one's writeback.
    await new Deno.Command("sync").output();
    const v = await syncOnce(vm, { servers });
    messages = v.copied;
    runs.push(v);
    console.error(
      `run ${rep + 1}: ${v.seconds.toFixed(2)} s, CPU ${v.cpuSeconds.toFixed(2)} s, Dovecot ${
        v.serverCpuSeconds.toFixed(2)
      } s, peak RSS ${v.peakRssMb.toFixed(0)} MB, ${v.copied} copied`,
    );
  }
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  console.log(
    floorLines({ vm: runs, mb: [], messages, cores: navigator.hardwareConcurrency }).join("\n"),
  );
  console.log(`  load average after: ${load}`);
}
