/**
 * Running the real CLI (and other programs) in a child process, the way an operator would:
 * output captured, VMIRROR_* never leaking in from the caller's environment, and a hang killed
 * after a timeout so it fails the test instead of stalling the suite.
 * @module
 */
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** What a child process said and how it ended. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@link runCommand} and {@link runCli}. */
export interface RunOptions {
  /** Working directory (default: the repository root). */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Killed after this long (default 120 s). */
  timeoutMs?: number;
}

/** Runs a program and collects its output. */
export async function runCommand(cmd: string, args: string[], opts: RunOptions = {}): Promise<Run> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd ?? ROOT,
    env: { NO_COLOR: "1", VMIRROR_CONFIG: "", VMIRROR_DATA: "", ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Runs `vmirror <args>` from the checkout (`deno run -A main.ts`). */
export async function runCli(args: string[], opts: RunOptions = {}): Promise<Run> {
  return await runCommand(Deno.execPath(), ["run", "-A", `${ROOT}main.ts`, ...args], opts);
}
