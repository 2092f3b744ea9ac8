/**
 * Originals of over-length messages, kept byte-identical on the application server while the
 * backup holds a placeholder. Findable by mailbox, folder and UID.
 * @module
 */
import { join } from "node:path";

/** A safe single path segment for any folder or mailbox name (no traversal, no separators). */
export function safeSegment(name: string): string {
  return encodeURIComponent(name).replace(/^\.+/, (m) => "%2E".repeat(m.length)).replace(
    /\*/g,
    "%2A",
  );
}

/** Where the original of (mailbox, folder, UIDVALIDITY, UID) is kept. */
export function originalPath(
  root: string,
  key: { mailbox: string; folder: string; uidValidity: number; uid: number },
): string {
  return join(
    root,
    safeSegment(key.mailbox),
    safeSegment(key.folder),
    `${key.uidValidity}-${key.uid}.eml`,
  );
}

/** Writes the original atomically (temp file, fsync, rename) and returns its path. */
export async function keepOriginal(
  root: string,
  key: { mailbox: string; folder: string; uidValidity: number; uid: number; bytes: Uint8Array },
): Promise<string> {
  const path = originalPath(root, key);
  await writeFileAtomic(path, key.bytes);
  return path;
}

/** Writes a file so that a crash leaves either the old file or the whole new one. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = path.replace(/[\\/][^\\/]*$/, "");
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
    await f.sync();
  } catch (e) {
    f.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  f.close();
  await Deno.rename(tmp, path);
}

/** Moves a spooled original into place (fsynced, then renamed) and returns its path. */
export async function keepOriginalFile(
  root: string,
  key: { mailbox: string; folder: string; uidValidity: number; uid: number },
  spooled: string,
): Promise<string> {
  const path = originalPath(root, key);
  await Deno.mkdir(path.replace(/[\\/][^\\/]*$/, ""), { recursive: true });
  try {
    await Deno.rename(spooled, path);
  } catch {
    // Another file system (a share): copy through a temp file, then drop the spool.
    const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    await Deno.copyFile(spooled, tmp);
    const f = await Deno.open(tmp, { read: true, write: true });
    await f.sync();
    f.close();
    await Deno.rename(tmp, path);
    await Deno.remove(spooled);
  }
  return path;
}
