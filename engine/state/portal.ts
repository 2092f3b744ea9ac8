/**
 * The portal's tables: sessions, failed-login throttles, the admin password's hash, cached
 * message summaries and the forward rate limit. Their value types belong to portal/, which
 * the engine does not import: each function takes the caller's type for its own table.
 * @module
 */
import { type FolderKey, portalKeys } from "./keys.ts";
import { listValues, type State, StateError, updateChecked } from "./kv.ts";

/** Stores a session under the SHA-256 (hex) of its token; KV drops it after `expireIn` ms. */
export async function putPortalSession<T>(
  state: State,
  tokenHash: string,
  session: T,
  opts: { expireIn: number },
): Promise<void> {
  await state.kv.set(portalKeys.session(tokenHash), session, { expireIn: opts.expireIn });
}

/** The session stored under a token's hash, or null. */
export async function getPortalSession<T>(state: State, tokenHash: string): Promise<T | null> {
  return (await state.kv.get<T>(portalKeys.session(tokenHash))).value;
}

/** Deletes the session stored under a token's hash. */
export async function deletePortalSession(state: State, tokenHash: string): Promise<void> {
  await state.kv.delete(portalKeys.session(tokenHash));
}

/** Names one failed-login counter: what is counted (e.g. "mailbox", "ip") and whose it is. */
export interface ThrottleRef {
  kind: string;
  id: string;
}

/** One failed-login counter, or null. */
export async function getThrottleRecord<T>(state: State, ref: ThrottleRef): Promise<T | null> {
  return (await state.kv.get<T>(portalKeys.throttle(ref.kind, ref.id))).value;
}

/**
 * Read-modify-write of one counter, checked against concurrent writers (another process
 * counting the same key); `fn` returning null deletes it, `expireIn` (ms) lets KV drop it.
 */
export async function updateThrottleRecord<T>(
  state: State,
  ref: ThrottleRef,
  fn: (current: T | null) => T | null,
  opts: { expireIn: number },
): Promise<T | null> {
  return await updateChecked(state, portalKeys.throttle(ref.kind, ref.id), fn, {
    expireIn: opts.expireIn,
    what: `the login throttle "${ref.kind}"`,
  });
}

/** Deletes one failed-login counter. */
export async function deleteThrottleRecord(state: State, ref: ThrottleRef): Promise<void> {
  await state.kv.delete(portalKeys.throttle(ref.kind, ref.id));
}

/** Every failed-login counter, in key order (at most `limit`). */
export async function listThrottleRecords<T>(state: State, limit: number): Promise<T[]> {
  return await listValues<T>(state, portalKeys.throttles(), { limit });
}

/** The admin password's hash as stored when it was generated. */
export interface AdminHash {
  hash: string;
  createdAt: string;
}

/** The stored admin password hash, or null. */
export async function getAdminHash(state: State): Promise<AdminHash | null> {
  return (await state.kv.get<AdminHash>(portalKeys.admin())).value;
}

/** Stores the admin password hash. */
export async function putAdminHash(state: State, admin: AdminHash): Promise<void> {
  await state.kv.set(portalKeys.admin(), admin);
}

/** The cached summary of one message, or null. */
export async function getCachedSummary<T>(
  state: State,
  k: FolderKey,
  uid: number,
): Promise<T | null> {
  return (await state.kv.get<T>(portalKeys.summary(k, uid))).value;
}

/** Caches the summary of one message (a UID's message never changes under its UIDVALIDITY). */
export async function putCachedSummary<T>(
  state: State,
  k: FolderKey,
  uid: number,
  summary: T,
): Promise<void> {
  await state.kv.set(portalKeys.summary(k, uid), summary);
}

/** Every portal record, whatever its table (tests prove no secret is stored in the clear). */
export async function listPortalRecords(state: State): Promise<unknown[]> {
  return await listValues<unknown>(state, portalKeys.all());
}

// owned by the portal: forward rate limit
// `["portal", "forward", mailbox]` → the times (epoch ms) of the mailbox's forwards within the
// window; it expires with the window, so an idle mailbox leaves nothing behind.

/** How a forward rate limit counts: `limit` forwards per `windowMs`, as of `now` (epoch ms). */
export interface ForwardLimit {
  limit: number;
  windowMs: number;
  now?: number;
}

/** Whether `mailbox` has already made `limit` forwards within the window. */
export async function forwardLimitReached(
  state: State,
  mailbox: string,
  opts: ForwardLimit,
): Promise<boolean> {
  const now = opts.now ?? Date.now();
  const times = (await state.kv.get<number[]>(portalKeys.forward(mailbox))).value ?? [];
  return times.filter((t) => t > now - opts.windowMs).length >= opts.limit;
}

/**
 * Counts a forward of `mailbox` unless the limit is reached; false when refused. Checked
 * against concurrent writers, so parallel forwards (or two processes) cannot overshoot it.
 */
export async function takeForward(
  state: State,
  mailbox: string,
  opts: ForwardLimit,
): Promise<boolean> {
  const now = opts.now ?? Date.now();
  const key = portalKeys.forward(mailbox);
  for (let attempt = 0; attempt < 20; attempt++) {
    const cur = await state.kv.get<number[]>(key);
    const recent = (cur.value ?? []).filter((t) => t > now - opts.windowMs);
    if (recent.length >= opts.limit) return false;
    const res = await state.kv.atomic()
      .check(cur)
      .set(key, [...recent, now], { expireIn: opts.windowMs })
      .commit();
    if (res.ok) return true;
  }
  throw new StateError(`Cannot count a forward of mailbox "${mailbox}": too many conflicts`);
}
