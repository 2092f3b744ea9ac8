/**
 * Stopping and starting the service around a switch: the platform's commands (or the
 * operator's), and the proof that it stopped — the data directory's writer lock, which the
 * kernel frees only when the serving process has ended.
 * @module
 */
import { acquireDataLock, DataDirBusyError, type DataLock } from "../support/mod.ts";
import { lastLines, UpgradeError } from "./package.ts";
import { type CommandLine, commandText } from "./plan.ts";

/**
 * Runs a stop or start command; throws with its exit code and last words. Its stdout is not
 * read and its stderr only until it exits: a start command leaves the service running, and
 * the service may hold on to both.
 */
export async function runServiceCommand(
  line: CommandLine,
  what: "stop" | "start",
  opts: { timeoutMs?: number } = {},
): Promise<void> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(line.cmd, {
      args: line.args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new UpgradeError(
      `Cannot ${what} the service (${commandText(line)}): ${(e as Error).message}`,
      what,
      { cause: e },
    );
  }
  const chunks: Uint8Array[] = [];
  const reader = child.stderr.getReader();
  const reading = (async () => {
    for (;;) {
      const r = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (r.done || !r.value) return;
      chunks.push(r.value);
    }
  })();
  const timeoutMs = opts.timeoutMs ?? 120_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((r) => {
    timer = setTimeout(() => r("timeout"), timeoutMs);
  });
  const status = await Promise.race([child.status, timedOut]);
  clearTimeout(timer);
  if (status === "timeout") {
    try {
      child.kill("SIGKILL");
    } catch { /* it ended meanwhile */ }
    await child.status;
  }
  // A background process started by the command may keep the pipe open: read what is there.
  await Promise.race([reading, pause(300)]);
  await reader.cancel().catch(() => {});
  if (status === "timeout") {
    throw new UpgradeError(
      `Cannot ${what} the service: ${commandText(line)} did not finish within ${
        Math.round(timeoutMs / 1000)
      } s`,
      what,
    );
  }
  if (!status.success) {
    const said = lastLines(new TextDecoder().decode(concat(chunks)));
    throw new UpgradeError(
      `Cannot ${what} the service: ${commandText(line)} exited with ${status.code}: ${said}`,
      what,
    );
  }
}

/**
 * Waits until no vmirror process holds the data directory and takes it; throws when the
 * service is still running after `seconds`.
 */
export async function takeDataDir(
  dataDir: string,
  opts: { verb: string; seconds: number },
): Promise<DataLock> {
  const deadline = Date.now() + opts.seconds * 1000;
  for (;;) {
    try {
      return await acquireDataLock(dataDir, { verb: opts.verb });
    } catch (e) {
      if (!(e instanceof DataDirBusyError)) throw e;
      if (Date.now() >= deadline) {
        throw new UpgradeError(
          `The service did not stop within ${opts.seconds} s: ${e.message}`,
          "stop",
          { cause: e },
        );
      }
    }
    await pause(250);
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Resolves after `ms` (the upgrade has no shutdown signal to honour: it runs to its end). */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
