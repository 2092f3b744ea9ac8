/**
 * The administrator's account outside the login form: the first-run setup code, choosing the
 * password at setup, the CLI's password reset, and API tokens for scripts. The setup code lives
 * only in `<data>/setup-code.txt` (0600), so only someone who can read the data directory — or
 * who sits at the server itself — can claim a fresh appliance. Tokens are kept as SHA-256 only.
 * @module
 */
import { join } from "node:path";
import {
  type ApiTokenRecord,
  deleteAdminHash,
  deleteApiToken,
  getAdminHash,
  getApiToken,
  listApiTokens,
  putAdminHash,
  putApiToken,
  type State,
} from "../engine/state/mod.ts";
import { hashPassword, randomToken, sameSecret } from "./sessions.ts";

const SETUP_FILE = "setup-code.txt";
// Crockford's base32 without the look-alikes: read off a console and typed by hand.
const CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789";

/** Rules for a password chosen at setup or reset. */
export const PASSWORD_RULE = "at least 12 characters";

/** Why a password cannot be used, or null. */
export function passwordProblem(password: string): string | null {
  if (password.length < 12) return `The password must have ${PASSWORD_RULE}.`;
  if (password.length > 256) return "The password must have at most 256 characters.";
  return null;
}

/** Where the setup code is written. */
export function setupCodePath(dataDir: string): string {
  return join(dataDir, SETUP_FILE);
}

/** A fresh setup code: 20 characters (about 98 bits) in groups of four. */
export function newSetupCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  const chars = [...bytes].map((b) => CODE_ALPHABET[b % CODE_ALPHABET.length]);
  return chars.join("").match(/.{4}/g)!.join("-");
}

/** The setup code of a data directory, created (0600) when there is none yet. */
export async function ensureSetupCode(dataDir: string): Promise<string> {
  const path = setupCodePath(dataDir);
  const cur = await readSetupCode(dataDir);
  if (cur) return cur;
  await Deno.mkdir(dataDir, { recursive: true });
  const code = newSetupCode();
  await Deno.writeTextFile(path, `${code}\n`, { mode: 0o600 });
  // The mode of an existing file is not changed by writeTextFile's `mode`.
  if (Deno.build.os !== "windows") await Deno.chmod(path, 0o600);
  return code;
}

/** The current setup code, or null when none is written. */
export async function readSetupCode(dataDir: string): Promise<string | null> {
  try {
    const text = (await Deno.readTextFile(setupCodePath(dataDir))).trim();
    return text || null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Whether a typed code matches (case, spaces and dashes ignored). */
export function setupCodeMatches(typed: string, code: string): boolean {
  const norm = (s: string) => s.toUpperCase().replace(/[\s-]/g, "");
  return sameSecret(norm(typed), norm(code));
}

/** Whether the appliance still waits for its first-run setup. */
export async function setupPending(
  state: State,
  portal: { adminPasswordFile?: string },
): Promise<boolean> {
  return !portal.adminPasswordFile && !(await getAdminHash(state));
}

/** Stores the admin password chosen at setup or reset, and retires the setup code. */
export async function setAdminPassword(
  state: State,
  dataDir: string,
  password: string,
  opts: { iterations?: number } = {},
): Promise<void> {
  const hash = await hashPassword(password, { iterations: opts.iterations });
  await putAdminHash(state, { hash, createdAt: new Date().toISOString() });
  await Deno.remove(setupCodePath(dataDir)).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
}

/** Forgets the admin password and writes a new setup code: the browser sets the next one. */
export async function resetAdminPassword(state: State, dataDir: string): Promise<string> {
  await deleteAdminHash(state);
  await Deno.remove(setupCodePath(dataDir)).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  return await ensureSetupCode(dataDir);
}

// ---- API tokens ----

const TOKEN_PREFIX = "vmt_";

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return new Uint8Array(d).toHex();
}

/** Creates an API token; the token itself is returned this once and never stored. */
export async function createApiToken(
  state: State,
  name: string,
): Promise<{ token: string; record: ApiTokenRecord }> {
  const clean = name.trim();
  if (!/^[\w .@-]{1,64}$/.test(clean)) {
    throw new RangeError(
      "A token name is 1 to 64 letters, digits, spaces or . _ @ - (it names who uses it)",
    );
  }
  const existing = await listApiTokens(state);
  if (existing.some((t) => t.name === clean)) {
    throw new RangeError(`A token named "${clean}" exists already: revoke it first`);
  }
  const token = `${TOKEN_PREFIX}${randomToken()}`;
  const hash = await sha256Hex(token);
  const record: ApiTokenRecord = {
    id: hash.slice(0, 12),
    name: clean,
    hash,
    createdAt: new Date().toISOString(),
    lastUsedAt: null,
  };
  await putApiToken(state, record);
  return { token, record };
}

/** The token record a bearer token belongs to (its last use noted at most once a minute). */
export async function checkApiToken(state: State, token: string): Promise<ApiTokenRecord | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length !== TOKEN_PREFIX.length + 43) return null;
  const rec = await getApiToken(state, await sha256Hex(token));
  if (!rec) return null;
  const now = Date.now();
  if (!rec.lastUsedAt || now - Date.parse(rec.lastUsedAt) > 60_000) {
    rec.lastUsedAt = new Date(now).toISOString();
    await putApiToken(state, rec);
  }
  return rec;
}

/** Every token (no secrets: ids, names, dates). */
export async function listTokens(
  state: State,
): Promise<Omit<ApiTokenRecord, "hash">[]> {
  return (await listApiTokens(state))
    .map(({ hash: _h, ...rest }) => rest)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Revokes a token by id or name; false when none matched. */
export async function revokeApiToken(state: State, idOrName: string): Promise<boolean> {
  const all = await listApiTokens(state);
  const hit = all.filter((t) => t.id === idOrName || t.name === idOrName);
  for (const t of hit) await deleteApiToken(state, t.hash);
  return hit.length > 0;
}
