/**
 * The JSON API for the administrator: `/api/status` (sync health, as the status page shows it).
 * @module
 */
import { Hono } from "hono";
import {
  listHeldDeletions,
  listMailboxResults,
  listRuns,
  listSubscriptions,
} from "../engine/state/mod.ts";
import { VERSION } from "../engine/version.ts";
import type { PortalDeps, PortalEnv } from "./context.ts";
import { requireRole } from "./middleware.ts";

/** The API sub-app (mounted at "/api"): `GET /status`. */
export function apiRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  app.get("/status", requireRole("admin", "json"), async (c) => {
    const [subscriptions, mailboxes, runs, heldDeletions] = await Promise.all([
      listSubscriptions(deps.state),
      listMailboxResults(deps.state),
      listRuns(deps.state, 10),
      listHeldDeletions(deps.state),
    ]);
    return c.json({ version: VERSION, subscriptions, mailboxes, runs, heldDeletions });
  });
  return app;
}
