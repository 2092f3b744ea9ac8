/**
 * The console's upgrade area on disk (`<data>/upgrade/`): the request file, the runner's status
 * and progress log, the staged uploads. Both sides use it: the serving process (the service's
 * user) writes requests and reads the rest; the runner (root, on a systemd install) takes the
 * request and writes the rest. The directory belongs to the service's user, so whatever the
 * runner writes there is made under a fresh name (never through a link someone left) and
 * renamed into place, and whatever it reads is a plain file of bounded size.
 * @module
 */
import { basename } from "node:path";
import { pathOn, PREV_LINK, type UpgradeOs } from "./plan.ts";
import {
  formatRequest,
  formatStatus,
  parseRequest,
  parseStatus,
  progressLine,
  stagedDir,
  type StagedPaths,
  stagedPaths,
  type StagedStatus,
  tailLines,
  UPGRADE_DIR,
  type UpgradeRequest,
} from "./staged.ts";

/** The largest request or status file read. */
const SMALL_FILE = 64 * 1024;

/** The platform of this machine, as the upgrade plans name it. */
export function hostOs(): UpgradeOs {
  return Deno.build.os === "windows" ? "windows" : "linux";
}

/** The upgrade area's paths on this machine. */
export function localPaths(dataDir: string): StagedPaths {
  return stagedPaths(hostOs(), dataDir);
}

/** Creates the upgrade area (readable by the service's user only). */
export async function ensureUpgradeDir(dataDir: string): Promise<string> {
  const dir = pathOn(hostOs(), dataDir, UPGRADE_DIR);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Writes a file whole under a fresh name (created new: a link planted there is refused), then
 * renames it over `path` — which replaces a link rather than following it.
 */
export async function writeFileSafely(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.writeTextFile(tmp, text, { createNew: true, mode: 0o644 });
  try {
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Reads a small plain file; null when there is none. Links and oversized files are refused. */
export async function readSmallFile(path: string, max = SMALL_FILE): Promise<string | null> {
  const st = await Deno.lstat(path).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  });
  if (!st) return null;
  if (!st.isFile) throw new RangeError(`"${path}" is not a plain file`);
  if (st.size > max) throw new RangeError(`"${path}" is larger than ${max} bytes`);
  return await Deno.readTextFile(path);
}

/** The runner's status of the running or last staged run, or null. */
export async function readStatus(dataDir: string): Promise<StagedStatus | null> {
  const text = await readSmallFile(localPaths(dataDir).status).catch(() => null);
  return text === null ? null : parseStatus(text);
}

/** Writes the runner's status. */
export async function writeStatus(dataDir: string, status: StagedStatus): Promise<void> {
  await writeFileSafely(localPaths(dataDir).status, formatStatus(status));
}

/** The request waiting to be carried out, or null (none, or not readable as one). */
export async function pendingRequest(dataDir: string): Promise<UpgradeRequest | null> {
  const text = await readSmallFile(localPaths(dataDir).request).catch(() => null);
  if (text === null) return null;
  try {
    return parseRequest(text);
  } catch {
    return null;
  }
}

/** Writes the request file (last: the path unit starts the runner as soon as it exists). */
export async function writeRequest(dataDir: string, req: UpgradeRequest): Promise<void> {
  await writeFileSafely(localPaths(dataDir).request, formatRequest(req));
}

/**
 * Takes the waiting request for this runner: renamed away first (so nothing else takes it, and
 * the path unit does not fire again), then read. Null when nothing waits; `invalid` says why
 * a request file could not be read.
 */
export async function claimRequest(
  dataDir: string,
): Promise<{ request: UpgradeRequest } | { invalid: string } | null> {
  const { request } = localPaths(dataDir);
  const claimed = `${request}.claimed-${Deno.pid}`;
  try {
    await Deno.rename(request, claimed);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    const text = await readSmallFile(claimed);
    if (text === null) return null;
    return { request: parseRequest(text) };
  } catch (e) {
    return { invalid: `The request file is not valid: ${(e as Error).message}` };
  } finally {
    await Deno.remove(claimed).catch(() => {});
  }
}

/**
 * Withdraws the waiting request and its staged upload; null when none waits (already taken by
 * a runner, or never made).
 */
export async function withdrawRequest(dataDir: string): Promise<UpgradeRequest | null> {
  const req = await pendingRequest(dataDir);
  const { request } = localPaths(dataDir);
  const aside = `${request}.withdrawn-${crypto.randomUUID().slice(0, 8)}`;
  try {
    // The same rename a runner's claim does: exactly one of the two gets the file.
    await Deno.rename(request, aside);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  await Deno.remove(aside).catch(() => {});
  if (req) await removeStaged(dataDir, req.id);
  return req;
}

/** Removes a staged upload. */
export async function removeStaged(dataDir: string, id: string): Promise<void> {
  await Deno.remove(stagedDir(hostOs(), dataDir, id), { recursive: true }).catch(() => {});
}

/** How old an unfinished upload or a half-written file must be before it counts as left over. */
const LEFT_OVER_MS = 3600_000;

/**
 * Removes what no request or run needs: staged uploads other than `keep`'s, and — once an hour
 * old, so that an upload still arriving or a file being renamed into place is left alone —
 * uploads received but never staged (a broken connection, a crash) and half-written files.
 */
export async function sweepUpgradeDir(dataDir: string, keep: string | null): Promise<void> {
  const dir = pathOn(hostOs(), dataDir, UPGRADE_DIR);
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  for (const n of names) {
    const path = pathOn(hostOs(), dir, n);
    const staged = /^staged-([0-9a-f]+)$/.exec(n);
    let gone = !!staged && staged[1] !== keep;
    if (/^incoming-[0-9a-f]+$/.test(n) || /\.(tmp|claimed|withdrawn)-[0-9a-f]+$/.test(n)) {
      const mtime = (await Deno.lstat(path).catch(() => null))?.mtime?.getTime() ?? Date.now();
      gone = Date.now() - mtime > LEFT_OVER_MS;
    }
    if (gone) await Deno.remove(path, { recursive: true }).catch(() => {});
  }
}

/** The progress log a runner appends to: started afresh for each run. */
export interface ProgressLog {
  write(line: string): void;
  close(): void;
}

/**
 * Starts a run's progress log: a new file (created new, then renamed over the last run's) whose
 * handle takes each line at once, so the console sees it while the run goes on.
 */
export async function openProgress(dataDir: string): Promise<ProgressLog> {
  const path = localPaths(dataDir).progress;
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  const file = await Deno.open(tmp, { createNew: true, write: true, append: true, mode: 0o644 });
  try {
    await Deno.rename(tmp, path);
  } catch (e) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  const enc = new TextEncoder();
  let open = true;
  return {
    write(line: string) {
      if (!open) return;
      try {
        file.writeSync(enc.encode(progressLine(line)));
      } catch {
        // A full disk must not stop the switch: the console loses a line, the switch goes on.
      }
    },
    close() {
      if (open) file.close();
      open = false;
    },
  };
}

/** The last lines of the running or last run's progress. */
export async function readProgress(dataDir: string, n = 200): Promise<string[]> {
  const path = localPaths(dataDir).progress;
  const text = await readSmallFile(path, 4 * 1024 * 1024).catch(() => null);
  return text === null ? [] : tailLines(text, n);
}

/**
 * Whether a status that says "running" is still running: its process exists (Linux), or, where
 * that cannot be asked, it started less than three hours ago.
 */
export async function stillRunning(status: StagedStatus): Promise<boolean> {
  if (status.state !== "running") return false;
  if (Deno.build.os === "linux" && status.pid) {
    return await Deno.stat(`/proc/${status.pid}`).then(() => true, () => false);
  }
  return Date.now() - Date.parse(status.startedAt) < 3 * 3600_000;
}

/** The release `vmirror.prev` points at (its directory's name is its version), or null. */
export async function previousRelease(
  prefix: string,
): Promise<{ version: string; dir: string } | null> {
  const dir = await Deno.realPath(pathOn(hostOs(), prefix, PREV_LINK)).catch(() => null);
  if (!dir) return null;
  const current = await Deno.realPath(pathOn(hostOs(), prefix, "current")).catch(() => null);
  return dir === current ? null : { version: basename(dir), dir };
}
