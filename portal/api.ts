/**
 * The JSON API for the administrator: `/api/status` (sync health, as the status page shows it)
 * and `/api/admin/*` — status, settings (read, partial write), connection tests and the
 * listener restart — behind a bearer token or the admin's session (see requireApiAdmin).
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
import {
  actorOf,
  auditEvent,
  type PortalDeps,
  type PortalEnv,
  type SignedInEnv,
} from "./context.ts";
import { requireApiAdmin, requireRole } from "./middleware.ts";
import { setupPending } from "./admin_account.ts";
import { subscriptionApiRoutes } from "./api_subscriptions.ts";
import { jobApiRoutes } from "./api_jobs.ts";
import { auditApiRoutes } from "./api_audit.ts";
import { upgradeApiRoutes } from "./api_upgrade.ts";
import type { ConsoleUpgrade } from "../engine/upgrade/mod.ts";
import {
  currentView,
  runTest,
  saveSettings,
  TEST_KINDS,
  type TestKind,
} from "./settings_actions.ts";

/** The API sub-app (mounted at "/api"). */
export function apiRoutes(deps: PortalDeps, upgrade?: ConsoleUpgrade): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  const status = async () => {
    const [subscriptions, mailboxes, runs, heldDeletions] = await Promise.all([
      listSubscriptions(deps.state),
      listMailboxResults(deps.state),
      listRuns(deps.state, 10),
      listHeldDeletions(deps.state),
    ]);
    return { version: VERSION, subscriptions, mailboxes, runs, heldDeletions };
  };
  app.get("/status", requireRole("admin", "json"), async (c) => c.json(await status()));

  const admin = new Hono<SignedInEnv>();
  admin.use(requireApiAdmin(deps));

  admin.get("/status", async (c) => {
    const config = deps.config;
    return c.json({
      ...(await status()),
      configured: {
        source: !!config.source,
        target: config.target?.type ?? null,
        ldap: !!config.ldap,
        smtp: !!config.smtp,
      },
      setupPending: await setupPending(deps.state, config.portal),
      restartPending: deps.live.restartPending(),
      timeZone: config.timeZone,
    });
  });

  admin.get("/settings", async (c) => {
    const view = await currentView(deps);
    return c.json({ ...view.settings, $fixed: view.fixed, $file: view.file });
  });

  admin.put("/settings", async (c) => {
    const body = await jsonBody(c.req.raw);
    if (!body.ok) return c.json({ errors: [{ path: "", message: body.message }] }, 400);
    const out = await saveSettings(c, deps, withoutMeta(body.value), actorOf(c.get("user")));
    if (!out.ok) return c.json({ errors: out.errors }, 400);
    return c.json(out);
  });

  admin.post("/test/:kind", async (c) => {
    const kind = c.req.param("kind") as TestKind;
    if (!TEST_KINDS.includes(kind)) {
      return c.json({ error: `unknown test "${kind}": one of ${TEST_KINDS.join(", ")}` }, 404);
    }
    const body = await jsonBody(c.req.raw, true);
    if (!body.ok) return c.json({ errors: [{ path: "", message: body.message }] }, 400);
    const { settings, mailbox, to, ...rest } = body.value as Record<string, unknown>;
    for (const [k, v] of [["mailbox", mailbox], ["to", to]] as const) {
      if (v !== undefined && typeof v !== "string") {
        return c.json({ errors: [{ path: k, message: "expected a string" }] }, 400);
      }
    }
    // The unsaved settings: under "settings", or the body itself (minus mailbox and to).
    const patch = settings ?? withoutMeta(rest);
    const out = await runTest(deps, kind, {
      patch,
      mailbox: mailbox as string | undefined,
      to: to as string | undefined,
    });
    if (!out.ok) return c.json({ errors: out.errors }, 400);
    await auditEvent(c, deps, {
      actor: actorOf(c.get("user")),
      action: "settings-test",
      detail: { kind, ok: out.result.ok, failed: out.result.steps.find((s) => !s.ok)?.step },
    });
    return c.json(out.result);
  });

  admin.post("/restart", async (c) => {
    const restarting = deps.live.requestRestart();
    await auditEvent(c, deps, {
      actor: actorOf(c.get("user")),
      action: "portal-restart",
      detail: { restarting },
    });
    return c.json({ restarting }, restarting ? 202 : 409);
  });

  // Behind the same door: subscriptions, jobs (sync, directory sync, restore), the audit log,
  // upgrades.
  admin.route("/", subscriptionApiRoutes(deps));
  admin.route("/", jobApiRoutes(deps));
  admin.route("/", auditApiRoutes(deps));
  admin.route("/", upgradeApiRoutes(deps, upgrade));
  app.route("/admin", admin);
  return app;
}

async function jsonBody(
  req: Request,
  optional = false,
): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; message: string }> {
  const text = await req.text();
  if (!text.trim() && optional) return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: "the body is not valid JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, message: "the body must be a JSON object" };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

// "$fixed" and "$file" come with a GET: a client may PUT the GET's answer back.
function withoutMeta(v: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith("$")));
}
