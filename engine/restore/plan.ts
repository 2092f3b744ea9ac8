/**
 * Planning a restore: a pure function from what the mirror holds (the backup MSS or the file
 * store) and what production holds now to the APPENDs that put missing messages back, and the
 * reason every other message is left alone. Also the parsers for `--since` and `--uid`.
 * No I/O.
 * @module
 */
import { normalizeFlags } from "../target/mod.ts";
import { type MessageIdentity, sameIdentity } from "../target/mod.ts";

/** Where a restore reads the messages it puts back. */
export type RestoreFrom = "files" | "backup";

/** One message the mirror holds that could go back to production. */
export interface RestoreCandidate {
  folder: string;
  /**
   * The UID the mirror shows: the backup MSS's UID, or the file store's (meta.json `uid`, the
   * number that ends the message directory's name). `--uid` selects by it.
   */
  mirrorUid: number;
  /** The mirror folder's UIDVALIDITY (the store's own for a file store). */
  mirrorUidValidity: number;
  /** Production's UID when the message was mirrored, when the mirror recorded it. */
  sourceUid: number | null;
  /** "placeholder": the mirror holds a placeholder; the original kept aside goes back. */
  kind: "copy" | "placeholder";
  /** Identity of what goes back (the original's, for a placeholder). */
  messageId: string | null;
  internalDate: Date;
  size: number;
  /** Flags as the mirror holds them. */
  flags: string[];
  /** In the file store's deleted area (kept there by `onDelete: "move"`). */
  deleted?: boolean;
  /** Why the bytes cannot be had (a placeholder whose original is gone); unset when they can. */
  unavailable?: string;
}

/** A production message the mirror chose not to hold (a map entry "skipped", e.g. broadcast). */
export interface NotMirrored extends MessageIdentity {
  folder: string;
  sourceUid: number;
  /** Why it was not mirrored, e.g. "broadcast". */
  reason: string;
}

/** One message production holds now. */
export interface ProductionMessage extends MessageIdentity {
  uid: number;
}

/** One production folder as read before the restore. */
export interface ProductionFolder {
  /** False when the folder does not exist on production (the restore creates it). */
  exists: boolean;
  messages: ProductionMessage[];
}

/** What the operator asked for. */
export interface RestoreFilter {
  /** Only messages whose INTERNALDATE is at or after this instant. */
  since?: Date;
  /** Only messages with these mirror UIDs (in any folder read). */
  uids?: number[];
  /** Also messages in the file store's deleted area. */
  includeDeleted?: boolean;
}

/** Everything the planner looks at. */
export interface RestorePlanInput {
  candidates: RestoreCandidate[];
  /** Production messages the mirror skipped on purpose, from the state map. */
  notMirrored?: NotMirrored[];
  /** Production's folders by name; a folder missing here counts as not existing. */
  production: Record<string, ProductionFolder>;
  filter?: RestoreFilter;
}

/** One APPEND to production. */
export interface RestoreAppend {
  candidate: RestoreCandidate;
  folder: string;
  /** The flags to set: the mirror's, without \Recent and \Deleted. */
  flags: string[];
  internalDate: Date;
}

/** Why a message is not put back. */
export type RestoreSkipReason =
  | "on-production"
  | "duplicate-on-mirror"
  | "uid-not-selected"
  | "before-since"
  | "deleted-on-mirror"
  | "original-missing"
  | "never-mirrored";

/** A message left alone, with the reason. */
export type RestoreSkip =
  | { reason: "on-production"; candidate: RestoreCandidate; productionUid: number }
  | { reason: "duplicate-on-mirror"; candidate: RestoreCandidate; sameAs: number }
  | {
    reason: "uid-not-selected" | "before-since" | "deleted-on-mirror";
    candidate: RestoreCandidate;
  }
  | { reason: "original-missing"; candidate: RestoreCandidate; detail: string }
  | { reason: "never-mirrored"; message: NotMirrored };

/** The planner's answer. */
export interface RestorePlan {
  /** In folder order, then oldest first, so production's UIDs follow arrival order. */
  appends: RestoreAppend[];
  skips: RestoreSkip[];
  /** Folders to create on production before appending (e.g. a greetings folder). */
  createFolders: string[];
  /** `--uid` values that no message of the mirror has. */
  unmatchedUids: number[];
}

// \Recent is session state, and \Deleted would let the next EXPUNGE take the restored message.
const NEVER_RESTORED = new Set(["\\recent", "\\deleted"]);

/** The flags a restore sets for a mirror message's flags. */
export function restoreFlags(flags: Iterable<string>): string[] {
  return normalizeFlags([...flags].filter((f) => !NEVER_RESTORED.has(f.toLowerCase())));
}

/**
 * Same message? Message-IDs must agree (both absent counts as agreeing), besides the date to
 * the second and the size: the rule by which the mirror adopts a message instead of copying
 * it, so what restore counts as present is what the next pass counts as mirrored.
 */
export function sameMessage(a: MessageIdentity, b: MessageIdentity): boolean {
  return a.messageId === b.messageId && sameIdentity(a, b);
}

/** A string equal for two identities exactly when {@link sameMessage} holds. */
export function identityKey(m: MessageIdentity): string {
  return `${m.messageId ?? ""}\u0000${m.messageId === null ? 0 : 1}\u0000${
    Math.floor(m.internalDate.getTime() / 1000)
  }\u0000${m.size}`;
}

/** Plans a restore: what to append to production, and why every other message stays out. */
export function planRestore(input: RestorePlanInput): RestorePlan {
  const filter = input.filter ?? {};
  const uids = filter.uids && filter.uids.length ? new Set(filter.uids) : null;
  const since = filter.since ? filter.since.getTime() : null;
  const skips: RestoreSkip[] = [];
  const appends: RestoreAppend[] = [];
  const seenUids = new Set<number>();

  // The operator's filters come first: what was not asked for is reported as such, whether or
  // not production has it.
  const wanted: RestoreCandidate[] = [];
  for (const c of input.candidates) {
    if (uids && !uids.has(c.mirrorUid)) {
      skips.push({ reason: "uid-not-selected", candidate: c });
      continue;
    }
    seenUids.add(c.mirrorUid);
    if (since !== null && c.internalDate.getTime() < since) {
      skips.push({ reason: "before-since", candidate: c });
    } else if (c.deleted && !filter.includeDeleted) {
      skips.push({ reason: "deleted-on-mirror", candidate: c });
    } else {
      wanted.push(c);
    }
  }

  // One message per identity and folder: a mirror may hold two copies of one message (a
  // placeholder made twice after a lost state store, a message in both the live and the deleted
  // area); production must get it once. The copy that can be read, live, lowest UID stands.
  const groups = new Map<string, RestoreCandidate[]>();
  for (const c of wanted) {
    const key = `${c.folder}\u0000${identityKey(c)}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const folderOrder = [...new Set(input.candidates.map((c) => c.folder))];
  const createFolders = new Set<string>();
  for (const group of groups.values()) {
    group.sort(preferred);
    const [best, ...others] = group;
    const prod = input.production[best.folder];
    const there = prod?.messages.find((m) => sameMessage(m, best));
    if (there) {
      for (const c of group) {
        skips.push({ reason: "on-production", candidate: c, productionUid: there.uid });
      }
      continue;
    }
    if (best.unavailable !== undefined) {
      for (const c of group) {
        skips.push({
          reason: "original-missing",
          candidate: c,
          detail: c.unavailable ?? best.unavailable,
        });
      }
      continue;
    }
    for (const c of others) {
      skips.push({ reason: "duplicate-on-mirror", candidate: c, sameAs: best.mirrorUid });
    }
    appends.push({
      candidate: best,
      folder: best.folder,
      flags: restoreFlags(best.flags),
      internalDate: best.internalDate,
    });
    if (!prod?.exists) createFolders.add(best.folder);
  }
  appends.sort((a, b) =>
    folderOrder.indexOf(a.folder) - folderOrder.indexOf(b.folder) ||
    a.internalDate.getTime() - b.internalDate.getTime() ||
    a.candidate.mirrorUid - b.candidate.mirrorUid
  );

  // What the mirror skipped on purpose and production no longer has is lost for good: said so,
  // once per message. Without a mirror UID it can never match `--uid`.
  if (!uids) {
    const reported = new Set<string>();
    for (const m of input.notMirrored ?? []) {
      if (since !== null && m.internalDate.getTime() < since) continue;
      const key = `${m.folder}\u0000${identityKey(m)}`;
      if (reported.has(key)) continue;
      reported.add(key);
      if (input.production[m.folder]?.messages.some((p) => sameMessage(p, m))) continue;
      if (groups.has(key)) continue; // the mirror holds it after all (e.g. a rule changed)
      skips.push({ reason: "never-mirrored", message: m });
    }
  }

  return {
    appends,
    skips,
    createFolders: folderOrder.filter((f) => createFolders.has(f)),
    unmatchedUids: uids ? [...uids].filter((u) => !seenUids.has(u)).sort((a, b) => a - b) : [],
  };
}

function preferred(a: RestoreCandidate, b: RestoreCandidate): number {
  return Number(a.unavailable !== undefined) - Number(b.unavailable !== undefined) ||
    Number(!!a.deleted) - Number(!!b.deleted) ||
    a.mirrorUid - b.mirrorUid;
}

/** Counts of a plan's skips by reason. */
export function countSkips(skips: readonly RestoreSkip[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of skips) out[s.reason] = (out[s.reason] ?? 0) + 1;
  return out;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses `--since`: `YYYY-MM-DD` (midnight, local time), `YYYY-MM-DDTHH:MM[:SS]` (local time),
 * or either with `Z` or `±HH:MM`. Throws a RangeError naming the value otherwise.
 */
export function parseRestoreDate(text: string, now: () => Date = () => new Date()): Date {
  const value = text.trim();
  const bad = (why: string) =>
    new RangeError(
      `Invalid date "${text}": ${why} (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM])`,
    );
  const d = DATE_ONLY.exec(value);
  const t = d ? null : DATE_TIME.exec(value);
  if (!d && !t) throw bad("not a date");
  const m = d ?? t!;
  const [y, mo, day, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
  // Milliseconds as written: ".25" is 250.
  const ms = t?.[7] ? Number(t[7].padEnd(3, "0")) : 0;
  const zone = t?.[8];
  if (mo < 1 || mo > 12 || day < 1 || day > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) {
    throw bad("no such day or time");
  }
  let date: Date;
  if (zone === undefined) {
    date = new Date(y, mo - 1, day, h, mi, s, ms);
    // A local time skipped by a daylight-saving change does not exist.
    if (date.getHours() !== h || date.getMinutes() !== mi || date.getDate() !== day) {
      throw bad("no such local time");
    }
  } else {
    const offset = zone.toUpperCase() === "Z" ? 0 : zoneMinutes(zone);
    if (offset === null) throw bad("no such time zone offset");
    date = new Date(Date.UTC(y, mo - 1, day, h, mi, s, ms) - offset * 60_000);
  }
  if (date.getTime() > now().getTime()) throw bad("in the future");
  return date;
}

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function zoneMinutes(zone: string): number | null {
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!m) return null;
  const h = Number(m[2]);
  const mi = Number(m[3]);
  if (h > 14 || mi > 59) return null;
  return (m[1] === "-" ? -1 : 1) * (h * 60 + mi);
}

/** Most UIDs one range may stand for, so `1:4000000000` cannot exhaust memory. */
export const MAX_UID_RANGE = 100_000;

/**
 * Parses `--uid` values: each `N`, `N,M,…` or a range `N:M` (IMAP's notation), UIDs being
 * positive whole numbers. Returns them sorted, once each; throws a RangeError naming the value.
 */
export function parseUidArgs(values: readonly string[]): number[] {
  const out = new Set<number>();
  for (const value of values) {
    const parts = value.split(",").map((p) => p.trim());
    for (const part of parts) {
      const range = /^(\d{1,10}):(\d{1,10})$/.exec(part);
      if (range) {
        let [lo, hi] = [Number(range[1]), Number(range[2])];
        if (lo > hi) [lo, hi] = [hi, lo];
        if (lo < 1 || hi > 0xffffffff) throw badUid(value, "UIDs run from 1 to 4294967295");
        if (hi - lo + 1 > MAX_UID_RANGE) {
          throw badUid(value, `a range may hold at most ${MAX_UID_RANGE} UIDs`);
        }
        for (let u = lo; u <= hi; u++) out.add(u);
        continue;
      }
      if (!/^\d{1,10}$/.test(part)) throw badUid(value, "expected N, N,M or N:M");
      const uid = Number(part);
      if (uid < 1 || uid > 0xffffffff) throw badUid(value, "UIDs run from 1 to 4294967295");
      out.add(uid);
    }
  }
  return [...out].sort((a, b) => a - b);
}

function badUid(value: string, why: string): RangeError {
  return new RangeError(`Invalid UID "${value}": ${why}`);
}
