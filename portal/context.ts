/**
 * What every portal route shares: the Hono environment types, the resolved dependencies, the
 * session and pre-session cookies, and the audit helper.
 * @module
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Config, LiveConfig } from "../engine/config/mod.ts";
import type { ThrottleKind, ThrottleLimit } from "./login_throttle.ts";
import { log } from "../engine/support/mod.ts";
import type { MailboxReader } from "./mailbox_reader.ts";
import { type AdminCredential, randomToken, type Session } from "./sessions.ts";
import { audit, type State } from "../engine/state/mod.ts";

/** Hono's environment for the portal. */
export interface PortalEnv {
  Variables: {
    session: Session | null;
    token: string | null;
    from: string;
  };
}

/** A portal route's context, with whatever its middleware added to the environment. */
export type Ctx<E extends PortalEnv = PortalEnv> = Context<E>;

/** What `requireRole` (middleware.ts) adds: the session whose role was checked. */
export interface SignedInEnv {
  Variables: PortalEnv["Variables"] & { user: Session };
}

/** What the CSRF middleware adds: the posted form's text fields, its token checked. */
export interface FormEnv {
  Variables: { form: Record<string, string> };
}

/** A mirrored folder as the portal offers it. */
export interface PortalFolder {
  name: string;
  label: string;
  greetings: boolean;
}

/**
 * Everything the routes read. `config`, `folders` and `admin` are read per request (getters
 * over the live configuration), so settings saved from the console apply at once.
 */
export interface PortalDeps {
  readonly config: Config;
  /** The live configuration the console reads and saves. */
  live: LiveConfig;
  /** PBKDF2 iterations for passwords set here (tests lower it). */
  adminIterations?: number;
  state: State;
  readonly folders: PortalFolder[];
  /** Whether the portal itself serves TLS (cookies get Secure and the __Host- prefix). */
  tls: boolean;
  sessionMinutes: number;
  limits?: Record<ThrottleKind, ThrottleLimit>;
  /** The admin credential now (file or stored); null while setup is pending. */
  readonly admin: Promise<AdminCredential | null>;
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
export function sessionToken(c: Context, deps: PortalDeps): string | undefined {
  return getCookie(c, cookieNames(deps.tls).session);
}

/** Sets the session cookie: HttpOnly, SameSite=Strict, Secure under TLS, expiring. */
export function setSessionCookie(c: Context, deps: PortalDeps, token: string): void {
  setCookie(c, cookieNames(deps.tls).session, token, {
    path: "/",
    httpOnly: true,
    secure: deps.tls,
    sameSite: "Strict",
    maxAge: deps.sessionMinutes * 60,
  });
}

/** Removes the session cookie. */
export function clearSessionCookie(c: Context, deps: PortalDeps): void {
  deleteCookie(c, cookieNames(deps.tls).session, { path: "/", secure: deps.tls });
}

/**
 * The login forms' CSRF token (before there is a session): a random value in a cookie that the
 * form repeats; a cross-site page can neither read the cookie nor make the browser send it.
 */
export function loginFormToken(c: Context, deps: PortalDeps): string {
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

/** The pre-session cookie that a login form's `_csrf` field must repeat. */
export function loginCookieToken(c: Context, deps: PortalDeps): string | undefined {
  return getCookie(c, cookieNames(deps.tls).pre);
}

/** The audit actor of a session. */
export function actorOf(s: Session): string {
  return `${s.role}:${s.subject}`;
}

/** Writes an audit entry; a failure to audit is logged, never shown to the subscriber. */
export async function auditEvent<E extends PortalEnv>(
  c: Ctx<E>,
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
