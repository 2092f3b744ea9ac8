/**
 * Signing in and out: the subscriber's login (mailbox and PIN), the administrator's login, and
 * logout. Failed attempts are counted per account and client address, and per address across
 * accounts (see login_throttle.ts); a refused attempt is a 429 with `Retry-After`. Every attempt
 * is audited.
 * @module
 */
import { Hono } from "hono";
import {
  checkThrottle,
  type LoginAttempt,
  recordFailure,
  recordSuccess,
  throttleKeys,
  type ThrottleVerdict,
  withThrottleLock,
} from "./login_throttle.ts";
import { spokenDuration } from "./http.ts";
import { checkPin } from "./pin_check.ts";
import { isMailboxId } from "../engine/support/mod.ts";
import { createSession, endSession, type SessionRole, verifyAdmin } from "./sessions.ts";
import {
  actorOf,
  auditEvent,
  clearSessionCookie,
  type Ctx,
  loginFormToken,
  type PortalDeps,
  type PortalEnv,
  sessionToken,
  setSessionCookie,
} from "./context.ts";
import { renderPage } from "./layout.tsx";
import { csrfForm, requireRole } from "./middleware.ts";
import { LoginPage } from "./subscriber_pages.tsx";
import { countLogins } from "./metrics.ts";

/** The sign-in sub-app (mounted at "/"): `/login`, `/admin/login`, `/logout`. */
export function signInRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();

  app.get("/login", (c) => {
    if (c.get("session")?.role === "subscriber") return c.redirect("/inbox", 303);
    return c.html(renderPage(<LoginPage csrf={loginFormToken(c, deps)} />));
  });
  app.post(
    "/login",
    csrfForm(deps, "login"),
    countLogins("subscriber"),
    (c) => subscriberLogin(c, deps, c.get("form")),
  );

  app.get("/admin/login", (c) => {
    if (c.get("session")?.role === "admin") return c.redirect("/admin", 303);
    return c.html(renderPage(<LoginPage admin csrf={loginFormToken(c, deps)} />));
  });
  app.post(
    "/admin/login",
    csrfForm(deps, "login"),
    countLogins("admin"),
    (c) => adminLogin(c, deps, c.get("form")),
  );

  app.post("/logout", requireRole("any"), csrfForm(deps, "session"), async (c) => {
    const s = c.get("user");
    await endSession(deps.state, c.get("token") ?? undefined);
    clearSessionCookie(c, deps);
    await auditEvent(c, deps, { actor: actorOf(s), action: "logout" });
    return c.redirect(s.role === "admin" ? "/admin/login" : "/login", 303);
  });
  return app;
}

type LoginStatus = 401 | 429 | 503;

async function subscriberLogin<E extends PortalEnv>(
  c: Ctx<E>,
  deps: PortalDeps,
  form: Record<string, string>,
) {
  const mailbox = (form.mailbox ?? "").trim();
  const pin = form.pin ?? "";
  const csrf = loginFormToken(c, deps);
  const page = (status: LoginStatus, error: string) =>
    c.html(renderPage(<LoginPage csrf={csrf} error={error} mailbox={mailbox} />), status);
  const valid = isMailboxId(mailbox);
  const attempt: LoginAttempt = {
    account: valid ? { kind: "mailbox", id: mailbox } : null,
    address: c.get("from"),
  };
  const actor = valid ? `subscriber:${mailbox}` : "subscriber:?";
  return await withThrottleLock(throttleKeys(attempt), async () => {
    const verdict = await checkThrottle(deps.state, attempt, { limits: deps.limits });
    if (verdict.state !== "open") {
      await auditEvent(c, deps, refusal("login", actor, verdict));
      c.header("Retry-After", String(verdict.retryAfterSeconds));
      return page(429, refusalText(verdict, "or ask your administrator to unlock it"));
    }
    const result = valid ? await checkPin(deps.config, { mailbox, pin }) : "bad";
    if (result === "unavailable") {
      await auditEvent(c, deps, {
        actor,
        action: "login-failed",
        detail: { reason: "unavailable" },
      });
      return page(503, "Your PIN cannot be checked right now. Please try again in a while.");
    }
    if (result === "bad") {
      await recordFailure(deps.state, attempt, { limits: deps.limits });
      const detail = { reason: "wrong mailbox or PIN" };
      await auditEvent(c, deps, { actor, action: "login-failed", detail });
      return page(401, "The mailbox number or PIN is not right.");
    }
    await recordSuccess(deps.state, attempt);
    await startSession(c, deps, { role: "subscriber", subject: mailbox });
    const detail = { method: deps.config.portal.pinCheck };
    await auditEvent(c, deps, { actor, action: "login", detail });
    return c.redirect("/inbox", 303);
  });
}

async function adminLogin<E extends PortalEnv>(
  c: Ctx<E>,
  deps: PortalDeps,
  form: Record<string, string>,
) {
  const user = (form.user ?? "").slice(0, 64);
  const password = (form.password ?? "").slice(0, 256);
  const csrf = loginFormToken(c, deps);
  const page = (status: LoginStatus, error: string) =>
    c.html(renderPage(<LoginPage admin csrf={csrf} error={error} />), status);
  // One admin account: its pairs are shared whatever user name is typed.
  const attempt: LoginAttempt = {
    account: { kind: "admin", id: "admin" },
    address: c.get("from"),
  };
  return await withThrottleLock(throttleKeys(attempt), async () => {
    const verdict = await checkThrottle(deps.state, attempt, { limits: deps.limits });
    if (verdict.state !== "open") {
      await auditEvent(c, deps, refusal("admin-login", "admin:?", verdict));
      c.header("Retry-After", String(verdict.retryAfterSeconds));
      return page(429, refusalText(verdict, "or sign in on the server itself"));
    }
    const cred = await deps.admin;
    if (!cred) return page(503, "Administrator login is not available: see the log.");
    if (!(await verifyAdmin(cred, { user, password }))) {
      await recordFailure(deps.state, attempt, { limits: deps.limits });
      // The name tried says whether someone guesses at the account or mistyped it; it is cut
      // and stripped so a password typed into the wrong field does not end up whole in the log.
      await auditEvent(c, deps, {
        actor: "admin:?",
        action: "admin-login-failed",
        detail: { userTried: user.replace(/[^\w.@-]/g, "?").slice(0, 32) },
      });
      return page(401, "The user name or password is not right.");
    }
    await recordSuccess(deps.state, attempt);
    await startSession(c, deps, { role: "admin", subject: cred.user });
    await auditEvent(c, deps, { actor: `admin:${cred.user}`, action: "admin-login" });
    return c.redirect("/admin", 303);
  });
}

type Refused = Exclude<ThrottleVerdict, { state: "open" }>;

// "login-locked" / "login-delayed" (and the admin's), with how long the client must wait.
function refusal(prefix: string, actor: string, v: Refused) {
  const action = `${prefix}-${v.state === "locked" ? "locked" : "delayed"}`;
  return { actor, action, detail: { retryAfterSeconds: v.retryAfterSeconds } };
}

function refusalText(v: Refused, otherwise: string): string {
  if (v.state === "wait") {
    return `Too many failed attempts. Wait ${spokenDuration(v.retryAfterSeconds)}, then try again.`;
  }
  const at = v.until.toISOString().slice(11, 16);
  return `Too many failed attempts from your address. Try again after ${at} UTC, ${otherwise}.`;
}

// A new token at every login: a token planted before login is never promoted.
async function startSession<E extends PortalEnv>(
  c: Ctx<E>,
  deps: PortalDeps,
  who: { role: SessionRole; subject: string },
): Promise<void> {
  await endSession(deps.state, sessionToken(c, deps));
  const { token } = await createSession(
    deps.state,
    { ...who, from: c.get("from") },
    { minutes: deps.sessionMinutes },
  );
  setSessionCookie(c, deps, token);
}
