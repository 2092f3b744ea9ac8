/**
 * The mass-deletion guard's table: deletions held back per mailbox until they are released
 * or their hold ends.
 * @module
 */
import { keys } from "./keys.ts";
import { listValues, type State } from "./kv.ts";

/** Deletions the mass-deletion guard holds back for one mailbox. */
export interface HeldDeletions {
  mailbox: string;
  /** When they were first held (the hold ends `holdHours` later if production stays so). */
  since: string;
  updatedAt: string;
  /** Deletions planned by the newest pass, and the mailbox's mirror size then. */
  count: number;
  mirrored: number;
  /** "mailbox": too large a share of the mailbox; "total": of the whole mirror in one pass. */
  reason: "mailbox" | "total";
  /** Set by an operator: the next pass applies them whatever their size. */
  released?: { at: string; by: string };
}

/** The held deletions of one mailbox, or null. */
export async function getHeldDeletions(
  state: State,
  mailbox: string,
): Promise<HeldDeletions | null> {
  return (await state.kv.get<HeldDeletions>(keys.held(mailbox))).value;
}

/** Every mailbox with held deletions. */
export async function listHeldDeletions(state: State): Promise<HeldDeletions[]> {
  return await listValues<HeldDeletions>(state, keys.helds());
}

/** Records (or refreshes) held deletions. */
export async function putHeldDeletions(state: State, held: HeldDeletions): Promise<void> {
  await state.kv.set(keys.held(held.mailbox), held);
}

/** Forgets a mailbox's held deletions (applied, or production has the messages again). */
export async function clearHeldDeletions(state: State, mailbox: string): Promise<void> {
  await state.kv.delete(keys.held(mailbox));
}

/**
 * Marks held deletions released (all, or those of `mailboxes`); returns the records changed.
 * Conflict-checked, so a pass refreshing a record at the same moment does not undo a release.
 */
export async function releaseHeldDeletions(
  state: State,
  opts: { mailboxes?: string[]; by: string },
): Promise<HeldDeletions[]> {
  const targets = opts.mailboxes
    ? (await Promise.all(opts.mailboxes.map((m) => state.kv.get<HeldDeletions>(keys.held(m)))))
    : await Array.fromAsync(state.kv.list<HeldDeletions>({ prefix: keys.helds() }));
  const out: HeldDeletions[] = [];
  for (let entry of targets) {
    for (let attempt = 0; entry.value && attempt < 5; attempt++) {
      const value: HeldDeletions = {
        ...entry.value,
        released: { at: new Date().toISOString(), by: opts.by },
      };
      const res = await state.kv.atomic().check(entry).set(entry.key, value).commit();
      if (res.ok) {
        out.push(value);
        break;
      }
      entry = await state.kv.get<HeldDeletions>(entry.key);
    }
  }
  return out;
}
