/**
 * The dashboard (`/admin`): every server's reachability, mailboxes ok / failing, mirror lag,
 * messages mirrored per hour and per day as server-drawn charts, active alerts, recent errors
 * grouped by cause, held deletions and free disk — and the "send test alert" button.
 * @module
 */
import { statfs } from "node:fs/promises";
import { Hono } from "hono";
import {
  dailyStats,
  hourlyStats,
  lagPercentiles,
  listHeldDeletions,
  listMailboxResults,
  listServerHealth,
  listSubscriptions,
  type MailboxResult,
  type ServerHealth,
} from "../engine/state/mod.ts";
import { listActiveAlerts, sendTestAlert } from "../engine/monitor/mod.ts";
import { VERSION } from "../engine/version.ts";
import { log, redact } from "../engine/support/mod.ts";
import { actorOf, auditEvent, type PortalDeps, type PortalEnv } from "./context.ts";
import { csrfForm, requireRole } from "./middleware.ts";
import { Page, renderPage } from "./layout.tsx";
import { adminViewer } from "./admin_nav.ts";
import { When } from "./time.tsx";
import { BarChart, type ChartPoint } from "./charts.tsx";
import { formatDateTime } from "./dates.ts";
import { formatSeconds } from "./subscriptions_view.ts";

const ROLE_LABEL: Record<ServerHealth["role"], string> = {
  "source": "Production message store",
  "target": "Backup",
  "ldap-source": "Production directory",
  "ldap-target": "Backup directory",
  "smtp": "Mail relay",
};

/** Free space of the disk holding `path`, or null when it cannot be read. */
export async function diskFree(
  path: string,
): Promise<{ free: number; total: number; percent: number } | null> {
  try {
    const s = await statfs(path);
    const total = Number(s.blocks) * Number(s.bsize);
    const free = Number(s.bavail) * Number(s.bsize);
    return { free, total, percent: total ? (free / total) * 100 : 0 };
  } catch {
    return null;
  }
}

/** Groups failing mailboxes by what failed (server, operation and message). */
export function groupErrors(results: MailboxResult[]): {
  cause: string;
  server?: string;
  operation?: string;
  mailboxes: string[];
}[] {
  const groups = new Map<
    string,
    { cause: string; server?: string; operation?: string; mailboxes: string[] }
  >();
  for (const r of results) {
    if (r.ok || !r.error) continue;
    // Mailbox numbers inside a message would split one cause into many groups.
    const cause = r.error.message.replace(/\b\d{3,}\b/g, "N").slice(0, 200);
    const key = `${r.error.server ?? ""}\u0000${r.error.operation ?? ""}\u0000${cause}`;
    const g = groups.get(key) ??
      { cause, server: r.error.server, operation: r.error.operation, mailboxes: [] };
    g.mailboxes.push(r.mailbox);
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.mailboxes.length - a.mailboxes.length);
}

/** The dashboard sub-app (mounted at "/admin"): `/` and `POST /alerts/test`. */
export function dashboardRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  const admin = requireRole("admin");

  app.get("/", admin, async (c) => {
    const s = c.get("user");
    const config = deps.config;
    const now = new Date();
    const [subs, results, servers, held, alerts, hours, days, lag] = await Promise.all([
      listSubscriptions(deps.state),
      listMailboxResults(deps.state),
      listServerHealth(deps.state),
      listHeldDeletions(deps.state),
      listActiveAlerts(deps.state),
      hourlyStats(deps.state, now, 24),
      dailyStats(deps.state, now, 30),
      lagPercentiles(deps.state),
    ]);
    const subscribed = new Set(subs.map((x) => x.mailbox));
    const current = results.filter((r) => subscribed.has(r.mailbox));
    const ok = current.filter((r) => r.ok).length;
    const failing = current.length - ok;
    const never = subs.length - current.length;
    const disks = [{ label: "Data directory", path: config.dataDir }];
    if (config.target?.type === "files") {
      disks.push({ label: "File store", path: config.target.root });
    }
    const free = await Promise.all(disks.map(async (d) => ({ ...d, df: await diskFree(d.path) })));
    const tz = config.timeZone;
    const hourPoints: ChartPoint[] = hours.map((h) => ({
      label: formatDateTime(h.start, tz).slice(11, 13),
      title: formatDateTime(h.start, tz),
      value: h.copied,
    }));
    const dayPoints: ChartPoint[] = days.map((d) => ({
      label: formatDateTime(d.start, tz).slice(8, 10),
      title: formatDateTime(d.start, tz).slice(0, 10),
      value: d.copied,
    }));
    const tested = c.req.query("alert");
    return c.html(renderPage(
      <Page title="Dashboard" viewer={adminViewer(s, "/admin")}>
        <h1>Dashboard</h1>
        <p>
          vmirror {VERSION}. {!config.source || !config.target
            ? (
              <strong class="bad">
                The mirror is idle: set the production store and the backup in{" "}
                <a href="/admin/settings">Settings</a>.
              </strong>
            )
            : `Mirroring ${subs.length} mailbox${subs.length === 1 ? "" : "es"}.`}
        </p>
        {tested && (
          <p role="status" class={tested === "sent" ? "good" : "bad"}>
            {tested === "sent"
              ? "The test alert was sent."
              : tested === "none"
              ? "No alert recipients or no mail relay are set (Settings → Alerts, Mail relay)."
              : "The test alert could not be sent: see the log."}
          </p>
        )}

        <section aria-labelledby="alerts-h">
          <h2 id="alerts-h">Alerts ({alerts.length})</h2>
          {alerts.length === 0
            ? <p class="good">✓ Nothing needs attention.</p>
            : (
              <ul class="alerts">
                {alerts.map((a) => (
                  <li key={a.key} class="bad">
                    ✗ {a.summary}{" "}
                    <span class="muted">
                      (since <When iso={a.since} />)
                    </span>
                  </li>
                ))}
              </ul>
            )}
          <form method="post" action="/admin/alerts/test">
            <input type="hidden" name="_csrf" value={s.csrf} />
            <button type="submit" class="quiet">Send a test alert</button>
          </form>
        </section>

        <section aria-labelledby="servers-h">
          <h2 id="servers-h">Servers</h2>
          {servers.length === 0 ? <p>No check has run yet.</p> : (
            <div class="table-wrap">
              <table aria-labelledby="servers-h">
                <thead>
                  <tr>
                    <th scope="col">Server</th>
                    <th scope="col">State</th>
                    <th scope="col">Checked</th>
                    <th scope="col">Latency</th>
                    <th scope="col">Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {servers.map((h) => (
                    <tr key={h.role}>
                      <th scope="row">
                        {ROLE_LABEL[h.role]}
                        <br />
                        <span class="muted">{h.name}</span>
                      </th>
                      <td class={h.up ? "good" : "bad"}>
                        {h.up ? "✓ up" : "✗ down"}
                        {!h.up && h.downSince && (
                          <>
                            {" "}since <When iso={h.downSince} />
                          </>
                        )}
                      </td>
                      <td>
                        <When iso={h.checkedAt} />
                      </td>
                      <td>{h.latencyMs === null ? "—" : `${Math.round(h.latencyMs)} ms`}</td>
                      <td class="detail">{h.detail}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>

        <section aria-labelledby="mb-h">
          <h2 id="mb-h">Mailboxes</h2>
          <ul class="tiles">
            <li>
              <strong>{ok}</strong> ok
            </li>
            <li class={failing ? "bad" : ""}>
              <strong>{failing}</strong> failing
            </li>
            <li>
              <strong>{never}</strong> not synced yet
            </li>
            <li>
              lag p50 <strong>{formatSeconds(lag.p50)}</strong>, p99{" "}
              <strong>{formatSeconds(lag.p99)}</strong>{" "}
              <span class="muted">({lag.samples} recent copies)</span>
            </li>
          </ul>
          <p>
            <a href="/admin/subscriptions">All mailboxes</a> ·{" "}
            <a href="/admin/jobs">Sync now or restore</a>
          </p>
        </section>

        <section aria-labelledby="charts-h">
          <h2 id="charts-h">Messages mirrored</h2>
          <BarChart
            id="per-hour"
            title="Per hour, last 24 hours"
            points={hourPoints}
            unit="messages"
            labelEvery={3}
          />
          <BarChart
            id="per-day"
            title="Per day, last 30 days"
            points={dayPoints}
            unit="messages"
            labelEvery={5}
          />
        </section>

        <section aria-labelledby="err-h">
          <h2 id="err-h">Recent errors</h2>
          {failing === 0 ? <p>None.</p> : (
            <ul>
              {groupErrors(current).map((g, i) => (
                <li key={i}>
                  <strong>{g.mailboxes.length}</strong>{" "}
                  mailbox{g.mailboxes.length === 1 ? "" : "es"}
                  {g.server ? ` on ${g.server}` : ""}
                  {g.operation ? ` (${g.operation})` : ""}: {g.cause}{" "}
                  <span class="muted">
                    — {g.mailboxes.slice(0, 10).map((m, j) => (
                      <span key={m}>
                        {j ? ", " : ""}
                        <a href={`/admin/subscriptions/${encodeURIComponent(m)}`}>{m}</a>
                      </span>
                    ))}
                    {g.mailboxes.length > 10 ? ` and ${g.mailboxes.length - 10} more` : ""}
                  </span>
                </li>
              ))}
            </ul>
          )}
          {held.length > 0 && (
            <p class="bad">
              Deletions held back by the mass-deletion guard in {held.length}{" "}
              mailbox{held.length === 1 ? "" : "es"}: {held.map((h) => h.mailbox).join(", ")}{" "}
              (release them with <code>vmirror release-deletions</code>).
            </p>
          )}
        </section>

        <section aria-labelledby="disk-h">
          <h2 id="disk-h">Disk</h2>
          <ul>
            {free.map((d) => (
              <li key={d.path}>
                {d.label} (<code>{d.path}</code>): {d.df
                  ? (
                    <span class={d.df.percent < config.alerts.diskFreePercent ? "bad" : ""}>
                      {formatBytes(d.df.free)} free of {formatBytes(d.df.total)}{" "}
                      ({d.df.percent.toFixed(0)} %)
                    </span>
                  )
                  : "cannot be read"}
              </li>
            ))}
          </ul>
        </section>
      </Page>,
    ));
  });

  app.post("/alerts/test", admin, csrfForm(deps, "session"), async (c) => {
    const config = deps.config;
    let outcome = "none";
    if (config.smtp && config.alerts.to.length) {
      try {
        await sendTestAlert(config);
        outcome = "sent";
      } catch (e) {
        log("error", `Test alert failed: ${redact((e as Error).message)}`);
        outcome = "failed";
      }
    }
    await auditEvent(c, deps, {
      actor: actorOf(c.get("user")),
      action: "alert-test",
      detail: { outcome, to: config.alerts.to },
    });
    return c.redirect(`/admin?alert=${outcome}`, 303);
  });
  return app;
}

function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 10 || i === 0 ? 0 : 1)} ${units[i]}`;
}
