/**
 * Dates on every page in one format and the appliance's time zone: the request's zone is set
 * once by middleware (from `timeZone` in the live configuration) and read by `<When>` and the
 * page footer, so no page passes it around.
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createMiddleware } from "hono/factory";
import { formatDateTime, zoneLabel } from "./dates.ts";

const zone = new AsyncLocalStorage<string>();

/** The time zone of the request being answered (UTC outside one). */
export function currentTimeZone(): string {
  return zone.getStore() ?? "UTC";
}

/** Middleware: the rest of the request sees `timeZone()` as its zone. */
export function timeZoneScope(timeZone: () => string) {
  return createMiddleware(async (_c, next) => {
    await zone.run(timeZone(), next);
  });
}

/**
 * A date as every page shows it: "2026-12-02 10:41 CET", machine-readable underneath. With
 * `relative` (the subscriber's lists), today's and yesterday's dates read "today 10:41" and
 * "yesterday 10:41" — the zone is named in the page footer — and the full date is the title.
 */
export function When(
  p: { iso: string | null | undefined; unknown?: string; relative?: boolean; now?: Date },
) {
  if (!p.iso || Number.isNaN(Date.parse(p.iso))) return <span>{p.unknown ?? "date unknown"}</span>;
  const full = formatDateTime(p.iso, currentTimeZone());
  const near = p.relative ? relativeDateTime(p.iso, currentTimeZone(), p.now) : null;
  return near
    ? <time dateTime={p.iso} title={full}>{near}</time>
    : <time dateTime={p.iso}>{full}</time>;
}

/**
 * "today 10:41" or "yesterday 10:41" when `iso` falls on today's or yesterday's calendar day in
 * `timeZone` (as of `now`); null for any other day.
 */
export function relativeDateTime(
  iso: string,
  timeZone: string,
  now: Date = new Date(),
): string | null {
  const text = formatDateTime(iso, timeZone); // "2026-12-02 10:41 CET"
  const today = formatDateTime(now, timeZone).slice(0, 10);
  if (!text || !today) return null;
  // The calendar day before today, counted on the date itself: a day of a DST change is not 24 h.
  const [y, m, d] = today.split("-").map(Number);
  const yesterday = new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
  const day = text.slice(0, 10);
  const time = text.slice(11, 16);
  return day === today ? `today ${time}` : day === yesterday ? `yesterday ${time}` : null;
}

/** "Times are in Europe/Berlin (CET)" for page footers. */
export function zoneNote(): string {
  return `Times are in ${zoneLabel(currentTimeZone())}.`;
}
