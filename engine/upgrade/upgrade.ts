/**
 * Carrying out `vmirror upgrade FILE` and `vmirror rollback`: the plan's steps in order, and when
 * one fails, everything undone that was done — the service stopped, the store put back if the
 * new release may have migrated it, `current` and `vmirror.prev` pointed where they were, the
 * previous release started and awaited — then the reason said on the console, in the audit
 * trail and by alert mail.
 *
 * The state store is only ever opened by a build of its own schema: this process checks that
 * it is the installed release's schema, and the new release reads it (self-test on a copy,
 * passes through its own `status --json`).
 * @module
 */
import { resolve } from "node:path";
import { type Config, LiveConfig, loadConfig } from "../config/mod.ts";
import {
  closeState,
  listRuns,
  listSubscriptions,
  openState,
  SCHEMA_VERSION,
} from "../state/mod.ts";
import type { DataLock } from "../support/mod.ts";
import { listBackups, matchOwner, replaceStore, storePath, takeBackup } from "./backups.ts";
import { type Healthy, waitHealthy } from "./health.ts";
import { auditFailure, auditOutcome, type FailureNote, mailFailure } from "./notify.ts";
import {
  fileKind,
  programIn,
  programInfo,
  runProgram,
  unpackRelease,
  UpgradeError,
  verifyUpgradeFile,
} from "./package.ts";
import {
  describeUpgradeStep,
  downgradeDecision,
  type HealthCheck,
  healthUrl,
  type PassRecord,
  pathOn,
  planRollback,
  planUpgrade,
  releaseDir,
  type ReleaseRef,
  type ServiceControl,
  type UpgradeLayout,
  upgradePaths,
  type UpgradeStep,
  versionFromName,
} from "./plan.ts";
import { runServiceCommand, takeDataDir } from "./service.ts";

/** What an upgrade and a rollback are given. */
export interface SwitchOptions {
  layout: UpgradeLayout;
  service: ServiceControl;
  /** How long the started release has to become healthy (and the previous one after a revert). */
  waitSeconds: number;
  /** Go back to an older state schema by putting the newest fitting backup back. */
  allowDowngrade: boolean;
  /** Only print the plan. */
  dryRun: boolean;
  /** Progress lines (the CLI prints them to stderr). */
  log: (line: string) => void;
  /** How long the service has to stop (default 120 s). */
  stopSeconds?: number;
  /** Who the audit entries name (default "cli"; a console request names the admin). */
  actor?: string;
}

/** What `vmirror upgrade FILE` is given. */
export interface UpgradeOptions extends SwitchOptions {
  file: string;
  /** Check FILE against this SHA-256 instead of the signed SHA256SUMS beside it. */
  sha256?: string;
}

/** How a switch ended. */
export interface SwitchOutcome {
  ok: boolean;
  action: "upgrade" | "rollback";
  from: string;
  to: string;
  /** The plan, one line per step (what `--dry-run` prints). */
  plan: string[];
  /** Only planned (`--dry-run`): nothing was changed. */
  dryRun?: boolean;
  /** The automatic state backup taken before the switch. */
  backup?: string;
  /** A successful switch: when the release answered, and the pass that proved it. */
  healthy?: Healthy;
  /** A failed switch: where and why, and whether the previous release serves again. */
  failure?: FailureNote;
}

/** A precondition that stops a switch before anything is changed (not audited). */
export class SwitchRefused extends Error {
  override name = "SwitchRefused";
}

/** What the switch needs to know about the appliance before it starts. */
interface Facts {
  config: Config;
  health: HealthCheck;
  /** The last pass before the switch. */
  baseline: PassRecord | null;
}

interface Installed extends ReleaseRef {
  program: string;
}

/** Upgrades the installed appliance to the release in `opts.file`. */
export async function runUpgrade(opts: UpgradeOptions): Promise<SwitchOutcome> {
  if (opts.dryRun) return await dryRun(opts, "upgrade");
  using _one = await oneAtATime(opts.layout);
  const layout = opts.layout;
  const paths = upgradePaths(layout);
  const from = await releaseAt(paths.current, "the installed release (current)");
  checkOwnSchema(from, layout);
  const facts = await readFacts(opts);
  const named = versionFromName(opts.file);
  let to: Installed | null = null;
  let created = false;
  const fail = async (e: unknown, steps: string[]) =>
    await failed(opts, {
      action: "upgrade",
      from,
      to: to ?? { version: named ?? opts.file, dir: "", schema: null, program: "" },
      facts,
      error: e,
      progress: null,
      plan: steps,
      dropRelease: created && to ? to.dir : null,
    });
  const done: string[] = [];
  const note = (step: UpgradeStep) => {
    const line = describeUpgradeStep(step);
    done.push(line);
    opts.log(line);
  };
  // Verify, unpack and ask the new release what it is: only then is the rest of the plan known.
  try {
    const by = opts.sha256 !== undefined ? "sha256" : "signature";
    note({ kind: "verify", file: opts.file, by });
    await verifyUpgradeFile(opts.file, { sha256: opts.sha256 });
    const staging = pathOn(layout.os, paths.releases, `.new-${crypto.randomUUID().slice(0, 8)}`);
    await Deno.mkdir(paths.releases, { recursive: true });
    note({ kind: "unpack", file: opts.file, release: releaseDir(layout, named ?? "<version>") });
    await unpackRelease(opts.file, staging);
    let info;
    try {
      info = await programInfo((await programIn(staging))!);
      // The version names a directory: nothing but a version may come through.
      if (!/^[0-9A-Za-z][0-9A-Za-z.+-]*$/.test(info.version)) {
        throw new UpgradeError(`"${opts.file}" reports no usable version`, "unpack");
      }
      if (named && info.version !== named) {
        throw new UpgradeError(
          `"${opts.file}" is named for ${named} but holds vmirror ${info.version}`,
          "unpack",
        );
      }
      const dir = releaseDir(layout, info.version);
      if (resolve(dir) === resolve(from.dir)) {
        throw new SwitchRefused(`vmirror ${info.version} is already the installed release`);
      }
      await Deno.remove(dir, { recursive: true }).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
      await Deno.rename(staging, dir);
      created = true;
      to = {
        version: info.version,
        dir,
        schema: info.stateSchema,
        program: (await programIn(dir))!,
      };
    } finally {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
    }
  } catch (e) {
    if (e instanceof SwitchRefused) {
      await cleanRelease(layout, null);
      throw e;
    }
    return await fail(e, done);
  }
  const target = to!;
  let restoreFrom: string | undefined;
  try {
    restoreFrom = await schemaCheck(opts, from, target);
  } catch (e) {
    return await fail(e, done);
  }
  const steps = planUpgrade({
    layout,
    service: opts.service,
    from,
    to: target,
    health: facts.health,
    restoreFrom,
    file: opts.file,
    verifyBy: opts.sha256 !== undefined ? "sha256" : "signature",
  }).slice(2);
  return await carryOut(opts, {
    action: "upgrade",
    from,
    to: target,
    facts,
    steps,
    plan: done,
    dropRelease: created ? target.dir : null,
  });
}

/** Puts the previous release (`vmirror.prev`) back, the same careful way. */
export async function runRollback(opts: SwitchOptions): Promise<SwitchOutcome> {
  if (opts.dryRun) return await dryRun(opts, "rollback");
  using _one = await oneAtATime(opts.layout);
  const paths = upgradePaths(opts.layout);
  const from = await releaseAt(paths.current, "the installed release (current)");
  checkOwnSchema(from, opts.layout);
  const to = await releaseAt(paths.prev, `the previous release (${paths.prev})`);
  if (resolve(to.dir) === resolve(from.dir)) {
    throw new SwitchRefused(`${paths.prev} is the installed release itself: nothing to go back to`);
  }
  const facts = await readFacts(opts);
  let restoreFrom: string | undefined;
  try {
    restoreFrom = await schemaCheck(opts, from, to);
  } catch (e) {
    return await failed(opts, {
      action: "rollback",
      from,
      to,
      facts,
      error: e,
      progress: null,
      plan: [],
      dropRelease: null,
    });
  }
  const steps = planRollback({
    layout: opts.layout,
    service: opts.service,
    from,
    to,
    health: facts.health,
    restoreFrom,
  });
  return await carryOut(opts, {
    action: "rollback",
    from,
    to,
    facts,
    steps,
    plan: [],
    dropRelease: null,
  });
}

/**
 * One upgrade or rollback at a time per installation: an OS lock on `<prefix>/upgrade.lock`,
 * dropped by the kernel however the process ends.
 */
async function oneAtATime(layout: UpgradeLayout): Promise<Disposable> {
  const path = pathOn(layout.os, layout.prefix, "upgrade.lock");
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true, create: true });
  } catch (e) {
    throw new SwitchRefused(`Cannot open "${path}": ${(e as Error).message}`, { cause: e });
  }
  if (!(await file.tryLock(true).catch(() => false))) {
    file.close();
    throw new SwitchRefused(`Another upgrade or rollback of "${layout.prefix}" is under way`);
  }
  return { [Symbol.dispose]: () => file.close() };
}

// Only the build that wrote the store may open it: this one must be of the installed schema.
function checkOwnSchema(from: Installed, layout: UpgradeLayout): void {
  if (from.schema !== SCHEMA_VERSION) {
    throw new SwitchRefused(
      `This vmirror writes state schema ${SCHEMA_VERSION}, the installed ${from.version} schema ${from.schema}: run it as ${
        upgradePaths(layout).current
      }/vmirror`,
    );
  }
}

async function schemaCheck(
  opts: SwitchOptions,
  from: Installed,
  to: ReleaseRef,
): Promise<string | undefined> {
  const decision = downgradeDecision({
    storeSchema: from.schema ?? SCHEMA_VERSION,
    target: to,
    allow: opts.allowDowngrade,
    backups: await listBackups(upgradePaths(opts.layout).backups),
  });
  if (decision.kind === "refused" || decision.kind === "no-backup") {
    throw new UpgradeError(decision.message, "schema");
  }
  return decision.kind === "restore" ? decision.from : undefined;
}

/** The release a link points at, and what it says about itself. */
async function releaseAt(link: string, what: string): Promise<Installed> {
  const dir = await Deno.realPath(link).catch(() => null);
  if (!dir) throw new SwitchRefused(`There is no ${what}: "${link}" does not exist`);
  const program = await programIn(dir);
  if (!program) throw new SwitchRefused(`${what} in "${dir}" has no vmirror program`);
  const info = await programInfo(program);
  return { version: info.version, dir, schema: info.stateSchema, program };
}

/** Reads the configuration (with its stored settings), the subscriptions and the last pass. */
async function readFacts(opts: SwitchOptions): Promise<Facts> {
  const { dataDir, configFile } = opts.layout;
  const state = await openState(storePath(dataDir));
  try {
    const live = await LiveConfig.open(state, { file: configFile, dataDir });
    const config = live.current;
    const subscribed = (await listSubscriptions(state)).length;
    const [last] = await listRuns(state, 1);
    return {
      config,
      health: {
        url: healthUrl(config.portal.listen, !!config.portal.tls),
        pass: !!(config.source && config.target && subscribed > 0),
        seconds: opts.waitSeconds,
      },
      baseline: last ?? null,
    };
  } finally {
    closeState(state);
    await matchOwner(dataDir);
  }
}

/** What a switch in progress has done, so that a failure undoes exactly that. */
interface Progress {
  stopped: boolean;
  lock: DataLock | null;
  backup: string | null;
  storeReplaced: boolean;
  /** Where `vmirror.prev` pointed before the switch (null: nowhere), once switched. */
  switched: { prevWas: string | null } | null;
  started: boolean;
}

interface Switch {
  action: "upgrade" | "rollback";
  from: Installed;
  to: Installed;
  facts: Facts;
  steps: UpgradeStep[];
  /** Steps already done (upgrade: verify, unpack). */
  plan: string[];
  /** The release directory this switch created (removed again on failure). */
  dropRelease: string | null;
}

async function carryOut(opts: SwitchOptions, s: Switch): Promise<SwitchOutcome> {
  const { dataDir, configFile } = opts.layout;
  const paths = upgradePaths(opts.layout);
  const progress: Progress = {
    stopped: false,
    lock: null,
    backup: null,
    storeReplaced: false,
    switched: null,
    started: false,
  };
  const plan = [...s.plan];
  let since = new Date().toISOString();
  let healthy: Healthy | undefined;
  let at = "";
  const entry = {
    actor: opts.actor ?? "cli",
    action: s.action,
    detail: { from: s.from.version, to: s.to.version } as Record<string, unknown>,
  };
  try {
    for (const step of s.steps) {
      at = step.kind;
      const line = describeUpgradeStep(step);
      plan.push(line);
      opts.log(line);
      switch (step.kind) {
        case "self-test":
          await selfTestOf(s.to, { configFile, dataDir, backup: step.backup });
          break;
        case "stop":
          await runServiceCommand(step.service, "stop");
          progress.stopped = true;
          progress.lock = await takeDataDir(dataDir, {
            verb: s.action,
            seconds: opts.stopSeconds ?? 120,
          });
          break;
        case "backup": {
          const restoring = s.steps.some((x) => x.kind === "restore");
          // The entry goes into the store the new release will run on: the backup's when a
          // downgrade puts one back, else this one (and so into the backup too).
          const made = await takeBackup(dataDir, step.dir, {
            version: s.from.version,
            entry: restoring ? undefined : entry,
          });
          progress.backup = made.file;
          opts.log(`  ${made.records} record(s), schema ${made.schema}: ${made.file}`);
          break;
        }
        case "restore": {
          const r = await replaceStore(dataDir, step.from, {
            dir: paths.backups,
            entry: { ...entry, detail: { ...entry.detail, restored: step.from } },
          });
          progress.storeReplaced = true;
          opts.log(
            `  ${r.records} record(s) of schema ${r.schema}; the replaced store is in ${r.aside}`,
          );
          break;
        }
        case "switch": {
          const prevWas = await Deno.realPath(step.prev).catch(() => null);
          await pointAt(step.prev, step.prevTo);
          progress.switched = { prevWas };
          await pointAt(step.current, step.to);
          break;
        }
        case "start":
          progress.lock?.release();
          progress.lock = null;
          await matchOwner(dataDir);
          since = new Date().toISOString();
          progress.started = true;
          await runServiceCommand(step.service, "start");
          break;
        case "wait":
          healthy = await waitHealthy({
            health: step.health,
            version: step.version,
            since,
            passes: () => passesOf(s.to.program, { configFile, dataDir }),
            baseline: s.facts.baseline,
            log: (l) => opts.log(`  ${l}`),
          });
          if (healthy.pass) {
            opts.log(
              `  a mirror pass started ${healthy.pass.startedAt} succeeded (${healthy.pass.mailboxes} mailbox(es), ${healthy.pass.failed} failed)`,
            );
          }
          break;
        case "prune":
          // Switched and healthy: a release that cannot be removed is only logged.
          await cleanRelease(opts.layout, step.keep, opts.log);
          break;
        case "verify":
        case "unpack":
          break;
      }
    }
  } catch (e) {
    return await failed(opts, { ...s, error: e, progress, plan, at });
  } finally {
    progress.lock?.release();
  }
  await auditDone(opts, s, healthy);
  return {
    ok: true,
    action: s.action,
    from: s.from.version,
    to: s.to.version,
    plan,
    backup: progress.backup ?? undefined,
    healthy,
  };
}

/**
 * Records a switch that ended well. Only a store of this build's schema is written: a new
 * release that migrated the store owns it now, and the status file keeps the outcome instead.
 */
async function auditDone(opts: SwitchOptions, s: Switch, healthy: Healthy | undefined) {
  if (s.to.schema !== SCHEMA_VERSION) {
    opts.log(`  (not audited: the store is now ${s.to.version}'s schema ${s.to.schema})`);
    return;
  }
  const problem = await auditOutcome(opts.layout.dataDir, {
    actor: opts.actor ?? "cli",
    action: `${s.action}-done`,
    detail: {
      from: s.from.version,
      to: s.to.version,
      ...(healthy?.pass ? { pass: healthy.pass.startedAt, mailboxes: healthy.pass.mailboxes } : {}),
    },
  });
  if (problem) opts.log(`  the audit entry could not be written: ${problem}`);
}

/** Runs the new release's self-test; throws with the checks that failed. */
async function selfTestOf(
  release: Installed,
  where: { configFile: string; dataDir: string; backup?: string },
): Promise<void> {
  const args = ["self-test", "--json", "--config", where.configFile, "--data", where.dataDir];
  if (where.backup) args.push("--backup", where.backup);
  let out;
  try {
    out = await runProgram(release.program, args);
  } catch (e) {
    throw new UpgradeError(
      `Cannot run the self-test of ${release.version}: ${(e as Error).message}`,
      "self-test",
      {
        cause: e,
      },
    );
  }
  if (out.code === 0) return;
  let why: string;
  try {
    const report = JSON.parse(out.stdout) as {
      checks: { name: string; ok: boolean; detail: string }[];
    };
    why = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join("; ");
  } catch {
    why = out.stderr.trim().split(/\r?\n/).slice(-3).join(" / ") || `exit ${out.code}`;
  }
  throw new UpgradeError(`The self-test of vmirror ${release.version} failed: ${why}`, "self-test");
}

/** The passes a release has recorded, as its own `status --json` reads them. */
async function passesOf(
  program: string,
  where: { configFile: string; dataDir: string },
): Promise<PassRecord[]> {
  const out = await runProgram(program, [
    "status",
    "--json",
    "--config",
    where.configFile,
    "--data",
    where.dataDir,
  ], { timeoutMs: 60_000 });
  if (out.code !== 0) throw new Error(out.stderr.trim().split(/\r?\n/).pop() || `exit ${out.code}`);
  return (JSON.parse(out.stdout) as { runs?: PassRecord[] }).runs ?? [];
}

/** Points a link at a directory, replacing what was there in one rename. */
async function pointAt(link: string, target: string): Promise<void> {
  const tmp = `${link}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.symlink(target, tmp, { type: "dir" });
  try {
    await Deno.rename(tmp, link);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Removes release directories not in `keep` (null: only unfinished unpacks); one that cannot
 * be removed is logged and left.
 */
async function cleanRelease(
  layout: UpgradeLayout,
  keep: string[] | null,
  log: (line: string) => void = () => {},
): Promise<void> {
  const { releases } = upgradePaths(layout);
  const kept = new Set(
    await Promise.all((keep ?? []).map((k) => Deno.realPath(k).catch(() => resolve(k)))),
  );
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(releases)) entries.push(e);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      log(`  cannot list ${releases}: ${(e as Error).message}`);
    }
  }
  for (const e of entries) {
    const p = pathOn(layout.os, releases, e.name);
    const unfinished = e.name.startsWith(".new-") || e.name.includes(".incoming-");
    if (!unfinished && (keep === null || kept.has(await Deno.realPath(p).catch(() => p)))) {
      continue;
    }
    await Deno.remove(p, { recursive: true }).catch((err) =>
      log(`  cannot remove ${p}: ${(err as Error).message}`)
    );
  }
}

interface Failed extends Omit<Switch, "steps"> {
  error: unknown;
  /** The step under way when it failed. */
  at?: string;
  progress: Progress | null;
}

// Undoes what was done, in reverse, then says why (console, audit, alert mail).
async function failed(opts: SwitchOptions, f: Failed): Promise<SwitchOutcome> {
  if (!(f.error instanceof Error)) throw f.error;
  const err = f.error;
  const stage = err instanceof UpgradeError ? err.stage : f.at ?? "switch";
  opts.log(`FAILED (${stage}): ${err.message}`);
  const { dataDir } = opts.layout;
  const paths = upgradePaths(opts.layout);
  const p = f.progress;
  let revertError: string | undefined;
  const undo = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      const m = `${what}: ${(e as Error).message}`;
      opts.log(`  could not ${m}`);
      revertError ??= m;
    }
  };
  if (p && (p.stopped || p.started)) {
    opts.log(`Putting ${f.from.version} back`);
    if (p.started) {
      await undo("stop the new release", () => runServiceCommand(opts.service.stop, "stop"));
    }
    if (!p.lock) {
      await undo("take the data directory back", async () => {
        p.lock = await takeDataDir(dataDir, { verb: "rollback", seconds: opts.stopSeconds ?? 120 });
      });
    }
    // A new release that ran may have migrated the store; an older schema cannot read it.
    const storeChanged = p.storeReplaced || (p.started && f.to.schema !== f.from.schema);
    if (storeChanged && p.backup && p.lock) {
      await undo("put the state backup back", async () => {
        const r = await replaceStore(dataDir, p.backup!, { dir: paths.backups });
        opts.log(`  the state is back from ${p.backup} (the new release's store is in ${r.aside})`);
      });
    }
    if (p.switched) {
      const prevWas = p.switched.prevWas;
      await undo("point current back", () => pointAt(paths.current, f.from.dir));
      await undo("point vmirror.prev back", async () => {
        if (prevWas) await pointAt(paths.prev, prevWas);
        else await Deno.remove(paths.prev).catch(() => {});
      });
    }
    p.lock?.release();
    p.lock = null;
    await undo("give the store back to the service user", () => matchOwner(dataDir));
    const since = new Date().toISOString();
    await undo(
      `start ${f.from.version} again`,
      () => runServiceCommand(opts.service.start, "start"),
    );
    if (!revertError) {
      await undo(`see ${f.from.version} healthy again`, async () => {
        await waitHealthy({
          health: { ...f.facts.health, pass: false },
          version: f.from.version,
          since,
          passes: () => Promise.resolve([]),
          baseline: null,
        });
        opts.log(`  vmirror ${f.from.version} is serving again`);
      });
    }
  }
  if (f.dropRelease) {
    const keep = [paths.current, paths.prev];
    await undo("remove the unpacked release", async () => {
      const kept = await Promise.all(keep.map((k) => Deno.realPath(k).catch(() => null)));
      if (!kept.includes(await Deno.realPath(f.dropRelease!).catch(() => null))) {
        await Deno.remove(f.dropRelease!, { recursive: true }).catch(() => {});
      }
    });
  }
  const note: FailureNote = {
    action: f.action,
    from: f.from.version,
    to: f.to.version,
    stage,
    reason: err.message,
    stopped: !!p?.stopped,
    restored: !revertError,
    revertError,
    backup: p?.backup ?? undefined,
  };
  const auditProblem = await auditFailure(dataDir, note, opts.actor);
  if (auditProblem) opts.log(`  the audit entry could not be written: ${auditProblem}`);
  for (const problem of await mailFailure(f.facts.config, note)) {
    opts.log(`  the alert mail could not be sent: ${problem}`);
  }
  return {
    ok: false,
    action: f.action,
    from: f.from.version,
    to: f.to.version,
    plan: f.plan,
    backup: p?.backup ?? undefined,
    failure: note,
  };
}

// The plan from what can be known without changing anything (another platform's plan from
// its defaults): every unknown fact shows as a placeholder.
async function dryRun(
  opts: SwitchOptions & { file?: string; sha256?: string },
  action: "upgrade" | "rollback",
): Promise<SwitchOutcome> {
  const layout = opts.layout;
  const paths = upgradePaths(layout);
  const here = layout.os === Deno.build.os;
  const known = async (link: string, placeholder: string): Promise<ReleaseRef> => {
    if (here) {
      const dir = await Deno.realPath(link).catch(() => null);
      const program = dir ? await programIn(dir) : null;
      const info = program ? await programInfo(program).catch(() => null) : null;
      if (dir && info) return { version: info.version, dir, schema: info.stateSchema };
    }
    return { version: placeholder, dir: `(the release ${link} points at)`, schema: null };
  };
  let config: Config | null = null;
  if (here) {
    config = await loadConfig({ file: layout.configFile, dataDir: layout.dataDir }).catch(() =>
      null
    );
  }
  const health: HealthCheck = {
    url: healthUrl(config?.portal.listen ?? "127.0.0.1:8080", !!config?.portal.tls),
    pass: !!(config?.source && config?.target),
    seconds: opts.waitSeconds,
  };
  const from = await known(paths.current, "<installed version>");
  let steps: UpgradeStep[];
  let to: ReleaseRef;
  if (action === "upgrade") {
    const file = opts.file!;
    // An executable's version is only asked once it is verified: not in a dry run.
    const version = versionFromName(file) ??
      (fileKind(file) === "executable" ? "<version of FILE>" : "<version in FILE>");
    to = { version, dir: releaseDir(layout, version), schema: null };
    steps = planUpgrade({
      layout,
      service: opts.service,
      from,
      to,
      health,
      file,
      verifyBy: opts.sha256 !== undefined ? "sha256" : "signature",
    });
  } else {
    to = await known(paths.prev, "<previous version>");
    steps = planRollback({ layout, service: opts.service, from, to, health });
  }
  return {
    ok: true,
    action,
    from: from.version,
    to: to.version,
    plan: steps.map(describeUpgradeStep),
    dryRun: true,
  };
}
