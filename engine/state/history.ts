/**
 * Each mailbox's recent results (newest last 50), for its page in the admin console; the
 * newest result alone lives in results.ts.
 * @module
 */
import type { MailboxResult } from "./results.ts";
import { listValues, type State } from "./kv.ts";

const KEEP = 50;
const PREFIX = "mbhist";

/** Appends a result to its mailbox's history, dropping the oldest beyond 50. */
export async function putMailboxHistory(state: State, r: MailboxResult): Promise<void> {
  await state.kv.set([PREFIX, r.mailbox, r.finishedAt], r);
  const old = await listValues<MailboxResult>(state, [PREFIX, r.mailbox], { reverse: true });
  for (const o of old.slice(KEEP)) await state.kv.delete([PREFIX, o.mailbox, o.finishedAt]);
}

/** A mailbox's recent results, newest first. */
export async function listMailboxHistory(
  state: State,
  mailbox: string,
  limit = KEEP,
): Promise<MailboxResult[]> {
  return await listValues<MailboxResult>(state, [PREFIX, mailbox], { reverse: true, limit });
}
