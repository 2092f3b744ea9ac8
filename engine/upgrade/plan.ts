/**
 * Upgrading and rolling back an installed appliance, as a plan: where the releases are, how the
 * service is stopped and started, which steps run in which order, and the rules that decide
 * (a downgrade of the state schema, a pass good enough to call the new release healthy). Pure:
 * the plan for either platform can be made and checked on any machine.
 *
 * The layout is the installer's: `<prefix>/releases/<version>/` holds each release,
 * `<prefix>/current` points at the one the service runs, and `<prefix>/vmirror.prev` at the one
 * it ran before the last upgrade (what `vmirror rollback` goes back to).
 * @module
 */

/** The platforms an upgrade is planned for. */
export type UpgradeOs = "linux" | "windows";

/** Where the installed appliance lives. */
export interface UpgradeLayout {
  os: UpgradeOs;
  /** Program directory: `releases/`, `current` and `vmirror.prev`. */
  prefix: string;
  dataDir: string;
  /** The config file the service is started with. */
  configFile: string;
}

/** A program and its arguments. */
export interface CommandLine {
  cmd: string;
  args: string[];
}

/** How the service is stopped and started. */
export interface ServiceControl {
  /** systemd on Linux, the start-up task on Windows, or the operator's own commands. */
  kind: "systemd" | "scheduled-task" | "custom";
  stop: CommandLine;
  start: CommandLine;
}

/** The service's name everywhere (the installer's unit and task). */
const SERVICE = "vmirror";

/** The link to the previous release, beside `current`. */
export const PREV_LINK = "vmirror.prev";

/** Joins path parts with the separator of the planned platform. */
export function pathOn(os: UpgradeOs, ...parts: string[]): string {
  const sep = os === "windows" ? "\\" : "/";
  return parts.map((p, i) => (i === 0 ? p.replace(/[\\/]+$/, "") : p.replace(/^[\\/]+/, "")))
    .join(sep);
}

/** The paths an upgrade works with. */
export function upgradePaths(layout: UpgradeLayout): {
  releases: string;
  current: string;
  prev: string;
  backups: string;
} {
  return {
    releases: pathOn(layout.os, layout.prefix, "releases"),
    current: pathOn(layout.os, layout.prefix, "current"),
    prev: pathOn(layout.os, layout.prefix, PREV_LINK),
    backups: pathOn(layout.os, layout.dataDir, "backups"),
  };
}

/** One release's directory. */
export function releaseDir(layout: UpgradeLayout, version: string): string {
  return pathOn(layout.os, layout.prefix, "releases", version);
}

/**
 * The service's stop and start commands: the operator's (`--service-stop`/`--service-start`,
 * shell command lines, both or neither), else systemd's on Linux and the start-up task's on
 * Windows, as `vmirror install` set them up.
 */
export function serviceControl(
  os: UpgradeOs,
  custom: { stop?: string; start?: string } = {},
): ServiceControl {
  if ((custom.stop === undefined) !== (custom.start === undefined)) {
    throw new RangeError("give both --service-stop and --service-start, or neither");
  }
  if (custom.stop !== undefined && custom.start !== undefined) {
    return { kind: "custom", stop: shellLine(os, custom.stop), start: shellLine(os, custom.start) };
  }
  if (os === "windows") {
    return {
      kind: "scheduled-task",
      // Stopping the task ends its process; the upgrade then waits for the data directory.
      stop: powershell(`Stop-ScheduledTask -TaskName '${SERVICE}'`),
      start: powershell(`Start-ScheduledTask -TaskName '${SERVICE}'`),
    };
  }
  return {
    kind: "systemd",
    stop: { cmd: "systemctl", args: ["stop", SERVICE] },
    start: { cmd: "systemctl", args: ["start", SERVICE] },
  };
}

/** A shell command line run by the platform's shell. */
export function shellLine(os: UpgradeOs, line: string): CommandLine {
  return os === "windows"
    ? { cmd: "cmd.exe", args: ["/d", "/s", "/c", line] }
    : { cmd: "sh", args: ["-c", line] };
}

function powershell(script: string): CommandLine {
  return {
    cmd: "powershell.exe",
    args: ["-NoProfile", "-ExecutionPolicy", "Bypass", "-Command", script],
  };
}

/** The release being left and the one being switched to. */
export interface ReleaseRef {
  version: string;
  /** Its directory under `releases/`. */
  dir: string;
  /** The state schema it writes, when known (`version --json`'s `stateSchema`). */
  schema: number | null;
}

/** What the health wait asks for. */
export interface HealthCheck {
  /** The portal's `/healthz`. */
  url: string;
  /** Whether a successful mirror pass after the start is awaited too. */
  pass: boolean;
  seconds: number;
}

/** One thing an upgrade or a rollback does, in order. */
export type UpgradeStep =
  | { kind: "verify"; file: string; by: "signature" | "sha256" }
  | { kind: "unpack"; file: string; release: string }
  | { kind: "self-test"; release: ReleaseRef; backup?: string }
  | { kind: "stop"; service: CommandLine }
  | { kind: "backup"; dir: string }
  /** A downgrade to an older state schema: the newest backup of that schema goes back in. */
  | { kind: "restore"; from: string }
  | { kind: "switch"; current: string; to: string; prev: string; prevTo: string }
  | { kind: "start"; service: CommandLine }
  | { kind: "wait"; health: HealthCheck; version: string }
  | { kind: "prune"; keep: string[] };

/** What a plan is made from. */
export interface PlanInput {
  layout: UpgradeLayout;
  service: ServiceControl;
  from: ReleaseRef;
  to: ReleaseRef;
  health: HealthCheck;
  /** A downgrade's state backup to put back (see {@link downgradeDecision}). */
  restoreFrom?: string;
}

/**
 * The steps of `vmirror upgrade FILE`: verify, unpack, self-test, stop, back up the state,
 * switch `current` (the old release becomes `vmirror.prev`), start, wait until healthy, and
 * remove releases that are neither current nor previous.
 */
export function planUpgrade(
  input: PlanInput & { file: string; verifyBy: "signature" | "sha256" },
): UpgradeStep[] {
  const p = upgradePaths(input.layout);
  return [
    { kind: "verify", file: input.file, by: input.verifyBy },
    { kind: "unpack", file: input.file, release: input.to.dir },
    ...switchSteps(input, p),
    { kind: "prune", keep: [input.to.dir, input.from.dir] },
  ];
}

/** The steps of `vmirror rollback`: the same switch, back to `vmirror.prev`. */
export function planRollback(input: PlanInput): UpgradeStep[] {
  return switchSteps(input, upgradePaths(input.layout));
}

function switchSteps(input: PlanInput, p: ReturnType<typeof upgradePaths>): UpgradeStep[] {
  return [
    { kind: "self-test", release: input.to, backup: input.restoreFrom },
    { kind: "stop", service: input.service.stop },
    { kind: "backup", dir: p.backups },
    ...(input.restoreFrom ? [{ kind: "restore", from: input.restoreFrom } as const] : []),
    { kind: "switch", current: p.current, to: input.to.dir, prev: p.prev, prevTo: input.from.dir },
    { kind: "start", service: input.service.start },
    { kind: "wait", health: input.health, version: input.to.version },
  ];
}

/** One line per step, as `--dry-run` prints them and the upgrade logs them. */
export function describeUpgradeStep(step: UpgradeStep): string {
  switch (step.kind) {
    case "verify":
      return step.by === "signature"
        ? `verify ${step.file} against the signed SHA256SUMS beside it`
        : `verify ${step.file} against the SHA-256 given`;
    case "unpack":
      return `unpack ${step.file} into ${step.release}`;
    case "self-test":
      return `run ${step.release.version}'s self-test on a copy of the state store${
        step.backup ? ` restored from ${step.backup}` : ""
      } and the configuration`;
    case "stop":
      return `stop the service: ${commandText(step.service)}`;
    case "backup":
      return `back up the state store into ${step.dir}`;
    case "restore":
      return `put the state backup ${step.from} back (the older release cannot read the newer schema)`;
    case "switch":
      return `link ${step.current} -> ${step.to} and ${step.prev} -> ${step.prevTo}`;
    case "start":
      return `start the service: ${commandText(step.service)}`;
    case "wait":
      return `wait up to ${step.health.seconds} s for ${step.health.url} to answer ${step.version}${
        step.health.pass ? " and a mirror pass to succeed" : ""
      }`;
    case "prune":
      return `remove releases other than ${step.keep.join(" and ")}`;
  }
}

/** A command line as one shell-quoted string. */
export function commandText(c: CommandLine): string {
  return [c.cmd, ...c.args].map(shellQuote).join(" ");
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./\\-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Whether a switch changes the state schema, and what to do about it. */
export type DowngradeDecision =
  | { kind: "same-or-newer" }
  | { kind: "refused"; message: string }
  | { kind: "restore"; from: string }
  | { kind: "no-backup"; message: string };

/** An automatic state backup, as listed in the backups directory. */
export interface BackupRef {
  file: string;
  /** ISO time it was taken. */
  at: string;
  schema: number;
}

/**
 * A release with an older state schema cannot read the store: refused, unless the operator
 * allows the downgrade — then the newest automatic backup of a schema it can read goes back in
 * (the current store is backed up first, so nothing is lost for good).
 */
export function downgradeDecision(input: {
  storeSchema: number;
  target: ReleaseRef;
  allow: boolean;
  backups: BackupRef[];
}): DowngradeDecision {
  const { storeSchema, target } = input;
  if (target.schema === null || target.schema >= storeSchema) return { kind: "same-or-newer" };
  const what = `vmirror ${target.version} reads state schema ${target.schema}, older than the ` +
    `store's ${storeSchema}`;
  if (!input.allow) {
    return {
      kind: "refused",
      message: `${what}: refused. With --allow-downgrade the store is backed up and the newest ` +
        `automatic backup of schema ${target.schema} or older is put back (changes since are lost)`,
    };
  }
  const fits = input.backups.filter((b) => b.schema <= target.schema!)
    .sort((a, b) => (a.at < b.at ? 1 : -1));
  if (!fits.length) {
    return {
      kind: "no-backup",
      message: `${what}, and no automatic state backup of schema ${target.schema} or older exists`,
    };
  }
  return { kind: "restore", from: fits[0].file };
}

/** A mirror pass as `vmirror status --json` lists it. */
export interface PassRecord {
  startedAt: string;
  finishedAt: string;
  mailboxes: number;
  failed: number;
}

/**
 * The first pass that started at or after `since` and did no worse than the last pass before
 * the switch (no failed mailbox, or no more than before): a mailbox that was already failing
 * does not hold the upgrade back, a release that breaks mirroring does.
 */
export function goodPassSince(
  runs: PassRecord[],
  since: string,
  baseline: PassRecord | null,
): PassRecord | null {
  const after = runs.filter((r) => r.startedAt >= since && r.mailboxes > 0)
    .sort((a, b) => (a.startedAt < b.startedAt ? -1 : 1));
  return after.find((r) => r.failed === 0 || (baseline !== null && r.failed <= baseline.failed)) ??
    null;
}

/** The portal's `/healthz` address: a wildcard listen address is asked on loopback. */
export function healthUrl(listen: string, tls: boolean): string {
  const i = listen.lastIndexOf(":");
  let host = listen.slice(0, i).replace(/^\[|\]$/g, "");
  const port = listen.slice(i + 1);
  if (host === "0.0.0.0" || host === "") host = "127.0.0.1";
  if (host === "::") host = "::1";
  return `${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}/healthz`;
}

/** The version in a package's name (`vmirror-<version>-<target>.tar.gz|.zip`), or null. */
export function versionFromName(file: string): string | null {
  const name = file.split(/[\\/]/).pop()!;
  const m = /^vmirror-(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+?)?)-(linux-x64|windows-x64)\.(tar\.gz|zip)$/
    .exec(name);
  return m ? m[1] : null;
}

/** Automatic backups' file names: `state-<time>-<version>-schema<N>.vmkv`. */
export function backupName(at: Date, version: string, schema: number): string {
  const stamp = at.toISOString().replace(/[:.]/g, "-");
  return `state-${stamp}-${version}-schema${schema}.vmkv`;
}

/** Reads an automatic backup's name back; null for any other file. */
export function parseBackupName(
  name: string,
): { at: string; version: string; schema: number } | null {
  const m = /^state-(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z)-(.+)-schema(\d+)\.vmkv$/.exec(name);
  if (!m) return null;
  const t = m[1];
  const at = `${t.slice(0, 13)}:${t.slice(14, 16)}:${t.slice(17, 19)}.${t.slice(20, 23)}Z`;
  return { at, version: m[2], schema: Number(m[3]) };
}
