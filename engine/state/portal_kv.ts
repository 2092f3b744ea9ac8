/**
 * The portal's small KV tables, written through the state module's record functions.
 * @module
 */
import {
  deleteRecord,
  getRecord,
  listRecords,
  putRecord,
  type State,
  updateRecord,
} from "./state.ts";

/** Reads one record, or null when absent. */
export async function getOne<T>(state: State, key: Deno.KvKey): Promise<T | null> {
  return await getRecord<T>(state, key);
}

/** Writes one record; `expireIn` (ms) lets KV drop it when it no longer matters. */
export async function putOne(
  state: State,
  key: Deno.KvKey,
  value: unknown,
  opts: { expireIn?: number } = {},
): Promise<void> {
  if (value === null) await deleteRecord(state, key);
  else await putRecord(state, key, value, opts);
}

/** Deletes one record. */
export async function deleteOne(state: State, key: Deno.KvKey): Promise<void> {
  await deleteRecord(state, key);
}

/** Read-modify-write with a conflict check (counters shared between processes). */
export async function updateOne<T>(
  state: State,
  key: Deno.KvKey,
  fn: (current: T | null) => T | null,
  opts: { expireIn?: number } = {},
): Promise<T | null> {
  return await updateRecord(state, key, fn, opts);
}

/** Every record under a table prefix, in key order. */
export async function listAll<T>(
  state: State,
  prefix: Deno.KvKey,
  opts: { limit?: number } = {},
): Promise<T[]> {
  const out = await listRecords<T | null>(state, prefix, { limit: opts.limit });
  return out.filter((v): v is T => v !== null);
}
