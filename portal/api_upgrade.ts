/**
 * The upgrade API (mounted at /api/admin behind requireApiAdmin): `GET /upgrade` — the running
 * version, the previous release kept, the staged upload waiting, the running or last upgrade
 * with its progress, and the recent upgrades and rollbacks; `POST /upgrade` — a release file
 * uploaded as multipart/form-data (`file`, and `sums` with `sig`, or `sha256`), verified and
 * staged, answered 202 with where to follow it (400 with the reason when it is refused, and
 * nothing is staged); `DELETE /upgrade` withdraws a request not yet carried out;
 * `POST /rollback` asks for the previous release back (202).
 * @module
 */
import { type Context, Hono } from "hono";
import { type ConsoleUpgrade, UpgradeRequestError, upgradeView } from "../engine/upgrade/mod.ts";
import { actorOf, type PortalDeps, type SignedInEnv } from "./context.ts";
import {
  askRollback,
  receiveUpgrade,
  upgradeHistory,
  upgradeOf,
  withdrawRequest,
} from "./upgrade_actions.ts";

/** Where the state of upgrades is read. */
export const UPGRADE_API = "/api/admin/upgrade";
/** The console page of upgrades. */
export const UPGRADE_PAGE = "/admin/upgrade";

/** The upgrade API (mounted at /api/admin). */
export function upgradeApiRoutes(
  deps: PortalDeps,
  cu: ConsoleUpgrade | undefined,
): Hono<SignedInEnv> {
  const app = new Hono<SignedInEnv>();

  app.get("/upgrade", async (c) => {
    return await answer(c, async () => {
      const view = await upgradeView(upgradeOf(cu));
      return c.json({ ...view, history: await upgradeHistory(deps) });
    });
  });

  app.post("/upgrade", async (c) => {
    return await answer(c, async () => {
      const out = await receiveUpgrade(c, deps, upgradeOf(cu), { actor: actorOf(c.get("user")) });
      c.header("Location", UPGRADE_API);
      return c.json({
        id: out.request.id,
        action: "upgrade",
        state: "requested",
        from: out.from,
        to: out.request.version,
        file: out.request.file,
        verifiedBy: out.verifiedBy,
        size: out.size,
        url: UPGRADE_API,
        page: UPGRADE_PAGE,
      }, 202);
    });
  });

  app.delete("/upgrade", async (c) => {
    return await answer(c, async () => {
      const req = await withdrawRequest(c, deps, upgradeOf(cu), actorOf(c.get("user")));
      if (!req) {
        return c.json({ error: "No request is waiting (none made, or already taken)" }, 404);
      }
      return c.json({ withdrawn: req.id, action: req.action });
    });
  });

  app.post("/rollback", async (c) => {
    return await answer(c, async () => {
      const out = await askRollback(c, deps, upgradeOf(cu), actorOf(c.get("user")));
      c.header("Location", UPGRADE_API);
      return c.json({
        id: out.request.id,
        action: "rollback",
        state: "requested",
        from: out.from,
        to: out.request.version,
        url: UPGRADE_API,
        page: UPGRADE_PAGE,
      }, 202);
    });
  });

  return app;
}

// A refusal is the client's to read: its status and sentence as JSON.
async function answer(
  c: Context<SignedInEnv>,
  fn: () => Promise<Response>,
): Promise<Response> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof UpgradeRequestError) return c.json({ error: e.message }, e.status);
    throw e;
  }
}
