/**
 * The subscriber's heard marks and visits, read and written for the pages (the rules are in
 * heard.ts, the keys in engine/state/heard.ts): what a listing shows per message, marking
 * messages heard when played or downloaded (or by hand), and noting a visit.
 * @module
 */
import { getHeardMarks, setHeardMarks, updateVisit } from "../engine/state/mod.ts";
import type { PortalDeps } from "./context.ts";
import { arrivedSince, isHeard, type ListingMark, messageIdentity, nextVisit } from "./heard.ts";
import type { MessageSummary } from "./mailbox_reader.ts";
import type { Session } from "./sessions.ts";
import { messageId } from "./subscriber_pages.tsx";

/** What a listing shows of one message besides its description. */
export type { ListingMark } from "./heard.ts";

/** Heard and "new since your last visit" for each of `items`, keyed by their URL id. */
export async function listingMarks(
  deps: PortalDeps,
  mailbox: string,
  opts: { items: readonly MessageSummary[]; since: string | null },
): Promise<Map<string, ListingMark>> {
  const ids = opts.items.map(messageIdentity);
  const marks = await getHeardMarks(deps.state, mailbox, ids);
  return new Map(opts.items.map((m, i) => [messageId(m), {
    heard: isHeard(m, marks.get(ids[i])),
    fresh: arrivedSince(m, opts.since),
  }]));
}

/** Whether one message counts as heard. */
export async function heardOf(
  deps: PortalDeps,
  mailbox: string,
  m: MessageSummary,
): Promise<boolean> {
  const id = messageIdentity(m);
  return isHeard(m, (await getHeardMarks(deps.state, mailbox, [id])).get(id));
}

/** Marks `messages` of `mailbox` heard (played, downloaded) or unheard (by hand). */
export async function markHeard(
  deps: PortalDeps,
  mailbox: string,
  messages: readonly MessageSummary[],
  heard: boolean,
): Promise<void> {
  if (messages.length === 0) return;
  await setHeardMarks(deps.state, mailbox, messages.map(messageIdentity), {
    heard,
    at: new Date().toISOString(),
  });
}

/**
 * Notes that session `s` looks at its messages now; answers when the previous visit last
 * looked (null on the first visit), which is what "new since your last visit" counts from.
 */
export async function noteVisit(deps: PortalDeps, s: Session): Promise<string | null> {
  // The session's start names it: not a secret, and unique enough per mailbox.
  const rec = await updateVisit(
    deps.state,
    s.subject,
    (cur) => nextVisit(cur, s.createdAt, new Date()),
  );
  return rec.since;
}
