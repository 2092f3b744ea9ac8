/**
 * The subscriptions pages (mounted at /admin): the list with search and paging, adding and
 * removing one or many (a pasted list or an uploaded CSV; bad entries reported by line), the
 * CSV export, and one page per mailbox — recent passes, counts on production (a live STATUS)
 * and on the mirror, lag, the last error, and the kept originals of over-length messages with
 * an audited download.
 * @module
 */
import { Hono } from "hono";
import { join } from "node:path";
import type { VNode } from "preact";
import type { Config } from "../engine/config/mod.ts";
import { ImapSession } from "../engine/imap/mod.ts";
import { originalPath, safeSegment } from "../engine/mirror/mod.ts";
import {
  countMirroredByFolder,
  getMailboxResults,
  getSubscription,
  listMailboxHistory,
  type MailboxResult,
  type MirroredCount,
  type Subscription,
} from "../engine/state/mod.ts";
import { isMailboxId, log, redact } from "../engine/support/mod.ts";
import { adminViewer } from "./admin_nav.ts";
import {
  allSubscriptionRows,
  changeSubscriptions,
  type RowPage,
  type SubscriptionChange,
  subscriptionRowPage,
} from "./api_subscriptions.ts";
import { actorOf, auditEvent, type PortalDeps, type PortalEnv } from "./context.ts";
import { Page, renderPage, type Viewer } from "./layout.tsx";
import { csrfForm, requireRole } from "./middleware.ts";
import {
  checkEntries,
  formatSeconds,
  type InvalidEntry,
  pageLinks,
  pageParam,
  parseMailboxCsv,
  parsePastedList,
  subscriptionsCsv,
} from "./subscriptions_view.ts";
import { When } from "./time.tsx";

const LIST = "/admin/subscriptions";
// How long the mailbox page waits for production's counts.
const PRODUCTION_TIMEOUT_MS = 5000;
const ORIGINAL_NAME = /^(\d{1,10})-(\d{1,10})\.eml$/;

/** The subscriptions pages (mounted at /admin). */
export function subscriptionRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  const admin = requireRole("admin");

  app.get("/subscriptions", admin, async (c) => {
    const q = (c.req.query("q") ?? "").trim();
    const list = await subscriptionRowPage(deps.state, {
      q,
      page: pageParam(c.req.query("page")),
      clamp: true,
    });
    const s = c.get("user");
    return c.html(renderPage(
      <ListPage viewer={adminViewer(s, LIST)} csrf={s.csrf} q={q} list={list} />,
    ));
  });

  app.post("/subscriptions", admin, csrfForm(deps, "session"), async (c) => {
    const s = c.get("user");
    const form = c.get("form");
    const op = form.op === "remove" ? "remove" : form.op === "add" ? "add" : null;
    // The form's text fields are read by csrfForm; the upload is in the same (cached) body.
    const file = (await c.req.parseBody())["csv"];
    const upload = file instanceof File && file.size > 0 ? file : null;
    let source: Source;
    let header: string | null = null;
    let entries;
    if (upload) {
      const csv = parseMailboxCsv(await upload.text());
      source = { kind: "file", name: upload.name };
      header = csv.header;
      entries = csv.entries;
    } else {
      source = { kind: "list" };
      entries = parsePastedList(form.mailboxes ?? "");
    }
    const problem = !op
      ? "Choose add or remove."
      : entries.length === 0
      ? (upload ? "The file holds no mailbox." : "Enter at least one mailbox, or upload a CSV.")
      : null;
    const change = problem || !op
      ? null
      : await changeSubscriptions(c, deps, op, checkEntries(entries));
    const list = await subscriptionRowPage(deps.state, { clamp: true });
    const failed = !!problem || (change!.invalid.length > 0 && change!.changed.length === 0 &&
      change!.unchanged.length === 0);
    return c.html(
      renderPage(
        <ListPage
          viewer={adminViewer(s, LIST)}
          csrf={s.csrf}
          q=""
          list={list}
          outcome={{ problem, change, source, header }}
          draft={upload || !failed ? undefined : form.mailboxes}
        />,
      ),
      failed ? 400 : 200,
    );
  });

  app.get("/subscriptions.csv", admin, async (c) => {
    const q = (c.req.query("q") ?? "").trim();
    const rows = await allSubscriptionRows(deps.state, q);
    const day = new Date().toISOString().slice(0, 10);
    c.header("Content-Type", "text/csv; charset=utf-8");
    c.header("Content-Disposition", `attachment; filename="vmirror-subscriptions-${day}.csv"`);
    return c.body(subscriptionsCsv(rows));
  });

  app.get("/subscriptions/:mailbox", admin, async (c) => {
    const mailbox = c.req.param("mailbox");
    if (!isMailboxId(mailbox)) return c.notFound();
    const config = deps.config;
    const [sub, history, last, mirror, production, originals] = await Promise.all([
      getSubscription(deps.state, mailbox),
      listMailboxHistory(deps.state, mailbox, 20),
      getMailboxResults(deps.state, [mailbox]).then((m) => m.get(mailbox) ?? null),
      countMirroredByFolder(deps.state, mailbox),
      productionCounts(config, mailbox),
      listOriginals(config.dataDir, mailbox),
    ]);
    const s = c.get("user");
    return c.html(renderPage(
      <MailboxPage
        viewer={adminViewer(s, LIST)}
        csrf={s.csrf}
        mailbox={mailbox}
        sub={sub}
        last={last}
        passes={last && history[0]?.finishedAt !== last.finishedAt ? [last, ...history] : history}
        folders={config.source?.folders ?? Object.keys(mirror)}
        mirror={mirror}
        production={production}
        originals={originals}
      />,
    ));
  });

  app.get("/subscriptions/:mailbox/original", admin, async (c) => {
    const mailbox = c.req.param("mailbox");
    const folder = c.req.query("folder") ?? "";
    const m = ORIGINAL_NAME.exec(c.req.query("file") ?? "");
    if (!isMailboxId(mailbox) || !folder || /[\r\n\0]/.test(folder) || !m) return c.notFound();
    const key = { mailbox, folder, uidValidity: Number(m[1]), uid: Number(m[2]) };
    const path = originalPath(join(deps.config.dataDir, "originals"), key);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return c.notFound();
      throw e;
    }
    let size: number;
    try {
      size = (await file.stat()).size;
    } catch (e) {
      file.close();
      throw e;
    }
    await auditEvent(c, deps, {
      actor: actorOf(c.get("user")),
      action: "original-download",
      detail: { ...key, bytes: size },
    });
    const name = `${mailbox}-${folder.replace(/[^A-Za-z0-9._-]+/g, "_")}-${m[1]}-${m[2]}.eml`;
    c.header("Content-Type", "message/rfc822");
    c.header("Content-Length", String(size));
    c.header("Content-Disposition", `attachment; filename="${name}"`);
    return c.body(file.readable);
  });
  return app;
}

/** Production's message count per folder, or why it could not be read. */
export type ProductionCounts =
  | { ok: true; counts: Record<string, number | null> }
  | { ok: false; reason: string };

/**
 * A live STATUS (MESSAGES) of each configured folder on production, as the trusted server,
 * within 5 seconds all told; a failure or the deadline gives the reason instead.
 */
export async function productionCounts(config: Config, mailbox: string): Promise<ProductionCounts> {
  const source = config.source;
  if (!source) return { ok: false, reason: "no production message store is configured" };
  const endpoint = {
    ...source,
    connectTimeoutSeconds: Math.min(source.connectTimeoutSeconds, PRODUCTION_TIMEOUT_MS / 1000),
    commandTimeoutSeconds: Math.min(source.commandTimeoutSeconds, PRODUCTION_TIMEOUT_MS / 1000),
  };
  let session: ImapSession | null = null;
  let late = false;
  const work = (async () => {
    const s = await ImapSession.open(endpoint, mailbox);
    if (late) {
      s.close();
      throw new Error("late");
    }
    session = s;
    try {
      const counts: Record<string, number | null> = {};
      for (const folder of source.folders) {
        const st = await s.status(folder);
        counts[folder] = st?.MESSAGES === undefined ? null : Number(st.MESSAGES);
      }
      return counts;
    } finally {
      await s.quit().catch(() => {});
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), PRODUCTION_TIMEOUT_MS);
  });
  try {
    const got = await Promise.race([work, deadline]);
    if (got === "timeout") {
      late = true;
      (session as ImapSession | null)?.close();
      work.catch(() => {});
      return { ok: false, reason: `no answer from "${source.name}" within 5 seconds` };
    }
    return { ok: true, counts: got };
  } catch (e) {
    const reason = redact((e as Error).message);
    log("warn", `Mailbox page: cannot count "${mailbox}" on production: ${reason}`);
    return { ok: false, reason };
  } finally {
    clearTimeout(timer);
  }
}

/** A kept original of an over-length message. */
export interface KeptOriginal {
  folder: string;
  file: string;
  uidValidity: number;
  uid: number;
  size: number;
  keptAt: string | null;
}

/**
 * The originals kept for a mailbox under `<data>/originals/<mailbox>/<folder>/` (written by the
 * mirror when the backup got a placeholder), by folder then UID; work files are left out.
 */
export async function listOriginals(dataDir: string, mailbox: string): Promise<KeptOriginal[]> {
  const root = join(dataDir, "originals", safeSegment(mailbox));
  const out: KeptOriginal[] = [];
  for (const dir of await readDirSafe(root)) {
    if (!dir.isDirectory) continue;
    let folder: string;
    try {
      folder = decodeURIComponent(dir.name);
    } catch {
      continue;
    }
    for (const f of await readDirSafe(join(root, dir.name))) {
      const m = f.isFile ? ORIGINAL_NAME.exec(f.name) : null;
      if (!m) continue;
      const st = await Deno.stat(join(root, dir.name, f.name)).catch(() => null);
      if (!st) continue;
      out.push({
        folder,
        file: f.name,
        uidValidity: Number(m[1]),
        uid: Number(m[2]),
        size: st.size,
        keptAt: st.mtime?.toISOString() ?? null,
      });
    }
  }
  return out.sort((a, b) =>
    a.folder.localeCompare(b.folder) || a.uidValidity - b.uidValidity || a.uid - b.uid
  );
}

async function readDirSafe(dir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return out;
    throw e;
  }
  return out;
}

type Source = { kind: "list" } | { kind: "file"; name: string };

interface Outcome {
  problem: string | null;
  change: SubscriptionChange | null;
  source: Source;
  header: string | null;
}

function mailboxHref(mailbox: string): string {
  return `${LIST}/${encodeURIComponent(mailbox)}`;
}

function listHref(q: string, page: number): string {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (page > 1) params.set("page", String(page));
  const qs = params.toString();
  return qs ? `${LIST}?${qs}` : LIST;
}

function ListPage(
  p: {
    viewer: Viewer;
    csrf: string;
    q: string;
    list: RowPage;
    outcome?: Outcome;
    draft?: string;
  },
): VNode {
  const { total, paging, rows } = p.list;
  const first = paging.offset + 1;
  const lastShown = paging.offset + rows.length;
  return (
    <Page title="Mailboxes" viewer={p.viewer}>
      <h1>Mirrored mailboxes</h1>
      {p.outcome && <OutcomeBox outcome={p.outcome} />}
      <form method="get" action={LIST} role="search" class="stack">
        <label for="q">Search mailboxes</label>
        <input type="text" id="q" name="q" value={p.q} inputMode="search" autocomplete="off" />
        <button type="submit">Search</button>
      </form>
      <p class="count" role="status">
        {total === 0
          ? (p.q ? `No mailbox matches "${p.q}".` : "No mailbox is mirrored yet.")
          : `${first}–${lastShown} of ${total} ${total === 1 ? "mailbox" : "mailboxes"}${
            p.q ? ` matching "${p.q}"` : ""
          }.`}{" "}
        <a href={p.q ? `${LIST}.csv?q=${encodeURIComponent(p.q)}` : `${LIST}.csv`}>
          Export {p.q ? "these" : "all"} as CSV
        </a>
      </p>
      {rows.length > 0 && (
        <div class="table-wrap">
          <table aria-label="Mailboxes">
            <thead>
              <tr>
                <th scope="col">Mailbox</th>
                <th scope="col">Managed by</th>
                <th scope="col">State</th>
                <th scope="col">Last pass</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.mailbox}>
                  <th scope="row">
                    <a href={mailboxHref(r.mailbox)}>{r.mailbox}</a>
                  </th>
                  <td>
                    {r.origin}
                    {r.orphanedSince && (
                      <p class="hint">
                        orphaned since <When iso={r.orphanedSince} />
                      </p>
                    )}
                  </td>
                  <td class={r.state === "ok" ? "good" : r.state === "failed" ? "bad" : ""}>
                    {r.state === "never" ? "never synced" : r.state}
                    {r.error && <p class="hint">{r.error.message}</p>}
                  </td>
                  <td>{r.lastPassAt ? <When iso={r.lastPassAt} /> : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {paging.pages > 1 && (
        <nav aria-label="Pages">
          <ul class="tabs">
            {pageLinks(paging.page, paging.pages).map((n, i) =>
              n === null ? <li key={`gap${i}`} aria-hidden="true">…</li> : (
                <li key={n}>
                  <a
                    href={listHref(p.q, n)}
                    aria-current={n === paging.page ? "page" : undefined}
                    aria-label={`Page ${n}`}
                  >
                    {n}
                  </a>
                </li>
              )
            )}
          </ul>
        </nav>
      )}
      <h2 id="change">Add or remove mailboxes</h2>
      <form method="post" action={LIST} class="stack" aria-labelledby="change">
        <input type="hidden" name="_csrf" value={p.csrf} />
        <label for="mailboxes">Mailboxes</label>
        <textarea id="mailboxes" name="mailboxes" rows={5} aria-describedby="mailboxes-hint">
          {p.draft ?? ""}
        </textarea>
        <p class="hint" id="mailboxes-hint">
          One or many, separated by new lines, commas or spaces. Added mailboxes are managed
          manually: a directory sync never removes them.
        </p>
        <div class="actions">
          <button type="submit" name="op" value="add">Add</button>
          <button type="submit" name="op" value="remove" class="quiet">Remove</button>
        </div>
      </form>
      <h2 id="upload">Upload a CSV</h2>
      <form
        method="post"
        action={LIST}
        enctype="multipart/form-data"
        class="stack"
        aria-labelledby="upload"
      >
        <input type="hidden" name="_csrf" value={p.csrf} />
        <label for="csv">CSV file</label>
        <input type="file" id="csv" name="csv" accept=".csv,text/csv,text/plain" />
        <p class="hint">
          The first column holds the mailbox; a header row is optional. An export of this page
          uploads as it is.
        </p>
        <div class="actions">
          <button type="submit" name="op" value="add">Add from file</button>
          <button type="submit" name="op" value="remove" class="quiet">Remove from file</button>
        </div>
      </form>
    </Page>
  );
}

function OutcomeBox({ outcome }: { outcome: Outcome }): VNode {
  const { problem, change, source, header } = outcome;
  if (problem || !change) {
    return <p class="error" role="alert">{problem}</p>;
  }
  const where = (e: InvalidEntry) =>
    e.line === undefined
      ? ""
      : source.kind === "file"
      ? `Line ${e.line} of ${source.name}: `
      : `Line ${e.line}: `;
  const verb = change.op === "add" ? "Added" : "Removed";
  const already = change.op === "add" ? "already mirrored" : "not mirrored";
  const shown = 1000;
  return (
    <>
      <div class="ok" role="status">
        <p>
          {verb} {change.changed.length} {change.changed.length === 1 ? "mailbox" : "mailboxes"}
          {change.changed.length > 0 && change.changed.length <= 20 &&
            `: ${change.changed.join(", ")}`}.
          {change.unchanged.length > 0 &&
            ` ${change.unchanged.length} ${already}${
              change.unchanged.length <= 20 ? `: ${change.unchanged.join(", ")}` : ""
            }.`}
        </p>
        {header !== null && <p class="hint">Line 1 was read as the header ("{header}").</p>}
      </div>
      {change.invalid.length > 0 && (
        <div class="error" role="alert">
          <p>
            {change.invalid.length} {change.invalid.length === 1 ? "entry was" : "entries were"}
            {" "}
            not taken:
          </p>
          <ul>
            {change.invalid.slice(0, shown).map((e, i) => (
              <li key={i}>
                {where(e)}"{e.value}": {e.reason}
              </li>
            ))}
            {change.invalid.length > shown && <li>… and {change.invalid.length - shown} more</li>}
          </ul>
        </div>
      )}
    </>
  );
}

function MailboxPage(
  p: {
    viewer: Viewer;
    csrf: string;
    mailbox: string;
    sub: Subscription | null;
    /** The newest result (kept even when the history skips a quiet pass). */
    last: MailboxResult | null;
    /** Recent results, newest first. */
    passes: MailboxResult[];
    folders: string[];
    mirror: Record<string, MirroredCount>;
    production: ProductionCounts;
    originals: KeptOriginal[];
  },
): VNode {
  const last = p.last;
  const folders = [...new Set([...p.folders, ...Object.keys(p.mirror)])];
  return (
    <Page title={`Mailbox ${p.mailbox}`} viewer={p.viewer}>
      <p class="crumbs">
        <a href={LIST}>All mailboxes</a>
      </p>
      <h1>Mailbox {p.mailbox}</h1>
      <dl class="facts">
        <dt>Mirrored</dt>
        <dd>
          {p.sub
            ? (p.sub.origin === "directory"
              ? "yes, managed by the directory"
              : "yes, added manually")
            : "no"}
        </dd>
        {p.sub && (
          <>
            <dt>Since</dt>
            <dd>
              <When iso={p.sub.addedAt} />
            </dd>
          </>
        )}
        {p.sub?.orphanedSince && (
          <>
            <dt>Orphaned since</dt>
            <dd>
              <When iso={p.sub.orphanedSince} /> (gone from the directory)
            </dd>
          </>
        )}
        <dt>Last pass</dt>
        <dd class={last ? (last.ok ? "good" : "bad") : ""}>
          {last
            ? (
              <>
                {last.ok ? "ok" : "failed"}, <When iso={last.finishedAt} />
                {!!last.failStreak && last.failStreak > 1 &&
                  ` (${last.failStreak} failed passes in a row)`}
              </>
            )
            : "never synced"}
        </dd>
      </dl>
      <div class="actions">
        <a class="button" href={`/admin/jobs?mailbox=${encodeURIComponent(p.mailbox)}`}>
          Sync now
        </a>
        <form method="post" action={LIST}>
          <input type="hidden" name="_csrf" value={p.csrf} />
          <input type="hidden" name="mailboxes" value={p.mailbox} />
          {p.sub
            ? <button type="submit" name="op" value="remove" class="quiet">Stop mirroring</button>
            : <button type="submit" name="op" value="add">Mirror this mailbox</button>}
        </form>
      </div>
      {last?.error && (
        <section aria-labelledby="last-error">
          <h2 id="last-error">Last error</h2>
          <div class="error">
            <p>{last.error.message}</p>
            <dl class="facts">
              <dt>Server</dt>
              <dd>{last.error.server ?? "unknown"}</dd>
              <dt>Operation</dt>
              <dd>{last.error.operation ?? "unknown"}</dd>
              {last.error.folder && (
                <>
                  <dt>Folder</dt>
                  <dd>{last.error.folder}</dd>
                </>
              )}
              <dt>When</dt>
              <dd>
                <When iso={last.finishedAt} />
              </dd>
            </dl>
          </div>
        </section>
      )}
      <h2 id="lag">Lag</h2>
      <Lag last={last} passes={p.passes} />
      <h2 id="counts">Messages</h2>
      {!p.production.ok && (
        <p class="error" role="alert">Production: unreachable: {p.production.reason}</p>
      )}
      <div class="table-wrap">
        <table aria-labelledby="counts">
          <thead>
            <tr>
              <th scope="col">Folder</th>
              <th scope="col">On production</th>
              <th scope="col">On the mirror</th>
              <th scope="col">Not mirrored by rule</th>
            </tr>
          </thead>
          <tbody>
            {folders.map((f) => {
              const m = p.mirror[f] ?? { mirrored: 0, placeholders: 0, skipped: 0 };
              const prod = p.production.ok ? p.production.counts[f] : undefined;
              return (
                <tr key={f}>
                  <th scope="row">{f}</th>
                  <td>
                    {!p.production.ok
                      ? "unreachable"
                      : prod === null || prod === undefined
                      ? "no such folder"
                      : prod}
                  </td>
                  <td>
                    {m.mirrored}
                    {m.placeholders > 0 && ` (${plural(m.placeholders, "placeholder")})`}
                  </td>
                  <td>{m.skipped}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p class="hint">
        Production is counted now; the mirror as of its last pass. Messages skipped by a rule (e.g.
        broadcasts) are on production only.
      </p>
      <h2 id="passes">Recent passes</h2>
      {p.passes.length === 0
        ? <p>No pass has mirrored this mailbox yet.</p>
        : (
          <div class="table-wrap">
            <table aria-labelledby="passes">
              <thead>
                <tr>
                  <th scope="col">Finished</th>
                  <th scope="col">Result</th>
                  <th scope="col">Copied</th>
                  <th scope="col">Deleted</th>
                  <th scope="col">Flags</th>
                  <th scope="col">Skipped</th>
                  <th scope="col">Took</th>
                </tr>
              </thead>
              <tbody>
                {p.passes.map((r) => (
                  <tr key={`${r.startedAt}-${r.finishedAt}`}>
                    <td>
                      <When iso={r.finishedAt} />
                    </td>
                    <td class={r.ok ? "good" : "bad"}>
                      {r.ok ? "ok" : "failed"}
                      {r.error && (
                        <p class="hint">
                          {r.error.message}
                          {r.error.operation ? ` (${r.error.operation})` : ""}
                        </p>
                      )}
                    </td>
                    <td>
                      {r.copied}
                      {r.placeholders > 0 && ` (${plural(r.placeholders, "placeholder")})`}
                      {r.adopted ? `; ${r.adopted} found already on the mirror` : ""}
                    </td>
                    <td>
                      {r.deleted}
                      {r.held ? ` (${r.held} held)` : ""}
                    </td>
                    <td>{r.flagsUpdated}</td>
                    <td>{Object.values(r.skipped ?? {}).reduce((a, b) => a + b, 0)}</td>
                    <td>{formatSeconds(durationSeconds(r))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      <h2 id="originals">Kept originals</h2>
      {p.originals.length === 0 ? <p>No over-length original is kept for this mailbox.</p> : (
        <>
          <p>
            Messages over the length limit are a placeholder on the backup; their originals are kept
            here, byte for byte.
          </p>
          <div class="table-wrap">
            <table aria-labelledby="originals">
              <thead>
                <tr>
                  <th scope="col">Folder</th>
                  <th scope="col">UID</th>
                  <th scope="col">Size</th>
                  <th scope="col">Kept</th>
                  <th scope="col">Download</th>
                </tr>
              </thead>
              <tbody>
                {p.originals.map((o) => (
                  <tr key={`${o.folder}/${o.file}`}>
                    <td>{o.folder}</td>
                    <td>{o.uid} (UIDVALIDITY {o.uidValidity})</td>
                    <td>{formatBytes(o.size)}</td>
                    <td>
                      <When iso={o.keptAt} />
                    </td>
                    <td>
                      <a
                        href={`${mailboxHref(p.mailbox)}/original?${new URLSearchParams({
                          folder: o.folder,
                          file: o.file,
                        })}`}
                        download
                      >
                        {o.file}
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Page>
  );
}

// Results stored before the lag facts existed lack them: those read as "not measured".
function Lag({ last, passes }: { last: MailboxResult | null; passes: MailboxResult[] }): VNode {
  const measured = passes.find((r) => typeof r.lagSeconds === "number");
  if (!last || (last.lastChangeAt == null && !measured)) {
    return <p>Not measured yet: the next pass that finds a change records it.</p>;
  }
  const pending = !!last.lastChangeAt &&
    (!last.lastMirroredAt || Date.parse(last.lastMirroredAt) < Date.parse(last.lastChangeAt));
  return (
    <dl class="facts">
      <dt>Production last changed</dt>
      <dd>
        <When iso={last.lastChangeAt} unknown="unknown" />
      </dd>
      <dt>That change reached the mirror</dt>
      <dd class={pending ? "bad" : ""}>
        {pending
          ? "not yet: the pass that found it did not finish"
          : <When iso={last.lastMirroredAt} unknown="unknown" />}
      </dd>
      <dt>Newest copies' lag</dt>
      <dd>
        {measured
          ? (
            <>
              {formatSeconds(measured.lagSeconds)} from arrival on production to the mirror (pass of
              {" "}
              <When iso={measured.finishedAt} />)
            </>
          )
          : "unknown"}
      </dd>
    </dl>
  );
}

function durationSeconds(r: MailboxResult): number | null {
  const ms = Date.parse(r.finishedAt) - Date.parse(r.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? ms / 1000 : null;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
