/**
 * Opening the state store, its forward migrations, and the batched and conflict-checked
 * writes the table modules share. Nothing here is exported beyond engine/state/.
 * @module
 */
import { SCHEMA_KEY } from "./keys.ts";

/** The schema version this build writes; older stores are migrated forward at open. */
export const SCHEMA_VERSION = 1;

/** A state store that cannot be opened or is newer than this build. */
export class StateError extends Error {
  override name = "StateError";
}

/** An open state store; close it when done. */
export interface State {
  kv: Deno.Kv;
}

/** One forward migration: it upgrades the store by one schema version. */
export type Migration = (kv: Deno.Kv) => Promise<void>;

// Index i upgrades schema i → i+1. Version 0 is an empty store.
const MIGRATIONS: Migration[] = [
  async (_kv) => {
    // 0 → 1: the first layout; nothing to convert.
  },
];

/** Opens (creating) the store at `path` (":memory:" for tests) and migrates it forward. */
export async function openState(path: string): Promise<State> {
  if (path !== ":memory:") {
    const dir = path.replace(/[\\/][^\\/]*$/, "");
    if (dir && dir !== path) await Deno.mkdir(dir, { recursive: true });
  }
  let kv: Deno.Kv;
  try {
    kv = await Deno.openKv(path);
  } catch (e) {
    throw new StateError(`Cannot open the state store "${path}": ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    await migrate(kv, MIGRATIONS);
  } catch (e) {
    kv.close();
    throw e;
  }
  return { kv };
}

/** Closes the store. */
export function closeState(state: State): void {
  state.kv.close();
}

/** Runs the migrations from the stored version up; exported for tests with custom steps. */
export async function migrate(kv: Deno.Kv, steps: Migration[]): Promise<number> {
  for (;;) {
    const cur = await kv.get<number>(SCHEMA_KEY);
    const version = cur.value ?? 0;
    if (version > steps.length) {
      throw new StateError(
        `The state store has schema ${version}, newer than this build's ${steps.length}: upgrade vmirror`,
      );
    }
    if (version === steps.length) return version;
    await steps[version](kv);
    // The versionstamp check makes two processes racing on one store migrate once.
    await kv.atomic().check(cur).set(SCHEMA_KEY, version + 1).commit();
  }
}

/** The schema version stored. */
export async function schemaVersion(state: State): Promise<number> {
  return (await state.kv.get<number>(SCHEMA_KEY)).value ?? 0;
}

/** How {@link inBatches} writes a list: one atomic operation per batch. */
export interface BatchOptions<T> {
  /** Items per atomic operation (default 500). */
  size?: number;
  /** Adds one item's mutations to the batch's operation. */
  apply: (op: Deno.AtomicOperation, item: T) => void;
  /** The StateError message when a batch is not committed. */
  error: string;
}

/**
 * Writes a list in atomic batches. KV caps an atomic at 1,000 mutations; batches keep each
 * write well under it. Each batch is atomic on its own: a failure leaves the batches before it
 * written.
 */
export async function inBatches<T>(
  state: State,
  items: readonly T[],
  opts: BatchOptions<T>,
): Promise<void> {
  const size = opts.size ?? 500;
  for (let i = 0; i < items.length; i += size) {
    const op = state.kv.atomic();
    for (const item of items.slice(i, i + size)) opts.apply(op, item);
    const res = await op.commit();
    if (!res.ok) throw new StateError(opts.error);
  }
}

/** The values under a prefix, in key order unless reversed. */
export async function listValues<T>(
  state: State,
  prefix: Deno.KvKey,
  opts: { reverse?: boolean; limit?: number } = {},
): Promise<T[]> {
  const out: T[] = [];
  for await (const e of state.kv.list<T>({ prefix }, opts)) out.push(e.value);
  return out;
}

/** Deletes every key under a prefix, in batches; returns how many there were. */
export async function deleteUnder(state: State, prefix: Deno.KvKey, error: string) {
  const keys: Deno.KvKey[] = [];
  for await (const e of state.kv.list({ prefix })) keys.push(e.key);
  await inBatches(state, keys, { apply: (op, k) => op.delete(k), error });
  return keys.length;
}

/**
 * Read-modify-write of one value with a versionstamp check, retried on conflict, so two
 * processes (the service and a CLI run) never lose each other's update. `fn` returning null
 * deletes the value.
 */
export async function updateChecked<T>(
  state: State,
  key: Deno.KvKey,
  fn: (current: T | null) => T | null,
  opts: { expireIn?: number; what: string },
): Promise<T | null> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const cur = await state.kv.get<T>(key);
    const next = fn(cur.value);
    const op = state.kv.atomic().check(cur);
    if (next === null) op.delete(key);
    else op.set(key, next, opts.expireIn ? { expireIn: opts.expireIn } : undefined);
    if ((await op.commit()).ok) return next;
  }
  throw new StateError(`Cannot update ${opts.what}: too many conflicts`);
}
