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

/** A date as every page shows it: "2026-12-02 10:41 CET", machine-readable underneath. */
export function When(p: { iso: string | null | undefined; unknown?: string }) {
  if (!p.iso || Number.isNaN(Date.parse(p.iso))) return <span>{p.unknown ?? "date unknown"}</span>;
  return <time dateTime={p.iso}>{formatDateTime(p.iso, currentTimeZone())}</time>;
}

/** "Times are in Europe/Berlin (CET)" for page footers. */
export function zoneNote(): string {
  return `Times are in ${zoneLabel(currentTimeZone())}.`;
}
