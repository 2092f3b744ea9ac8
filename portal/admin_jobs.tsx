/**
 * (placeholder) sync now, directory sync and restore pages (mounted at /admin).
 * @module
 */
import { Hono } from "hono";
import type { PortalDeps, PortalEnv } from "./context.ts";

/** sync now, directory sync and restore pages (mounted at /admin). */
export function jobRoutes(_deps: PortalDeps): Hono<PortalEnv> {
  return new Hono<PortalEnv>();
}
