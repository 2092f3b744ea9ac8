/**
 * Reading a file store without writing to it: finding `<root>/<mailbox>/` and
 * `<root>/<mailbox>/<folder>/` by their markers and listing message directories (meta.ts reads
 * their meta.json). The store itself (store.ts), the portal's reader and the restore read the
 * store the same way; only the store writes it.
 * @module
 */
import { join } from "node:path";
import {
  containerSegment,
  FOLDER_STATE_FILE,
  isHiddenEntry,
  MAILBOX_MARKER_FILE,
} from "./layout.ts";

/** How the directory of one mailbox or folder is named, and how its marker says it is ours. */
export interface MarkedDirSpec {
  /** The n-th candidate directory name (n = 1, 2, …), tried in order. */
  candidate: (n: number) => string;
  /** The marker file inside the directory. */
  marker: string;
  /** Whether the marker's parsed content names this mailbox or folder. */
  isOurs: (marker: unknown) => boolean;
}

/** A directory found by its marker, with the marker's content. */
export interface MarkedDir {
  dir: string;
  marker: Record<string, unknown>;
}

/** Where a mailbox's directory is below the root, marked by {@link MAILBOX_MARKER_FILE}. */
export function mailboxDirSpec(mailbox: string): MarkedDirSpec {
  return {
    candidate: (n) => containerSegment(mailbox, n),
    marker: MAILBOX_MARKER_FILE,
    isOurs: (m) => isRecord(m) && m.mailbox === mailbox,
  };
}

/** Where a folder's directory is below its mailbox's, marked by its state file. */
export function folderDirSpec(folder: string): MarkedDirSpec {
  return {
    candidate: (n) => containerSegment(folder, n, { folder: true }),
    marker: FOLDER_STATE_FILE,
    isOurs: (m) => isRecord(m) && m.folder === folder,
  };
}

/**
 * The directory below `parent` whose marker says it is ours, or null. The store takes the
 * candidates in order, so the search ends at the first missing one; symlinks and files are
 * never followed, and a marker that cannot be read is not ours.
 */
export async function findMarked(parent: string, spec: MarkedDirSpec): Promise<MarkedDir | null> {
  for (let n = 1; n <= 1000; n++) {
    const dir = join(parent, spec.candidate(n));
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(dir);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
    if (!info.isDirectory) continue;
    const marker = await readJsonOrNull(join(dir, spec.marker));
    if (isRecord(marker) && spec.isOurs(marker)) return { dir, marker };
  }
  return null;
}

/** The visible subdirectories of `dir` in name order; hidden work directories are skipped. */
export async function visibleDirs(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory && !isHiddenEntry(e.name)) names.push(e.name);
  }
  return names.sort();
}

/** The size of a regular file, or null when there is none at `path`. */
export async function fileSize(path: string): Promise<number | null> {
  try {
    const info = await Deno.stat(path);
    return info.isFile ? info.size : null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

// A file's parsed JSON, or null when it is missing, unreadable or not JSON.
async function readJsonOrNull(path: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return null;
  }
}

/** Whether a parsed JSON value is an object (not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Whether a value is a valid UID or UIDVALIDITY: a positive safe integer. */
export function isUid(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0;
}
