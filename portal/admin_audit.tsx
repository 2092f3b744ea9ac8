/**
 * (placeholder) the audit search page (mounted at /admin).
 * @module
 */
import { Hono } from "hono";
import type { PortalDeps, PortalEnv } from "./context.ts";

/** the audit search page (mounted at /admin). */
export function auditRoutes(_deps: PortalDeps): Hono<PortalEnv> {
  return new Hono<PortalEnv>();
}
