/**
 * State backups: every record of the store written to one file, and read back into an empty
 * store. Taken while the data directory is locked (no other writer), so the copy is consistent.
 * Values keep their types (V8's structured serialisation: Uint8Array, Date, bigint…). Records
 * that expire by themselves (portal sessions, login throttles, forward counts)
 * are left out: a restored store starts without them.
 * @module
 */
import { deserialize, serialize } from "node:v8";
import { SCHEMA_KEY } from "./keys.ts";
import { SCHEMA_VERSION, type State, StateError } from "./kv.ts";

// "VMKV" + format version 1, then records: u32 length (big-endian) + serialised [key, value].
const MAGIC = new Uint8Array([0x56, 0x4d, 0x4b, 0x56, 0x00, 0x01]);

/** What a backup holds. */
export interface BackupSummary {
  records: number;
  /** The schema version recorded in the store (0 for an empty store). */
  schema: number;
}

/** Writes every record of the store to `file` (created with mode 0600, replaced atomically). */
export async function backupState(state: State, file: string): Promise<BackupSummary> {
  const tmp = `${file}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  let records = 0;
  let schema = 0;
  const out = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  try {
    await writeAll(out, MAGIC);
    for await (const e of state.kv.list({ prefix: [] })) {
      if (expiring(e.key)) continue;
      if (sameKey(e.key, SCHEMA_KEY)) schema = Number(e.value);
      const body = serialize([e.key, e.value]);
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, body.length);
      await writeAll(out, len);
      await writeAll(out, body);
      records++;
    }
    await out.sync();
  } catch (e) {
    out.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  out.close();
  await Deno.rename(tmp, file);
  return { records, schema };
}

/**
 * Writes a backup's records into a store that must be empty (a fresh data directory). Refuses
 * a file that is not a vmirror state backup, naming what is wrong.
 */
export async function restoreState(state: State, file: string): Promise<BackupSummary> {
  for await (const e of state.kv.list({ prefix: [] })) {
    if (!sameKey(e.key, SCHEMA_KEY)) {
      throw new StateError(
        `The state store is not empty: restore a backup into a new data directory`,
      );
    }
  }
  const bytes = await Deno.readFile(file);
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new StateError(`"${file}" is not a vmirror state backup`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: [Deno.KvKey, unknown][] = [];
  let schema = 0;
  for (let off = MAGIC.length; off < bytes.length;) {
    if (off + 4 > bytes.length) throw truncated(file);
    const len = view.getUint32(off);
    off += 4;
    if (off + len > bytes.length) throw truncated(file);
    const entry = deserialize(bytes.subarray(off, off + len)) as [Deno.KvKey, unknown];
    off += len;
    if (sameKey(entry[0], SCHEMA_KEY)) schema = Number(entry[1]);
    entries.push(entry);
  }
  // Checked before anything is written: a newer store cannot be read by this build.
  if (schema > SCHEMA_VERSION) {
    throw new StateError(
      `The backup "${file}" has schema ${schema}, newer than this build's ${SCHEMA_VERSION}: restore it with a newer vmirror`,
    );
  }
  // KV caps one atomic at 1,000 mutations.
  for (let i = 0; i < entries.length; i += 500) {
    const op = state.kv.atomic();
    for (const [key, value] of entries.slice(i, i + 500)) op.set(key, value);
    await commit(op);
  }
  return { records: entries.length, schema };
}

async function commit(op: Deno.AtomicOperation): Promise<void> {
  if (!(await op.commit()).ok) throw new StateError("Cannot write the restored records");
}

// Records KV drops by itself after a while; a backup would make them permanent.
function expiring(key: Deno.KvKey): boolean {
  return key[0] === "portal" && ["session", "throttle", "forward"].includes(String(key[1]));
}

function truncated(file: string): StateError {
  return new StateError(`"${file}" is cut short: the backup is incomplete`);
}

function sameKey(a: Deno.KvKey, b: Deno.KvKey): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

async function writeAll(f: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await f.write(data.subarray(off));
}
