/**
 * The portal's heard/unheard state and "new since your last visit", as pure rules: a message's
 * identity that outlives its UIDs, whether it counts as heard, and how a visit moves on. The
 * marks themselves are kept in KV by engine/state/heard.ts — never on the mirror, which the
 * portal only reads, and never on production.
 * @module
 */
import { createHash } from "node:crypto";
import type { HeardMark, VisitRecord } from "../engine/state/mod.ts";

/** What a message's identity is made of: what the mirror keeps whatever UID it gets. */
export interface IdentityFacts {
  folder: string;
  messageId: string | null;
  date: string | null;
  internalDate: string;
  sender: string;
  subject: string | null;
}

/**
 * A message's name for its heard mark, stable when it is mirrored again (a new backup, a new
 * UIDVALIDITY, the file store instead of IMAP): its folder and Message-ID, or — without one —
 * its arrival date, date, caller and subject. Hashed, so KV keys stay short whatever a header says.
 */
export function messageIdentity(m: IdentityFacts): string {
  const parts = m.messageId
    ? ["id", m.folder, m.messageId]
    : ["at", m.folder, m.internalDate, m.date ?? "", m.sender, m.subject ?? ""];
  return createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 32);
}

/**
 * Whether a message counts as heard: the subscriber's own mark when there is one, else the
 * read state the mirror carries from production (`\Seen`: AUDIX "old").
 */
export function isHeard(m: { flags: readonly string[] }, mark: HeardMark | null | undefined) {
  return mark ? mark.heard : m.flags.includes("\\Seen");
}

/**
 * The visit record after the subscriber looks at their messages at `now` in session
 * `session`: the same session keeps the visit's "since"; a new one starts a visit whose "since"
 * is when the previous one last looked.
 */
export function nextVisit(cur: VisitRecord | null, session: string, now: Date): VisitRecord {
  const seenAt = now.toISOString();
  if (!cur) return { session, since: null, seenAt };
  if (cur.session === session) return { ...cur, seenAt };
  return { session, since: cur.seenAt, seenAt };
}

/** Whether a message arrived after the previous visit (never, before a second visit). */
export function arrivedSince(m: { internalDate: string }, since: string | null): boolean {
  if (!since) return false;
  const at = Date.parse(m.internalDate);
  const last = Date.parse(since);
  return Number.isFinite(at) && Number.isFinite(last) && at > last;
}

/** What the inbox shows of one message: heard, and new since the previous visit. */
export interface ListingMark {
  heard: boolean;
  /** Arrived after the subscriber's previous visit. */
  fresh: boolean;
}
