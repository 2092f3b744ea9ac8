/**
 * One writer per data directory: an OS file lock on `<data>/vmirror.lock`, taken without
 * waiting by the verbs that write (`serve`, `sync`, `restore`, `directory-sync`). The kernel
 * drops the lock when the process dies, so a `kill -9` never leaves the directory stuck. The
 * holder's pid, verb and start time sit in a sibling file so that a refused process can name it.
 * @module
 */
import { join } from "node:path";

/** The file whose OS lock marks the data directory as in use. */
export const LOCK_FILE = "vmirror.lock";
/** Who holds the lock; a sibling because a Windows lock forbids others to read the locked file. */
export const HOLDER_FILE = "vmirror.lock.json";

/** The process holding a data directory. */
export interface LockHolder {
  pid: number;
  verb: string;
  /** ISO time the lock was taken. */
  since: string;
  hostname: string;
}

/** A held data-directory lock; release it (or dispose of it) when the verb ends. */
export interface DataLock {
  readonly dataDir: string;
  readonly holder: LockHolder;
  /** Releases the lock; safe to call twice. */
  release(): void;
  [Symbol.dispose](): void;
}

/** Another process holds the data directory. */
export class DataDirBusyError extends Error {
  override name = "DataDirBusyError";
  /** The holder as it described itself, when its note could be read. */
  readonly holder?: LockHolder;
  readonly dataDir: string;

  /** Builds the one-sentence refusal naming the holder. */
  constructor(dataDir: string, holder: LockHolder | undefined, options?: ErrorOptions) {
    super(busyMessage(dataDir, holder), options);
    this.dataDir = dataDir;
    this.holder = holder;
  }
}

/** The data directory cannot be locked at all (permissions, a file system without locks). */
export class DataLockError extends Error {
  override name = "DataLockError";
}

/**
 * Takes the data directory for `verb` without waiting (creating the directory if needed);
 * throws {@link DataDirBusyError} when another process has it.
 */
export async function acquireDataLock(
  dataDir: string,
  opts: { verb: string; now?: Date },
): Promise<DataLock> {
  const lockPath = join(dataDir, LOCK_FILE);
  let file: Deno.FsFile;
  try {
    await Deno.mkdir(dataDir, { recursive: true });
    file = await Deno.open(lockPath, { read: true, write: true, create: true });
  } catch (e) {
    throw new DataLockError(
      `Cannot open the lock file "${lockPath}" of the data directory: ${(e as Error).message}`,
      { cause: e },
    );
  }
  let locked: boolean;
  try {
    locked = await file.tryLock(true);
  } catch (e) {
    file.close();
    throw new DataLockError(
      `Cannot lock the data directory "${dataDir}": ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (!locked) {
    file.close();
    throw new DataDirBusyError(dataDir, await awaitHolder(dataDir));
  }
  const holder: LockHolder = {
    pid: Deno.pid,
    verb: opts.verb,
    since: (opts.now ?? new Date()).toISOString(),
    hostname: safeHostname(),
  };
  try {
    await writeHolder(dataDir, holder);
  } catch (e) {
    file.close();
    throw new DataLockError(
      `Cannot write "${join(dataDir, HOLDER_FILE)}": ${(e as Error).message}`,
      { cause: e },
    );
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    // Removed while still locked, so no newer holder's note can be the one deleted.
    try {
      Deno.removeSync(join(dataDir, HOLDER_FILE));
    } catch {
      // A stale note is harmless: the next holder overwrites it.
    }
    file.close();
  };
  return { dataDir, holder, release, [Symbol.dispose]: release };
}

/** The holder's note, or undefined when there is none or it cannot be read. */
export async function readHolder(dataDir: string): Promise<LockHolder | undefined> {
  try {
    const raw = JSON.parse(await Deno.readTextFile(join(dataDir, HOLDER_FILE)));
    if (
      typeof raw?.pid === "number" && typeof raw.verb === "string" &&
      typeof raw.since === "string"
    ) {
      return {
        pid: raw.pid,
        verb: raw.verb,
        since: raw.since,
        hostname: typeof raw.hostname === "string" ? raw.hostname : "",
      };
    }
  } catch {
    // Written a moment after the lock is taken, or left unreadable: the message says less.
  }
  return undefined;
}

// The holder writes its note a moment after it takes the lock: a process started at the same
// instant may look before then.
async function awaitHolder(dataDir: string): Promise<LockHolder | undefined> {
  for (let attempt = 0;; attempt++) {
    const holder = await readHolder(dataDir);
    if (holder || attempt >= 40) return holder;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The refusal sentence for a busy data directory. */
export function busyMessage(dataDir: string, holder: LockHolder | undefined): string {
  const tail = `is using the data directory "${dataDir}": stop it or wait for it to finish`;
  if (!holder) return `Another vmirror process ${tail}`;
  // On a shared data directory the pid alone would point at the wrong machine.
  const host = holder.hostname && holder.hostname !== safeHostname()
    ? ` on "${holder.hostname}"`
    : "";
  return `Another vmirror process (pid ${holder.pid}${host}, "${holder.verb}", since ${holder.since}) ${tail}`;
}

async function writeHolder(dataDir: string, holder: LockHolder): Promise<void> {
  const path = join(dataDir, HOLDER_FILE);
  const temp = `${path}.${Deno.pid}.tmp`;
  // Temp file and rename: a refused process never reads half a note.
  await Deno.writeTextFile(temp, JSON.stringify(holder) + "\n");
  await Deno.rename(temp, path);
}

function safeHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}
