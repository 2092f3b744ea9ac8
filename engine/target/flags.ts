/**
 * Which flags a copy carries: what production has, less what is never mirrored, less what the
 * target refuses (its PERMANENTFLAGS), compared case-insensitively as IMAP does.
 * @module
 */

// \Recent is session state and \Deleted would let someone's EXPUNGE on the backup take the copy.
const NEVER_MIRRORED = new Set(["\\recent", "\\deleted"]);

/** The flags to write on the target for a source message's flags, and those refused. */
export function mirrorFlags(
  flags: Iterable<string>,
  allowFlag: (flag: string) => boolean,
): { flags: string[]; refused: string[] } {
  const out: string[] = [];
  const refused: string[] = [];
  for (const f of flags) {
    if (NEVER_MIRRORED.has(f.toLowerCase())) continue;
    (allowFlag(f) ? out : refused).push(f);
  }
  return { flags: normalizeFlags(out), refused: normalizeFlags(refused) };
}

/** Sorted, de-duplicated flags, so two sets compare as strings. */
export function normalizeFlags(flags: Iterable<string>): string[] {
  const seen = new Map<string, string>();
  // IMAP flags and keywords compare case-insensitively.
  for (const f of flags) if (!seen.has(f.toLowerCase())) seen.set(f.toLowerCase(), f);
  return [...seen.values()].sort((a, b) => a.toLowerCase() < b.toLowerCase() ? -1 : 1);
}

/** A predicate for a target's PERMANENTFLAGS (`\*` allows any keyword). */
export function permanentFlagsFilter(permanent: Set<string> | undefined): (f: string) => boolean {
  if (!permanent) return () => true;
  const lower = new Set([...permanent].map((f) => f.toLowerCase()));
  const anyKeyword = lower.has("\\*");
  return (f) => lower.has(f.toLowerCase()) || (anyKeyword && !f.startsWith("\\"));
}
