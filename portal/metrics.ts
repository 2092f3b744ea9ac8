/**
 * (placeholder) /metrics (mounted at /).
 * @module
 */
import { Hono } from "hono";
import type { PortalDeps, PortalEnv } from "./context.ts";

/** /metrics (mounted at /). */
export function metricsRoutes(_deps: PortalDeps): Hono<PortalEnv> {
  return new Hono<PortalEnv>();
}
