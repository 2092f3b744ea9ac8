/**
 * Runs a command under GNU time: wall-clock seconds (measured here) and peak RSS (`%M`, the
 * child's maximum resident set, which covers children it waited for).
 * @module
 */

/** A finished, measured command. */
export interface Measured {
  code: number;
  seconds: number;
  /** Peak resident set size in MiB. */
  peakRssMb: number;
  /** CPU seconds (user + system) of the command itself. */
  cpuSeconds: number;
  /** CPU seconds the watched servers (e.g. both Dovecot instances) spent meanwhile. */
  serverCpuSeconds: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode measure}. */
export interface MeasureOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Master pids of servers whose CPU time (with their children's) is measured too. */
  servers?: number[];
}

const TICKS_PER_SECOND = 100;

/** utime, stime, cutime, cstime of a process in clock ticks (0 when it is gone). */
function processTicks(pid: number): { ppid: number; ticks: number } {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name is in parentheses and may hold spaces: split after the last ")".
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // f[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    return {
      ppid: Number(f[1]),
      ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
    };
  } catch {
    return { ppid: 0, ticks: 0 };
  }
}

/**
 * CPU seconds used so far by server processes and their descendants: each master's own and
 * reaped children's time, plus that of its live children (Dovecot forks one process per login).
 */
export function serverCpu(masters: number[]): number {
  if (!masters.length) return 0;
  const wanted = new Set(masters);
  let ticks = 0;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const pid = Number(e.name);
    const p = processTicks(pid);
    if (wanted.has(pid) || wanted.has(p.ppid)) ticks += p.ticks;
  }
  return ticks / TICKS_PER_SECOND;
}

const TIME = "/usr/bin/time";

/** Whether GNU time is installed (package `time`). */
export function hasGnuTime(): boolean {
  try {
    return Deno.statSync(TIME).isFile;
  } catch {
    return false;
  }
}

/** Runs `cmd args` to completion under /usr/bin/time; never throws for a non-zero exit. */
export async function measure(
  cmd: string,
  args: string[],
  opts: MeasureOptions = {},
): Promise<Measured> {
  const out = await Deno.makeTempFile({ prefix: "vmirror-bench-time-" });
  try {
    const servers = opts.servers ?? [];
    const cpu0 = serverCpu(servers);
    const t0 = performance.now();
    const res = await new Deno.Command(TIME, {
      args: ["-f", "%M %U %S", "-o", out, cmd, ...args],
      cwd: opts.cwd,
      env: opts.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const seconds = (performance.now() - t0) / 1000;
    const serverCpuSeconds = serverCpu(servers) - cpu0;
    const last = (await Deno.readTextFile(out)).trim().split("\n").pop() ?? "";
    const [kb, user, sys] = last.split(" ").map(Number);
    const dec = new TextDecoder();
    return {
      code: res.code,
      seconds,
      peakRssMb: Number.isFinite(kb) ? kb / 1024 : NaN,
      cpuSeconds: user + sys,
      serverCpuSeconds,
      stdout: dec.decode(res.stdout),
      stderr: dec.decode(res.stderr),
    };
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

/** Throws with the tail of stderr when a measured command failed. */
export function assertOk(what: string, m: Measured): Measured {
  if (m.code !== 0) {
    const tail = (m.stderr.trim() || m.stdout.trim()).split("\n").slice(-12).join("\n");
    throw new Error(`${what} exited with code ${m.code}:\n${tail}`);
  }
  return m;
}
