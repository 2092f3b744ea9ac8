/**
 * Sealing secrets (passwords saved from the admin portal) before they go into the state store:
 * AES-256-GCM with a key kept in `<data>/secret.key` (mode 0600), never in KV, never logged.
 * @module
 */
import { join } from "node:path";

/** A sealed value as it is stored: `{ "$sealed": "<base64 iv+ciphertext>" }`. */
export interface Sealed {
  $sealed: string;
}

/** A sealed value that cannot be opened (another data dir's key, or tampering). */
export class SecretError extends Error {
  override name = "SecretError";
}

const KEY_FILE = "secret.key";

/** Where a data directory keeps the key that seals secrets (backups copy it beside the state). */
export function keyFilePath(dataDir: string): string {
  return join(dataDir, KEY_FILE);
}

/** Loads the data dir's key, creating it (random, 0600) on first use. */
export async function loadKey(dataDir: string): Promise<CryptoKey> {
  const path = join(dataDir, KEY_FILE);
  let raw: Uint8Array;
  try {
    raw = await Deno.readFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    await Deno.mkdir(dataDir, { recursive: true });
    raw = crypto.getRandomValues(new Uint8Array(32));
    try {
      await Deno.writeFile(path, raw, { mode: 0o600, createNew: true });
    } catch (e2) {
      // Another process created it first: use theirs.
      if (!(e2 instanceof Deno.errors.AlreadyExists)) throw e2;
      raw = await Deno.readFile(path);
    }
  }
  if (raw.length !== 32) throw new SecretError(`The key file "${path}" is not a 32-byte key`);
  return await crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

/** Seals one secret. */
export async function seal(key: CryptoKey, value: string): Promise<Sealed> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode(value)),
  );
  const all = new Uint8Array(iv.length + ct.length);
  all.set(iv);
  all.set(ct, iv.length);
  return { $sealed: all.toBase64() };
}

/** Opens one sealed secret. */
export async function unseal(key: CryptoKey, sealed: Sealed): Promise<string> {
  try {
    const all = Uint8Array.fromBase64(sealed.$sealed);
    const pt = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: all.subarray(0, 12) },
      key,
      all.subarray(12),
    );
    return new TextDecoder().decode(pt);
  } catch (e) {
    throw new SecretError("A stored secret cannot be opened (was the data dir's key replaced?)", {
      cause: e,
    });
  }
}

/** Whether a value is a sealed secret. */
export function isSealed(v: unknown): v is Sealed {
  return typeof v === "object" && v !== null && typeof (v as Sealed).$sealed === "string" &&
    Object.keys(v).length === 1;
}

/** Seals every string under a key that names a password or secret, deeply (for saving). */
export async function sealSecrets(key: CryptoKey, value: unknown): Promise<unknown> {
  return await walk(
    value,
    async (k, v) =>
      typeof v === "string" && /password|secret/i.test(k) && !/File$/.test(k)
        ? await seal(key, v)
        : v,
  );
}

/** Opens every sealed value, deeply (for loading). */
export async function unsealSecrets(key: CryptoKey, value: unknown): Promise<unknown> {
  return await walk(value, async (_k, v) => (isSealed(v) ? await unseal(key, v) : v));
}

async function walk(
  value: unknown,
  fn: (key: string, v: unknown) => Promise<unknown>,
  key = "",
): Promise<unknown> {
  const v = await fn(key, value);
  if (v !== value || typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) return await Promise.all(v.map((x) => walk(x, fn, key)));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = await walk(x, fn, k);
  return out;
}
