/**
 * The automatic state backups of upgrades and rollbacks, in `<data>/backups/`: taken while the
 * service is stopped and the data directory is held, named by time, version and schema, the
 * five newest kept; and putting one back into a fresh store (a downgrade, or undoing a switch
 * whose new release already migrated the store).
 * @module
 */
import { join } from "node:path";
import { keyFilePath } from "../config/mod.ts";
import {
  audit,
  type AuditEntry,
  backupState,
  closeState,
  openState,
  restoreState,
  schemaVersion,
} from "../state/mod.ts";
import { backupName, type BackupRef, parseBackupName } from "./plan.ts";

/** Automatic backups kept; older ones are removed when a new one is taken. */
export const BACKUPS_KEPT = 5;

/** The store's files: the database, its write-ahead log and the log's index. */
const STORE_FILES = ["state.kv", "state.kv-wal", "state.kv-shm"];

/** The store of a data directory. */
export function storePath(dataDir: string): string {
  return join(dataDir, "state.kv");
}

/**
 * Backs up the (stopped) service's store into `dir`, with the key that seals its secrets beside
 * it as `<file>.key`, then prunes to the newest {@link BACKUPS_KEPT}. Records `entry` in the
 * store first, so the backup holds it too.
 */
export async function takeBackup(
  dataDir: string,
  dir: string,
  opts: { version: string; at?: Date; entry?: Omit<AuditEntry, "at"> },
): Promise<{ file: string; records: number; schema: number }> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const state = await openState(storePath(dataDir));
  let made;
  let file: string;
  try {
    if (opts.entry) await audit(state, opts.entry);
    const schema = await schemaVersion(state);
    file = join(dir, backupName(opts.at ?? new Date(), opts.version, schema));
    made = await backupState(state, file);
  } finally {
    closeState(state);
  }
  const key = keyFilePath(dataDir);
  if (await Deno.stat(key).then(() => true, () => false)) {
    await Deno.copyFile(key, `${file}.key`);
    if (Deno.build.os !== "windows") await Deno.chmod(`${file}.key`, 0o600);
  }
  await pruneBackups(dir);
  return { file, records: made.records, schema: made.schema };
}

/** The automatic backups in `dir`, newest first. */
export async function listBackups(dir: string): Promise<BackupRef[]> {
  const out: BackupRef[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const parsed = e.isFile ? parseBackupName(e.name) : null;
      if (parsed) out.push({ file: join(dir, e.name), at: parsed.at, schema: parsed.schema });
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => (a.at < b.at ? 1 : -1));
}

async function pruneBackups(dir: string): Promise<void> {
  for (const old of (await listBackups(dir)).slice(BACKUPS_KEPT)) {
    await Deno.remove(old.file).catch(() => {});
    await Deno.remove(`${old.file}.key`).catch(() => {});
  }
}

/**
 * Replaces the (stopped) service's store by a backup: the store's files are moved aside into
 * `<dir>/replaced-<time>/` (never deleted), a fresh store is filled from the backup, and
 * `entry` is recorded in it. The store is left at the backup's schema, so an older release
 * can open it.
 */
export async function replaceStore(
  dataDir: string,
  backup: string,
  opts: { dir: string; at?: Date; entry?: Omit<AuditEntry, "at"> },
): Promise<{ aside: string; records: number; schema: number }> {
  const aside = join(
    opts.dir,
    `replaced-${(opts.at ?? new Date()).toISOString().replace(/[:.]/g, "-")}`,
  );
  await Deno.mkdir(aside, { recursive: true, mode: 0o700 });
  for (const f of STORE_FILES) {
    await Deno.rename(join(dataDir, f), join(aside, f)).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
  const state = await openState(storePath(dataDir));
  try {
    const done = await restoreState(state, backup);
    if (opts.entry) await audit(state, opts.entry);
    return { aside, ...done };
  } finally {
    closeState(state);
  }
}

/**
 * Gives the store's files to the data directory's owner: run as root, the upgrade may have
 * created them, and the service's own user must open them.
 */
export async function matchOwner(dataDir: string): Promise<void> {
  if (Deno.build.os === "windows" || Deno.uid() !== 0) return;
  const owner = await Deno.stat(dataDir);
  if (owner.uid === null || owner.gid === null || owner.uid === 0) return;
  for (const f of [...STORE_FILES, "vmirror.lock", "secret.key"]) {
    const p = join(dataDir, f);
    const s = await Deno.stat(p).catch(() => null);
    if (s && s.uid !== owner.uid) await Deno.chown(p, owner.uid, owner.gid);
  }
}
