/**
 * Free space of the disks the appliance writes to: the data directory (state store, blobs)
 * and a file-store target's root. A full disk stops the mirror, so it is watched before it is.
 * @module
 */
import { statfs } from "node:fs/promises";
import type { DiskFree } from "../state/mod.ts";
import { redact } from "../support/mod.ts";

/** Reads the free space of the disk holding `path` (an error in words when it cannot). */
export async function readDiskFree(
  which: DiskFree["which"],
  path: string,
  now: Date,
): Promise<DiskFree> {
  const base = { which, path, checkedAt: now.toISOString() };
  try {
    const s = await statfs(path);
    const total = Number(s.blocks) * Number(s.bsize);
    const free = Number(s.bavail) * Number(s.bsize);
    return {
      ...base,
      freeBytes: free,
      totalBytes: total,
      freePercent: total > 0 ? (free / total) * 100 : null,
    };
  } catch (e) {
    return {
      ...base,
      freeBytes: null,
      totalBytes: null,
      freePercent: null,
      error: `cannot read the free space of "${path}": ${redact((e as Error).message)}`,
    };
  }
}
