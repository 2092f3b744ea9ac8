/**
 * The serving process's side of an upgrade from the admin console: where this installed
 * release lives and who will carry a request out; an upload verified before it is staged (the
 * signed SHA256SUMS or a SHA-256, what kind of file it is, its platform and version), so a bad
 * one is refused at once and leaves nothing behind; the request written, the runner launched;
 * a rollback asked for; a waiting request withdrawn; and everything the console shows.
 * @module
 */
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { statfs } from "node:fs/promises";
import { type BuildInfo, buildInfo } from "../release/mod.ts";
import { SCHEMA_VERSION } from "../state/mod.ts";
import { programInfo, UpgradeError, verifyUpgradeFile } from "./package.ts";
import {
  DEFAULT_MAX_UPLOAD_BYTES,
  describeRunner,
  incomingDir,
  isStageableName,
  type Launch,
  launchPlan,
  newRequestId,
  platformProblem,
  type RunnerMode,
  runnerMode,
  stagedDir,
  type StagedLayout,
  type StagedStatus,
  type UpgradeRequest,
  uploadKind,
  versionProblem,
} from "./staged.ts";
import {
  ensureUpgradeDir,
  hostOs,
  pendingRequest,
  previousRelease,
  readProgress,
  readStatus,
  stillRunning,
  sweepUpgradeDir,
  withdrawRequest,
  writeRequest,
} from "./staged_files.ts";

/** What the serving process knows about upgrading itself from the console. */
export interface ConsoleUpgrade {
  /** The installed layout; null when this process is not an installed release. */
  layout: StagedLayout | null;
  /** Why the console cannot upgrade this process (not installed), when it cannot. */
  unavailable?: string;
  mode: RunnerMode;
  /** How the runner is started once a request is written (null: it starts by itself). */
  launch: Launch | null;
  /** Who carries a request out, in words. */
  runner: string;
  maxUploadBytes: number;
  dataDir: string;
}

/** What the composition root knows when it sets the console's upgrade up. */
export interface ConsoleUpgradeInput {
  dataDir: string;
  configFile?: string;
  /** This process runs as a systemd service. */
  underSystemd: boolean;
  /** `serve --service-stop CMD --service-start CMD`. */
  serviceStop?: string;
  serviceStart?: string;
  maxUploadBytes?: number;
  /** The running program's file (default: this process's executable or bundle). */
  program?: string;
}

/** Finds this process's installation and how a console request will be carried out. */
export async function consoleUpgrade(input: ConsoleUpgradeInput): Promise<ConsoleUpgrade> {
  const os = hostOs();
  const mode = runnerMode({
    os,
    underSystemd: input.underSystemd,
    serviceCommands: input.serviceStop !== undefined && input.serviceStart !== undefined,
  });
  const base = {
    mode,
    maxUploadBytes: input.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    dataDir: input.dataDir,
  };
  const found = await installedRelease(input.program ?? runningFile());
  if (typeof found === "string") {
    return { ...base, layout: null, unavailable: found, launch: null, runner: "" };
  }
  const layout: StagedLayout = {
    os,
    prefix: found.prefix,
    dataDir: input.dataDir,
    configFile: input.configFile,
  };
  const program = join(found.prefix, "current", found.program);
  return {
    ...base,
    layout,
    launch: launchPlan(mode, layout, {
      program,
      stop: input.serviceStop,
      start: input.serviceStart,
    }),
    runner: describeRunner(mode, layout),
  };
}

// The executable itself, or a portable package's bundle (its launcher sits beside it).
function runningFile(): string {
  const exe = Deno.execPath();
  if (/^vmirror(\.exe)?$/i.test(basename(exe))) return exe;
  return Deno.mainModule.startsWith("file:") ? fileURLToPath(Deno.mainModule) : exe;
}

/** The prefix of the installed release `file` belongs to, or why it is not one. */
async function installedRelease(
  file: string,
): Promise<{ prefix: string; program: string } | string> {
  const real = await Deno.realPath(file).catch(() => file);
  const release = dirname(real);
  const prefix = dirname(dirname(release));
  if (basename(dirname(release)) !== "releases") {
    return `this process runs from "${release}", not from an installation made by \`vmirror install\` (<prefix>/releases/<version>/)`;
  }
  const current = await Deno.realPath(join(prefix, "current")).catch(() => null);
  if (current !== release) {
    return `this process runs "${release}", but "${join(prefix, "current")}" points at ${
      current ? `"${current}"` : "nothing"
    }`;
  }
  const names = hostOs() === "windows" ? ["vmirror.exe", "vmirror.cmd"] : ["vmirror"];
  for (const n of names) {
    if ((await Deno.stat(join(release, n)).catch(() => null))?.isFile) {
      return { prefix, program: n };
    }
  }
  return `"${release}" holds no vmirror program`;
}

/** A request the console refuses; `status` is the HTTP status that says so. */
export class UpgradeRequestError extends Error {
  override name = "UpgradeRequestError";
  /** Builds the error with the HTTP status of the refusal. */
  constructor(
    readonly status: 400 | 403 | 409 | 413 | 500 | 507,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Whether an error is a full disk (Linux ENOSPC, Windows ERROR_DISK_FULL). */
export function isDiskFull(e: unknown): boolean {
  return /os error (28|112)\b|ENOSPC|No space left/i.test(String((e as Error)?.message ?? e));
}

/** Refuses while a request waits or a run is under way; names which. */
export async function checkIdle(cu: ConsoleUpgrade): Promise<void> {
  const waiting = await pendingRequest(cu.dataDir);
  if (waiting) {
    throw new UpgradeRequestError(
      409,
      `An ${waiting.action} requested by ${waiting.requestedBy} at ${waiting.requestedAt} is waiting to be carried out: withdraw it first`,
    );
  }
  const status = await readStatus(cu.dataDir);
  if (status && (await stillRunning(status))) {
    throw new UpgradeRequestError(
      409,
      `An ${status.action} is under way (since ${status.startedAt}): wait for it to end`,
    );
  }
}

function requireInstalled(cu: ConsoleUpgrade): StagedLayout {
  if (!cu.layout) {
    throw new UpgradeRequestError(
      409,
      `The console cannot upgrade this process: ${cu.unavailable}`,
    );
  }
  return cu.layout;
}

/** One upload being received: its directory, removed unless the upload is staged. */
export interface Incoming {
  id: string;
  dir: string;
}

/**
 * Starts receiving an upload: refused when the console cannot upgrade, a request waits or a
 * run is under way, or (when the size is announced) it is too large or the disk too full.
 */
export async function beginUpload(
  cu: ConsoleUpgrade,
  announced: number | null,
): Promise<Incoming> {
  requireInstalled(cu);
  await checkIdle(cu);
  if (announced !== null && announced > cu.maxUploadBytes) throw tooLarge(cu);
  await ensureUpgradeDir(cu.dataDir);
  await sweepUpgradeDir(cu.dataDir, null);
  if (announced !== null) {
    const free = await freeBytes(cu.dataDir);
    if (free !== null && free < announced + 16 * 1024 * 1024) {
      throw new UpgradeRequestError(
        507,
        `Not enough free space in "${cu.dataDir}" for the upload: ${mib(announced)} needed, ${
          mib(free)
        } free`,
      );
    }
  }
  const id = newRequestId();
  const dir = incomingDir(hostOs(), cu.dataDir, id);
  await Deno.mkdir(dir, { mode: 0o700 });
  return { id, dir };
}

/** The refusal of an upload over the limit. */
export function tooLarge(cu: ConsoleUpgrade): UpgradeRequestError {
  return new UpgradeRequestError(
    413,
    `The upload is larger than the ${mib(cu.maxUploadBytes)} the console takes`,
  );
}

/** Removes an upload that is not staged. */
export async function abortUpload(incoming: Incoming): Promise<void> {
  await Deno.remove(incoming.dir, { recursive: true }).catch(() => {});
}

/** What came with the upload besides the file. */
export interface UploadFields {
  /** The uploaded file's name in the incoming directory. */
  fileName: string;
  sums?: string;
  sig?: string;
  sha256?: string;
  actor: string;
}

/** What a staged upload is. */
export interface StagedUpload {
  request: UpgradeRequest;
  from: string;
  verifiedBy: "signature" | "sha256";
  size: number;
}

// One commit at a time in this process: two uploads finishing together cannot both request.
let committing: Promise<void> = Promise.resolve();

/**
 * Verifies a received upload and stages it: checked by the signed SHA256SUMS (or the SHA-256),
 * its kind and platform, its version against the running one; then moved to `staged-<id>/`, the
 * request written and the runner launched. Throws an {@link UpgradeRequestError} with the reason
 * (the caller removes the upload).
 */
export async function stageUpload(
  cu: ConsoleUpgrade,
  incoming: Incoming,
  fields: UploadFields,
): Promise<StagedUpload> {
  const layout = requireInstalled(cu);
  if (!isStageableName(fields.fileName)) {
    throw new UpgradeRequestError(400, `"${fields.fileName}" is not a usable file name`);
  }
  const file = join(incoming.dir, fields.fileName);
  const size = (await Deno.stat(file)).size;
  if (size === 0) throw new UpgradeRequestError(400, `"${fields.fileName}" is empty`);
  const sha256 = fields.sha256?.trim().toLowerCase() || undefined;
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new UpgradeRequestError(400, "sha256: expected 64 hexadecimal digits");
  }
  const hasSums = !!fields.sums?.trim(), hasSig = !!fields.sig?.trim();
  if (hasSums !== hasSig) {
    throw new UpgradeRequestError(400, "Give both SHA256SUMS and SHA256SUMS.sig, or neither");
  }
  if (!hasSums && !sha256) {
    throw new UpgradeRequestError(
      400,
      "Give the release's SHA256SUMS and SHA256SUMS.sig, or the file's SHA-256, to check it by",
    );
  }
  if (hasSums) {
    // Beside the file, where the runner's own check finds them again.
    // A form's text field arrives with CRLF line ends (multipart/form-data normalizes them);
    // the release signed the file as written, with LF.
    await Deno.writeTextFile(
      join(incoming.dir, "SHA256SUMS"),
      fields.sums!.replaceAll("\r\n", "\n"),
    );
    await Deno.writeTextFile(join(incoming.dir, "SHA256SUMS.sig"), fields.sig!);
  }
  let verifiedBy: "signature" | "sha256";
  try {
    // The signature when it is given (a SHA-256 given too must match as well).
    verifiedBy = await verifyUpgradeFile(file, { sha256: hasSums ? undefined : sha256 });
    if (hasSums && sha256) await verifyUpgradeFile(file, { sha256 });
  } catch (e) {
    if (e instanceof UpgradeError) throw new UpgradeRequestError(400, e.message, { cause: e });
    throw e;
  }
  const version = await uploadVersion(file, fields.fileName, layout);
  const running = buildInfo().version;
  const problem = versionProblem(version, running);
  if (problem) throw new UpgradeRequestError(400, problem);
  const request: UpgradeRequest = {
    id: incoming.id,
    action: "upgrade",
    file: fields.fileName,
    ...(verifiedBy === "sha256" ? { sha256 } : {}),
    version,
    requestedAt: new Date().toISOString(),
    requestedBy: fields.actor,
  };
  await commit(cu, request, async () => {
    await Deno.rename(incoming.dir, stagedDir(hostOs(), cu.dataDir, incoming.id));
  });
  return { request, from: running, verifiedBy, size };
}

// The version an upload holds: a package's (from its signed name), an executable's (asked).
async function uploadVersion(file: string, name: string, layout: StagedLayout): Promise<string> {
  const head = new Uint8Array(8);
  const f = await Deno.open(file);
  try {
    await f.read(head);
  } finally {
    f.close();
  }
  let kind;
  try {
    kind = uploadKind(name, head);
  } catch (e) {
    throw new UpgradeRequestError(400, (e as Error).message);
  }
  const wrong = platformProblem(kind, layout.os);
  if (wrong) throw new UpgradeRequestError(400, `"${name}" cannot run here: ${wrong}`);
  if (kind.kind === "package") return kind.version;
  // Verified already: asking it what it is runs a file this appliance trusts.
  if (Deno.build.os !== "windows") await Deno.chmod(file, 0o755);
  try {
    const info = await programInfo(file);
    if (!/^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/.test(info.version)) {
      throw new UpgradeRequestError(400, `"${name}" reports no usable version`);
    }
    return info.version;
  } catch (e) {
    if (e instanceof UpgradeRequestError) throw e;
    throw new UpgradeRequestError(
      400,
      `"${name}" does not run as vmirror: ${(e as Error).message}`,
    );
  }
}

/** Asks for a rollback to `vmirror.prev`. */
export async function requestRollback(
  cu: ConsoleUpgrade,
  actor: string,
): Promise<{ request: UpgradeRequest; from: string }> {
  const layout = requireInstalled(cu);
  const prev = await previousRelease(layout.prefix);
  if (!prev) {
    throw new UpgradeRequestError(409, "There is no previous release (vmirror.prev) to go back to");
  }
  const request: UpgradeRequest = {
    id: newRequestId(),
    action: "rollback",
    version: prev.version,
    requestedAt: new Date().toISOString(),
    requestedBy: actor,
  };
  await ensureUpgradeDir(cu.dataDir);
  await commit(cu, request, async () => {});
  return { request, from: buildInfo().version };
}

/** Withdraws a waiting request (and its upload); null when none waits. */
export async function withdraw(cu: ConsoleUpgrade): Promise<UpgradeRequest | null> {
  return await withdrawRequest(cu.dataDir);
}

async function commit(
  cu: ConsoleUpgrade,
  request: UpgradeRequest,
  stage: () => Promise<void>,
): Promise<void> {
  const turn = committing.then(async () => {
    await checkIdle(cu);
    await stage();
    await sweepUpgradeDir(cu.dataDir, request.id);
    await writeRequest(cu.dataDir, request);
    try {
      await launch(cu);
    } catch (e) {
      // Nothing will carry it out: the request goes, and the admin hears why.
      await withdrawRequest(cu.dataDir);
      throw new UpgradeRequestError(
        500,
        `Cannot start the ${request.action}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  });
  committing = turn.catch(() => {});
  await turn;
}

/** Starts the runner as the deployment wants it (nothing to do for systemd and manual). */
async function launch(cu: ConsoleUpgrade): Promise<void> {
  const l = cu.launch;
  if (!l) return;
  const cmd = new Deno.Command(l.command.cmd, {
    args: l.command.args,
    stdin: "null",
    stdout: "null",
    stderr: l.detached ? "null" : "piped",
    detached: l.detached,
    // The runner reads its layout from its arguments, never from this process's variables.
    env: { VMIRROR_CONFIG: "", VMIRROR_DATA: "" },
  });
  if (l.detached) {
    // Its own session: stopping this service does not stop the process that stops it.
    cmd.spawn().unref();
    return;
  }
  const out = await cmd.output();
  if (!out.success) {
    throw new Error(
      new TextDecoder().decode(out.stderr).trim() || `${l.command.cmd} exited with ${out.code}`,
    );
  }
}

/** Everything the console shows about upgrading. */
export interface UpgradeView {
  running: BuildInfo & { stateSchema: number };
  installed: { prefix: string; mode: RunnerMode; runner: string } | null;
  unavailable?: string;
  previous: { version: string; dir: string } | null;
  /** The request waiting to be carried out. */
  staged: UpgradeRequest | null;
  /** The running or last staged run; `state` "running" only while its process lives. */
  upgrade: (StagedStatus & { stale?: boolean }) | null;
  progress: string[];
  maxUploadBytes: number;
}

/** Reads what the console shows. */
export async function upgradeView(cu: ConsoleUpgrade): Promise<UpgradeView> {
  const [staged, status, progress, previous] = await Promise.all([
    pendingRequest(cu.dataDir),
    readStatus(cu.dataDir),
    readProgress(cu.dataDir),
    cu.layout ? previousRelease(cu.layout.prefix) : Promise.resolve(null),
  ]);
  let upgrade: UpgradeView["upgrade"] = status;
  if (status?.state === "running" && !(await stillRunning(status))) {
    // Its process is gone without a word: say so rather than "running" for ever.
    upgrade = { ...status, stale: true };
  }
  return {
    running: { ...buildInfo(), stateSchema: SCHEMA_VERSION },
    installed: cu.layout ? { prefix: cu.layout.prefix, mode: cu.mode, runner: cu.runner } : null,
    ...(cu.unavailable ? { unavailable: cu.unavailable } : {}),
    previous,
    staged,
    upgrade,
    progress,
    maxUploadBytes: cu.maxUploadBytes,
  };
}

async function freeBytes(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

/** Bytes in MiB, for messages. */
export function mib(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}
