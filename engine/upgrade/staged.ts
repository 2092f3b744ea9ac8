/**
 * Upgrades asked for from the admin console, as data and plans: the serving process verifies an
 * upload, stages it under `<data>/upgrade/` and writes a request file; a process outside the
 * service (`vmirror upgrade --staged`) takes the request and carries it out, writing its
 * progress and outcome beside it for the console to read. Pure: formats, paths, the rules that
 * judge an upload before it is staged, and how the staged run is launched on each deployment.
 *
 * The request file is written by the service's (unprivileged) user and read by root on a systemd
 * install, so it carries nothing but an id, the action, a file name inside the staging area, a
 * SHA-256 and who asked: never a path, a command or an option.
 * @module
 */
import { type CommandLine, pathOn, type UpgradeOs } from "./plan.ts";

/** The console's upgrade area inside the data directory. */
export const UPGRADE_DIR = "upgrade";

/** The request file's name (what the systemd path unit watches). */
export const REQUEST_FILE = "request.json";

/** The scheduled task a Windows install registers to run staged upgrades as SYSTEM. */
export const UPGRADE_TASK = "vmirror-upgrade";

/** The largest upload the console takes by default (a portable package is ~50 MB). */
export const DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024;

/** The files of the upgrade area. */
export interface StagedPaths {
  dir: string;
  request: string;
  /** The state of the running or last staged run (written by the runner). */
  status: string;
  /** The running or last staged run's progress lines. */
  progress: string;
}

/** Where the console's upgrade files live. */
export function stagedPaths(os: UpgradeOs, dataDir: string): StagedPaths {
  const dir = pathOn(os, dataDir, UPGRADE_DIR);
  return {
    dir,
    request: pathOn(os, dir, REQUEST_FILE),
    status: pathOn(os, dir, "status.json"),
    progress: pathOn(os, dir, "progress.log"),
  };
}

/** The directory a verified upload is staged in. */
export function stagedDir(os: UpgradeOs, dataDir: string, id: string): string {
  return pathOn(os, dataDir, UPGRADE_DIR, `staged-${id}`);
}

/** The directory an upload is received into (removed unless it is verified and staged). */
export function incomingDir(os: UpgradeOs, dataDir: string, id: string): string {
  return pathOn(os, dataDir, UPGRADE_DIR, `incoming-${id}`);
}

/** What the console asks the runner to do. */
export interface UpgradeRequest {
  id: string;
  action: "upgrade" | "rollback";
  /** Upgrade: the staged file's name in `staged-<id>/`. */
  file?: string;
  /** Upgrade: check the file against this SHA-256 instead of the signed SHA256SUMS beside it. */
  sha256?: string;
  /** The version it goes to, as far as the console knows. */
  version?: string;
  requestedAt: string;
  /** The audit actor who asked ("admin:admin", "admin:token:deploy"). */
  requestedBy: string;
}

const ID = /^[0-9a-f]{8,32}$/;
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** A new request id. */
export function newRequestId(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 16);
}

/** Whether a name may be a staged file's (one plain name, no path, no leading dot). */
export function isStageableName(name: string): boolean {
  return FILE_NAME.test(name) && !name.includes("..");
}

/** The request file's text. */
export function formatRequest(req: UpgradeRequest): string {
  return JSON.stringify(req, null, 2) + "\n";
}

/** Reads a request file; throws a RangeError naming what is wrong (never echoing the text). */
export function parseRequest(text: string): UpgradeRequest {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text);
  } catch {
    throw new RangeError("it is not JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new RangeError("it is not a JSON object");
  }
  const str = (k: string) => (typeof v[k] === "string" ? v[k] as string : undefined);
  const id = str("id");
  if (!id || !ID.test(id)) throw new RangeError(`"id" is missing or not an id`);
  const action = str("action");
  if (action !== "upgrade" && action !== "rollback") {
    throw new RangeError(`"action" must be "upgrade" or "rollback"`);
  }
  const requestedAt = str("requestedAt");
  if (!requestedAt || Number.isNaN(Date.parse(requestedAt))) {
    throw new RangeError(`"requestedAt" is missing or not a time`);
  }
  const requestedBy = str("requestedBy");
  // An actor is printable text: a line break would forge lines in the runner's log.
  if (!requestedBy || requestedBy.length > 200 || ![...requestedBy].every((ch) => ch >= " ")) {
    throw new RangeError(`"requestedBy" is missing or not a name`);
  }
  const req: UpgradeRequest = { id, action, requestedAt, requestedBy };
  const version = str("version");
  if (version !== undefined) {
    if (!/^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/.test(version)) {
      throw new RangeError(`"version" is not a version`);
    }
    req.version = version;
  }
  if (action === "upgrade") {
    const file = str("file");
    if (!file || !isStageableName(file)) throw new RangeError(`"file" is missing or not a name`);
    req.file = file;
    const sha256 = str("sha256");
    if (sha256 !== undefined) {
      if (!SHA256.test(sha256)) throw new RangeError(`"sha256" is not 64 hexadecimal digits`);
      req.sha256 = sha256;
    }
  }
  return req;
}

/** Where a staged run stands: running, or how it ended. */
export type StagedState = "running" | "succeeded" | "rolled-back" | "failed" | "refused";

/** The runner's account of the running or last staged run (`status.json`). */
export interface StagedStatus {
  id: string;
  action: "upgrade" | "rollback";
  state: StagedState;
  requestedBy: string;
  requestedAt: string;
  startedAt: string;
  finishedAt?: string;
  /** The runner's process id while it runs (a run whose process is gone did not finish). */
  pid?: number;
  from?: string;
  to?: string;
  /** A failure: the step, the reason, and whether the previous release serves again. */
  stage?: string;
  reason?: string;
  restored?: boolean;
  /** A success: the mirror pass that proved the new release, if one was awaited. */
  pass?: { startedAt: string; mailboxes: number; failed: number } | null;
  backup?: string;
}

/** The status file's text. */
export function formatStatus(s: StagedStatus): string {
  return JSON.stringify(s, null, 2) + "\n";
}

/** Reads a status file; null when it is not one. */
export function parseStatus(text: string): StagedStatus | null {
  try {
    const v = JSON.parse(text);
    const states: StagedState[] = ["running", "succeeded", "rolled-back", "failed", "refused"];
    if (
      typeof v?.id === "string" && (v.action === "upgrade" || v.action === "rollback") &&
      states.includes(v.state) && typeof v.startedAt === "string"
    ) return v as StagedStatus;
  } catch {
    // Not a status file: as if there were none.
  }
  return null;
}

/** How a switch ended, as the runner reports it (see upgrade.ts's SwitchOutcome). */
export interface OutcomeFacts {
  ok: boolean;
  from: string;
  to: string;
  backup?: string;
  healthy?: { pass: { startedAt: string; mailboxes: number; failed: number } | null };
  failure?: { stage: string; reason: string; restored: boolean };
}

/** The final status of a run from the switch's outcome. */
export function finishedStatus(
  running: StagedStatus,
  out: OutcomeFacts,
  at: Date = new Date(),
): StagedStatus {
  const { pid: _pid, ...base } = running;
  const done: StagedStatus = {
    ...base,
    from: out.from,
    to: out.to,
    finishedAt: at.toISOString(),
    state: out.ok ? "succeeded" : out.failure?.restored ? "rolled-back" : "failed",
  };
  if (out.backup) done.backup = out.backup;
  if (out.ok) done.pass = out.healthy?.pass ?? null;
  if (out.failure) {
    done.stage = out.failure.stage;
    done.reason = out.failure.reason;
    done.restored = out.failure.restored;
  }
  return done;
}

/** A run refused before anything changed (another run under way, nothing to go back to…). */
export function refusedStatus(
  running: StagedStatus,
  reason: string,
  at: Date = new Date(),
): StagedStatus {
  const { pid: _pid, ...base } = running;
  return { ...base, state: "refused", reason, finishedAt: at.toISOString() };
}

/** The last `n` lines of a progress log. */
export function tailLines(text: string, n = 200): string[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  return lines.slice(-n);
}

/** One progress line as the runner writes it: the time, then the line. */
export function progressLine(line: string, at: Date = new Date()): string {
  return `${at.toISOString()} ${line.replace(/[\r\n]+/g, " ")}\n`;
}

// ---------------------------------------------------------------------------------------------
// Who carries the request out

/**
 * How a console request reaches a process that can carry it out:
 * - "systemd": the root `vmirror-upgrade.path` unit (written by `vmirror install`) sees the
 *   request file and starts `vmirror-upgrade.service`; the service itself cannot (it runs
 *   unprivileged, the program directory is read-only to it, and its children die with it);
 * - "task": on Windows the `vmirror-upgrade` scheduled task (SYSTEM, registered by the install)
 *   is started: a process of its own, which stopping the service's task does not end;
 * - "spawn": a plain `vmirror serve` given `--service-stop`/`--service-start` starts
 *   `vmirror upgrade --staged` detached (its own session), which stops it with those commands;
 * - "manual": the request waits for the operator to run `vmirror upgrade --staged`.
 */
export type RunnerMode = "systemd" | "task" | "spawn" | "manual";

/** Which way requests are carried out for a serving process. */
export function runnerMode(input: {
  os: UpgradeOs;
  /** The process runs as a systemd service (`INVOCATION_ID` is set). */
  underSystemd: boolean;
  /** `serve --service-stop CMD --service-start CMD` were given. */
  serviceCommands: boolean;
}): RunnerMode {
  if (input.serviceCommands) return "spawn";
  if (input.os === "windows") return "task";
  return input.underSystemd ? "systemd" : "manual";
}

/** Where the installed appliance the staged run works on lives. */
export interface StagedLayout {
  os: UpgradeOs;
  prefix: string;
  dataDir: string;
  /** The config file the service runs with, when it has one. */
  configFile?: string;
}

/** The installed program (`<prefix>/current/vmirror`, or `vmirror.cmd`/`.exe` on Windows). */
export function installedProgram(layout: StagedLayout, name = "vmirror"): string {
  return pathOn(layout.os, layout.prefix, "current", name);
}

/** The command line of `vmirror upgrade --staged` for a layout (and a supervisor's commands). */
export function stagedCommand(
  layout: StagedLayout,
  opts: { program?: string; stop?: string; start?: string } = {},
): CommandLine {
  const program = opts.program ?? installedProgram(layout);
  const args = ["upgrade", "--staged", "--prefix", layout.prefix, "--data", layout.dataDir];
  if (layout.configFile) args.push("--config", layout.configFile);
  if (opts.stop !== undefined && opts.start !== undefined) {
    args.push("--service-stop", opts.stop, "--service-start", opts.start);
  }
  // A `.cmd` launcher runs through cmd.exe, as everywhere else a release's program is run.
  return /\.cmd$/i.test(program)
    ? { cmd: "cmd.exe", args: ["/d", "/c", program, ...args] }
    : { cmd: program, args };
}

/** What the serving process does once a request is written: a command, and how it runs it. */
export interface Launch {
  command: CommandLine;
  /** In a session of its own that outlives this process (spawn), or waited for (task). */
  detached: boolean;
}

/** The launch of a staged run for a mode; null when something else picks the request up. */
export function launchPlan(
  mode: RunnerMode,
  layout: StagedLayout,
  opts: { program?: string; stop?: string; start?: string } = {},
): Launch | null {
  switch (mode) {
    case "systemd":
    case "manual":
      return null;
    case "task":
      return {
        command: { cmd: "schtasks.exe", args: ["/Run", "/TN", UPGRADE_TASK] },
        detached: false,
      };
    case "spawn":
      return { command: stagedCommand(layout, opts), detached: true };
  }
}

/** In words, for the console: who carries a request out. */
export function describeRunner(mode: RunnerMode, layout: StagedLayout): string {
  const cmd = `${
    installedProgram(layout, layout.os === "windows" ? "vmirror.exe" : "vmirror")
  } upgrade --staged`;
  switch (mode) {
    case "systemd":
      return "the vmirror-upgrade.path unit starts vmirror-upgrade.service (as root), which stops this service, switches and starts it";
    case "task":
      return `the "${UPGRADE_TASK}" scheduled task (as SYSTEM) runs ${cmd}`;
    case "spawn":
      return `this process starts ${cmd} in the background with its service commands`;
    case "manual":
      return `nothing runs it by itself: run ${cmd} on the server (with --service-stop and --service-start for your supervisor)`;
  }
}

// ---------------------------------------------------------------------------------------------
// Judging an upload before it is staged

/** What an uploaded file is, from its name and first bytes. */
export type UploadKind =
  | { kind: "package"; version: string; target: string; archive: "tar.gz" | "zip" }
  | { kind: "executable"; format: "elf" | "pe" };

/**
 * What an upload is: a package by its release name (`vmirror-<version>-<target>.tar.gz|.zip`),
 * else an executable by its magic bytes; throws a RangeError saying why it is neither.
 */
export function uploadKind(name: string, head: Uint8Array): UploadKind {
  const m = /^vmirror-(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+?)?)-(linux-x64|windows-x64)\.(tar\.gz|zip)$/
    .exec(name);
  if (m) {
    const archive = m[3] as "tar.gz" | "zip";
    const gzip = head[0] === 0x1f && head[1] === 0x8b;
    const zip = head[0] === 0x50 && head[1] === 0x4b;
    if (archive === "tar.gz" ? !gzip : !zip) {
      throw new RangeError(`"${name}" is named like a package but is not a ${archive} archive`);
    }
    return { kind: "package", version: m[1], target: m[2], archive };
  }
  if (/\.(tar\.gz|tgz|zip)$/i.test(name)) {
    throw new RangeError(
      `"${name}" is not named like a release package (vmirror-<version>-<target>.tar.gz or .zip)`,
    );
  }
  if (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) {
    return { kind: "executable", format: "elf" };
  }
  if (head[0] === 0x4d && head[1] === 0x5a) return { kind: "executable", format: "pe" };
  throw new RangeError(`"${name}" is neither a release package nor an executable`);
}

/** The release target of this platform. */
export function targetOf(os: UpgradeOs): string {
  return os === "windows" ? "windows-x64" : "linux-x64";
}

/** Why an upload cannot run here (another platform's), or null. */
export function platformProblem(kind: UploadKind, os: UpgradeOs): string | null {
  const want = targetOf(os);
  if (kind.kind === "package") {
    return kind.target === want
      ? null
      : `it is the ${kind.target} package; this server needs ${want}`;
  }
  const fits = os === "windows" ? kind.format === "pe" : kind.format === "elf";
  return fits
    ? null
    : `it is a ${kind.format === "pe" ? "Windows" : "Linux"} executable; this server needs ${want}`;
}

/**
 * Compares two versions (`MAJOR.MINOR.PATCH[-pre]`): negative when `a` is older. A pre-release
 * is older than its release; pre-release labels compare part by part (numbers as numbers).
 */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const [core, ...pre] = v.split("-");
    return { core: core.split(".").map((n) => Number(n) || 0), pre: pre.join("-") };
  };
  const x = split(a), y = split(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.core[i] ?? 0) - (y.core[i] ?? 0);
    if (d) return d;
  }
  if (x.pre === y.pre) return 0;
  if (!x.pre) return 1;
  if (!y.pre) return -1;
  const xp = x.pre.split("."), yp = y.pre.split(".");
  for (let i = 0; i < Math.max(xp.length, yp.length); i++) {
    if (xp[i] === undefined) return -1;
    if (yp[i] === undefined) return 1;
    const xn = /^\d+$/.test(xp[i]), yn = /^\d+$/.test(yp[i]);
    if (xn && yn && Number(xp[i]) !== Number(yp[i])) return Number(xp[i]) - Number(yp[i]);
    if (xn !== yn) return xn ? -1 : 1;
    if (xp[i] !== yp[i]) return xp[i] < yp[i] ? -1 : 1;
  }
  return 0;
}

/** Why the console refuses to switch to `version` from `running`, or null. */
export function versionProblem(version: string, running: string): string | null {
  const d = compareVersions(version, running);
  if (d === 0) return `vmirror ${version} is the running release already`;
  if (d < 0) {
    return `vmirror ${version} is older than the running ${running}: the console only upgrades. ` +
      `"Roll back" returns to the previous release; another older one goes through ` +
      `\`vmirror upgrade FILE --allow-downgrade\` on the server`;
  }
  return null;
}
