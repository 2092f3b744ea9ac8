/**
 * The administrator's routes and pages: login, sync health (the status page), the audit log,
 * failed-login lockouts with a clear button, and the JSON status API.
 * @module
 */
import type { Hono } from "hono";
import {
  clearThrottle,
  listThrottles,
  lockedUntil,
  recordFailure,
  type ThrottleKey,
  type ThrottleKind,
  type ThrottleRecord,
  withThrottleLock,
} from "./login_throttle.ts";
import { createSession, endSession, type Session, verifyAdmin } from "./sessions.ts";
import {
  type AuditEntry,
  listAudit,
  listHeldDeletions,
  listMailboxResults,
  listRuns,
  listSubscriptions,
} from "../engine/state/mod.ts";
import { VERSION } from "../engine/version.ts";
import {
  auditEvent,
  type Ctx,
  loginFormToken,
  type PortalDeps,
  type PortalEnv,
  readForm,
  readLoginForm,
  sessionToken,
  setSessionCookie,
} from "./context.ts";
import { Page, renderPage, type Viewer } from "./layout.tsx";
import { StatusSection } from "./status_page.tsx";
import { LoginPage } from "./subscriber_pages.tsx";
import { actorOf } from "./subscriber.tsx";

/** Registers the admin routes on `app`. */
export function adminRoutes(app: Hono<PortalEnv>, deps: PortalDeps): void {
  const admin = (c: Ctx): Session | null => {
    const s = c.get("session");
    return s?.role === "admin" ? s : null;
  };

  app.get("/admin/login", (c) => {
    if (admin(c)) return c.redirect("/admin", 303);
    return c.html(renderPage(<LoginPage admin csrf={loginFormToken(c, deps)} />));
  });

  app.post("/admin/login", async (c) => {
    const form = await readLoginForm(c, deps);
    const user = (form.user ?? "").slice(0, 64);
    const password = (form.password ?? "").slice(0, 256);
    const from = c.get("from");
    const csrf = loginFormToken(c, deps);
    const page = (status: 401 | 429 | 503, error: string) =>
      c.html(renderPage(<LoginPage admin csrf={csrf} error={error} />), status);
    // One admin account: its counter is shared whatever user name is typed.
    const keys: ThrottleKey[] = [{ kind: "address", id: from }, { kind: "admin", id: "admin" }];
    return await withThrottleLock(keys, async () => {
      if (await lockedUntil(deps.state, keys)) {
        await auditEvent(c, deps, { actor: "admin:?", action: "admin-login-locked" });
        return page(429, "Too many failed attempts. Try again later.");
      }
      const cred = await deps.admin;
      if (!cred) return page(503, "Administrator login is not available: see the log.");
      if (!(await verifyAdmin(cred, { user, password }))) {
        await recordFailure(deps.state, keys, { limits: deps.limits });
        await auditEvent(c, deps, { actor: "admin:?", action: "admin-login-failed" });
        return page(401, "The user name or password is not right.");
      }
      await clearThrottle(deps.state, { kind: "admin", id: "admin" });
      await endSession(deps.state, sessionToken(c, deps));
      const { token } = await createSession(
        deps.state,
        { role: "admin", subject: cred.user, from },
        { minutes: deps.sessionMinutes },
      );
      setSessionCookie(c, deps, token);
      await auditEvent(c, deps, { actor: `admin:${cred.user}`, action: "admin-login" });
      return c.redirect("/admin", 303);
    });
  });

  app.get("/admin", async (c) => {
    const s = admin(c);
    if (!s) return c.redirect("/admin/login", 303);
    const [subscriptions, results, runs, held] = await Promise.all([
      listSubscriptions(deps.state),
      listMailboxResults(deps.state),
      listRuns(deps.state, 10),
      listHeldDeletions(deps.state),
    ]);
    return c.html(renderPage(
      <Page title="Sync status" viewer={adminViewer(s, "/admin")}>
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

  app.get("/admin/audit", async (c) => {
    const s = admin(c);
    if (!s) return c.redirect("/admin/login", 303);
    const entries = await listAudit(deps.state, 500);
    return c.html(renderPage(
      <Page title="Audit log" viewer={adminViewer(s, "/admin/audit")}>
        <AuditSection entries={entries} />
      </Page>,
    ));
  });

  app.get("/admin/lockouts", async (c) => {
    const s = admin(c);
    if (!s) return c.redirect("/admin/login", 303);
    const cleared = c.req.query("cleared") === "1";
    return c.html(renderPage(
      <Page title="Lockouts" viewer={adminViewer(s, "/admin/lockouts")}>
        <LockoutSection records={await listThrottles(deps.state)} csrf={s.csrf} cleared={cleared} />
      </Page>,
    ));
  });

  app.post("/admin/lockouts/clear", async (c) => {
    const s = admin(c);
    if (!s) return c.redirect("/admin/login", 303);
    const form = await readForm(c, s.csrf);
    const kind = form.kind as ThrottleKind;
    const id = (form.id ?? "").slice(0, 256);
    if (!["mailbox", "address", "admin"].includes(kind) || !id) {
      return c.text("Bad request", 400);
    }
    const was = await clearThrottle(deps.state, { kind, id });
    await auditEvent(c, deps, {
      actor: actorOf(s),
      action: "lockout-clear",
      detail: { kind, id, existed: was },
    });
    return c.redirect("/admin/lockouts?cleared=1", 303);
  });

  app.get("/api/status", async (c) => {
    if (!admin(c)) return c.json({ error: "authentication required" }, 401);
    const [subscriptions, mailboxes, runs, heldDeletions] = await Promise.all([
      listSubscriptions(deps.state),
      listMailboxResults(deps.state),
      listRuns(deps.state, 10),
      listHeldDeletions(deps.state),
    ]);
    return c.json({ version: VERSION, subscriptions, mailboxes, runs, heldDeletions });
  });
}

function adminViewer(s: Session, current: string): Viewer {
  const links = [
    { href: "/admin", label: "Status" },
    { href: "/admin/audit", label: "Audit log" },
    { href: "/admin/lockouts", label: "Lockouts" },
  ];
  return {
    label: `Administrator ${s.subject}`,
    csrf: s.csrf,
    links: links.map((l) => ({ ...l, current: l.href === current })),
  };
}

function AuditSection(p: { entries: AuditEntry[] }) {
  return (
    <>
      <h1>Audit log</h1>
      <p>The newest {p.entries.length} entries, newest first.</p>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">From</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {p.entries.map((e, i) => (
              <tr key={i}>
                <td>
                  <time dateTime={e.at}>{e.at.replace("T", " ").slice(0, 19)}</time>
                </td>
                <td>{e.actor}</td>
                <td>{e.action}</td>
                <td>{e.from ?? ""}</td>
                <td>{e.detail ? describeDetail(e.detail) : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function describeDetail(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .filter(([k]) => !/pass|pin|secret|token/i.test(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
}

const KIND_LABEL: Record<ThrottleKind, string> = {
  mailbox: "Mailbox",
  address: "Client address",
  admin: "Administrator",
};

function LockoutSection(
  p: { records: (ThrottleRecord & { locked: boolean })[]; csrf: string; cleared: boolean },
) {
  return (
    <>
      <h1>Failed logins and lockouts</h1>
      {p.cleared && <p class="ok" role="status">Cleared.</p>}
      {p.records.length === 0
        ? <p>No failed logins are being counted.</p>
        : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col">Who</th>
                  <th scope="col">Failures</th>
                  <th scope="col">Last failure (UTC)</th>
                  <th scope="col">State</th>
                  <th scope="col">Action</th>
                </tr>
              </thead>
              <tbody>
                {p.records.map((r) => (
                  <tr key={`${r.kind}:${r.id}`}>
                    <td>{KIND_LABEL[r.kind]}</td>
                    <th scope="row">{r.id}</th>
                    <td>{r.failures}</td>
                    <td>{r.lastAt.replace("T", " ").slice(0, 19)}</td>
                    <td class={r.locked ? "bad" : ""}>
                      {r.locked ? `Locked until ${r.lockedUntil!.slice(11, 19)} UTC` : "Counting"}
                    </td>
                    <td>
                      <form method="post" action="/admin/lockouts/clear">
                        <input type="hidden" name="_csrf" value={p.csrf} />
                        <input type="hidden" name="kind" value={r.kind} />
                        <input type="hidden" name="id" value={r.id} />
                        <button type="submit" aria-label={`Clear ${KIND_LABEL[r.kind]} ${r.id}`}>
                          Clear
                        </button>
                      </form>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </>
  );
}
