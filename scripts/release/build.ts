/**
 * Building a release: a staging copy of the tree stamped with the build's facts, then per target
 * either the compiled executable (`deno compile`, where a compile runtime is at hand through
 * `DENORT_BIN`) or the portable package (the Deno runtime from the npm registry's platform
 * package, the bundled appliance and a launcher), then SHA256SUMS and its Ed25519 signature.
 * @module
 */
import { basename, dirname, join } from "node:path";
import { zipSync } from "fflate";
import { formatSha256Sums, publicKeyOf, sha256File, signSums } from "../../engine/release/mod.ts";
import {
  cmdLauncher,
  hostTarget,
  packageName,
  type ReleaseTarget,
  shellLauncher,
  V8_FLAGS,
} from "./launchers.ts";

/** What one release build is asked to do. */
export interface ReleaseOptions {
  /** The checkout to build from. */
  root: string;
  targets: ReleaseTarget[];
  /** Overrides the version in engine/version.ts (tests build "newer" releases this way). */
  version?: string;
  /** The Ed25519 private key that signs SHA256SUMS; its public half is built in. */
  key: CryptoKey;
  /** The key's name as `vmirror version` shows it ("development" for the lab key). */
  keyName: string;
  /** Where `<version>/` goes. */
  outDir: string;
  /** A compile runtime (`denort`) for the host target; without it, portable packages. */
  denort?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What a build produced. */
export interface ReleaseResult {
  version: string;
  dir: string;
  /** File name → what it is. */
  files: { name: string; target: string; form: "executable" | "portable" }[];
}

/** Builds every target, then writes SHA256SUMS and SHA256SUMS.sig. */
export async function buildRelease(opts: ReleaseOptions): Promise<ReleaseResult> {
  const log = opts.log ?? (() => {});
  const stage = await Deno.makeTempDir({ prefix: "vmirror-release-" });
  try {
    const version = await stageTree(opts.root, stage, opts.version);
    const commit = await gitCommit(opts.root);
    const dir = join(opts.outDir, version);
    await Deno.mkdir(dir, { recursive: true });
    const files: ReleaseResult["files"] = [];
    for (const target of opts.targets) {
      await stampBuild(stage, {
        commit,
        target: target.name,
        publicKey: await publicKeyOf(opts.key),
        keyName: opts.keyName,
      });
      if (opts.denort && hostTarget()?.name === target.name) {
        log(`${target.name}: deno compile with the runtime at "${opts.denort}"`);
        const out = join(dir, target.executable);
        await compileExecutable(stage, target, out, opts.denort);
        files.push({ name: basename(out), target: target.name, form: "executable" });
      } else {
        log(`${target.name}: portable package (runtime from ${target.runtimePackage})`);
        const out = await portablePackage(stage, target, { version, dir, log });
        files.push({ name: basename(out), target: target.name, form: "portable" });
      }
    }
    const sums = new Map<string, string>();
    for (const f of files) sums.set(f.name, await sha256File(join(dir, f.name)));
    const text = formatSha256Sums(sums);
    await Deno.writeTextFile(join(dir, "SHA256SUMS"), text);
    await Deno.writeTextFile(join(dir, "SHA256SUMS.sig"), (await signSums(text, opts.key)) + "\n");
    return { version, dir, files };
  } finally {
    await Deno.remove(stage, { recursive: true }).catch(() => {});
  }
}

/** Copies the tree git knows (tracked and new, not ignored) into `stage`; returns the version. */
async function stageTree(root: string, stage: string, version?: string): Promise<string> {
  const listed = await run(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    {
      cwd: root,
    },
  );
  for (const rel of listed.split("\0").filter(Boolean)) {
    const from = join(root, rel);
    const stat = await Deno.stat(from).catch(() => null);
    if (!stat?.isFile) continue; // deleted in the working tree
    await Deno.mkdir(dirname(join(stage, rel)), { recursive: true });
    await Deno.copyFile(from, join(stage, rel));
  }
  const versionFile = join(stage, "engine/version.ts");
  const text = await Deno.readTextFile(versionFile);
  const current = /VERSION = "([^"]+)"/.exec(text)?.[1];
  if (!current) throw new Error(`Cannot find the VERSION in "${versionFile}"`);
  if (!version) return current;
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
    throw new Error(`--version: expected MAJOR.MINOR.PATCH[-PRE], got "${version}"`);
  }
  await Deno.writeTextFile(
    versionFile,
    text.replace(/VERSION = "[^"]+"/, `VERSION = "${version}"`),
  );
  return version;
}

/** Rewrites engine/release/build_info.ts in the staging copy with this build's facts. */
async function stampBuild(
  stage: string,
  facts: { commit: string; target: string; publicKey: string; keyName: string },
): Promise<void> {
  const file = join(stage, "engine/release/build_info.ts");
  let text = await Deno.readTextFile(file);
  const set = (key: string, value: string) => {
    const re = new RegExp(`(\\n  ${key}: )[^\\n]*?( as string \\| null)?,\\n`);
    if (!re.test(text)) throw new Error(`Cannot stamp "${key}" into "${file}"`);
    text = text.replace(re, (_m, head, cast) => `${head}${JSON.stringify(value)}${cast ?? ""},\n`);
  };
  set("commit", facts.commit);
  set("buildDate", new Date().toISOString());
  set("target", facts.target);
  set("releasePublicKey", facts.publicKey);
  set("releaseKeyName", facts.keyName);
  await Deno.writeTextFile(file, text);
}

async function gitCommit(root: string): Promise<string> {
  try {
    const head = (await run("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root })).trim();
    const dirty = (await run("git", ["status", "--porcelain"], { cwd: root })).trim() !== "";
    return dirty ? `${head}-dirty` : head;
  } catch {
    return "unknown";
  }
}

// No --env-file: it would bake the build machine's variables into the binary.
async function compileExecutable(
  stage: string,
  target: ReleaseTarget,
  out: string,
  denort: string,
): Promise<void> {
  await run(Deno.execPath(), [
    "compile",
    "-A",
    "--unstable-kv",
    "--no-check=remote",
    V8_FLAGS,
    "--target",
    target.triple,
    "-o",
    out,
    join(stage, "main.ts"),
  ], { cwd: stage, env: { DENORT_BIN: denort } });
}

/** Bundles the appliance, fetches the runtime, adds the launcher, and archives the package. */
async function portablePackage(
  stage: string,
  target: ReleaseTarget,
  opts: { version: string; dir: string; log: (line: string) => void },
): Promise<string> {
  const name = packageName(opts.version, target);
  const work = await Deno.makeTempDir({ prefix: "vmirror-pkg-" });
  try {
    const pkg = join(work, name);
    await Deno.mkdir(pkg);
    await run(Deno.execPath(), [
      "bundle",
      "--platform",
      "deno",
      "-o",
      join(pkg, "vmirror.js"),
      join(stage, "main.ts"),
    ], { cwd: stage });
    await fetchRuntime(target, join(pkg, target.runtimeFile), work);
    const launcher = join(pkg, target.launcher);
    await Deno.writeTextFile(
      launcher,
      target.archive === "zip" ? cmdLauncher() : shellLauncher(),
    );
    if (target.archive === "tar.gz") await Deno.chmod(launcher, 0o755);
    const archive = join(opts.dir, `${name}.${target.archive}`);
    if (target.archive === "tar.gz") {
      await run("tar", ["-czf", archive, "-C", work, name], { cwd: work });
    } else {
      const entries: Record<string, Uint8Array> = {};
      for (const f of [target.runtimeFile, "vmirror.js", target.launcher]) {
        entries[`${name}/${f}`] = await Deno.readFile(join(pkg, f));
      }
      await Deno.writeFile(archive, zipSync(entries, { level: 6 }));
    }
    opts.log(`${target.name}: ${archive}`);
    return archive;
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** The Deno runtime for a target, from the npm registry's platform package. */
async function fetchRuntime(target: ReleaseTarget, dest: string, work: string): Promise<void> {
  const spec = `${target.runtimePackage}@${Deno.version.deno}`;
  const packed = (await run("npm", ["pack", spec, "--silent", "--pack-destination", work], {
    cwd: work,
  })).trim().split("\n").pop()!;
  const unpack = join(work, "runtime");
  await Deno.mkdir(unpack);
  await run("tar", ["-xzf", join(work, packed), "-C", unpack], { cwd: work });
  await Deno.rename(join(unpack, "package", target.runtimeFile), dest);
  await Deno.chmod(dest, 0o755);
}

async function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string> },
): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    env: opts.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n");
    throw new Error(`${basename(cmd)} ${args.slice(0, 2).join(" ")} failed: ${err}`);
  }
  return new TextDecoder().decode(out.stdout);
}
