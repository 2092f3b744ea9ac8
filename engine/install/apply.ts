/**
 * Carrying out an install plan on this machine, and finding the program files of the running
 * release (a compiled executable, or a portable package's launcher, runtime and bundle).
 * @module
 */
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { VERSION } from "../version.ts";
import type { ProgramFiles, Step } from "./plan.ts";

/** An install step that failed; says which and why. */
export class InstallError extends Error {
  override name = "InstallError";
}

/**
 * The files of the release now running: the compiled executable itself, or the portable
 * package's launcher, Deno runtime and bundle. A checkout cannot install itself.
 */
export async function runningProgram(): Promise<ProgramFiles> {
  const exe = Deno.execPath();
  const exeName = basename(exe).toLowerCase();
  if (exeName === "vmirror" || exeName === "vmirror.exe") {
    return { version: VERSION, files: [exe] };
  }
  const main = Deno.mainModule.startsWith("file:") ? fileURLToPath(Deno.mainModule) : "";
  if (basename(main) === "vmirror.js") {
    const dir = dirname(main);
    const windows = Deno.build.os === "windows";
    const launcher = join(dir, windows ? "vmirror.cmd" : "vmirror");
    const runtime = join(dir, windows ? "deno.exe" : "deno");
    const present = await Promise.all(
      [launcher, runtime].map((p) => Deno.stat(p).then((s) => s.isFile, () => false)),
    );
    if (present.every(Boolean)) return { version: VERSION, files: [launcher, runtime, main] };
  }
  throw new InstallError(
    "install runs from a release (the executable, or a portable package built by `deno task release`), not from a checkout",
  );
}

/** Whether a system user exists (Linux). */
export async function userExists(user: string): Promise<boolean> {
  const out = await new Deno.Command("id", { args: ["-u", user], stdout: "null", stderr: "null" })
    .output().catch(() => null);
  return !!out?.success;
}

/** Carries out the steps in order; stops at the first that fails (unless it may fail). */
export async function applySteps(
  steps: Step[],
  opts: { log?: (line: string) => void } = {},
): Promise<void> {
  for (const step of steps) {
    try {
      await applyStep(step, opts.log ?? (() => {}));
    } catch (e) {
      throw new InstallError(`Cannot ${what(step)}: ${(e as Error).message}`, { cause: e });
    }
  }
}

async function applyStep(step: Step, log: (line: string) => void): Promise<void> {
  switch (step.kind) {
    case "mkdir":
      await Deno.mkdir(step.path, { recursive: true });
      if (step.mode !== undefined && Deno.build.os !== "windows") {
        await Deno.chmod(step.path, step.mode);
      }
      if (step.owner) await chown(step.path, step.owner);
      return;
    case "copy": {
      // Copied under a temporary name and renamed, so a half-copied program never runs.
      const tmp = `${step.to}.tmp-${crypto.randomUUID().slice(0, 8)}`;
      await Deno.copyFile(step.from, tmp);
      if (step.mode !== undefined && Deno.build.os !== "windows") await Deno.chmod(tmp, step.mode);
      await Deno.rename(tmp, step.to);
      return;
    }
    case "link": {
      const tmp = `${step.path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
      await Deno.symlink(step.target, tmp, { type: "dir" });
      await Deno.rename(tmp, step.path);
      return;
    }
    case "write": {
      if (step.keepExisting && (await Deno.stat(step.path).catch(() => null))) {
        log(`kept ${step.path}`);
        return;
      }
      await Deno.writeTextFile(step.path, step.text, { mode: step.mode });
      if (step.mode !== undefined && Deno.build.os !== "windows") {
        await Deno.chmod(step.path, step.mode);
      }
      return;
    }
    case "remove":
      await Deno.remove(step.path, { recursive: true }).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
      return;
    case "run": {
      const out = await new Deno.Command(step.cmd, {
        args: step.args,
        stdout: "piped",
        stderr: "piped",
      }).output().catch((e) => {
        if (step.mayFail) return null;
        throw e;
      });
      if (out && !out.success && !step.mayFail) {
        throw new Error(new TextDecoder().decode(out.stderr).trim() || `exit ${out.code}`);
      }
      return;
    }
  }
}

async function chown(path: string, owner: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  const [user, group] = owner.split(":");
  const uid = await idOf(["-u", user]);
  const gid = await idOf(group ? ["-g", group] : ["-g", user]).catch(async () =>
    group ? Number(await groupId(group)) : uid
  );
  await Deno.chown(path, uid, gid);
}

async function idOf(args: string[]): Promise<number> {
  const out = await new Deno.Command("id", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`no user "${args[1]}"`);
  return Number(new TextDecoder().decode(out.stdout).trim());
}

async function groupId(group: string): Promise<number> {
  const out = await new Deno.Command("getent", { args: ["group", group], stdout: "piped" })
    .output();
  const gid = Number(new TextDecoder().decode(out.stdout).split(":")[2]);
  if (!out.success || !Number.isInteger(gid)) throw new Error(`no group "${group}"`);
  return gid;
}

function what(step: Step): string {
  switch (step.kind) {
    case "mkdir":
      return `create "${step.path}"`;
    case "copy":
      return `copy "${step.from}" to "${step.to}"`;
    case "link":
      return `point "${step.path}" at "${step.target}"`;
    case "write":
      return `write "${step.path}"`;
    case "remove":
      return `remove "${step.path}"`;
    case "run":
      return `${step.why} (${step.cmd})`;
  }
}
