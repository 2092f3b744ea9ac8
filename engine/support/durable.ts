/**
 * Durable file writes: a crash (or power loss) leaves either the old file or the whole new one.
 * The one recipe for every writer: temp file, fsync it, rename over the target, fsync the
 * directory (a rename is durable only once its directory is synced).
 * @module
 */
import { dirname } from "node:path";

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Where to write the temp file (same file system as `path`); default `<path>.<random>.tmp`. */
  temp?: string;
}

/** Replaces `path` atomically and durably: temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const tmp = options.temp ?? `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await writeNewFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dirname(path));
}

/** Creates `path` (it must not exist), writes all of `bytes` and fsyncs the file. */
export async function writeNewFile(path: string, bytes: Uint8Array): Promise<void> {
  const f = await Deno.open(path, { write: true, createNew: true });
  try {
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
    await f.sync();
  } finally {
    f.close();
  }
}

/**
 * Fsyncs a directory so that the renames and creations inside it survive a crash. Windows cannot
 * open a directory as a file, and NTFS journals renames itself; some network and FUSE file
 * systems refuse to sync a directory, and then there is nothing more to be done than what they
 * do on their own.
 */
export async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  const d = await Deno.open(dir, { read: true });
  try {
    await d.sync();
  } catch (e) {
    if (!isUnsupported(e)) throw e;
  } finally {
    d.close();
  }
}

/** Whether an error says the file system does not offer the operation (sync, lock). */
export function isUnsupported(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Deno.errors.NotSupported ||
    (typeof code === "string" &&
      ["EINVAL", "ENOTSUP", "EOPNOTSUPP", "ENOLCK", "ENOSYS"].includes(code));
}
