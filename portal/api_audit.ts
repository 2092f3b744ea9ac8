/**
 * (placeholder) the audit API (mounted at /api/admin).
 * @module
 */
import { Hono } from "hono";
import type { PortalDeps, SignedInEnv } from "./context.ts";

/** the audit API (mounted at /api/admin). */
export function auditApiRoutes(_deps: PortalDeps): Hono<SignedInEnv> {
  return new Hono<SignedInEnv>();
}
