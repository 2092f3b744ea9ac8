/**
 * The administrator's pages: sync health (the status page), the audit log, and failed-login
 * lockouts with a clear button. Signing in is in sign_in.tsx.
 * @module
 */
import { Hono } from "hono";
import {
  clearThrottle,
  listThrottles,
  THROTTLE_KINDS,
  type ThrottleKind,
} from "./login_throttle.ts";
import {
  listAudit,
  listHeldDeletions,
  listMailboxResults,
  listRuns,
  listSubscriptions,
} from "../engine/state/mod.ts";
import { VERSION } from "../engine/version.ts";
import { actorOf, auditEvent, type PortalDeps, type PortalEnv } from "./context.ts";
import { AuditSection, LockoutSection } from "./admin_pages.tsx";
import { Page, renderPage } from "./layout.tsx";
import { adminViewer } from "./admin_nav.ts";
import { csrfForm, requireRole } from "./middleware.ts";
import { StatusSection } from "./status_page.tsx";

/** The admin pages sub-app (mounted at "/admin"): `/`, `/audit`, `/lockouts`, `/lockouts/clear`. */
export function adminRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  const admin = requireRole("admin");

  app.get("/", admin, async (c) => {
    const [subscriptions, results, runs, held] = await Promise.all([
      listSubscriptions(deps.state),
      listMailboxResults(deps.state),
      listRuns(deps.state, 10),
      listHeldDeletions(deps.state),
    ]);
    return c.html(renderPage(
      <Page title="Sync status" viewer={adminViewer(c.get("user"), "/admin")}>
        <StatusSection
          version={VERSION}
          subscriptions={subscriptions}
          results={results}
          runs={runs}
          held={held}
          configured={!!deps.config.source && !!deps.config.target}
        />
      </Page>,
    ));
  });

  app.get("/audit", admin, async (c) => {
    const entries = await listAudit(deps.state, 500);
    return c.html(renderPage(
      <Page title="Audit log" viewer={adminViewer(c.get("user"), "/admin/audit")}>
        <AuditSection entries={entries} />
      </Page>,
    ));
  });

  app.get("/lockouts", admin, async (c) => {
    const s = c.get("user");
    const cleared = c.req.query("cleared") === "1";
    return c.html(renderPage(
      <Page title="Lockouts" viewer={adminViewer(s, "/admin/lockouts")}>
        <LockoutSection records={await listThrottles(deps.state)} csrf={s.csrf} cleared={cleared} />
      </Page>,
    ));
  });

  app.post("/lockouts/clear", admin, csrfForm(deps, "session"), async (c) => {
    const form = c.get("form");
    const kind = form.kind as ThrottleKind;
    const id = (form.id ?? "").slice(0, 256);
    if (!(THROTTLE_KINDS as readonly string[]).includes(kind) || !id) {
      return c.text("Bad request", 400);
    }
    const was = await clearThrottle(deps.state, { kind, id });
    await auditEvent(c, deps, {
      actor: actorOf(c.get("user")),
      action: "lockout-clear",
      detail: { kind, id, existed: was },
    });
    return c.redirect("/admin/lockouts?cleared=1", 303);
  });
  return app;
}
