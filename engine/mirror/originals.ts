/**
 * Originals of over-length messages, kept byte-identical on the application server while the
 * backup holds a placeholder. Findable by mailbox, folder and UID.
 * @module
 */
import { dirname, join } from "node:path";
import { syncDir, writeFileAtomic } from "../support/mod.ts";

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

/** Writes the original atomically and durably (engine/support's recipe) and returns its path. */
export async function keepOriginal(
  root: string,
  key: { mailbox: string; folder: string; uidValidity: number; uid: number; bytes: Uint8Array },
): Promise<string> {
  const path = originalPath(root, key);
  await Deno.mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, key.bytes);
  return path;
}

/** Moves a spooled original into place (fsynced, then renamed) and returns its path. */
export async function keepOriginalFile(
  root: string,
  key: { mailbox: string; folder: string; uidValidity: number; uid: number },
  spooled: string,
): Promise<string> {
  const path = originalPath(root, key);
  await Deno.mkdir(dirname(path), { recursive: true });
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
  await syncDir(dirname(path));
  return path;
}
