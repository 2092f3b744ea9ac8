/**
 * The portal's Hono app: the subscriber's pages (login with mailbox and PIN, inbox, player,
 * download, forward), the admin's pages (sync health, audit log, lockouts), `/api/status`
 * (admin) and `/healthz` (public). Pages are Preact rendered on the server; there is no client
 * script. Errors map to HTTP statuses in one place, with a generic body; the detail, redacted,
 * goes to the log.
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { WavError } from "../engine/audio/mod.ts";
import type { Config } from "../engine/config/mod.ts";
import { ImapError } from "../engine/imap/mod.ts";
import type { ThrottleKind, ThrottleLimit } from "./login_throttle.ts";
import { log, redact } from "../engine/support/mod.ts";
import { type MailboxReader, openMailboxReader } from "./mailbox_reader.ts";
import { type AdminCredential, getSession, loadAdminCredential } from "./sessions.ts";
import type { State } from "../engine/state/mod.ts";
import { FileStoreError } from "../engine/files/mod.ts";
import { VERSION } from "../engine/version.ts";
import { ICON_SVG } from "../static/icon.ts";
import { STYLE_CSS } from "../static/style.ts";
import {
  type PortalDeps,
  type PortalEnv,
  portalFolders,
  sessionToken,
  setSessionCookie,
} from "./context.ts";
import { clientAddress, securityHeaders } from "./http.ts";
import { adminRoutes } from "./admin.tsx";
import { renderPage } from "./layout.tsx";
import { subscriberRoutes } from "./subscriber.tsx";
import { MessageOnlyPage } from "./subscriber_pages.tsx";

/** What the portal reads. */
export interface AppDeps {
  config: Config;
  state: State;
  /** Failed-login limits (tests shorten them). */
  limits?: Record<ThrottleKind, ThrottleLimit>;
  /** PBKDF2 iterations for a generated or file-given admin password (tests lower it). */
  adminIterations?: number;
  /** Opens the mirror for a mailbox; defaults to the configured target. */
  openReader?: (mailbox: string) => MailboxReader;
}

/** Builds the Hono app. */
export function createApp(deps: AppDeps): Hono<PortalEnv> {
  const { config, state } = deps;
  const tls = !!(config.portal.tlsCertFile && config.portal.tlsKeyFile);
  const admin: Promise<AdminCredential | null> = loadAdminCredential(state, {
    user: config.portal.adminUser,
    passwordFile: config.portal.adminPasswordFile,
    iterations: deps.adminIterations,
    // Only the hash is kept: this line is the one time the password is shown.
    announce: (pw) =>
      log(
        "warn",
        `Admin portal: generated a password for user "${config.portal.adminUser}" (shown this once, only its hash is kept) ${pw}`,
      ),
  }).catch((e) => {
    log("error", `Admin sign-in is unavailable: ${redact((e as Error).message)}`);
    return null;
  });
  const portal: PortalDeps = {
    config,
    state,
    folders: portalFolders(config),
    tls,
    sessionMinutes: config.portal.sessionMinutes,
    limits: deps.limits,
    admin,
    openReader: deps.openReader ?? ((mailbox) => openMailboxReader(config, mailbox, { state })),
  };

  const app = new Hono<PortalEnv>();
  const headers = securityHeaders(tls);

  app.use(async (c, next) => {
    c.set("from", clientAddress(c.env));
    await next();
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
    if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
  });

  // Public routes first: no session lookup, no KV read.
  app.get("/healthz", (c) => c.json({ ok: true, version: VERSION }));
  app.get("/static/style.css", (c) => {
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    return c.body(STYLE_CSS, 200, { "Content-Type": "text/css; charset=utf-8" });
  });

  app.get("/static/icon.svg", (c) => {
    c.header("Cache-Control", "public, max-age=86400");
    return c.body(ICON_SVG, 200, { "Content-Type": "image/svg+xml" });
  });
  // Browsers ask for this whatever the page says; the icon saves a 404 in every log.
  app.get("/favicon.ico", (c) => c.redirect("/static/icon.svg", 301));

  app.use(async (c, next) => {
    const token = sessionToken(c, portal) ?? null;
    const session = token
      ? await getSession(state, token, { minutes: portal.sessionMinutes })
      : null;
    c.set("token", token);
    c.set("session", session);
    // The session slides with use, so the cookie does too (set before the route runs: a
    // logout's or a login's own Set-Cookie comes later and wins).
    if (token && session) setSessionCookie(c, portal, token);
    await next();
  });

  // Every state-changing request: a small body, and never from another site. (Each form also
  // carries its CSRF token, checked by its route.)
  app.on(
    ["POST", "PUT", "PATCH", "DELETE"],
    "*",
    bodyLimit({
      maxSize: 32 * 1024,
      onError: (c) => c.text("Payload too large", 413),
    }),
    async (c, next) => {
      // The Origin's host must be this request's Host; the scheme is not compared, so a
      // TLS-terminating proxy in front (which keeps Host) does not break every form.
      const origin = c.req.header("origin");
      const site = c.req.header("sec-fetch-site");
      const host = c.req.header("host") ?? new URL(c.req.url).host;
      if ((origin !== undefined && originHost(origin) !== host) || site === "cross-site") {
        throw new HTTPException(403, { message: "cross-origin request" });
      }
      await next();
    },
  );

  app.get("/", (c) => {
    const s = c.get("session");
    return c.redirect(s?.role === "admin" ? "/admin" : s ? "/inbox" : "/login", 303);
  });
  subscriberRoutes(app, portal);
  adminRoutes(app, portal);

  app.notFound((c) =>
    c.html(
      renderPage(<MessageOnlyPage title="Not found" text="There is nothing here." back="/" />),
      404,
    )
  );
  app.onError((err, c) => {
    const [status, title, text] = classify(err);
    if (status >= 500) {
      log("error", `Portal error on ${c.req.method} ${c.req.path}: ${redact(err.message)}`);
    } else {
      log("debug", `Portal ${status} on ${c.req.method} ${c.req.path}: ${redact(err.message)}`);
    }
    const accept = c.req.header("accept") ?? "";
    if (c.req.path.startsWith("/api/") || !accept.includes("text/html")) {
      return c.text(title, status);
    }
    return c.html(renderPage(<MessageOnlyPage title={title} text={text} back="/" />), status);
  });
  return app;
}

// "null" (sandboxed or privacy-stripped origins) and junk never match a host.
function originHost(origin: string): string | null {
  try {
    return new URL(origin).host || null;
  } catch {
    return null;
  }
}

type ErrorStatus = 400 | 401 | 403 | 404 | 413 | 415 | 422 | 500 | 503;

// One table from failure to status and the words a person sees; nothing of the cause leaks.
function classify(err: Error): [ErrorStatus, string, string] {
  if (err instanceof HTTPException) {
    const s = err.status;
    if (s === 401) return [401, "Not signed in", "Please log in again."];
    if (s === 403) {
      return [403, "Forbidden", "This request was refused. Reload the page and try again."];
    }
    if (s === 404) return [404, "Not found", "There is nothing here."];
    if (s === 413) return [413, "Too large", "The request was too large."];
    return [400, "Bad request", "The request could not be understood."];
  }
  if (err instanceof WavError) {
    return err.kind === "unsupported"
      ? [415, "Cannot play", "This recording's format cannot be played in the browser."]
      : [422, "Cannot play", "This recording is damaged and cannot be played."];
  }
  if (err instanceof ImapError || err instanceof FileStoreError) {
    return [503, "Unavailable", "Your voicemail cannot be read right now. Try again later."];
  }
  return [500, "Internal error", "Something went wrong. Try again later."];
}
