/**
 * First-run setup: a fresh appliance (no admin password in the state store, none in the config
 * file) leads every admin page here. The administrator types the setup code printed on the
 * console and written to `<data>/setup-code.txt` — not needed from the server itself
 * (loopback) — and chooses the admin password; they are then signed in and sent to the
 * settings.
 * @module
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { createSession } from "./sessions.ts";
import {
  auditEvent,
  loginFormToken,
  type PortalDeps,
  type PortalEnv,
  setSessionCookie,
} from "./context.ts";
import { csrfForm } from "./middleware.ts";
import { isLoopback } from "./login_throttle.ts";
import {
  PASSWORD_RULE,
  passwordProblem,
  readSetupCode,
  setAdminPassword,
  setupCodeMatches,
  setupPending,
} from "./admin_account.ts";
import { Page, renderPage } from "./layout.tsx";

/** While setup is pending, admin pages and the admin login lead to `/admin/setup`. */
export function setupRedirect(deps: PortalDeps) {
  return createMiddleware<PortalEnv>(async (c, next) => {
    const path = c.req.path;
    const adminPage = c.req.method === "GET" &&
      (path === "/admin" || (path.startsWith("/admin/") && path !== "/admin/setup"));
    if (adminPage && await setupPending(deps.state, deps.config.portal)) {
      return c.redirect("/admin/setup", 303);
    }
    await next();
  });
}

/** The setup sub-app (mounted at "/admin"): `GET` and `POST /setup`. */
export function setupRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();

  app.get("/setup", async (c) => {
    if (!(await setupPending(deps.state, deps.config.portal))) {
      return c.redirect("/admin/login", 303);
    }
    return c.html(renderPage(
      <SetupPage
        csrf={loginFormToken(c, deps)}
        needCode={!isLoopback(c.get("from"))}
        dataDir={deps.live.dataDir}
        user={deps.config.portal.adminUser}
      />,
    ));
  });

  app.post("/setup", csrfForm(deps, "login"), async (c) => {
    if (!(await setupPending(deps.state, deps.config.portal))) {
      return c.redirect("/admin/login", 303);
    }
    const form = c.get("form");
    const needCode = !isLoopback(c.get("from"));
    const page = (status: 400 | 403, error: string) =>
      c.html(
        renderPage(
          <SetupPage
            csrf={loginFormToken(c, deps)}
            needCode={needCode}
            dataDir={deps.live.dataDir}
            user={deps.config.portal.adminUser}
            error={error}
          />,
        ),
        status,
      );
    if (needCode) {
      const code = await readSetupCode(deps.live.dataDir);
      if (!code || !setupCodeMatches(form.code ?? "", code)) {
        await auditEvent(c, deps, { actor: "admin:?", action: "admin-setup-refused" });
        // A failed guess costs time: 98 bits are out of reach anyway, this keeps logs calm.
        await new Promise((r) => setTimeout(r, 500));
        return page(
          403,
          "The setup code is not right. It is in the console output and in the file named below.",
        );
      }
    }
    const password = form.password ?? "";
    const problem = passwordProblem(password);
    if (problem) return page(400, problem);
    if (password !== (form.confirm ?? "")) return page(400, "The two passwords differ.");
    await setAdminPassword(deps.state, deps.live.dataDir, password, {
      iterations: deps.adminIterations,
    });
    const user = deps.config.portal.adminUser;
    const { token } = await createSession(
      deps.state,
      { role: "admin", subject: user, from: c.get("from") },
      { minutes: deps.sessionMinutes },
    );
    setSessionCookie(c, deps, token);
    await auditEvent(c, deps, {
      actor: `admin:${user}`,
      action: "admin-setup",
      detail: { withCode: needCode },
    });
    return c.redirect("/admin/settings", 303);
  });
  return app;
}

function SetupPage(
  p: { csrf: string; needCode: boolean; dataDir: string; user: string; error?: string },
) {
  return (
    <Page title="Set up the appliance">
      <h1>Set up the appliance</h1>
      <p>
        Choose the password of the administrator account{" "}
        <strong>{p.user}</strong>. Next you point the appliance at your message store, backup and
        directory.
      </p>
      {p.error && <p class="error" role="alert" id="setup-error">{p.error}</p>}
      <form
        method="post"
        action="/admin/setup"
        class="stack"
        aria-describedby={p.error ? "setup-error" : undefined}
      >
        <input type="hidden" name="_csrf" value={p.csrf} />
        {p.needCode && (
          <>
            <label for="code">Setup code</label>
            <input
              type="text"
              id="code"
              name="code"
              required
              autocomplete="one-time-code"
              maxLength={40}
              aria-describedby="code-hint"
            />
            <p class="hint" id="code-hint">
              Printed on the server's console at start, and kept in{" "}
              <code>{`${p.dataDir}/setup-code.txt`}</code> (readable by the service account only).
            </p>
          </>
        )}
        <label for="password">New admin password</label>
        <input
          type="password"
          id="password"
          name="password"
          required
          minLength={12}
          maxLength={256}
          autocomplete="new-password"
          aria-describedby="password-hint"
        />
        <p class="hint" id="password-hint">{`Use ${PASSWORD_RULE}.`}</p>
        <label for="confirm">Repeat the password</label>
        <input
          type="password"
          id="confirm"
          name="confirm"
          required
          minLength={12}
          maxLength={256}
          autocomplete="new-password"
        />
        <button type="submit">Save and continue</button>
      </form>
    </Page>
  );
}
