/**
 * `GET /metrics` for Prometheus (admin API token or admin session, like the JSON API): the
 * process's registry and the families read from the state store at scrape time, as text
 * format 0.0.4. Also the portal's own counters (sign-ins, plays, forwards) and the middleware
 * that counts them by the response's status.
 * @module
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import {
  EXPOSITION_CONTENT_TYPE,
  metrics,
  renderExposition,
  stateFamilies,
} from "../engine/metrics/mod.ts";
import type { PortalDeps, PortalEnv } from "./context.ts";
import { requireApiAdmin } from "./middleware.ts";

/** Sign-in attempts by role and outcome. */
export const portalLogins = metrics.counter({
  name: "vmirror_portal_logins_total",
  help: "Portal sign-in attempts, by role and result (ok, failed, throttled, unavailable).",
  labelNames: ["role", "result"],
});

/** Recordings played (a play counted once, as it is audited). */
export const portalPlays = metrics.counter({
  name: "vmirror_portal_plays_total",
  help: "Recordings played in the portal.",
});

/** Forwards by e-mail by outcome. */
export const portalForwards = metrics.counter({
  name: "vmirror_portal_forwards_total",
  help: "Messages forwarded by e-mail, by result (ok, refused, failed, unavailable).",
  labelNames: ["result"],
});

// The routes answer each outcome with its own status: the status is the outcome.
function loginResult(status: number): string {
  if (status >= 300 && status < 400) return "ok";
  if (status === 429) return "throttled";
  if (status === 503) return "unavailable";
  return "failed";
}

function forwardResult(status: number): string | null {
  if (status >= 300 && status < 400) return "ok";
  if (status === 502) return "failed";
  if (status === 503) return "unavailable";
  if (status === 400 || status === 403 || status === 409 || status === 429) return "refused";
  return null; // not found, not signed in: no forward was attempted
}

/** Counts the sign-in attempts of `role` answered by the routes after it. */
export function countLogins(role: "subscriber" | "admin") {
  return createMiddleware<PortalEnv>(async (c, next) => {
    await next();
    portalLogins.inc({ role, result: loginResult(c.res.status) });
  });
}

/** Counts the forwards answered by the routes after it. */
export const countForwards = createMiddleware<PortalEnv>(async (c, next) => {
  await next();
  const result = forwardResult(c.res.status);
  if (result) portalForwards.inc({ result });
});

/** /metrics (mounted at /). */
export function metricsRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  app.get("/metrics", requireApiAdmin(deps), async (c) => {
    const text = renderExposition([...metrics.collect(), ...await stateFamilies(deps.state)]);
    return c.body(text, 200, { "Content-Type": EXPOSITION_CONTENT_TYPE });
  });
  return app;
}
