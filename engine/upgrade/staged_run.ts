/**
 * `vmirror upgrade --staged`: carries out the upgrade or rollback the admin console asked for,
 * from outside the service it stops — run by the root `vmirror-upgrade.service` (systemd), the
 * `vmirror-upgrade` task (Windows), the serving process in a session of its own (a plain
 * process with service commands), or the operator. It takes the request file, runs the same
 * switch as `vmirror upgrade FILE` / `vmirror rollback` (audited in the admin's name), and
 * writes its progress and outcome into the upgrade area, where the console reads them — the
 * new release's console too, once it serves.
 * @module
 */
import { UpgradeError } from "./package.ts";
import {
  finishedStatus,
  refusedStatus,
  stagedDir,
  type StagedStatus,
  type UpgradeRequest,
} from "./staged.ts";
import { claimRequest, hostOs, openProgress, removeStaged, writeStatus } from "./staged_files.ts";
import {
  runRollback,
  runUpgrade,
  type SwitchOptions,
  type SwitchOutcome,
  SwitchRefused,
} from "./upgrade.ts";

/** How a staged run ended. */
export type StagedRun =
  | { kind: "nothing" }
  | { kind: "refused"; status: StagedStatus }
  | { kind: "switched"; status: StagedStatus; outcome: SwitchOutcome };

/** Takes the console's request, if there is one, and carries it out. */
export async function runStaged(opts: SwitchOptions): Promise<StagedRun> {
  const dataDir = opts.layout.dataDir;
  const claim = await claimRequest(dataDir);
  if (!claim) return { kind: "nothing" };
  const now = new Date().toISOString();
  if ("invalid" in claim) {
    const status: StagedStatus = {
      id: "unknown",
      action: "upgrade",
      state: "refused",
      requestedBy: "unknown",
      requestedAt: now,
      startedAt: now,
      finishedAt: now,
      reason: claim.invalid,
    };
    await writeStatus(dataDir, status);
    opts.log(claim.invalid);
    return { kind: "refused", status };
  }
  const req = claim.request;
  const running: StagedStatus = {
    id: req.id,
    action: req.action,
    state: "running",
    requestedBy: req.requestedBy,
    requestedAt: req.requestedAt,
    startedAt: now,
    pid: Deno.pid,
    ...(req.version ? { to: req.version } : {}),
  };
  await writeStatus(dataDir, running);
  const progress = await openProgress(dataDir);
  const log = (line: string) => {
    progress.write(line);
    opts.log(line);
  };
  log(
    `${
      req.action === "upgrade" ? "Upgrade" : "Rollback"
    } requested by ${req.requestedBy} at ${req.requestedAt}`,
  );
  let final: StagedStatus = running;
  try {
    const outcome = await carry(req, { ...opts, log, actor: req.requestedBy });
    final = finishedStatus(running, outcome);
    log(
      outcome.ok
        ? `Done: vmirror ${outcome.to} serves`
        : `Failed (${outcome.failure?.stage}): ${outcome.failure?.reason}`,
    );
    return { kind: "switched", status: final, outcome };
  } catch (e) {
    if (e instanceof SwitchRefused || e instanceof UpgradeError) {
      // Refused before anything changed: the release that serves goes on serving.
      log(`Refused: ${e.message}`);
      final = refusedStatus(running, e.message);
      return { kind: "refused", status: final };
    }
    const reason = `Unexpected failure: ${(e as Error).message}`;
    log(reason);
    final = { ...refusedStatus(running, reason), state: "failed", restored: false };
    throw e;
  } finally {
    progress.close();
    if (req.action === "upgrade") await removeStaged(dataDir, req.id);
    await writeStatus(dataDir, final);
  }
}

async function carry(req: UpgradeRequest, opts: SwitchOptions): Promise<SwitchOutcome> {
  if (req.action === "rollback") return await runRollback(opts);
  const dir = stagedDir(hostOs(), opts.layout.dataDir, req.id);
  const file = `${dir}${hostOs() === "windows" ? "\\" : "/"}${req.file}`;
  const st = await Deno.lstat(file).catch(() => null);
  if (!st?.isFile) throw new SwitchRefused(`The staged upload "${req.file}" is not there any more`);
  return await runUpgrade({ ...opts, file, sha256: req.sha256 });
}
