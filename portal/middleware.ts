/**
 * The portal's middleware: the headers every response carries, the session lookup, the guard on
 * state-changing requests (size, origin), the role check and the forms' CSRF token.
 * @module
 */
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import {
  type FormEnv,
  loginCookieToken,
  type PortalDeps,
  type PortalEnv,
  sessionToken,
  setSessionCookie,
  type SignedInEnv,
} from "./context.ts";
import { clientAddressOf, securityHeaders } from "./http.ts";
import { getSession, sameSecret, type Session, type SessionRole } from "./sessions.ts";
import { checkApiToken } from "./admin_account.ts";
import { auditRefusal } from "./errors.tsx";

/**
 * Notes the client's address (`X-Forwarded-For` believed only from `portal.trustedProxies`,
 * read per request so a saved change applies); adds the security headers and `no-store` to
 * every response.
 */
export function responseHeaders(tls: boolean, trustedProxies: () => readonly string[]) {
  const headers = securityHeaders(tls);
  return createMiddleware<PortalEnv>(async (c, next) => {
    c.set(
      "from",
      clientAddressOf(c.env, c.req.header("x-forwarded-for"), trustedProxies()),
    );
    await next();
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
    if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
  });
}

/** Looks up the session of the request's cookie (null when none), sliding it with use. */
export function loadSession(deps: PortalDeps) {
  return createMiddleware<PortalEnv>(async (c, next) => {
    const token = sessionToken(c, deps) ?? null;
    const session = token
      ? await getSession(deps.state, token, { minutes: deps.sessionMinutes })
      : null;
    c.set("token", token);
    c.set("session", session);
    // The session slides with use, so the cookie does too (set before the route runs: a
    // logout's or a login's own Set-Cookie comes later and wins).
    if (token && session) setSessionCookie(c, deps, token);
    await next();
  });
}

// Lists of mailboxes (a pasted list, an uploaded CSV of 10,000 lines) need more room than a form.
const LARGE_BODY_PATHS = ["/admin/subscriptions", "/api/admin/subscriptions"];
const small = bodyLimit({ maxSize: 32 * 1024, onError: (c) => c.text("Payload too large", 413) });
const large = bodyLimit({
  maxSize: 4 * 1024 * 1024,
  onError: (c) => c.text("Payload too large", 413),
});

// A release upload is streamed to disk by its route, which enforces its own (much larger) limit.
const STREAMED_BODY_PATHS = ["/admin/upgrade", "/api/admin/upgrade"];

/** Every state-changing request: a small body, and never from another site. */
export const guardWrites = [
  createMiddleware<PortalEnv>((c, next) => {
    const path = c.req.path;
    if (c.req.method === "POST" && STREAMED_BODY_PATHS.includes(path)) return next();
    const roomy = LARGE_BODY_PATHS.some((p) => path === p || path.startsWith(`${p}/`));
    return (roomy ? large : small)(c, next);
  }),
  createMiddleware<PortalEnv>(async (c, next) => {
    // The Origin's host must be this request's Host; the scheme is not compared, so a
    // TLS-terminating proxy in front (which keeps Host) does not break every form.
    const origin = c.req.header("origin");
    const site = c.req.header("sec-fetch-site");
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    if ((origin !== undefined && originHost(origin) !== host) || site === "cross-site") {
      throw new HTTPException(403, { message: "cross-origin request" });
    }
    await next();
  }),
] as const;

// "null" (sandboxed or privacy-stripped origins) and junk never match a host.
function originHost(origin: string): string | null {
  try {
    return new URL(origin).host || null;
  } catch {
    return null;
  }
}

/**
 * What a request without the role gets: a redirect to the role's login page (pages), a 401
 * error (recordings and forms posted by script), or a JSON 401 (the API).
 */
export type Denial = "login" | "error" | "json";

/**
 * Lets the request through only with a session of `role` ("any": any signed-in session) and
 * sets `user` to it; otherwise answers as `deny` says.
 */
export function requireRole(role: SessionRole | "any", deny: Denial = "login") {
  return createMiddleware<SignedInEnv>(async (c, next) => {
    const s = c.get("session");
    if (!s || (role !== "any" && s.role !== role)) {
      if (deny === "json") return c.json({ error: "authentication required" }, 401);
      if (deny === "error") throw new HTTPException(401, { message: "not signed in" });
      return c.redirect(role === "admin" ? "/admin/login" : "/login", 303);
    }
    c.set("user", s);
    await next();
  });
}

/**
 * Reads the posted form into `form` and checks its `_csrf` field: against the session's token,
 * or, on the login forms (before there is a session), the pre-session cookie. 403 when it does
 * not match, 400 when the body cannot be read.
 */
export function csrfForm(deps: PortalDeps, against: "session" | "login") {
  return createMiddleware<PortalEnv & FormEnv>(async (c, next) => {
    const expected = against === "login" ? loginCookieToken(c, deps) : c.get("session")?.csrf;
    let body: Record<string, unknown>;
    try {
      body = await c.req.parseBody();
    } catch {
      throw new HTTPException(400, { message: "unreadable form" });
    }
    const form: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) if (typeof v === "string") form[k] = v;
    if (!expected || !sameSecret(form._csrf ?? "", expected)) {
      throw new HTTPException(403, { message: "CSRF token missing or wrong" });
    }
    c.set("form", form);
    await next();
  });
}

/**
 * The admin JSON API's door: `Authorization: Bearer <token>` (made with `vmirror admin token
 * create`), or the admin's browser session — whose writes must repeat its CSRF token in
 * `X-CSRF-Token`, since a cookie alone rides along on any request. 401/403 as JSON.
 */
export function requireApiAdmin(deps: PortalDeps) {
  return createMiddleware<SignedInEnv>(async (c, next) => {
    const auth = c.req.header("authorization");
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      const rec = m ? await checkApiToken(deps.state, m[1]) : null;
      if (!rec) {
        c.header("WWW-Authenticate", 'Bearer error="invalid_token"');
        return c.json({ error: "the token is unknown or revoked" }, 401);
      }
      const now = new Date().toISOString();
      const user: Session = {
        role: "admin",
        subject: `token:${rec.name}`,
        csrf: "",
        createdAt: rec.createdAt,
        seenAt: now,
        expiresAt: now,
        from: c.get("from"),
      };
      c.set("user", user);
      return await next();
    }
    const s = c.get("session");
    if (!s || s.role !== "admin") {
      c.header("WWW-Authenticate", "Bearer");
      return c.json({ error: "authentication required" }, 401);
    }
    const safe = c.req.method === "GET" || c.req.method === "HEAD";
    if (!safe && !sameSecret(c.req.header("x-csrf-token") ?? "", s.csrf)) {
      await auditRefusal(deps.state, c, { status: 403, reason: "csrf" });
      return c.json({ error: "CSRF token missing or wrong (send it in X-CSRF-Token)" }, 403);
    }
    c.set("user", s);
    await next();
  });
}
