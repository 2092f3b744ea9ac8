/**
 * The audit API (mounted at /api/admin): `GET /audit?who=&action=&mailbox=&from=&to=&page=`
 * answers one page of the search, newest first. The search's query string is read here for the
 * API, the audit page and its CSV alike: dates are days in the appliance's time zone (`to`
 * inclusive) or ISO instants.
 * @module
 */
import { Hono } from "hono";
import {
  AUDIT_PAGE_MAX,
  AUDIT_PAGE_SIZE,
  type AuditEntry,
  type AuditQuery,
  queryAudit,
} from "../engine/state/mod.ts";
import type { PortalDeps, SignedInEnv } from "./context.ts";
import { zoneMidnight } from "../engine/support/mod.ts";

/** The search's fields as typed, for refilling the form and building links. */
export interface AuditSearchText {
  who: string;
  action: string;
  mailbox: string;
  from: string;
  to: string;
}

/** A field the search could not read. */
export interface AuditSearchError {
  path: string;
  message: string;
}

/** The search read from a query string, or what was wrong with it. */
export type AuditSearch =
  | { ok: true; query: AuditQuery; text: AuditSearchText }
  | { ok: false; errors: AuditSearchError[]; text: AuditSearchText };

const MAX_FIELD = 100;
const MAX_PAGE = 100_000;

/** Reads a search from query parameters; day dates are taken in `timeZone`. */
export function parseAuditSearch(
  params: Record<string, string | undefined>,
  timeZone: string,
): AuditSearch {
  const field = (k: string) => (params[k] ?? "").trim().slice(0, MAX_FIELD);
  const text: AuditSearchText = {
    who: field("who"),
    action: field("action"),
    mailbox: field("mailbox"),
    from: field("from"),
    to: field("to"),
  };
  const errors: AuditSearchError[] = [];
  const from = text.from ? instantOf(text.from, timeZone, false) : undefined;
  if (from === null) errors.push({ path: "from", message: DATE_HINT });
  const to = text.to ? instantOf(text.to, timeZone, true) : undefined;
  if (to === null) errors.push({ path: "to", message: DATE_HINT });
  const page = whole(params.page, 1, MAX_PAGE);
  if (page === null) {
    errors.push({ path: "page", message: `expected a page from 1 to ${MAX_PAGE}` });
  }
  const pageSize = whole(params.pageSize, AUDIT_PAGE_SIZE, AUDIT_PAGE_MAX);
  if (pageSize === null) {
    errors.push({ path: "pageSize", message: `expected a page size from 1 to ${AUDIT_PAGE_MAX}` });
  }
  if (errors.length) return { ok: false, errors, text };
  return {
    ok: true,
    text,
    query: {
      who: text.who || undefined,
      action: text.action || undefined,
      mailbox: text.mailbox || undefined,
      from: from ?? undefined,
      to: to ?? undefined,
      page: page!,
      pageSize: pageSize!,
    },
  };
}

const DATE_HINT = "expected a date like 2026-12-02 (or an ISO time like 2026-12-02T10:41:00Z)";

function whole(raw: string | undefined, fallback: number, max: number): number | null {
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d{1,7}$/.test(raw)) return null;
  const n = Number(raw);
  return n >= 1 && n <= max ? n : null;
}

/**
 * A day ("2026-12-02": its start in `timeZone`, or the next day's start when it ends a range,
 * so `to` takes the whole day in) or an ISO instant with its zone; null when neither.
 */
export function instantOf(raw: string, timeZone: string, endOfDay: boolean): Date | null {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  if (day) {
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
    const probe = new Date(Date.UTC(y, m - 1, d));
    if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== m - 1 || probe.getUTCDate() !== d) {
      return null;
    }
    return zoneMidnight(y, m - 1, d + (endOfDay ? 1 : 0), timeZone);
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(raw)) {
    return null;
  }
  const t = Date.parse(raw);
  return Number.isNaN(t) ? null : new Date(t);
}

const SECRET_KEY = /pass|pin|secret|token/i;

/** An entry as it leaves the appliance: detail keys that could name a secret are left out. */
export function publicEntry(e: AuditEntry): AuditEntry {
  if (!e.detail) return e;
  return {
    ...e,
    detail: Object.fromEntries(Object.entries(e.detail).filter(([k]) => !SECRET_KEY.test(k))),
  };
}

/** The audit API (mounted at /api/admin, behind requireApiAdmin). */
export function auditApiRoutes(deps: PortalDeps): Hono<SignedInEnv> {
  const app = new Hono<SignedInEnv>();
  app.get("/audit", async (c) => {
    const search = parseAuditSearch(c.req.query(), deps.config.timeZone);
    if (!search.ok) return c.json({ errors: search.errors }, 400);
    const page = await queryAudit(deps.state, search.query);
    return c.json({
      items: page.items.map(publicEntry),
      page: page.page,
      pageSize: page.pageSize,
      hasMore: page.hasMore,
    });
  });
  return app;
}
