/**
 * The upgrade file: verified (the signed SHA256SUMS beside it, or a SHA-256 the operator gives),
 * unpacked into a release directory (a portable package's `.tar.gz` / `.zip`, or a compiled
 * executable), and asked what it is (`version --json`).
 * @module
 */
import { basename, dirname, join } from "node:path";
import { unzipSync } from "fflate";
import { ReleaseIntegrityError, sha256File, verifyReleaseFile } from "../release/mod.ts";

/** An upgrade or rollback step that failed; `stage` names the step. */
export class UpgradeError extends Error {
  override name = "UpgradeError";
  /** Builds the error; `stage` is the step's kind ("verify", "self-test", "wait"…). */
  constructor(message: string, readonly stage: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Checks FILE; returns how it was checked. */
export async function verifyUpgradeFile(
  file: string,
  opts: { sha256?: string } = {},
): Promise<"signature" | "sha256"> {
  if (opts.sha256 !== undefined) {
    const want = opts.sha256.trim().toLowerCase();
    const got = await sha256File(file);
    if (got !== want) {
      throw new UpgradeError(`"${basename(file)}" does not match the SHA-256 given`, "verify");
    }
    return "sha256";
  }
  const dir = dirname(file);
  const read = (name: string) =>
    Deno.readTextFile(join(dir, name)).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      throw new UpgradeError(
        `No "${name}" beside "${file}": keep the release's SHA256SUMS and SHA256SUMS.sig with it, or give --sha256`,
        "verify",
      );
    });
  const sums = await read("SHA256SUMS");
  const signature = await read("SHA256SUMS.sig");
  try {
    await verifyReleaseFile(file, { sums, signature });
  } catch (e) {
    if (e instanceof ReleaseIntegrityError) {
      throw new UpgradeError(`"${basename(file)}" is not trusted: ${e.message}`, "verify", {
        cause: e,
      });
    }
    throw e;
  }
  return "signature";
}

/** What an upgrade file is, by its name. */
export function fileKind(file: string): "tar.gz" | "zip" | "executable" {
  if (/\.(tar\.gz|tgz)$/i.test(file)) return "tar.gz";
  if (/\.zip$/i.test(file)) return "zip";
  return "executable";
}

/**
 * Unpacks FILE into `release` (which must not exist): a package's one top folder becomes the
 * release directory; an executable is copied in as `vmirror` (`vmirror.exe` on Windows). Done
 * beside it under a temporary name and renamed, so a half-unpacked release is never seen.
 */
export async function unpackRelease(file: string, release: string): Promise<void> {
  const tmp = `${release}.incoming-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(tmp, { recursive: true });
  try {
    const kind = fileKind(file);
    if (kind === "tar.gz") await untar(file, tmp);
    else if (kind === "zip") await unzip(file, tmp);
    else {
      const name = Deno.build.os === "windows" ? "vmirror.exe" : "vmirror";
      await Deno.copyFile(file, join(tmp, name));
      if (Deno.build.os !== "windows") await Deno.chmod(join(tmp, name), 0o755);
    }
    const top = [];
    for await (const e of Deno.readDir(tmp)) top.push(e);
    const root = top.length === 1 && top[0].isDirectory ? join(tmp, top[0].name) : tmp;
    if (!(await programIn(root))) {
      throw new UpgradeError(`"${basename(file)}" holds no vmirror program`, "unpack");
    }
    // Release directories are readable by the service user, whatever the umask of the root
    // shell that unpacked them.
    if (Deno.build.os !== "windows") await Deno.chmod(root, 0o755);
    await Deno.rename(root, release);
  } catch (e) {
    if (e instanceof UpgradeError) throw e;
    throw new UpgradeError(
      `Cannot unpack "${basename(file)}" into "${release}": ${(e as Error).message}`,
      "unpack",
      { cause: e },
    );
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

async function untar(file: string, into: string): Promise<void> {
  const out = await new Deno.Command("tar", {
    args: ["-xzf", file, "-C", into, "--no-same-owner"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(new TextDecoder().decode(out.stderr).trim() || `tar exited with ${out.code}`);
  }
}

async function unzip(file: string, into: string): Promise<void> {
  const files = unzipSync(await Deno.readFile(file));
  for (const [name, bytes] of Object.entries(files)) {
    // A signed package has no such names; the check costs nothing.
    if (/^[\\/]|^[A-Za-z]:|(^|[\\/])\.\.([\\/]|$)/.test(name)) {
      throw new Error(`the archive names a path outside itself ("${name}")`);
    }
    if (name.endsWith("/")) continue;
    const to = join(into, name);
    await Deno.mkdir(dirname(to), { recursive: true });
    await Deno.writeFile(to, bytes);
    if (Deno.build.os !== "windows" && !/\.(js|cmd|exe)$/.test(name)) await Deno.chmod(to, 0o755);
  }
}

/** The program file of a release directory (executable or launcher), or null. */
export async function programIn(release: string): Promise<string | null> {
  const names = Deno.build.os === "windows" ? ["vmirror.exe", "vmirror.cmd"] : ["vmirror"];
  for (const n of names) {
    const p = join(release, n);
    if ((await Deno.stat(p).catch(() => null))?.isFile) return p;
  }
  return null;
}

/** What a release says about itself. */
export interface ProgramInfo {
  version: string;
  /** The state schema it writes; releases before this field existed all wrote schema 1. */
  stateSchema: number;
  target: string | null;
}

/** The Deno.Command for running a release's program (a `.cmd` launcher goes through cmd.exe). */
export function programCommand(program: string, args: string[]): CommandSpec {
  return /\.cmd$/i.test(program)
    ? { cmd: "cmd.exe", args: ["/d", "/c", program, ...args] }
    : { cmd: program, args };
}

/** A program and its arguments. */
export interface CommandSpec {
  cmd: string;
  args: string[];
}

/** Runs a release's program to completion and collects its output. */
export async function runProgram(
  program: string,
  args: string[],
  opts: { timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = programCommand(program, args);
  const out = await new Deno.Command(c.cmd, {
    args: c.args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // Not the caller's: a VMIRROR_CONFIG or VMIRROR_DATA of the shell must not redirect it.
    env: { VMIRROR_CONFIG: "", VMIRROR_DATA: "", NO_COLOR: "1" },
    signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Asks a release's program what it is (`version --json`). */
export async function programInfo(program: string): Promise<ProgramInfo> {
  let out;
  try {
    out = await runProgram(program, ["version", "--json"], { timeoutMs: 60_000 });
  } catch (e) {
    throw new UpgradeError(`Cannot run "${program}": ${(e as Error).message}`, "identify", {
      cause: e,
    });
  }
  if (out.code !== 0) {
    throw new UpgradeError(
      `"${program} version" failed (exit ${out.code}): ${lastLines(out.stderr)}`,
      "identify",
    );
  }
  try {
    const info = JSON.parse(out.stdout);
    if (typeof info.version !== "string") throw new Error("no version");
    return {
      version: info.version,
      stateSchema: typeof info.stateSchema === "number" ? info.stateSchema : 1,
      target: typeof info.target === "string" ? info.target : null,
    };
  } catch (e) {
    throw new UpgradeError(
      `"${program} version --json" did not say what it is: ${(e as Error).message}`,
      "identify",
      { cause: e },
    );
  }
}

/** The last few non-empty lines of a program's output, for an error message. */
export function lastLines(text: string, n = 3): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return lines.slice(-n).join(" / ") || "no output";
}
