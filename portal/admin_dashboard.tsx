/**
 * (placeholder) the dashboard (mounted at /admin).
 * @module
 */
import { Hono } from "hono";
import type { PortalDeps, PortalEnv } from "./context.ts";

/** the dashboard (mounted at /admin). */
export function dashboardRoutes(_deps: PortalDeps): Hono<PortalEnv> {
  return new Hono<PortalEnv>();
}
