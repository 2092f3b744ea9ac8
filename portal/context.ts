/**
 * What every portal route shares: the Hono environment type, the resolved dependencies, the
 * session cookie, CSRF checks on state-changing forms, and the audit helper.
 * @module
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { HTTPException } from "hono/http-exception";
import type { Config } from "../engine/config/mod.ts";
import type { ThrottleKind, ThrottleLimit } from "./login_throttle.ts";
import { log } from "../engine/support/mod.ts";
import type { MailboxReader } from "./mailbox_reader.ts";
import { type AdminCredential, randomToken, sameSecret, type Session } from "./sessions.ts";
import { audit, type State } from "../engine/state/mod.ts";

/** Hono's environment for the portal. */
export interface PortalEnv {
  Variables: {
    session: Session | null;
    token: string | null;
    from: string;
  };
}

/** A portal route's context. */
export type Ctx = Context<PortalEnv>;

/** A mirrored folder as the portal offers it. */
export interface PortalFolder {
  name: string;
  label: string;
  greetings: boolean;
}

/** Everything the routes read, resolved once by createApp. */
export interface PortalDeps {
  config: Config;
  state: State;
  folders: PortalFolder[];
  /** Whether the portal itself serves TLS (cookies get Secure and the __Host- prefix). */
  tls: boolean;
  sessionMinutes: number;
  limits?: Record<ThrottleKind, ThrottleLimit>;
  admin: Promise<AdminCredential | null>;
  /** Opens the mirror for one mailbox (the configured target, or a test's). */
  openReader: (mailbox: string) => MailboxReader;
}

/** The folders the portal lists: the source's folders (the mirror uses the same names). */
export function portalFolders(config: Config): PortalFolder[] {
  const names = config.source?.folders ?? ["INBOX"];
  const greetings = config.source?.greetingsFolder;
  return names.map((name) => ({
    name,
    greetings: name === greetings,
    label: name === greetings ? "Greetings" : name.toUpperCase() === "INBOX" ? "Messages" : name,
  }));
}

function cookieNames(tls: boolean) {
  // __Host- binds the cookie to this exact origin, but browsers accept it only when Secure.
  return tls
    ? { session: "__Host-vm_session", pre: "__Host-vm_pre" }
    : { session: "vm_session", pre: "vm_pre" };
}

/** The session token from the request's cookie. */
export function sessionToken(c: Ctx, deps: PortalDeps): string | undefined {
  return getCookie(c, cookieNames(deps.tls).session);
}

/** Sets the session cookie: HttpOnly, SameSite=Strict, Secure under TLS, expiring. */
export function setSessionCookie(c: Ctx, deps: PortalDeps, token: string): void {
  setCookie(c, cookieNames(deps.tls).session, token, {
    path: "/",
    httpOnly: true,
    secure: deps.tls,
    sameSite: "Strict",
    maxAge: deps.sessionMinutes * 60,
  });
}

/** Removes the session cookie. */
export function clearSessionCookie(c: Ctx, deps: PortalDeps): void {
  deleteCookie(c, cookieNames(deps.tls).session, { path: "/", secure: deps.tls });
}

/**
 * The login forms' CSRF token (before there is a session): a random value in a cookie that the
 * form repeats; a cross-site page can neither read the cookie nor make the browser send it.
 */
export function loginFormToken(c: Ctx, deps: PortalDeps): string {
  const name = cookieNames(deps.tls).pre;
  const cur = getCookie(c, name);
  if (cur && /^[A-Za-z0-9_-]{43}$/.test(cur)) return cur;
  const token = randomToken();
  setCookie(c, name, token, {
    path: "/",
    httpOnly: true,
    secure: deps.tls,
    sameSite: "Strict",
    maxAge: 3600,
  });
  return token;
}

/** Reads a form and checks its `_csrf` field against `expected`; 403 when it does not match. */
export async function readForm(
  c: Ctx,
  expected: string | undefined,
): Promise<Record<string, string>> {
  let body: Record<string, unknown>;
  try {
    body = await c.req.parseBody();
  } catch {
    throw new HTTPException(400, { message: "unreadable form" });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") out[k] = v;
  if (!expected || !sameSecret(out._csrf ?? "", expected)) {
    throw new HTTPException(403, { message: "CSRF token missing or wrong" });
  }
  return out;
}

/** The login forms' check: the `_csrf` field must repeat the pre-session cookie. */
export function readLoginForm(c: Ctx, deps: PortalDeps): Promise<Record<string, string>> {
  return readForm(c, getCookie(c, cookieNames(deps.tls).pre));
}

/** Writes an audit entry; a failure to audit is logged, never shown to the subscriber. */
export async function auditEvent(
  c: Ctx,
  deps: PortalDeps,
  event: { actor: string; action: string; detail?: Record<string, unknown> },
): Promise<void> {
  const { actor, action, detail = {} } = event;
  try {
    await audit(deps.state, { actor, action, detail, from: c.get("from") });
  } catch (e) {
    log("error", `Cannot write the audit entry "${action}": ${(e as Error).message}`);
  }
}
