/**
 * The console's upgrade page (mounted at /admin): the running release and the previous one
 * kept, the upgrade waiting or under way with its progress (the page reloads itself while it
 * runs; there is no client script), how the last one ended, an upload form for a new release
 * with its signed SHA256SUMS or a SHA-256, a "Roll back" button, and the recent upgrades and
 * rollbacks from the audit trail. The switch itself runs outside this process (see
 * engine/upgrade/staged_run.ts), so after it the page is served by the new release.
 * @module
 */
import { type Context, Hono } from "hono";
import type { AuditEntry } from "../engine/state/mod.ts";
import {
  type ConsoleUpgrade,
  mib,
  UpgradeRequestError,
  type UpgradeView,
  upgradeView,
} from "../engine/upgrade/mod.ts";
import { actorOf, type PortalDeps, type PortalEnv, type SignedInEnv } from "./context.ts";
import { csrfForm, requireRole } from "./middleware.ts";
import { adminViewer } from "./admin_nav.ts";
import { Page, renderPage, type Viewer } from "./layout.tsx";
import { When } from "./time.tsx";
import { UPGRADE_API, UPGRADE_PAGE } from "./api_upgrade.ts";
import {
  askRollback,
  receiveUpgrade,
  upgradeHistory,
  upgradeOf,
  withdrawRequest,
} from "./upgrade_actions.ts";

const HERE = UPGRADE_PAGE;

/** The upgrade page's routes (mounted at /admin). */
export function upgradeRoutes(deps: PortalDeps, cu: ConsoleUpgrade | undefined): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  const admin = requireRole("admin");

  const page = async <E extends SignedInEnv>(
    c: Context<E>,
    opts: { error?: string; done?: string; status?: 200 | 400 | 403 | 409 | 413 | 500 | 507 } = {},
  ) => {
    const s = c.get("user");
    const view = cu ? await upgradeView(cu) : null;
    return c.html(
      renderPage(
        <UpgradePage
          viewer={adminViewer(s, HERE)}
          csrf={s.csrf}
          view={view}
          history={await upgradeHistory(deps)}
          error={opts.error}
          done={opts.done}
        />,
      ),
      opts.status ?? 200,
    );
  };

  app.get("/upgrade", admin, async (c) => {
    const done = DONE_TEXT[c.req.query("done") ?? ""];
    return await page(c, { done });
  });

  // The upload: read as it arrives (csrfForm would hold the whole body); its _csrf field comes
  // first in the form, so a forged upload is refused before any of it is written.
  app.post("/upgrade", admin, async (c) => {
    try {
      await receiveUpgrade(c, deps, upgradeOf(cu), {
        actor: actorOf(c.get("user")),
        csrf: c.get("user").csrf,
      });
    } catch (e) {
      if (!(e instanceof UpgradeRequestError)) throw e;
      return await page(c, { error: e.message, status: e.status });
    }
    return c.redirect(`${HERE}?done=upgrade`, 303);
  });

  app.post("/upgrade/rollback", admin, csrfForm(deps, "session"), async (c) => {
    try {
      await askRollback(c, deps, upgradeOf(cu), actorOf(c.get("user")));
    } catch (e) {
      if (!(e instanceof UpgradeRequestError)) throw e;
      return await page(c, { error: e.message, status: e.status });
    }
    return c.redirect(`${HERE}?done=rollback`, 303);
  });

  app.post("/upgrade/withdraw", admin, csrfForm(deps, "session"), async (c) => {
    const req = await withdrawRequest(c, deps, upgradeOf(cu), actorOf(c.get("user")));
    return c.redirect(`${HERE}?done=${req ? "withdrawn" : "gone"}`, 303);
  });

  return app;
}

const DONE_TEXT: Record<string, string> = {
  upgrade: "The release is verified and staged; the upgrade starts now.",
  rollback: "The rollback is requested; it starts now.",
  withdrawn: "The request is withdrawn and its upload removed.",
  gone: "No request was waiting: it had been taken already.",
};

interface PageProps {
  viewer: Viewer;
  csrf: string;
  view: UpgradeView | null;
  history: AuditEntry[];
  error?: string;
  done?: string;
}

function UpgradePage(p: PageProps) {
  const v = p.view;
  const run = v?.upgrade ?? null;
  const running = run?.state === "running" && !run.stale;
  const busy = !!v?.staged || running;
  const usable = !!v?.installed;
  return (
    <Page title="Upgrade" viewer={p.viewer} refreshSeconds={busy ? 2 : undefined}>
      <h1>Upgrade</h1>
      {p.error && <p class="error" role="alert">{p.error}</p>}
      {p.done && !p.error && <p class="ok" role="status">{p.done}</p>}
      {!v ? <p class="note">Upgrades are made from the console of `vmirror serve` only.</p> : (
        <>
          <section aria-labelledby="h-release">
            <h2 id="h-release">This release</h2>
            <dl class="facts">
              <dt>Version</dt>
              <dd>
                <strong id="running-version">{v.running.version}</strong>
              </dd>
              <dt>Commit</dt>
              <dd>
                <code>{v.running.commit}</code>
              </dd>
              <dt>Built</dt>
              <dd>
                <When iso={v.running.buildDate} unknown="not a release build" />
              </dd>
              <dt>Target</dt>
              <dd>{v.running.target ?? "none (run from source)"}</dd>
              <dt>Deno</dt>
              <dd>{v.running.deno}</dd>
              <dt>State schema</dt>
              <dd>{v.running.stateSchema}</dd>
              <dt>Release key</dt>
              <dd>{v.running.releaseKey}</dd>
              <dt>Previous release kept</dt>
              <dd id="previous-version">
                {v.previous
                  ? (
                    <>
                      {v.previous.version} <span class="hint">({v.previous.dir})</span>
                    </>
                  )
                  : "none"}
              </dd>
              <dt>Installed in</dt>
              <dd>{v.installed ? <code>{v.installed.prefix}</code> : "not installed"}</dd>
              {v.installed && (
                <>
                  <dt>Carried out by</dt>
                  <dd>{v.installed.runner}</dd>
                </>
              )}
            </dl>
            {v.unavailable && (
              <p class="note">
                Upgrades from the console need an installed release: {v.unavailable}.
              </p>
            )}
          </section>

          <RunSection view={v} csrf={p.csrf} running={running} />

          <section class="jobs-form" aria-labelledby="h-upload">
            <h2 id="h-upload">Upload a new release</h2>
            <p>
              The portable package (<code>vmirror-&lt;version&gt;-&lt;target&gt;.tar.gz</code> or
              {" "}
              <code>.zip</code>) or the executable, with the release's <code>SHA256SUMS</code> and
              {" "}
              <code>SHA256SUMS.sig</code>{" "}
              (signed by the release key), or the file's SHA-256. It is checked here before anything
              else happens (at most{" "}
              {mib(v.maxUploadBytes)}); then the service is stopped, switched, started and watched
              until a mirror pass succeeds — or put back as it was.
            </p>
            <form
              method="post"
              action={HERE}
              enctype="multipart/form-data"
              class="stack"
            >
              {/* First: the token is checked before the file is written. */}
              <input type="hidden" name="_csrf" value={p.csrf} />
              <label for="upgrade-file">Release file</label>
              <input type="file" id="upgrade-file" name="file" required />
              <label for="upgrade-sums">SHA256SUMS</label>
              <input type="file" id="upgrade-sums" name="sums" />
              <label for="upgrade-sig">SHA256SUMS.sig</label>
              <input type="file" id="upgrade-sig" name="sig" />
              <label for="upgrade-sha256">or the file's SHA-256</label>
              <input
                type="text"
                id="upgrade-sha256"
                name="sha256"
                pattern="[0-9a-fA-F]{64}"
                autocomplete="off"
                aria-describedby="upgrade-sha256-hint"
              />
              <span class="hint" id="upgrade-sha256-hint">
                64 hexadecimal digits, from a source you trust. The signature is the stronger check:
                use it when you have it.
              </span>
              <button type="submit" disabled={!usable || busy}>Upload and upgrade</button>
            </form>
          </section>

          <section class="jobs-form" aria-labelledby="h-rollback">
            <h2 id="h-rollback">Roll back</h2>
            {v.previous
              ? (
                <form method="post" action={`${HERE}/rollback`}>
                  <p>
                    Goes back to {v.previous.version}{" "}
                    the same careful way: self-test, state backup, switch, start, and the release
                    that serves now put back if it fails.
                  </p>
                  <input type="hidden" name="_csrf" value={p.csrf} />
                  <button type="submit" disabled={!usable || busy}>
                    Roll back to {v.previous.version}
                  </button>
                </form>
              )
              : <p>There is no previous release to go back to yet.</p>}
          </section>
        </>
      )}

      <section aria-labelledby="h-history">
        <h2 id="h-history">Recent upgrades and rollbacks</h2>
        <HistoryTable entries={p.history} />
        <p class="hint">
          As JSON: <a href={UPGRADE_API}>{UPGRADE_API}</a>. The whole trail is in the{" "}
          <a href="/admin/audit?action=upgrade*">audit log</a>.
        </p>
      </section>
    </Page>
  );
}

function RunSection(p: { view: UpgradeView; csrf: string; running: boolean }) {
  const { staged, upgrade: run, progress } = p.view;
  if (!staged && !run) return null;
  return (
    <section aria-labelledby="h-run">
      <h2 id="h-run">{staged || p.running ? "Under way" : "Last upgrade or rollback"}</h2>
      {staged && (
        <div class="note" role="status">
          <p id="upgrade-state">
            {staged.action === "upgrade"
              ? `Upgrade to ${staged.version ?? staged.file} requested`
              : `Rollback to ${staged.version} requested`} by {staged.requestedBy}{" "}
            <When iso={staged.requestedAt} />: waiting to be carried out. This page reloads every 2
            seconds.
          </p>
          <form method="post" action={`${HERE}/withdraw`}>
            <input type="hidden" name="_csrf" value={p.csrf} />
            <button type="submit" class="quiet">Withdraw the request</button>
          </form>
        </div>
      )}
      {run && !staged && <RunState run={run} running={p.running} />}
      {progress.length > 0 && (
        <details class="progress" open={p.running || run?.state !== "succeeded"}>
          <summary>Progress ({progress.length} lines)</summary>
          <ol class="progress">{progress.map((l, i) => <li key={i}>{l}</li>)}</ol>
        </details>
      )}
    </section>
  );
}

function RunState(p: { run: NonNullable<UpgradeView["upgrade"]>; running: boolean }) {
  const r = p.run;
  const what = r.action === "upgrade"
    ? `Upgrade ${r.from ?? ""} → ${r.to ?? "?"}`.replace("  ", " ")
    : `Rollback ${r.from ?? ""} → ${r.to ?? "?"}`.replace("  ", " ");
  if (p.running) {
    return (
      <p class="note" role="status" id="upgrade-state">
        {what}: running since <When iso={r.startedAt} /> (asked by{" "}
        {r.requestedBy}). The service restarts on the way: while it does, this page may not answer
        for a few seconds — reload it then.
      </p>
    );
  }
  if (r.stale) {
    return (
      <p class="error" role="alert" id="upgrade-state">
        {what}: started{" "}
        <When iso={r.startedAt} />, but its process ended without saying how (see the progress below
        and the server's log).
      </p>
    );
  }
  const cls = r.state === "succeeded" ? "ok" : "error";
  const text = r.state === "succeeded"
    ? `succeeded${r.pass ? `: a mirror pass of ${r.pass.mailboxes} mailbox(es) went through` : ""}`
    : r.state === "rolled-back"
    ? `failed at "${r.stage}": ${r.reason} — ${r.from} serves again`
    : r.state === "refused"
    ? `not done: ${r.reason}`
    : `FAILED at "${r.stage ?? "?"}": ${r.reason} — the previous release did not come back`;
  return (
    <p class={cls} role="status" id="upgrade-state">
      {what} <When iso={r.finishedAt} />: {text}
    </p>
  );
}

function HistoryTable(p: { entries: AuditEntry[] }) {
  if (!p.entries.length) return <p>No upgrades or rollbacks yet.</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">What</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {p.entries.map((e) => {
            const [what, outcome] = historyText(e);
            return (
              <tr key={`${e.at}-${e.action}`}>
                <td>
                  <When iso={e.at} />
                </td>
                <td>{e.actor}</td>
                <td>{what}</td>
                <td class="detail">{outcome}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** An upgrade or rollback audit entry in words: what, and how it ended. */
export function historyText(e: AuditEntry): [string, string] {
  const d = (e.detail ?? {}) as Record<string, unknown>;
  const s = (k: string) => (d[k] === undefined || d[k] === null ? "?" : String(d[k]));
  const move = `${s("from")} → ${s("to")}`;
  switch (e.action) {
    case "upgrade-requested":
      return [
        `Upload of ${s("file")}`,
        `verified by ${s("verifiedBy")}; upgrade ${move} requested`,
      ];
    case "upgrade-refused":
      return [`Upload${d.file ? ` of ${s("file")}` : ""}`, `refused: ${s("reason")}`];
    case "upgrade":
      return [`Upgrade ${move}`, "started: state backed up, service stopped"];
    case "upgrade-done":
      return [`Upgrade ${move}`, `succeeded${d.pass ? ", a mirror pass went through" : ""}`];
    case "upgrade-rolled-back":
      return [
        `Upgrade ${move}`,
        `failed at "${s("stage")}": ${s("reason")}; ${
          d.restored ? `${s("from")} serves again` : "the previous release did NOT come back"
        }`,
      ];
    case "rollback-requested":
      return [`Rollback ${move}`, "requested"];
    case "rollback-refused":
      return ["Rollback", `refused: ${s("reason")}`];
    case "rollback":
      return [`Rollback ${move}`, "started: state backed up, service stopped"];
    case "rollback-done":
      return [`Rollback ${move}`, "succeeded"];
    case "rollback-failed":
      return [
        `Rollback ${move}`,
        `failed at "${s("stage")}": ${s("reason")}; ${
          d.restored ? `${s("from")} serves again` : "the previous release did NOT come back"
        }`,
      ];
    case "upgrade-withdrawn":
    case "rollback-withdrawn":
      return [
        `${e.action.startsWith("upgrade") ? "Upgrade" : "Rollback"} to ${s("to")}`,
        "withdrawn before it started",
      ];
    default:
      return [e.action, JSON.stringify(d)];
  }
}
