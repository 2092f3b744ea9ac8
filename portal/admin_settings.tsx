/**
 * The settings pages of the admin console: an overview, one form per section, the test
 * buttons (which test what the form holds, saved or not) and the listener restart. The same
 * actions back the JSON API (settings_actions.ts).
 * @module
 */
import { Hono } from "hono";
import { formToPatch, SECTION_IDS } from "../engine/settings/mod.ts";
import { actorOf, auditEvent, type PortalDeps, type PortalEnv } from "./context.ts";
import { csrfForm, requireRole } from "./middleware.ts";
import { adminViewer } from "./admin_nav.ts";
import { currentView, runTest, saveSettings, type TestKind } from "./settings_actions.ts";
import { SettingsOverview, SettingsSectionPage } from "./settings_pages.tsx";
import { Page, renderPage } from "./layout.tsx";

const TESTS: Record<string, (side: string | undefined) => TestKind | null> = {
  source: () => "source",
  target: () => "target",
  ldap: (side) => (side === "target" ? "ldap-target" : side === "source" ? "ldap-source" : null),
  smtp: () => "smtp",
};

/** The settings sub-app (mounted at "/admin"). */
export function settingsRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  const admin = requireRole("admin");
  const known = (id: string) => (SECTION_IDS as readonly string[]).includes(id);

  app.get("/settings", admin, async (c) => {
    const s = c.get("user");
    return c.html(renderPage(
      <SettingsOverview
        view={await currentView(deps)}
        viewer={adminViewer(s, "/admin/settings")}
        restartPending={deps.live.restartPending()}
        csrf={s.csrf}
      />,
    ));
  });

  app.get("/settings/:section", admin, async (c) => {
    const section = c.req.param("section");
    if (!known(section)) return c.notFound();
    const s = c.get("user");
    const saved = c.req.query("saved");
    return c.html(renderPage(
      <SettingsSectionPage
        section={section}
        view={await currentView(deps)}
        viewer={adminViewer(s, "/admin/settings")}
        csrf={s.csrf}
        saved={saved === undefined
          ? undefined
          : { changes: Number(saved) || 0, restartNeeded: c.req.query("restart") === "1" }}
        timeZone={deps.config.timeZone}
      />,
    ));
  });

  app.post("/settings/:section", admin, csrfForm(deps, "session"), async (c) => {
    const section = c.req.param("section");
    if (!known(section)) return c.notFound();
    const s = c.get("user");
    const form = c.get("form");
    const parsed = formToPatch(section, form);
    const out = parsed.errors.length
      ? { ok: false as const, errors: parsed.errors }
      : await saveSettings(c, deps, parsed.patch, actorOf(s));
    if (!out.ok) {
      return c.html(
        renderPage(
          <SettingsSectionPage
            section={section}
            view={await currentView(deps)}
            viewer={adminViewer(s, "/admin/settings")}
            csrf={s.csrf}
            draft={form}
            errors={out.errors}
            timeZone={deps.config.timeZone}
          />,
        ),
        400,
      );
    }
    const q = `saved=${out.changes.length}${out.restartNeeded ? "&restart=1" : ""}`;
    return c.redirect(`/admin/settings/${section}?${q}`, 303);
  });

  app.post("/settings/:section/test", admin, csrfForm(deps, "session"), async (c) => {
    const section = c.req.param("section");
    const side = c.req.query("side");
    const kind = known(section) ? TESTS[section]?.(side) : null;
    if (!kind) return c.notFound();
    const s = c.get("user");
    const form = c.get("form");
    const parsed = formToPatch(section, form);
    const out = parsed.errors.length
      ? { ok: false as const, errors: parsed.errors }
      : await runTest(deps, kind, {
        patch: parsed.patch,
        mailbox: (form._mailbox ?? "").trim() || undefined,
        to: (form._to ?? "").trim() || undefined,
      });
    const label = {
      "source": "Production message store",
      "target": "Backup",
      "ldap-source": "Production directory",
      "ldap-target": "Backup directory",
      "smtp": "Mail relay",
    }[kind];
    return c.html(
      renderPage(
        <SettingsSectionPage
          section={section}
          view={await currentView(deps)}
          viewer={adminViewer(s, "/admin/settings")}
          csrf={s.csrf}
          draft={form}
          errors={out.ok ? undefined : out.errors}
          tests={out.ok ? [{ label, result: out.result }] : undefined}
          timeZone={deps.config.timeZone}
        />,
      ),
      out.ok ? 200 : 400,
    );
  });

  app.post("/restart", admin, csrfForm(deps, "session"), async (c) => {
    const s = c.get("user");
    const p = deps.config.portal;
    const restarting = deps.live.requestRestart();
    await auditEvent(c, deps, {
      actor: actorOf(s),
      action: "portal-restart",
      detail: { restarting },
    });
    const scheme = p.tlsCertFile ? "https" : "http";
    const where = `${scheme}://${p.listen}/admin`;
    return c.html(
      renderPage(
        <Page title="Restart" viewer={adminViewer(s, "/admin/settings")}>
          <h1>{restarting ? "Restarting the portal" : "Nothing to restart"}</h1>
          {restarting
            ? (
              <p role="status">
                The portal now listens on{" "}
                <a href={where}>{where}</a>. Sign in there again if the address changed.
              </p>
            )
            : (
              <p>
                The portal is not run by <code>vmirror serve</code> here.
              </p>
            )}
        </Page>,
      ),
      restarting ? 202 : 409,
    );
  });
  return app;
}
