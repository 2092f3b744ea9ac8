/**
 * The file store's connection test: the root is there (or would be created), whether it is a
 * mount of its own, that a file can be created, flushed to disk and removed in it, and how
 * much space is free.
 * @module
 */
import { statfs } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { FilesTargetConfig } from "../config/mod.ts";
import { redact } from "../support/mod.ts";
import { errorText, Probe, ProbeFailure, type ProbeResult } from "./result.ts";

/** Options of {@link probeFiles}. */
export interface FilesProbeOptions {
  /** The whole test ends within this (default 15 s). */
  timeoutMs?: number;
}

/** Free space below which the space step warns. */
export const LOW_SPACE_BYTES = 1024 ** 3;

/** Tests the file store's root: presence, mount, writing, free space. */
export async function probeFiles(
  t: FilesTargetConfig,
  opts: FilesProbeOptions = {},
): Promise<ProbeResult> {
  const probe = new Probe(t.name, opts.timeoutMs);
  const root = resolve(t.root);
  // Where files are written: the root, or (not created yet) the folder it would be made in.
  let dir = root;
  await probe.step("root", async () => {
    const here = await statOrNull(root);
    const parent = dirname(root);
    if (here === null) {
      const up = await statOrNull(parent);
      if (!t.createRoot) {
        throw new ProbeFailure(
          `"${root}" does not exist (is the share mounted?) — create it, or set createRoot`,
        );
      }
      if (up && !up.isDirectory) {
        throw new ProbeFailure(`"${root}" cannot be created: "${parent}" is a file, not a folder`);
      }
      if (!up) {
        throw new ProbeFailure(
          `"${root}" does not exist, and neither does "${parent}" to create it in (is the share mounted?)`,
        );
      }
      dir = parent;
      return {
        detail: `"${root}" does not exist yet: it will be created in "${parent}" (createRoot)`,
        info: { path: root, exists: false },
      };
    }
    if (!here.isDirectory) throw new ProbeFailure(`"${root}" is not a directory`);
    const up = root === parent ? null : await statOrNull(parent);
    const ownMount = up !== null && here.dev !== up.dev;
    return {
      detail: `"${root}" is a directory${
        ownMount
          ? ", on its own mount"
          : up
          ? `, on the same file system as "${parent}" (not a mount of its own)`
          : ""
      }`,
      info: { path: root, exists: true, ownMount },
    };
  });
  await probe.step("writable", async () => {
    const file = join(dir, `.vmirror-probe-${crypto.randomUUID()}`);
    try {
      const f = await Deno.open(file, { createNew: true, write: true });
      try {
        await f.write(new TextEncoder().encode("vmirror connection test\n"));
        // A share that acknowledges writes it then loses fails here, not at the first backup.
        await f.sync();
      } finally {
        f.close();
      }
      await Deno.remove(file);
    } catch (e) {
      await Deno.remove(file).catch(() => {});
      throw new ProbeFailure(writeWords(dir, e));
    }
    return { detail: `created, flushed and removed a test file in "${dir}"` };
  });
  await probe.step("space", async () => {
    let s;
    try {
      s = await statfs(dir);
    } catch (e) {
      throw new ProbeFailure(`cannot read the free space of "${dir}": ${redact(errorText(e))}`);
    }
    const free = Number(s.bavail) * Number(s.bsize);
    const total = Number(s.blocks) * Number(s.bsize);
    const info = { freeBytes: free, totalBytes: total, free: humanBytes(free) };
    const low = free < LOW_SPACE_BYTES;
    return {
      detail: `${humanBytes(free)} free of ${humanBytes(total)}${
        low ? " — warning: less than 1 GiB left for the backup" : ""
      }`,
      info,
    };
  });
  await probe.close();
  return probe.result();
}

/** A write failure in words. */
export function writeWords(dir: string, e: unknown): string {
  const code = (e as { code?: string })?.code;
  if (e instanceof Deno.errors.PermissionDenied || code === "EACCES" || code === "EPERM") {
    return `cannot write in "${dir}": permission denied (check the rights of the user vmirror runs as)`;
  }
  if (code === "EROFS" || /read-only file system/i.test(errorText(e))) {
    return `cannot write in "${dir}": the file system is read-only`;
  }
  if (code === "ENOSPC" || /no space left/i.test(errorText(e))) {
    return `cannot write in "${dir}": the disk is full`;
  }
  return `cannot write in "${dir}": ${redact(errorText(e))}`;
}

/** "1.5 GiB", "640 MiB": a size as the admin reads it. */
export function humanBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

// The file's facts, null when absent; other failures (a path under a file, no access) in words.
async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    if (e instanceof Deno.errors.NotADirectory) {
      throw new ProbeFailure(`"${path}" cannot exist: a part of the path is a file, not a folder`);
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new ProbeFailure(`"${path}" cannot be reached: permission denied`);
    }
    throw new ProbeFailure(`"${path}" cannot be read: ${redact(errorText(e))}`);
  }
}
