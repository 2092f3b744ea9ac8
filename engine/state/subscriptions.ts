/**
 * The subscriptions table: which mailboxes are mirrored, and why; a paged, searched listing
 * for the admin console that stays quick at 10,000 mailboxes, and the per-mailbox facts its
 * mailbox page reads (newest results, mirrored counts per folder).
 * @module
 */
import { keys } from "./keys.ts";
import { listValues, type State } from "./kv.ts";
import type { MapEntry } from "./mirror_map.ts";
import type { MailboxResult } from "./results.ts";

/** A mirrored mailbox and why it is mirrored. */
export interface Subscription {
  mailbox: string;
  /** "manual" subscriptions are never removed by a directory pass. */
  origin: "manual" | "directory";
  addedAt: string;
  /** Set by the directory pass when the mailbox vanished from the directory. */
  orphanedSince?: string;
}

// KV allows 10 keys per getMany and 100 checks per atomic operation.
const GET_MANY = 10;
const CHECKS = 100;

/** Adds subscriptions; returns the mailboxes that were new. An existing one keeps its origin. */
export async function addSubscriptions(
  state: State,
  mailboxes: string[],
  opts: { origin?: Subscription["origin"]; now?: Date } = {},
): Promise<string[]> {
  const origin = opts.origin ?? "manual";
  // Only an explicit manual subscribe pins; the default origin does not.
  const pin = opts.origin === "manual";
  const addedAt = (opts.now ?? new Date()).toISOString();
  const added: string[] = [];
  // A list of thousands (a pasted or uploaded CSV) is written 100 at a time, each batch
  // checked against what was read, so a concurrent writer is never overwritten.
  for (const batch of chunks(unique(mailboxes), CHECKS)) {
    const current = await getEntries<Subscription>(state, batch.map(keys.subscription));
    const op = state.kv.atomic();
    const fresh: string[] = [];
    for (const [i, mailbox] of batch.entries()) {
      const cur = current[i];
      op.check(cur);
      if (cur.value) {
        // A manual subscribe of a directory-managed mailbox pins it as manual.
        if (pin && cur.value.origin !== "manual") {
          op.set(cur.key, { ...cur.value, origin: "manual" });
        }
        continue;
      }
      op.set(cur.key, { mailbox, origin, addedAt } satisfies Subscription);
      fresh.push(mailbox);
    }
    if ((await op.commit()).ok) added.push(...fresh);
    else added.push(...await addOneByOne(state, batch, { origin, pin, addedAt }));
  }
  return added;
}

// The batch lost a race: each mailbox on its own, as a single writer would.
async function addOneByOne(
  state: State,
  mailboxes: string[],
  p: { origin: Subscription["origin"]; pin: boolean; addedAt: string },
): Promise<string[]> {
  const added: string[] = [];
  for (const mailbox of mailboxes) {
    const key = keys.subscription(mailbox);
    const cur = await state.kv.get<Subscription>(key);
    if (cur.value) {
      if (p.pin && cur.value.origin !== "manual") {
        await state.kv.atomic().check(cur).set(key, { ...cur.value, origin: "manual" }).commit();
      }
      continue;
    }
    const sub: Subscription = { mailbox, origin: p.origin, addedAt: p.addedAt };
    if ((await state.kv.atomic().check(cur).set(key, sub).commit()).ok) added.push(mailbox);
  }
  return added;
}

/** Removes subscriptions; returns the mailboxes that were subscribed. Mirrored data stays. */
export async function removeSubscriptions(state: State, mailboxes: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const batch of chunks(unique(mailboxes), CHECKS)) {
    const current = await getEntries<Subscription>(state, batch.map(keys.subscription));
    const op = state.kv.atomic();
    const gone: string[] = [];
    for (const [i, mailbox] of batch.entries()) {
      if (!current[i].value) continue;
      op.check(current[i]).delete(current[i].key);
      gone.push(mailbox);
    }
    if (!gone.length) continue;
    if ((await op.commit()).ok) {
      removed.push(...gone);
      continue;
    }
    for (const mailbox of gone) {
      const cur = await state.kv.get<Subscription>(keys.subscription(mailbox));
      if (!cur.value) continue;
      if ((await state.kv.atomic().check(cur).delete(cur.key).commit()).ok) removed.push(mailbox);
    }
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

/** Options of {@link listSubscriptionPage}. */
export interface SubscriptionPageOptions {
  /** Only mailboxes containing this text (case-insensitive); empty: all. */
  q?: string;
  /** Matches to skip (the page's start). */
  offset?: number;
  /** Matches to return (the page's size). */
  limit?: number;
}

/** One page of subscriptions and how many match in all. */
export interface SubscriptionPage {
  total: number;
  items: Subscription[];
}

/**
 * One page of the subscriptions whose mailbox contains `q`, in mailbox order, with the count of
 * all matches. One range read over the table; only the page's records are kept, so 10,000
 * mailboxes cost one scan and no more memory than a page.
 */
export async function listSubscriptionPage(
  state: State,
  opts: SubscriptionPageOptions = {},
): Promise<SubscriptionPage> {
  const q = (opts.q ?? "").trim().toLowerCase();
  const offset = Math.max(0, opts.offset ?? 0);
  const limit = Math.max(0, opts.limit ?? 50);
  const items: Subscription[] = [];
  let total = 0;
  const iter = state.kv.list<Subscription>({ prefix: keys.subscriptions() }, { batchSize: 1000 });
  for await (const e of iter) {
    if (q && !String(e.key[1]).toLowerCase().includes(q)) continue;
    if (total >= offset && items.length < limit) items.push(e.value);
    total++;
  }
  return { total, items };
}

/** How many mailboxes are subscribed. */
export async function countSubscriptions(state: State): Promise<number> {
  return (await listSubscriptionPage(state, { limit: 0 })).total;
}

/** The newest result of each of the given mailboxes (absent: never mirrored). */
export async function getMailboxResults(
  state: State,
  mailboxes: string[],
): Promise<Map<string, MailboxResult>> {
  const out = new Map<string, MailboxResult>();
  const entries = await getEntries<MailboxResult>(state, unique(mailboxes).map(keys.result));
  for (const e of entries) if (e.value) out.set(e.value.mailbox, e.value);
  return out;
}

/** What the mirror holds for one folder of a mailbox, as its map records it. */
export interface MirroredCount {
  /** Messages the target holds: copies and placeholders. */
  mirrored: number;
  /** Placeholders among them (an over-length original kept aside). */
  placeholders: number;
  /** Source messages deliberately not mirrored (e.g. broadcasts). */
  skipped: number;
}

/** The mirror's counts per folder of one mailbox (every source UIDVALIDITY), from its map. */
export async function countMirroredByFolder(
  state: State,
  mailbox: string,
): Promise<Record<string, MirroredCount>> {
  const out: Record<string, MirroredCount> = {};
  const iter = state.kv.list<MapEntry>({ prefix: keys.mapsOf(mailbox) }, { batchSize: 1000 });
  for await (const e of iter) {
    const folder = String(e.key[2]);
    const c = out[folder] ??= { mirrored: 0, placeholders: 0, skipped: 0 };
    if (e.value.kind === "skipped") c.skipped++;
    else c.mirrored++;
    if (e.value.kind === "placeholder") c.placeholders++;
  }
  return out;
}

async function getEntries<T>(state: State, list: Deno.KvKey[]): Promise<Deno.KvEntryMaybe<T>[]> {
  const out: Deno.KvEntryMaybe<T>[] = [];
  for (const batch of chunks(list, GET_MANY)) out.push(...await state.kv.getMany<T[]>(batch));
  return out;
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
