/**
 * The portal's Hono app: sub-apps per area mounted with `app.route()` — public files and health,
 * signing in and out, the subscriber's pages, recordings and forwarding, the admin's pages and
 * the JSON API — behind middleware for headers, sessions, roles and CSRF. Pages are Preact
 * rendered on the server; there is no client script. Errors map to HTTP statuses in one
 * `onError` (errors.tsx).
 * @module
 */
import { Hono } from "hono";
import type { Config } from "../engine/config/mod.ts";
import type { State } from "../engine/state/mod.ts";
import { log, redact } from "../engine/support/mod.ts";
import { adminRoutes } from "./admin.tsx";
import { apiRoutes } from "./api.ts";
import { type PortalDeps, type PortalEnv, portalFolders } from "./context.ts";
import { errorPage, notFoundPage } from "./errors.tsx";
import { forwardRoutes } from "./forward.tsx";
import type { ThrottleKind, ThrottleLimit } from "./login_throttle.ts";
import { type MailboxReader, openMailboxReader } from "./mailbox_reader.ts";
import { mediaRoutes } from "./media.ts";
import { guardWrites, loadSession, responseHeaders } from "./middleware.ts";
import { publicRoutes } from "./public_routes.ts";
import { type AdminCredential, loadAdminCredential } from "./sessions.ts";
import { signInRoutes } from "./sign_in.tsx";
import { subscriberRoutes } from "./subscriber.tsx";

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
  const admin = adminCredential(config, state, deps.adminIterations);
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
  app.use(responseHeaders(tls));
  // Public routes first: they answer before the session lookup, so they cost no KV read.
  app.route("/", publicRoutes());
  app.use(loadSession(portal));
  // Every state-changing request: a small body, and never from another site. (Each form also
  // carries its CSRF token, checked by its route's csrfForm.)
  app.on(["POST", "PUT", "PATCH", "DELETE"], "*", ...guardWrites);

  app.get("/", (c) => {
    const s = c.get("session");
    return c.redirect(s?.role === "admin" ? "/admin" : s ? "/inbox" : "/login", 303);
  });
  app.route("/", signInRoutes(portal));
  app.route("/", subscriberRoutes(portal));
  app.route("/m", mediaRoutes(portal));
  app.route("/m", forwardRoutes(portal));
  app.route("/admin", adminRoutes(portal));
  app.route("/api", apiRoutes(portal));

  app.notFound(notFoundPage);
  app.onError(errorPage);
  return app;
}

// Admin sign-in waits on this; a failure disables it (logged) instead of the whole portal.
function adminCredential(
  config: Config,
  state: State,
  iterations: number | undefined,
): Promise<AdminCredential | null> {
  return loadAdminCredential(state, {
    user: config.portal.adminUser,
    passwordFile: config.portal.adminPasswordFile,
    iterations,
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
}
