/**
 * The subscriber portal's own listening state: per mailbox, which messages the subscriber marked
 * heard or unheard here (`["heard", mailbox, identity]`), and when they last looked at their
 * messages (`["visit", mailbox]`). The mirror is never written for this — production's read
 * state stays production's — so these marks live in the appliance's KV only.
 *
 * `identity` is the caller's stable name for a message (portal/heard.ts: a hash of its folder
 * and Message-ID, or of its date and sender), so a mark survives the message being mirrored
 * again under another UID or UIDVALIDITY.
 * @module
 */
import { type State, updateChecked } from "./kv.ts";

/** A subscriber's own mark on one message. */
export interface HeardMark {
  heard: boolean;
  /** When it was set (ISO). */
  at: string;
}

/** Where a subscriber last looked at their messages, and the visit before. */
export interface VisitRecord {
  /** The session of the visit under way (an opaque, non-secret id). */
  session: string;
  /** When the previous visit last looked (ISO), or null before a second visit. */
  since: string | null;
  /** When this visit last looked (ISO). */
  seenAt: string;
}

const heardKey = (mailbox: string, identity: string): Deno.KvKey => ["heard", mailbox, identity];
const visitKey = (mailbox: string): Deno.KvKey => ["visit", mailbox];

// Deno KV reads at most 10 keys per getMany and writes at most 1,000 mutations per atomic.
const GET_MANY = 10;
const ATOMIC = 500;

/** The marks of `identities` in `mailbox` (absent ones: no mark), by identity. */
export async function getHeardMarks(
  state: State,
  mailbox: string,
  identities: readonly string[],
): Promise<Map<string, HeardMark>> {
  const out = new Map<string, HeardMark>();
  const unique = [...new Set(identities)];
  for (let i = 0; i < unique.length; i += GET_MANY) {
    const batch = unique.slice(i, i + GET_MANY);
    const got = await state.kv.getMany<HeardMark[]>(batch.map((id) => heardKey(mailbox, id)));
    got.forEach((e, j) => {
      if (e.value) out.set(batch[j], e.value);
    });
  }
  return out;
}

/** Sets the same mark on every one of `identities` in `mailbox`. */
export async function setHeardMarks(
  state: State,
  mailbox: string,
  identities: readonly string[],
  mark: HeardMark,
): Promise<void> {
  const unique = [...new Set(identities)];
  for (let i = 0; i < unique.length; i += ATOMIC) {
    const op = state.kv.atomic();
    for (const id of unique.slice(i, i + ATOMIC)) op.set(heardKey(mailbox, id), mark);
    await op.commit();
  }
}

/** The mailbox's visit record, or null before its first visit. */
export async function getVisit(state: State, mailbox: string): Promise<VisitRecord | null> {
  return (await state.kv.get<VisitRecord>(visitKey(mailbox))).value;
}

/**
 * Read-modify-write of the mailbox's visit record, checked against a concurrent visit (two
 * devices at once): `fn` gets the stored record and returns the one to store.
 */
export async function updateVisit(
  state: State,
  mailbox: string,
  fn: (current: VisitRecord | null) => VisitRecord,
): Promise<VisitRecord> {
  return (await updateChecked<VisitRecord>(state, visitKey(mailbox), fn, {
    what: `the last visit of mailbox "${mailbox}"`,
  }))!;
}
