/**
 * The portal's small KV tables, written through the state module's generic record functions.
 *
 * The state module offers `putRecord` and `listRecords` (prefix lists) but no single-key get or
 * delete yet, so each record sits under its own prefix (`[...key, "v"]`, read back by listing
 * `key` with limit 1) and a deletion writes a tombstone (`null`). Swapping these three functions
 * for real get/delete/expireIn calls changes nothing else.
 * @module
 */
import { listRecords, putRecord, type State } from "./state.ts";

/** Reads one record, or null when absent or deleted. */
export async function getOne<T>(state: State, key: Deno.KvKey): Promise<T | null> {
  const [v] = await listRecords<T | null>(state, key, { limit: 1 });
  return v ?? null;
}

/** Writes one record. */
export async function putOne(state: State, key: Deno.KvKey, value: unknown): Promise<void> {
  await putRecord(state, [...key, "v"], value);
}

/** Deletes one record (a tombstone until the state module offers a delete). */
export async function deleteOne(state: State, key: Deno.KvKey): Promise<void> {
  await putRecord(state, [...key, "v"], null);
}

/** Every live record under a table prefix, in key order. */
export async function listAll<T>(
  state: State,
  prefix: Deno.KvKey,
  opts: { limit?: number } = {},
): Promise<T[]> {
  const out = await listRecords<T | null>(state, prefix, { limit: opts.limit });
  return out.filter((v): v is T => v !== null);
}
