/**
 * (placeholder) the subscriptions pages (mounted at /admin).
 * @module
 */
import { Hono } from "hono";
import type { PortalDeps, PortalEnv } from "./context.ts";

/** the subscriptions pages (mounted at /admin). */
export function subscriptionRoutes(_deps: PortalDeps): Hono<PortalEnv> {
  return new Hono<PortalEnv>();
}
