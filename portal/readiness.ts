/**
 * `/readyz`: whether the mirror can reach its servers, from the monitor's last checks (no
 * connection is opened per request, so a load balancer or monitoring probe may ask often).
 * 200 when ready, 503 otherwise; no authentication, and no detail beyond up/down per role.
 * @module
 */
import { Hono } from "hono";
import { readiness } from "../engine/monitor/mod.ts";
import type { PortalDeps, PortalEnv } from "./context.ts";

/** The readiness sub-app (mounted at "/"): `GET /readyz`. */
export function readinessRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  app.get("/readyz", async (c) => {
    const r = await readiness(deps.state, deps.config);
    return c.json(r, r.ready ? 200 : 503);
  });
  return app;
}
