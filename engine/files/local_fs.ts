/**
 * Whether a path lies on a local file system. The file store writes a staged message with
 * direct (synchronous) calls on a local disk — each a few microseconds in the page cache, where
 * an asynchronous call costs two thread hand-offs — but keeps asynchronous calls on a share,
 * where every call is a network round trip that must not stall the engine's other mailboxes.
 * @module
 */

// File systems whose calls go over the network (or through a user-space daemon): their calls
// are slow and must stay asynchronous.
const REMOTE = new Set([
  "nfs",
  "nfs4",
  "cifs",
  "smb3",
  "smbfs",
  "9p",
  "ceph",
  "glusterfs",
  "lustre",
  "afs",
  "davfs",
  "ncpfs",
  "virtiofs",
]);

/** Unescapes a mountinfo path field (`\040` for a space, and so on). */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Pure: the type of the file system that holds `path` (absolute, symlinks resolved), from the
 * text of /proc/self/mountinfo; null when no mount matches.
 */
export function fileSystemTypeOf(mountinfo: string, path: string): string | null {
  let best: { point: string; type: string } | null = null;
  for (const line of mountinfo.split("\n")) {
    // "<id> <parent> <major:minor> <root> <mount point> <options> [optional…] - <type> <source> …"
    const dash = line.indexOf(" - ");
    if (dash < 0) continue;
    const fields = line.slice(0, dash).split(" ");
    const point = unescapeMountPath(fields[4] ?? "");
    const type = line.slice(dash + 3).split(" ")[0];
    if (!point || !type) continue;
    const inside = point === "/" || path === point || path.startsWith(point + "/");
    // The longest match wins; a later line of the same length is mounted over the earlier one.
    if (inside && (!best || point.length >= best.point.length)) best = { point, type };
  }
  return best?.type ?? null;
}

/** Pure: whether a file system type is local (not a network share, not a FUSE mount). */
export function isLocalType(type: string | null): boolean {
  if (!type) return false;
  return !REMOTE.has(type) && !type.startsWith("fuse");
}

// Checked again after a while: a share may be mounted over the path while the service runs.
const RECHECK_MS = 5 * 60_000;
const known = new Map<string, { local: boolean; at: number }>();

/**
 * Whether `path` is on a local file system. Only Linux can tell (from /proc/self/mountinfo);
 * elsewhere, and whenever it cannot be read, the answer is false: the safe side for a share.
 */
export async function isLocalFileSystem(path: string): Promise<boolean> {
  if (Deno.build.os !== "linux") return false;
  const cached = known.get(path);
  if (cached && performance.now() - cached.at < RECHECK_MS) return cached.local;
  let local = false;
  try {
    const real = await Deno.realPath(path);
    local = isLocalType(fileSystemTypeOf(await Deno.readTextFile("/proc/self/mountinfo"), real));
  } catch {
    local = false;
  }
  known.set(path, { local, at: performance.now() });
  return local;
}
