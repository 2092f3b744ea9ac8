/**
 * (placeholder) the jobs API (mounted at /api/admin).
 * @module
 */
import { Hono } from "hono";
import type { PortalDeps, SignedInEnv } from "./context.ts";

/** the jobs API (mounted at /api/admin). */
export function jobApiRoutes(_deps: PortalDeps): Hono<SignedInEnv> {
  return new Hono<SignedInEnv>();
}
