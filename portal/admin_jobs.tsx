/**
 * Sync now, directory sync and restore in the admin console (mounted at /admin). The forms
 * start jobs (engine/jobs); a job's page shows its progress, reloading itself every 2 seconds
 * while it runs, so a second browser can watch too. Directory sync and restore first run as a
 * dry run: their page lists what would change, with a form that confirms it.
 * @module
 */
import { type Context, Hono } from "hono";
import type { Config } from "../engine/config/mod.ts";
import type { DirectoryReport } from "../engine/directory/mod.ts";
import {
  type Job,
  jobRegistry,
  type JobRequest,
  type ParamError,
  parseRestoreParams,
  parseSyncParams,
  splitMailboxes,
  startJob,
} from "../engine/jobs/mod.ts";
import type { SyncSummary } from "../engine/mirror/mod.ts";
import type { RestoreItem, RestoreReport } from "../engine/restore/mod.ts";
import {
  actorOf,
  type FormEnv,
  type PortalDeps,
  type PortalEnv,
  type SignedInEnv,
} from "./context.ts";
import { csrfForm, requireRole } from "./middleware.ts";
import { adminViewer } from "./admin_nav.ts";
import { Page, renderPage, type Viewer } from "./layout.tsx";
import { jobUrl } from "./api_jobs.ts";
import { currentTimeZone, When } from "./time.tsx";

const HERE = "/admin/jobs";

// A dry run's page is wanted with its answer: the form waits this long before the redirect.
const PREVIEW_WAIT_MS = 60_000;

// Subjects of messages a restore lists are read from the mirror for at most this many.
const MAX_SUBJECTS = 100;

/** Sync now, directory sync and restore pages (mounted at /admin). */
export function jobRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  const admin = requireRole("admin");
  const registry = () => jobRegistry(deps.state);

  app.get("/jobs", admin, async (c) => {
    const s = c.get("user");
    const prefill = (c.req.queries("mailbox") ?? []).flatMap(splitMailboxes).join(" ");
    return c.html(renderPage(
      <JobsPage
        viewer={adminViewer(s, HERE)}
        csrf={s.csrf}
        config={deps.config}
        jobs={await registry().list(30)}
        draft={{ mailboxes: prefill }}
      />,
    ));
  });

  app.post("/jobs/sync", admin, csrfForm(deps, "session"), async (c) => {
    const form = c.get("form");
    const mailboxes = form.scope === "all" ? [] : splitMailboxes(form.mailboxes ?? "");
    const errors: ParamError[] = [];
    if (form.scope !== "all" && !mailboxes.length) {
      errors.push({ path: "mailboxes", message: "Name at least one mailbox" });
    }
    const p = parseSyncParams({ mailboxes });
    if (!p.ok) errors.push(...p.errors);
    return await started(c, errors.length ? errors : { kind: "sync", params: { mailboxes } }, {
      form,
    });
  });

  app.post("/jobs/directory-sync", admin, csrfForm(deps, "session"), async (c) => {
    const dryRun = c.get("form").confirm !== "1";
    return await started(c, { kind: "directory-sync", params: { dryRun } }, {
      form: c.get("form"),
      preview: dryRun,
    });
  });

  app.post("/jobs/restore", admin, csrfForm(deps, "session"), async (c) => {
    const form = c.get("form");
    const dryRun = form.confirm !== "1";
    const folders = Object.entries(form).filter(([k]) => k.startsWith("folder:")).map(([, v]) => v);
    const errors: ParamError[] = [];
    if (!folders.length) errors.push({ path: "folders", message: "Choose at least one folder" });
    const p = parseRestoreParams({
      mailbox: (form.mailbox ?? "").trim(),
      from: form.from || undefined,
      since: form.since || undefined,
      folders,
      // Only from a preview's confirm form (the API can narrow a restore to UIDs).
      uids: form.uids ? form.uids.split(",").map(Number) : undefined,
      includeDeleted: form.includeDeleted === "1" || undefined,
      dryRun,
    }, { timeZone: deps.config.timeZone });
    if (!p.ok) errors.push(...p.errors);
    return await started(
      c,
      errors.length || !p.ok ? errors : { kind: "restore", params: p.value },
      {
        form,
        preview: dryRun,
      },
    );
  });

  app.get("/jobs/:id", admin, async (c) => {
    const s = c.get("user");
    const job = await registry().get(c.req.param("id"));
    if (!job) return c.notFound();
    const subjects = job.kind === "restore" && job.result
      ? await readSubjects(deps, job.result as RestoreReport)
      : new Map<string, MessageLabel>();
    return c.html(renderPage(
      <JobPage
        job={job}
        viewer={adminViewer(s, HERE)}
        csrf={s.csrf}
        subjects={subjects}
      />,
    ));
  });

  // Starts the job (or shows why not) and goes to its page; a preview waits for its answer.
  const started = async (
    c: Context<PortalEnv & SignedInEnv & FormEnv>,
    request: JobRequest | ParamError[],
    opts: { form: Record<string, string>; preview?: boolean },
  ): Promise<Response> => {
    const s = c.get("user");
    const page = async (errors: ParamError[], status: 400 | 409, running?: Job) =>
      c.html(
        renderPage(
          <JobsPage
            viewer={adminViewer(s, HERE)}
            csrf={s.csrf}
            config={deps.config}
            jobs={await registry().list(30)}
            draft={opts.form}
            errors={errors}
            running={running}
          />,
        ),
        status,
      );
    if (Array.isArray(request)) return await page(request, 400);
    const out = await startJob(request, {
      config: deps.config,
      state: deps.state,
      actor: actorOf(s),
      from: c.get("from"),
    });
    if (!out.ok) {
      return out.status === 400
        ? await page(out.errors, 400)
        : await page([{ path: "", message: out.error }], 409, out.running);
    }
    if (opts.preview) await registry().wait(out.job.id, PREVIEW_WAIT_MS);
    return c.redirect(`${HERE}/${out.job.id}`, 303);
  };

  return app;
}

// ---------------------------------------------------------------------------------------------
// The jobs page: the three forms and the recent jobs

interface JobsPageProps {
  viewer: Viewer;
  csrf: string;
  config: Config;
  jobs: Job[];
  draft?: Record<string, string>;
  errors?: ParamError[];
  running?: Job;
}

function JobsPage(p: JobsPageProps) {
  const d = p.draft ?? {};
  const c = p.config;
  const mirrorReady = !!(c.source && c.target);
  const folders = c.source?.folders ?? [];
  const chosen = Object.entries(d).filter(([k]) => k.startsWith("folder:")).map(([, v]) => v);
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: currentTimeZone() }).format(
    new Date(),
  );
  const from = c.target?.type === "files" ? "files" : "backup";
  return (
    <Page title="Sync & restore" viewer={p.viewer}>
      <h1>Sync &amp; restore</h1>
      {p.errors?.length
        ? (
          <div class="error" role="alert">
            <ul>
              {p.errors.map((e) => <li key={`${e.path}:${e.message}`}>{errorText(e)}</li>)}
            </ul>
            {p.running && (
              <p>
                <a href={`${HERE}/${p.running.id}`}>Watch the running job</a>
              </p>
            )}
          </div>
        )
        : null}
      {!mirrorReady && (
        <p class="note">
          Sync and restore need the production message store and the backup:{" "}
          <a href="/admin/settings">set them up</a>.
        </p>
      )}

      <section class="jobs-form" aria-labelledby="h-sync">
        <h2 id="h-sync">Sync now</h2>
        <p>
          Mirrors now instead of at the next pass (every {c.schedule.syncSeconds}{" "}
          s). A mailbox being mirrored at the moment is synced right after that pass.
        </p>
        <form method="post" action={`${HERE}/sync`}>
          <input type="hidden" name="_csrf" value={p.csrf} />
          <input type="hidden" name="scope" value="all" />
          <button type="submit" disabled={!mirrorReady}>Sync all subscribed mailboxes</button>
        </form>
        <form method="post" action={`${HERE}/sync`} class="stack">
          <input type="hidden" name="_csrf" value={p.csrf} />
          <label for="sync-mailboxes">Mailboxes</label>
          <input
            type="text"
            id="sync-mailboxes"
            name="mailboxes"
            value={d.mailboxes ?? ""}
            aria-describedby="sync-mailboxes-hint"
          />
          <span class="hint" id="sync-mailboxes-hint">
            Subscribed mailbox numbers, separated by spaces or commas.
          </span>
          <button type="submit" disabled={!mirrorReady}>Sync these mailboxes</button>
        </form>
      </section>

      <section class="jobs-form" aria-labelledby="h-directory">
        <h2 id="h-directory">Directory sync</h2>
        {c.ldap
          ? (
            <form method="post" action={`${HERE}/directory-sync`}>
              <p>
                Reads the directory and shows what would change — subscriptions, names, PINs —
                before anything changes.
              </p>
              <input type="hidden" name="_csrf" value={p.csrf} />
              <button type="submit">Preview directory sync</button>
            </form>
          )
          : (
            <p class="note">
              No directory is configured: <a href="/admin/settings/ldap">set one up</a>.
            </p>
          )}
      </section>

      <section class="jobs-form" aria-labelledby="h-restore">
        <h2 id="h-restore">Restore a mailbox</h2>
        <p>
          Puts messages from the mirror back into the production mailbox. Messages production still
          has are left alone. A mailbox no longer subscribed can be restored too.
        </p>
        <form method="post" action={`${HERE}/restore`} class="stack">
          <input type="hidden" name="_csrf" value={p.csrf} />
          <label for="restore-mailbox">Mailbox</label>
          <input
            type="text"
            id="restore-mailbox"
            name="mailbox"
            required
            value={d.mailbox ?? ""}
          />
          <label for="restore-from">Restore from</label>
          <select id="restore-from" name="from">
            <option
              value="backup"
              selected={from === "backup"}
              disabled={c.target?.type === "files"}
            >
              The backup MSS{c.target?.type === "imap"
                ? ` "${c.target.name}"`
                : " (not configured)"}
            </option>
            <option value="files" selected={from === "files"} disabled={c.target?.type !== "files"}>
              The file store{c.target?.type === "files"
                ? ` "${c.target.name}"`
                : " (not configured)"}
            </option>
          </select>
          <label for="restore-since">Arrived on or after (optional)</label>
          <input
            type="date"
            id="restore-since"
            name="since"
            max={today}
            value={d.since ?? ""}
          />
          <fieldset class="group">
            <legend>Folders</legend>
            {folders.map((f, i) => (
              <div class="check" key={f}>
                <input
                  type="checkbox"
                  id={`restore-folder-${i}`}
                  name={`folder:${i}`}
                  value={f}
                  checked={p.errors ? chosen.includes(f) : true}
                />
                <label for={`restore-folder-${i}`}>{f}</label>
              </div>
            ))}
          </fieldset>
          <button type="submit" disabled={!mirrorReady}>Preview restore</button>
        </form>
      </section>

      <section aria-labelledby="h-jobs">
        <h2 id="h-jobs">Recent jobs</h2>
        <JobTable jobs={p.jobs} />
      </section>
    </Page>
  );
}

function errorText(e: ParamError): string {
  const field = e.path.split("/")[0];
  const label: Record<string, string> = {
    mailboxes: "Mailboxes",
    mailbox: "Mailbox",
    from: "Restore from",
    since: "Date",
    folders: "Folders",
  };
  return label[field] ? `${label[field]}: ${e.message}` : e.message;
}

function JobTable(p: { jobs: Job[] }) {
  if (!p.jobs.length) return <p>No jobs yet.</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Job</th>
            <th scope="col">By</th>
            <th scope="col">State</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {p.jobs.map((j) => (
            <tr key={j.id}>
              <td>
                <a href={`${HERE}/${j.id}`}>
                  <When iso={j.startedAt} />
                </a>
              </td>
              <td>{jobTitle(j)}</td>
              <td>{j.startedBy}</td>
              <td>
                <StateText job={j} />
              </td>
              <td class="detail">{j.summary ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function StateText(p: { job: Job }) {
  const s = p.job.state;
  return <span class={s === "failed" ? "bad" : undefined}>{STATE_TEXT[s]}</span>;
}

const STATE_TEXT = { running: "running", done: "done", failed: "failed" } as const;

/** What a job is, in words: "Sync of 4001", "Directory sync (preview)". */
function jobTitle(j: Job): string {
  const dry = j.params.dryRun === true ? " (preview)" : "";
  if (j.kind === "sync") {
    const m = (j.params.mailboxes as string[] | undefined) ?? [];
    if (!m.length) return "Sync of all subscribed mailboxes";
    return `Sync of ${
      m.length > 3 ? `${m.slice(0, 3).join(", ")} and ${m.length - 3} more` : m.join(", ")
    }`;
  }
  if (j.kind === "directory-sync") return `Directory sync${dry}`;
  return `Restore of mailbox ${j.params.mailbox}${dry}`;
}

// ---------------------------------------------------------------------------------------------
// One job's page

interface MessageLabel {
  subject: string | null;
  sender: string | null;
}

interface JobPageProps {
  job: Job;
  viewer: Viewer;
  csrf: string;
  subjects: Map<string, MessageLabel>;
}

function JobPage(p: JobPageProps) {
  const j = p.job;
  const running = j.state === "running";
  const first = j.lines - j.progress.length + 1;
  return (
    <Page title={jobTitle(j)} viewer={p.viewer} refreshSeconds={running ? 2 : undefined}>
      <p class="crumbs">
        <a href={HERE}>Sync &amp; restore</a>
      </p>
      <h1>{jobTitle(j)}</h1>
      <p
        role="status"
        class={j.state === "failed" ? "error" : j.state === "done" ? "ok" : "note"}
      >
        {running
          ? "Running. This page reloads every 2 seconds."
          : j.state === "done"
          ? `Done: ${j.summary ?? ""}`
          : `Failed: ${j.summary ?? j.error ?? "see the progress below"}`}
      </p>
      <dl class="facts">
        <dt>Started</dt>
        <dd>
          <When iso={j.startedAt} /> by {j.startedBy}
        </dd>
        {j.finishedAt && (
          <>
            <dt>Finished</dt>
            <dd>
              <When iso={j.finishedAt} />
            </dd>
          </>
        )}
        <dt>Job</dt>
        <dd>
          <code>{j.id}</code> — also at <a href={jobUrl(j.id)}>{jobUrl(j.id)}</a> and, as a stream,
          {" "}
          <code>{`${jobUrl(j.id)}/events`}</code>
        </dd>
      </dl>
      {j.kind === "sync" && j.result !== undefined && <SyncResult s={j.result as SyncSummary} />}
      {j.kind === "directory-sync" && j.result !== undefined && (
        <DirectoryResult job={j} r={j.result as DirectoryReport} csrf={p.csrf} />
      )}
      {j.kind === "restore" && j.result !== undefined && (
        <RestoreResult job={j} r={j.result as RestoreReport} csrf={p.csrf} subjects={p.subjects} />
      )}
      <details class="progress" open={running || j.result === undefined}>
        <summary>Progress ({j.lines} {j.lines === 1 ? "line" : "lines"})</summary>
        {j.progress.length
          ? (
            <ol class="progress" start={first}>
              {j.progress.map((line, i) => <li key={first + i}>{line}</li>)}
            </ol>
          )
          : <p>Nothing yet.</p>}
      </details>
    </Page>
  );
}

function Truncated(p: { t?: Record<string, number> }) {
  if (!p.t) return null;
  const left = Object.entries(p.t).map(([k, n]) => `${n} ${k}`).join(", ");
  return <p class="hint">The stored report is shortened: {left} not listed.</p>;
}

function SyncResult(p: { s: SyncSummary & { truncated?: Record<string, number> } }) {
  const s = p.s;
  return (
    <section aria-labelledby="h-result">
      <h2 id="h-result">Mailboxes</h2>
      {s.serverErrors.map((e) => (
        <p class="error" key={e.server}>
          {e.message} ({e.mailboxes} mailbox(es) not synced)
        </p>
      ))}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Mailbox</th>
              <th scope="col">Result</th>
              <th scope="col">Copied</th>
              <th scope="col">Deleted</th>
              <th scope="col">Flags updated</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {s.mailboxes.map((m) => (
              <tr key={m.mailbox}>
                <td>
                  <a href={`/admin/subscriptions/${encodeURIComponent(m.mailbox)}`}>{m.mailbox}</a>
                </td>
                <td class={m.ok ? undefined : "bad"}>{m.ok ? "ok" : "failed"}</td>
                <td>{m.copied}</td>
                <td>{m.deleted}</td>
                <td>{m.flagsUpdated}</td>
                <td class="detail">
                  {[
                    m.error?.message,
                    m.held ? `${m.held} deletion(s) held` : "",
                    ...m.warnings,
                  ].filter(Boolean).join("; ")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Truncated t={s.truncated} />
    </section>
  );
}

function DirectoryResult(p: { job: Job; r: DirectoryReport; csrf: string }) {
  const r = p.r;
  const s = r.subscriptions;
  const dry = r.dryRun;
  const will = (now: string, later: string) => (dry ? later : now);
  const changes = s.subscribe.length + s.orphan.length + s.unorphan.length +
    s.unsubscribe.length + r.backup.changes.length;
  return (
    <section aria-labelledby="h-plan">
      <h2 id="h-plan">{dry ? "What would change" : "What changed"}</h2>
      {r.error && <p class="error">{r.error.message}</p>}
      {r.backup.error && <p class="error">Backup directory: {r.backup.error.message}</p>}
      <p>
        Production directory: {r.source.entries} entries, {r.counts.entries} subscribers.
        {r.target ? ` Backup directory: ${r.target.entries} entries.` : ""}
      </p>
      <PlanList
        title={will("Subscribed", "Would be subscribed")}
        items={s.subscribe}
      />
      <PlanList
        title={will("Orphaned (no longer in the directory)", "Would be orphaned")}
        items={s.orphan.map((o) => `${o.mailbox}: ${o.reason}`)}
      />
      <PlanList title={will("Back in the directory", "Back in the directory")} items={s.unorphan} />
      <PlanList
        title={will("Unsubscribed (messages kept)", "Would be unsubscribed (messages kept)")}
        items={s.unsubscribe.map((u) => `${u.mailbox}, orphaned since ${u.orphanedSince}`)}
      />
      <PlanList
        title="In their grace period"
        items={s.pending.map((x) => `${x.mailbox}: unsubscribed after ${x.unsubscribeAfter}`)}
      />
      <PlanList
        title={will("Backup directory changes", "Backup directory changes to make")}
        items={r.backup.changes.map((ch) => {
          const failed = ch.status === "failed" ? `FAILED (${ch.error ?? ""}) ` : "";
          return ch.op === "add"
            ? `${failed}add "${ch.dn}" (${ch.attributes?.join(", ") ?? ""})`
            : `${failed}modify "${ch.dn}": ${ch.changes?.map((x) => x.detail).join("; ") ?? ""}`;
        })}
      />
      <PlanList
        title="Missing on the backup, not created (provisioning is off)"
        items={r.backup.missing.map((m) => m.dn)}
      />
      <PlanList title="Warnings" items={r.warnings} />
      <Truncated t={r.truncated} />
      {dry && p.job.state !== "running" && !r.error && (
        <form method="post" action={`${HERE}/directory-sync`} class="confirm">
          <input type="hidden" name="_csrf" value={p.csrf} />
          <input type="hidden" name="confirm" value="1" />
          <p>
            {changes
              ? "Apply these changes now? The directory is read again, so changes made since this preview count too."
              : "Nothing would change. Run the directory sync anyway?"}
          </p>
          <button type="submit">Confirm directory sync</button>
        </form>
      )}
    </section>
  );
}

function PlanList(p: { title: string; items: string[] }) {
  if (!p.items.length) return null;
  return (
    <>
      <h3>
        {p.title} ({p.items.length})
      </h3>
      <ul class="changes">
        {p.items.map((x, i) => <li key={i}>{x}</li>)}
      </ul>
    </>
  );
}

function RestoreResult(
  p: { job: Job; r: RestoreReport; csrf: string; subjects: Map<string, MessageLabel> },
) {
  const r = p.r as RestoreReport & { truncated?: Record<string, number> };
  const dry = r.dryRun;
  const going = r.items.filter((i) => i.outcome !== "skipped");
  const skipped = Object.entries(r.skipped);
  return (
    <section aria-labelledby="h-restore-list">
      <h2 id="h-restore-list">
        {dry ? "What would go back" : "What went back"} to production "{r.production}"
      </h2>
      <p>
        From {r.from === "files" ? "the file store" : "the backup"} "{r.mirror}"; folders read:{" "}
        {r.folders.length ? r.folders.join(", ") : "none"}
        {r.since
          ? (
            <>
              ; arrived on or after <When iso={r.since} />
            </>
          )
          : null}.
      </p>
      {r.createdFolders.length > 0 && (
        <p>
          {dry ? "Folders to create" : "Folders created"}: {r.createdFolders.join(", ")}
        </p>
      )}
      {going.length
        ? (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Folder</th>
                  <th scope="col">Arrived</th>
                  <th scope="col">Subject</th>
                  <th scope="col">From</th>
                  <th scope="col">Result</th>
                </tr>
              </thead>
              <tbody>
                {going.map((i) => {
                  const label = p.subjects.get(itemKey(i));
                  return (
                    <tr key={itemKey(i)}>
                      <td>{i.folder}</td>
                      <td>
                        <When iso={i.internalDate} />
                      </td>
                      <td>{label?.subject ?? (label ? "(no subject)" : i.messageId ?? "")}</td>
                      <td>{label?.sender ?? ""}</td>
                      <td class={i.outcome === "failed" ? "bad" : undefined}>
                        {OUTCOME_TEXT[i.outcome]}
                        {i.detail ? `: ${i.detail}` : ""}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )
        : <p>{dry ? "Nothing to restore." : "Nothing was restored."}</p>}
      {skipped.length > 0 && (
        <p>
          Left out: {skipped.map(([k, n]) => `${SKIP_TEXT[k] ?? k} ${n}`).join(", ")}.
        </p>
      )}
      {r.warnings.length > 0 && (
        <ul class="changes">
          {r.warnings.map((w, i) => <li key={i}>Warning: {w}</li>)}
        </ul>
      )}
      <Truncated t={r.truncated} />
      {dry && r.appended > 0 && <ConfirmRestore job={p.job} csrf={p.csrf} count={r.appended} />}
    </section>
  );
}

function ConfirmRestore(p: { job: Job; csrf: string; count: number }) {
  const params = p.job.params as {
    mailbox: string;
    from?: string;
    since?: string;
    folders?: string[];
    uids?: number[];
    includeDeleted?: boolean;
  };
  return (
    <form method="post" action={`${HERE}/restore`} class="confirm">
      <input type="hidden" name="_csrf" value={p.csrf} />
      <input type="hidden" name="confirm" value="1" />
      <input type="hidden" name="mailbox" value={params.mailbox} />
      {params.from && <input type="hidden" name="from" value={params.from} />}
      {params.since && <input type="hidden" name="since" value={params.since} />}
      {params.uids && <input type="hidden" name="uids" value={params.uids.join(",")} />}
      {params.includeDeleted && <input type="hidden" name="includeDeleted" value="1" />}
      {(params.folders ?? []).map((f, i) => (
        <input key={i} type="hidden" name={`folder:${i}`} value={f} />
      ))}
      <p>
        Put {p.count} {p.count === 1 ? "message" : "messages"} back into mailbox {params.mailbox}
        {" "}
        on production?
      </p>
      <button type="submit">Confirm restore</button>
    </form>
  );
}

const OUTCOME_TEXT: Record<RestoreItem["outcome"], string> = {
  "would-append": "would go back",
  appended: "restored",
  skipped: "left out",
  failed: "failed",
};

const SKIP_TEXT: Record<string, string> = {
  "on-production": "already on production",
  "duplicate-on-mirror": "duplicate on the mirror",
  "uid-not-selected": "other UIDs",
  "before-since": "arrived before the date",
  "deleted-on-mirror": "in the deleted area",
  "original-missing": "original missing",
  "never-mirrored": "never mirrored",
};

function itemKey(i: RestoreItem): string {
  return `${i.folder}\u0000${i.mirrorUid}`;
}

/**
 * Subjects and senders of the messages a restore lists, read from the mirror (the portal's
 * reader, whose descriptions are cached); a mirror that does not answer leaves them out.
 */
async function readSubjects(
  deps: PortalDeps,
  r: RestoreReport,
): Promise<Map<string, MessageLabel>> {
  const out = new Map<string, MessageLabel>();
  const wanted = r.items.filter((i) => i.outcome !== "skipped").slice(0, MAX_SUBJECTS);
  if (!wanted.length || !deps.config.target) return out;
  let reader;
  try {
    reader = deps.openReader(r.mailbox);
  } catch {
    return out;
  }
  try {
    const validity = new Map<string, number>();
    for (const i of wanted) {
      if (!validity.has(i.folder)) {
        validity.set(i.folder, (await reader.list(i.folder, { offset: 0, limit: 0 })).uidValidity);
      }
      const uidValidity = validity.get(i.folder)!;
      if (!uidValidity) continue;
      const s = await reader.get({ folder: i.folder, uidValidity, uid: i.mirrorUid });
      if (s) out.set(itemKey(i), { subject: s.subject, sender: s.sender });
    }
  } catch {
    // Subjects are a courtesy: the list stands without them.
  } finally {
    await reader.close().catch(() => {});
  }
  return out;
}
