/**
 * Small process, file and network helpers shared by the lab's modules.
 * @module
 */

/** A lab step that failed; carries the step and the command's output. */
export class LabError extends Error {
  override name = "LabError";
  /** Builds the error; `cause` keeps the underlying failure. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Output of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@linkcode run}. */
export interface RunOptions {
  /** Text piped to standard input. */
  stdin?: string | Uint8Array;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /** Do not throw on a non-zero exit code. */
  allowFail?: boolean;
}

/** Runs a command to completion; throws a {@linkcode LabError} with its stderr when it fails. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      env: opts.env,
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new LabError(`Cannot run "${cmd}": ${(e as Error).message}`, { cause: e });
  }
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(
      typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin,
    );
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  const res = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  if (res.code !== 0 && !opts.allowFail) {
    const detail = (res.stderr.trim() || res.stdout.trim()).split("\n").slice(-8).join("\n");
    throw new LabError(
      `Command "${cmd} ${args.join(" ")}" failed with code ${res.code}: ${detail}`,
    );
  }
  return res;
}

/**
 * Runs a command that daemonizes itself. Its output goes to `outFile`, not to pipes: a daemon that
 * inherits our pipes keeps them open, and waiting for their end would never return.
 */
export async function runDaemon(cmd: string, args: string[], outFile: string): Promise<void> {
  const res = await run("sh", [
    "-c",
    'exec "$@" >>"$VMIRROR_LAB_OUT" 2>&1 </dev/null',
    "sh",
    cmd,
    ...args,
  ], {
    env: { VMIRROR_LAB_OUT: outFile },
    allowFail: true,
  });
  if (res.code !== 0) {
    let tail = "";
    try {
      tail = Deno.readTextFileSync(outFile).trim().split("\n").slice(-5).join("\n");
    } catch {
      // No output file: nothing to add.
    }
    throw new LabError(`Command "${cmd} ${args.join(" ")}" failed with code ${res.code}: ${tail}`);
  }
}

/**
 * Starts a long-running foreground program detached (own session via setsid, output appended to
 * `logFile`), so it outlives the lab command; the caller waits for its pid file and port.
 */
export async function spawnDetached(cmd: string, args: string[], logFile: string): Promise<void> {
  await run(
    "sh",
    ["-c", 'setsid "$@" >>"$VMIRROR_LAB_OUT" 2>&1 </dev/null &', "sh", cmd, ...args],
    {
      env: { VMIRROR_LAB_OUT: logFile },
    },
  );
}

/** Whether an executable is found on PATH (or at an absolute path). */
export function hasBinary(name: string): boolean {
  if (name.startsWith("/")) return exists(name);
  const path = Deno.env.get("PATH") ??
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  return path.split(":").some((d) => exists(`${d}/${name}`));
}

/** Whether a path exists (follows symlinks). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes a text file with a mode, creating parent directories. */
export function writeText(path: string, text: string, mode = 0o644): void {
  Deno.mkdirSync(dirname(path), { recursive: true });
  Deno.writeTextFileSync(path, text, { mode });
  // writeTextFile applies the mode only on creation; force it for files that already existed.
  Deno.chmodSync(path, mode);
}

/** The directory part of a path. */
export function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** Reads a pid file; undefined when absent or unparsable. */
export function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(Deno.readTextFileSync(pidFile).trim(), 10);
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process is alive (and not a zombie), read from /proc since the lab is Linux-only. */
export function pidAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Whether a process's command line mentions a word (guards against a reused pid). */
function cmdlineHas(pid: number, word: string): boolean {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes(word);
  } catch {
    return false;
  }
}

/**
 * The live pid recorded in a pid file, or undefined (a stale file is removed). With `expect`, the
 * process's command line must contain that word, so a pid reused by another program is not ours.
 */
export function livePid(pidFile: string, expect?: string): number | undefined {
  const pid = readPid(pidFile);
  if (pid === undefined) return undefined;
  if (pidAlive(pid) && (expect === undefined || cmdlineHas(pid, expect))) return pid;
  try {
    Deno.removeSync(pidFile);
  } catch {
    // Someone else removed it already; nothing to clean.
  }
  return undefined;
}

/** Sends SIGTERM to the pid in a pid file and waits (then SIGKILL) until it is gone. */
export async function stopPid(
  pidFile: string,
  expect?: string,
  timeoutMs = 10_000,
): Promise<boolean> {
  const pid = livePid(pidFile, expect);
  if (pid === undefined) return false;
  try {
    Deno.kill(pid, "SIGTERM");
  } catch {
    // Already exited between the check and the signal.
  }
  await waitGone(pid, timeoutMs);
  try {
    Deno.removeSync(pidFile);
  } catch {
    // The server removes its own pid file on a clean exit.
  }
  return true;
}

/** Pids of processes holding a TCP socket that listens on a port (from /proc; Linux only). */
export function listenerPids(port: number): number[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] = local "ADDR:PORT", f[3] = state (0A = LISTEN), f[9] = socket inode
      if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === "0A") inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      for (const fd of Deno.readDirSync(`/proc/${e.name}/fd`)) {
        const target = Deno.readLinkSync(`/proc/${e.name}/fd/${fd.name}`);
        const m = /^socket:\[(\d+)\]$/.exec(target);
        if (m && inodes.has(m[1])) {
          pids.push(Number(e.name));
          break;
        }
      }
    } catch {
      // Process gone or not ours to inspect.
    }
  }
  return pids;
}

/** A process's command line with NULs as spaces ("" when gone). */
export function cmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

/** A process's parent pid (0 when gone). */
export function parentPid(pid: number): number {
  try {
    const m = /^PPid:\s+(\d+)/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Sends SIGTERM to a pid and waits (then SIGKILL) until it is gone. */
export async function killAndWait(pid: number, timeoutMs = 10_000): Promise<void> {
  try {
    Deno.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  await waitGone(pid, timeoutMs);
}

// After a SIGTERM: waits for the process to exit, with a SIGKILL once `timeoutMs` has passed.
async function waitGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(50);
  if (pidAlive(pid)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Gone.
    }
    while (pidAlive(pid)) await sleep(50);
  }
}

/** Waits a number of milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export async function portOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: host, port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Waits until a port answers; throws with the server's name after the timeout. */
export async function waitForPort(name: string, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(port)) return;
    await sleep(50);
  }
  throw new LabError(`Server "${name}" did not answer on port ${port} within ${timeoutMs} ms`);
}

/** A random URL-safe secret (no ':' or spaces, so it fits passwd-files and LDIF). */
export function randomSecret(bytes = 18): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...buf)).replaceAll("+", "-").replaceAll("/", "_").replaceAll(
    "=",
    "",
  );
}

/** Looks up a system user's uid and gid via getent; undefined when the user does not exist. */
export async function lookupUser(name: string): Promise<{ uid: number; gid: number } | undefined> {
  const res = await run("getent", ["passwd", name], { allowFail: true });
  if (res.code !== 0) return undefined;
  const f = res.stdout.trim().split(":");
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** Runs async jobs with a concurrency limit, keeping result order. */
export async function pool<T, R>(
  items: T[],
  limit: number,
  fn: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
