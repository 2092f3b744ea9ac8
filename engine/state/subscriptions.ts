/**
 * The subscriptions table: which mailboxes are mirrored, and why.
 * @module
 */
import { keys } from "./keys.ts";
import { listValues, type State } from "./kv.ts";

/** A mirrored mailbox and why it is mirrored. */
export interface Subscription {
  mailbox: string;
  /** "manual" subscriptions are never removed by a directory pass. */
  origin: "manual" | "directory";
  addedAt: string;
  /** Set by the directory pass when the mailbox vanished from the directory. */
  orphanedSince?: string;
}

/** Adds subscriptions; returns the mailboxes that were new. An existing one keeps its origin. */
export async function addSubscriptions(
  state: State,
  mailboxes: string[],
  opts: { origin?: Subscription["origin"]; now?: Date } = {},
): Promise<string[]> {
  const added: string[] = [];
  for (const mailbox of mailboxes) {
    const key = keys.subscription(mailbox);
    const cur = await state.kv.get<Subscription>(key);
    if (cur.value) {
      // A manual subscribe of a directory-managed mailbox pins it as manual.
      if (opts.origin === "manual" && cur.value.origin !== "manual") {
        await state.kv.atomic().check(cur).set(key, { ...cur.value, origin: "manual" }).commit();
      }
      continue;
    }
    const sub: Subscription = {
      mailbox,
      origin: opts.origin ?? "manual",
      addedAt: (opts.now ?? new Date()).toISOString(),
    };
    const res = await state.kv.atomic().check(cur).set(key, sub).commit();
    if (res.ok) added.push(mailbox);
  }
  return added;
}

/** Removes subscriptions; returns the mailboxes that were subscribed. Mirrored data stays. */
export async function removeSubscriptions(state: State, mailboxes: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const mailbox of mailboxes) {
    const key = keys.subscription(mailbox);
    const cur = await state.kv.get<Subscription>(key);
    if (!cur.value) continue;
    await state.kv.atomic().check(cur).delete(key).commit();
    removed.push(mailbox);
  }
  return removed;
}

/** Replaces one subscription record (e.g. to mark it orphaned). */
export async function putSubscription(state: State, sub: Subscription): Promise<void> {
  await state.kv.set(keys.subscription(sub.mailbox), sub);
}

/** Every subscription, ordered by mailbox. */
export async function listSubscriptions(state: State): Promise<Subscription[]> {
  return await listValues<Subscription>(state, keys.subscriptions());
}

/** One subscription, or null. */
export async function getSubscription(state: State, mailbox: string): Promise<Subscription | null> {
  return (await state.kv.get<Subscription>(keys.subscription(mailbox))).value;
}
