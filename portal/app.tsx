/**
 * The portal's Hono app: sub-apps per area mounted with `app.route()` — public files and health,
 * signing in and out, the subscriber's pages, recordings and forwarding, the admin's pages and
 * the JSON API — behind middleware for headers, sessions, roles and CSRF. Pages are Preact
 * rendered on the server; there is no client script. Errors map to HTTP statuses in one
 * `onError` (errors.tsx).
 * @module
 */
import { Hono } from "hono";
import { type Config, LiveConfig } from "../engine/config/mod.ts";
import type { State } from "../engine/state/mod.ts";
import { log, redact } from "../engine/support/mod.ts";
import { adminRoutes } from "./admin.tsx";
import { apiRoutes } from "./api.ts";
import { type PortalDeps, type PortalEnv, portalFolders } from "./context.ts";
import { errorHandler, notFoundPage } from "./errors.tsx";
import { forwardRoutes } from "./forward.tsx";
import type { ThrottleKind, ThrottleLimit } from "./login_throttle.ts";
import { type MailboxReader, openMailboxReader } from "./mailbox_reader.ts";
import { mediaRoutes } from "./media.ts";
import { guardWrites, loadSession, responseHeaders } from "./middleware.ts";
import { publicRoutes } from "./public_routes.ts";
import { type AdminCredential, loadAdminCredential } from "./sessions.ts";
import { signInRoutes } from "./sign_in.tsx";
import { timeZoneScope } from "./time.tsx";
import { setupRedirect, setupRoutes } from "./setup.tsx";
import { settingsRoutes } from "./admin_settings.tsx";
import { dashboardRoutes } from "./admin_dashboard.tsx";
import { subscriptionRoutes } from "./admin_subscriptions.tsx";
import { jobRoutes } from "./admin_jobs.tsx";
import { auditRoutes } from "./admin_audit.tsx";
import { metricsRoutes } from "./metrics.ts";
import { readinessRoutes } from "./readiness.ts";
import { hostCheck } from "./host_check.ts";
import { subscriberRoutes } from "./subscriber.tsx";
import { upgradeRoutes } from "./admin_upgrade.tsx";
import type { ConsoleUpgrade } from "../engine/upgrade/mod.ts";

/** What the portal reads. */
export interface AppDeps {
  config: Config;
  /** The live configuration (serve); without it, one around `config` is made. */
  live?: LiveConfig;
  state: State;
  /** Failed-login limits (tests shorten them). */
  limits?: Record<ThrottleKind, ThrottleLimit>;
  /** PBKDF2 iterations for an admin password set or read here (tests lower it). */
  adminIterations?: number;
  /** Opens the mirror for a mailbox; defaults to the configured target. */
  openReader?: (mailbox: string) => MailboxReader;
  /** Upgrades from the console (serve); without it the upgrade page says there are none. */
  upgrade?: ConsoleUpgrade;
}

/** Builds the Hono app. */
export function createApp(deps: AppDeps): Hono<PortalEnv> {
  const { state } = deps;
  const live = deps.live ?? new LiveConfig(deps.config, state);
  const tls = !!(deps.config.portal.tlsCertFile && deps.config.portal.tlsKeyFile);
  const admin = adminCredential(live, state, deps.adminIterations);
  const openReader = deps.openReader ??
    ((mailbox: string) => openMailboxReader(live.current, mailbox, { state }));
  const portal: PortalDeps = {
    get config() {
      return live.current;
    },
    live,
    state,
    get folders() {
      return portalFolders(live.current);
    },
    tls,
    get sessionMinutes() {
      return live.current.portal.sessionMinutes;
    },
    limits: deps.limits,
    adminIterations: deps.adminIterations,
    get admin() {
      return admin();
    },
    openReader,
  };

  const app = new Hono<PortalEnv>();
  app.use(responseHeaders(tls, () => portal.config.portal.trustedProxies));
  // Only the host names the portal is published under (portal.allowedHosts / publicUrl).
  app.use(hostCheck(() => portal.config.portal));
  // Public routes first: they answer before the session lookup, so they cost no KV read.
  app.route("/", publicRoutes());
  app.route("/", readinessRoutes(portal));
  app.use(timeZoneScope(() => portal.config.timeZone));
  app.use(loadSession(portal));
  // Every state-changing request: a small body, and never from another site. (Each form also
  // carries its CSRF token, checked by its route's csrfForm.)
  app.on(["POST", "PUT", "PATCH", "DELETE"], "*", ...guardWrites);

  app.get("/", (c) => {
    const s = c.get("session");
    return c.redirect(s?.role === "admin" ? "/admin" : s ? "/inbox" : "/login", 303);
  });
  // A fresh appliance: admin pages lead to the first-run setup.
  app.use(setupRedirect(portal));
  app.route("/admin", setupRoutes(portal));
  app.route("/", signInRoutes(portal));
  app.route("/", subscriberRoutes(portal));
  app.route("/m", mediaRoutes(portal));
  app.route("/m", forwardRoutes(portal));
  app.route("/admin", dashboardRoutes(portal));
  app.route("/admin", adminRoutes(portal));
  app.route("/admin", settingsRoutes(portal));
  app.route("/admin", subscriptionRoutes(portal));
  app.route("/admin", jobRoutes(portal));
  app.route("/admin", auditRoutes(portal));
  app.route("/admin", upgradeRoutes(portal, deps.upgrade));
  app.route("/", metricsRoutes(portal));
  app.route("/api", apiRoutes(portal, deps.upgrade));

  app.notFound(notFoundPage);
  app.onError(errorHandler(portal));
  return app;
}

// The credential is read per login: the setup page or the CLI may set it while the portal
// runs. A file's plain password is hashed once per file content, not at every login.
function adminCredential(
  live: LiveConfig,
  state: State,
  iterations: number | undefined,
): () => Promise<AdminCredential | null> {
  let cached: { key: string; cred: Promise<AdminCredential | null> } | null = null;
  return () => {
    const p = live.current.portal;
    if (!p.adminPasswordFile) {
      return loadAdminCredential(state, { user: p.adminUser, iterations }).catch(unavailable);
    }
    const key = `${p.adminUser}\u0000${p.adminPasswordFile}`;
    if (cached?.key !== key) {
      cached = {
        key,
        cred: loadAdminCredential(state, {
          user: p.adminUser,
          passwordFile: p.adminPasswordFile,
          iterations,
        }).catch(unavailable),
      };
    }
    return cached.cred;
  };
}

function unavailable(e: unknown): null {
  log("error", `Admin sign-in is unavailable: ${redact((e as Error).message)}`);
  return null;
}
