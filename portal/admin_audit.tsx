/**
 * The audit log page (mounted at /admin): search by who, action, mailbox and dates, page through
 * the matches newest first, and download them all as CSV (`/admin/audit.csv`, the same query).
 * @module
 */
import { Hono } from "hono";
import {
  auditEntries,
  type AuditEntry,
  type AuditPage as ResultPage,
  queryAudit,
  recentAuditActions,
} from "../engine/state/mod.ts";
import { actorOf, auditEvent, type PortalDeps, type PortalEnv } from "./context.ts";
import { adminViewer } from "./admin_nav.ts";
import {
  type AuditSearchError,
  type AuditSearchText,
  parseAuditSearch,
  publicEntry,
} from "./api_audit.ts";
import { Page, renderPage, type Viewer } from "./layout.tsx";
import { requireRole } from "./middleware.ts";
import { When } from "./time.tsx";

// The actions this appliance writes, offered even before any was seen (a hint, not a rule:
// the field takes any text).
const KNOWN_ACTIONS = [
  "admin-login",
  "admin-login-failed",
  "admin-setup",
  "audit-export",
  "download",
  "forward",
  "forward-failed",
  "forward-refused",
  "lockout-clear",
  "login",
  "login-failed",
  "logout",
  "play",
  "portal-restart",
  "request-refused",
  "restore",
  "settings-change",
  "settings-test",
];

/** The audit page and its CSV (mounted at /admin). */
export function auditRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  const admin = requireRole("admin");

  app.get("/audit", admin, async (c) => {
    const search = parseAuditSearch(c.req.query(), deps.config.timeZone);
    const actions = [...new Set([...KNOWN_ACTIONS, ...await recentAuditActions(deps.state)])]
      .sort();
    const viewer = adminViewer(c.get("user"), "/admin/audit");
    if (!search.ok) {
      return c.html(
        renderPage(
          <AuditPage viewer={viewer} text={search.text} errors={search.errors} actions={actions} />,
        ),
        400,
      );
    }
    const result = await queryAudit(deps.state, search.query);
    return c.html(renderPage(
      <AuditPage viewer={viewer} text={search.text} result={result} actions={actions} />,
    ));
  });

  app.get("/audit.csv", admin, async (c) => {
    const search = parseAuditSearch(c.req.query(), deps.config.timeZone);
    if (!search.ok) {
      return c.text(search.errors.map((e) => `${e.path}: ${e.message}`).join("\n"), 400);
    }
    const filter = Object.fromEntries(Object.entries(search.text).filter(([, v]) => v));
    await auditEvent(c, deps, {
      actor: actorOf(c.get("user")),
      action: "audit-export",
      detail: { filter },
    });
    const { page: _page, pageSize: _size, ...query } = search.query;
    const stamp = new Date().toISOString().slice(0, 10);
    return c.body(auditCsv(auditEntries(deps.state, query)), 200, {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="vmirror-audit-${stamp}.csv"`,
    });
  });
  return app;
}

/** A link to the audit page or its CSV with a search's fields (and a page, for the page). */
export function auditHref(base: string, text: AuditSearchText, page?: number): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(text)) if (v) q.set(k, v);
  if (page && page > 1) q.set("page", String(page));
  const s = q.toString();
  return s ? `${base}?${s}` : base;
}

function AuditPage(p: {
  viewer: Viewer;
  text: AuditSearchText;
  actions: string[];
  errors?: AuditSearchError[];
  result?: ResultPage;
}) {
  return (
    <Page title="Audit log" viewer={p.viewer}>
      <h1>Audit log</h1>
      <SearchForm text={p.text} actions={p.actions} errors={p.errors ?? []} />
      {p.errors && p.errors.length > 0 && (
        <div class="error error-summary" role="alert" aria-labelledby="audit-errors">
          <h2 id="audit-errors">The search cannot be run</h2>
          <ul>
            {p.errors.map((e) => (
              <li key={e.path}>{`${LABELS[e.path] ?? e.path}: ${e.message}`}</li>
            ))}
          </ul>
        </div>
      )}
      {p.result && <Results text={p.text} result={p.result} />}
    </Page>
  );
}

const LABELS: Record<string, string> = {
  who: "Who",
  action: "Action",
  mailbox: "Mailbox",
  from: "From date",
  to: "To date",
  page: "Page",
  pageSize: "Page size",
};

function SearchForm(p: { text: AuditSearchText; actions: string[]; errors: AuditSearchError[] }) {
  const invalid = (k: string) => p.errors.some((e) => e.path === k);
  // A date field holds a day; an ISO time (possible in a link or from the API) stays text.
  const dateType = (v: string) => (!v || /^\d{4}-\d{2}-\d{2}$/.test(v) ? "date" : "text");
  return (
    <form method="get" action="/admin/audit" class="filters" role="search">
      <div class="field">
        <label for="audit-who">Who</label>
        <input id="audit-who" type="text" name="who" value={p.text.who} maxLength={100} />
        <p class="hint">Part of the name: a mailbox, "admin", a token's name.</p>
      </div>
      <div class="field">
        <label for="audit-action">Action</label>
        <input
          id="audit-action"
          type="text"
          name="action"
          value={p.text.action}
          list="audit-actions"
          maxLength={100}
        />
        <datalist id="audit-actions">
          {p.actions.map((a) => <option key={a} value={a} />)}
        </datalist>
        <p class="hint">Exactly, or ending in * for every action that starts so ("login*").</p>
      </div>
      <div class="field">
        <label for="audit-mailbox">Mailbox</label>
        <input
          id="audit-mailbox"
          type="text"
          name="mailbox"
          value={p.text.mailbox}
          maxLength={100}
          inputMode="numeric"
        />
        <p class="hint">Its own actions, and admin actions on it.</p>
      </div>
      <div class={`field${invalid("from") ? " invalid" : ""}`}>
        <label for="audit-from">From date</label>
        <input
          id="audit-from"
          type={dateType(p.text.from)}
          name="from"
          value={p.text.from}
          aria-invalid={invalid("from") ? "true" : undefined}
        />
      </div>
      <div class={`field${invalid("to") ? " invalid" : ""}`}>
        <label for="audit-to">To date</label>
        <input
          id="audit-to"
          type={dateType(p.text.to)}
          name="to"
          value={p.text.to}
          aria-invalid={invalid("to") ? "true" : undefined}
        />
        <p class="hint">Including that whole day.</p>
      </div>
      <div class="actions">
        <button type="submit">Search</button>
        <a href="/admin/audit">Clear the search</a>
      </div>
    </form>
  );
}

function Results(p: { text: AuditSearchText; result: ResultPage }) {
  const r = p.result;
  const first = (r.page - 1) * r.pageSize + 1;
  const pager = (r.page > 1 || r.hasMore) && (
    <nav class="pager" aria-label="Pages">
      {r.page > 1
        ? <a href={auditHref("/admin/audit", p.text, r.page - 1)} rel="prev">Newer</a>
        : <span />}
      <span>Page {r.page}</span>
      {r.hasMore
        ? <a href={auditHref("/admin/audit", p.text, r.page + 1)} rel="next">Older</a>
        : <span />}
    </nav>
  );
  return (
    <section aria-labelledby="audit-results">
      <h2 id="audit-results">Entries</h2>
      <p class="count">
        {r.items.length === 0
          ? r.page > 1 ? "No more entries match." : "No entries match."
          : `Entries ${first}–${first + r.items.length - 1}, newest first.`}{" "}
        <a href={auditHref("/admin/audit.csv", p.text)} download>
          Download CSV
        </a>{" "}
        (every match, not only this page)
      </p>
      {r.items.length > 0 && (
        <div class="table-wrap">
          <table class="audit">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">From</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {r.items.map((e, i) => (
                <tr key={i}>
                  <td>
                    <When iso={e.at} />
                  </td>
                  <td>{e.actor}</td>
                  <td>{e.action}</td>
                  <td>{e.from ?? ""}</td>
                  <td class="detail">{e.detail ? <Detail detail={e.detail} /> : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pager}
    </section>
  );
}

// A settings change reads as "path: old → new", one line each.
function Detail(p: { detail: Record<string, unknown> }) {
  const { changes, ...rest } = p.detail;
  const list = Array.isArray(changes)
    ? (changes as { path?: unknown; from?: unknown; to?: unknown }[])
    : null;
  return (
    <>
      {describeDetail(list ? rest : p.detail)}
      {list && (
        <ul class="changes">
          {list.map((ch, i) => (
            <li key={i}>
              <code>{String(ch.path)}</code>: {show(ch.from)} → {show(ch.to)}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function show(v: unknown): string {
  if (v === undefined || v === null) return "(none)";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function describeDetail(detail: Record<string, unknown>): string {
  return Object.entries(publicEntry({ at: "", actor: "", action: "", detail }).detail ?? {})
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
}

/** The CSV columns, in order. */
export const AUDIT_CSV_COLUMNS = ["at", "actor", "action", "from", "detail"] as const;

/**
 * One CSV cell (RFC 4180): quoted when it holds a quote, comma or line break; a cell a
 * spreadsheet would run as a formula (= + - @, tab, CR first) is prefixed with a quote mark.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One CSV line of an entry (CRLF-terminated); the detail is JSON without secret-named keys. */
export function csvRow(e: AuditEntry): string {
  const pub = publicEntry(e);
  const cells = [
    pub.at,
    pub.actor,
    pub.action,
    pub.from ?? "",
    pub.detail ? JSON.stringify(pub.detail) : "",
  ];
  return `${cells.map(csvCell).join(",")}\r\n`;
}

/** Streams entries as CSV with a header line, read as the client takes them. */
export function auditCsv(entries: AsyncGenerator<AuditEntry>): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      let text = "";
      if (!started) {
        started = true;
        text = `${AUDIT_CSV_COLUMNS.join(",")}\r\n`;
      }
      // A few hundred rows per chunk: fewer, larger writes than one per row.
      for (let i = 0; i < 200; i++) {
        const next = await entries.next();
        if (next.done) {
          if (text) ctrl.enqueue(enc.encode(text));
          ctrl.close();
          return;
        }
        text += csvRow(next.value);
      }
      ctrl.enqueue(enc.encode(text));
    },
    async cancel() {
      await entries.return(undefined);
    },
  });
}
