/**
 * (placeholder) the subscriptions API (mounted at /api/admin).
 * @module
 */
import { Hono } from "hono";
import type { PortalDeps, SignedInEnv } from "./context.ts";

/** the subscriptions API (mounted at /api/admin). */
export function subscriptionApiRoutes(_deps: PortalDeps): Hono<SignedInEnv> {
  return new Hono<SignedInEnv>();
}
