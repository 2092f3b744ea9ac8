/**
 * Planning one folder's reconcile: a pure function from what the source, the map and the target
 * hold to the actions that make the mirror equal production.
 * @module
 */
import type { MapEntry } from "../state/mod.ts";
import { mirrorFlags, normalizeFlags } from "../target/mod.ts";

/** A message present on the source; `flags` undefined means "unchanged since the cursor". */
export interface SourceMessage {
  uid: number;
  flags?: string[];
}

/** What the planner needs to know. */
export interface PlanInput {
  /** Every UID the source folder holds now. */
  source: SourceMessage[];
  /** Map entries of the folder for the source's current UIDVALIDITY. */
  map: MapEntry[];
  /** UIDs the target folder holds now, or null when the target was not scanned. */
  targetUids: Set<number> | null;
  /** Whether the target keeps a flag (PERMANENTFLAGS); refused ones are reported. */
  allowFlag: (flag: string) => boolean;
}

/** One step of a reconcile. */
export type Action =
  | { type: "copy"; uid: number; reason: "new" | "missing-on-target" }
  | { type: "delete"; srcUid: number; entry: MapEntry }
  | { type: "setFlags"; srcUid: number; entry: MapEntry; flags: string[] }
  | { type: "forget"; srcUid: number };

/** The planner's answer. */
export interface Plan {
  actions: Action[];
  /** Target UIDs that no map entry knows: left alone, reported. */
  unknownOnTarget: number[];
  /** Flags the target refused (kept on production, reported). */
  refusedFlags: string[];
}

/** Plans one folder: copies, deletions, flag updates; never touches what it does not know. */
export function plan(input: PlanInput): Plan {
  const actions: Action[] = [];
  const refused = new Set<string>();
  const sourceByUid = new Map(input.source.map((m) => [m.uid, m]));
  const mapByUid = new Map(input.map.map((e) => [e.srcUid, e]));
  const known = new Set<number>();

  for (const entry of input.map) {
    const src = sourceByUid.get(entry.srcUid);
    const onTarget = entry.kind === "skipped" || input.targetUids === null ||
      input.targetUids.has(entry.targetUid);
    if (entry.kind !== "skipped" && input.targetUids !== null) known.add(entry.targetUid);
    if (!src) {
      if (entry.kind === "skipped") actions.push({ type: "forget", srcUid: entry.srcUid });
      else if (onTarget) actions.push({ type: "delete", srcUid: entry.srcUid, entry });
      // Gone from both sides: nothing to delete, the entry just goes.
      else actions.push({ type: "forget", srcUid: entry.srcUid });
      continue;
    }
    if (!onTarget) {
      // Someone removed the copy from the backup: the mirror must hold it again.
      actions.push({ type: "copy", uid: src.uid, reason: "missing-on-target" });
      continue;
    }
    if (entry.kind === "skipped" || src.flags === undefined) continue;
    const want = mirrorFlags(src.flags, input.allowFlag);
    want.refused.forEach((f) => refused.add(f));
    if (
      want.flags.join(" ").toLowerCase() !== normalizeFlags(entry.flags).join(" ").toLowerCase()
    ) {
      actions.push({ type: "setFlags", srcUid: src.uid, entry, flags: want.flags });
    }
  }

  for (const src of input.source) {
    if (mapByUid.has(src.uid)) continue;
    actions.push({ type: "copy", uid: src.uid, reason: "new" });
    if (src.flags) mirrorFlags(src.flags, input.allowFlag).refused.forEach((f) => refused.add(f));
  }

  const unknownOnTarget = input.targetUids === null
    ? []
    : [...input.targetUids].filter((u) => !known.has(u)).sort((a, b) => a - b);
  // Deletions first (they free quota on the backup), then copies in UID order, then flags.
  const rank = { delete: 0, forget: 1, copy: 2, setFlags: 3 } as const;
  actions.sort((a, b) =>
    rank[a.type] - rank[b.type] ||
    ("uid" in a ? a.uid : a.srcUid) - ("uid" in b ? b.uid : b.srcUid)
  );
  return { actions, unknownOnTarget, refusedFlags: [...refused].sort() };
}

/** What to do with a fetched message: copy it, leave a placeholder, or skip it. */
export type CopyDecision =
  | { kind: "copy" }
  | { kind: "placeholder"; reason: "too-long" | "too-big" }
  | { kind: "skip"; reason: "broadcast" };

/** Decides a fetched message's fate from its classification and the backup's limits. */
export function decideCopy(
  msg: { broadcast: boolean; durationSeconds: number | null; size: number },
  limits: {
    maxMessageSeconds: number | null;
    maxMessageBytes: number | null;
    placeholders: boolean;
  },
): CopyDecision {
  if (msg.broadcast) return { kind: "skip", reason: "broadcast" };
  if (!limits.placeholders) return { kind: "copy" };
  if (
    limits.maxMessageSeconds !== null && msg.durationSeconds !== null &&
    msg.durationSeconds > limits.maxMessageSeconds
  ) return { kind: "placeholder", reason: "too-long" };
  if (limits.maxMessageBytes !== null && msg.size > limits.maxMessageBytes) {
    return { kind: "placeholder", reason: "too-big" };
  }
  return { kind: "copy" };
}
