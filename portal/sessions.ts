/**
 * Portal sessions and the admin credential.
 *
 * A session is a random 256-bit token in an HttpOnly cookie; KV keeps only its SHA-256, so a
 * copy of the state store does not hand out live sessions. Sessions expire after
 * `portal.sessionMinutes` without use. The admin password is kept as a PBKDF2 hash only.
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import {
  deletePortalSession,
  getAdminHash,
  getPortalSession,
  putPortalSession,
} from "../engine/state/mod.ts";
import type { State } from "../engine/state/mod.ts";

/** Who a session belongs to. */
export type SessionRole = "subscriber" | "admin";

/** One signed-in browser. */
export interface Session {
  role: SessionRole;
  /** The subscriber's mailbox (role "subscriber") or the admin user name (role "admin"). */
  subject: string;
  /** The synchronizer token every state-changing form must carry. */
  csrf: string;
  createdAt: string;
  /** Last use; the session ends `minutes` after it. */
  seenAt: string;
  expiresAt: string;
  /** Client address at sign-in (audit only). */
  from: string;
}

/** Options for {@link createSession} and {@link getSession}. */
export interface SessionOptions {
  /** Idle lifetime in minutes. */
  minutes: number;
  now?: Date;
}

/** Random URL-safe token of `bytes` bytes. */
export function randomToken(bytes = 32): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return b.toBase64({ alphabet: "base64url", omitPadding: true });
}

/** Compares two strings in time independent of where they differ. */
export function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  // Lengths leak anyway through the response; equal-length buffers are what timingSafeEqual needs.
  if (x.length !== y.length) return false;
  return timingSafeEqual(x, y);
}

// Sessions are stored under the token's hash: a copy of the store holds no usable cookie.
async function tokenHash(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return new Uint8Array(digest).toHex();
}

/** Starts a session; returns the cookie token (shown to nobody else) and the record. */
export async function createSession(
  state: State,
  who: { role: SessionRole; subject: string; from: string },
  opts: SessionOptions,
): Promise<{ token: string; session: Session }> {
  const now = opts.now ?? new Date();
  const token = randomToken();
  const session: Session = {
    ...who,
    csrf: randomToken(),
    createdAt: now.toISOString(),
    seenAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + opts.minutes * 60_000).toISOString(),
  };
  await putPortalSession(state, await tokenHash(token), session, {
    expireIn: opts.minutes * 60_000,
  });
  return { token, session };
}

/**
 * The live session of a token, or null. Use slides the expiry forward; the record is rewritten
 * at most once a minute so that a page with many audio requests costs one write.
 */
export async function getSession(
  state: State,
  token: string | undefined,
  opts: SessionOptions,
): Promise<Session | null> {
  if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const hash = await tokenHash(token);
  const session = await getPortalSession<Session>(state, hash);
  if (!session) return null;
  const now = opts.now ?? new Date();
  if (Date.parse(session.expiresAt) <= now.getTime()) {
    await deletePortalSession(state, hash);
    return null;
  }
  if (now.getTime() - Date.parse(session.seenAt) >= 60_000) {
    session.seenAt = now.toISOString();
    session.expiresAt = new Date(now.getTime() + opts.minutes * 60_000).toISOString();
    await putPortalSession(state, hash, session, { expireIn: opts.minutes * 60_000 });
  }
  return session;
}

/** Ends a session (logout). */
export async function endSession(state: State, token: string | undefined): Promise<void> {
  if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return;
  await deletePortalSession(state, await tokenHash(token));
}

// ---- admin credential ----

/** OWASP's 2023 floor for PBKDF2-HMAC-SHA256. */
export const PBKDF2_ITERATIONS = 600_000;
const HASH_PREFIX = "pbkdf2-sha256";

/** `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>` of a password. */
export async function hashPassword(
  password: string,
  opts: { iterations?: number; salt?: Uint8Array } = {},
): Promise<string> {
  const iterations = opts.iterations ?? PBKDF2_ITERATIONS;
  const salt = opts.salt ?? crypto.getRandomValues(new Uint8Array(16));
  const hash = await pbkdf2(password, salt, iterations);
  return `${HASH_PREFIX}$${iterations}$${salt.toBase64()}$${hash.toBase64()}`;
}

/** Whether `password` matches a hash made by {@link hashPassword}. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 4 || parts[0] !== HASH_PREFIX) return false;
  const iterations = Number(parts[1]);
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > 10_000_000) return false;
  let salt: Uint8Array;
  let expected: Uint8Array;
  try {
    salt = Uint8Array.fromBase64(parts[2]);
    expected = Uint8Array.fromBase64(parts[3]);
  } catch {
    return false;
  }
  const got = await pbkdf2(password, salt, iterations, expected.length * 8);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** Whether a string is a stored hash rather than a plain password. */
export function isPasswordHash(text: string): boolean {
  return text.startsWith(`${HASH_PREFIX}$`);
}

async function pbkdf2(
  password: string,
  salt: Uint8Array,
  iterations: number,
  bits = 256,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const out = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: new Uint8Array(salt), iterations },
    key,
    bits,
  );
  return new Uint8Array(out);
}

/** The admin login the portal checks: a user name and a password hash. */
export interface AdminCredential {
  user: string;
  hash: string;
  /** Where the hash came from: the config file, or the setup page / CLI (state store). */
  origin: "file" | "stored";
}

/** Options for {@link loadAdminCredential}. */
export interface AdminCredentialOptions {
  user: string;
  /** `portal.adminPasswordFile`: a plain password or a `pbkdf2-sha256$…` hash. */
  passwordFile?: string;
  /** For tests: fewer iterations. */
  iterations?: number;
}

/**
 * The admin credential: from the configured file, else the hash stored at setup; null while
 * the appliance waits for its first-run setup.
 */
export async function loadAdminCredential(
  state: State,
  opts: AdminCredentialOptions,
): Promise<AdminCredential | null> {
  if (opts.passwordFile) {
    const text = (await Deno.readTextFile(opts.passwordFile)).replace(/\r?\n$/, "");
    if (!text) throw new Error(`The admin password file "${opts.passwordFile}" is empty`);
    const hash = isPasswordHash(text)
      ? text
      : await hashPassword(text, { iterations: opts.iterations });
    return { user: opts.user, hash, origin: "file" };
  }
  const stored = await getAdminHash(state);
  return stored ? { user: opts.user, hash: stored.hash, origin: "stored" } : null;
}

/** Checks an admin login against the credential (user compared in constant time too). */
export async function verifyAdmin(
  cred: AdminCredential,
  login: { user: string; password: string },
): Promise<boolean> {
  // The hash is always computed, so a wrong user name takes as long as a wrong password.
  const ok = await verifyPassword(login.password, cred.hash);
  return sameSecret(login.user, cred.user) && ok;
}
