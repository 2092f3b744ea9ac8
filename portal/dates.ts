/**
 * Dates as every portal page shows them: one format, 24-hour, in the configured time zone,
 * with the zone named ("2026-12-02 10:41 CET").
 * @module
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(locale: string, timeZone: string): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZoneName: "short",
    });
    formatters.set(key, f);
  }
  return f;
}

// A zone the runtime does not know would throw on every page: dates fall back to UTC instead
// (the config loader has already refused such a zone, so this is only belt and braces).
function knownZone(timeZone: string): string {
  try {
    formatter("en-US", timeZone);
    return timeZone;
  } catch {
    return "UTC";
  }
}

/** The zone's short name at `at` ("CET", "EDT", "UTC"), or its IANA name when it has none. */
export function zoneAbbreviation(timeZone: string, at: Date = new Date()): string {
  const zone = knownZone(timeZone);
  // en-US knows the American abbreviations, en-GB the European ones; both fall back to an
  // offset ("GMT+5:30"), which says less than the zone's name.
  for (const locale of ["en-US", "en-GB"]) {
    const name = formatter(locale, zone).formatToParts(at).find((p) => p.type === "timeZoneName")
      ?.value;
    if (name && !/^(GMT|UTC)[+\-−]/.test(name)) return name;
  }
  return zone;
}

/** A date and time as "2026-12-02 10:41 CET" in `timeZone`; "" for an invalid date. */
export function formatDateTime(iso: string | Date, timeZone: string): string {
  const d = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const zone = knownZone(timeZone);
  const parts = Object.fromEntries(
    formatter("en-US", zone).formatToParts(d).map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${
    zoneAbbreviation(zone, d)
  }`;
}

/** The zone as a page names it: "Europe/Berlin (CET)", or just "UTC" / "Asia/Kolkata". */
export function zoneLabel(timeZone: string, at: Date = new Date()): string {
  const zone = knownZone(timeZone);
  const short = zoneAbbreviation(zone, at);
  return short === zone ? zone : `${zone} (${short})`;
}
