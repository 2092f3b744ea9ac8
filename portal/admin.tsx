/**
 * The administrator's failed-login lockouts with a clear button. Signing in is in sign_in.tsx;
 * the dashboard is admin_dashboard.tsx, the audit log admin_audit.tsx.
 * @module
 */
import { Hono } from "hono";
import {
  clearThrottle,
  listThrottles,
  THROTTLE_KINDS,
  type ThrottleKind,
} from "./login_throttle.ts";
import { actorOf, auditEvent, type PortalDeps, type PortalEnv } from "./context.ts";
import { LockoutSection } from "./admin_pages.tsx";
import { Page, renderPage } from "./layout.tsx";
import { adminViewer } from "./admin_nav.ts";
import { csrfForm, requireRole } from "./middleware.ts";

/** The admin pages sub-app (mounted at "/admin"): `/lockouts`, `/lockouts/clear`. */
export function adminRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  const admin = requireRole("admin");

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
