/**
 * Wall-clock time in a named time zone (the appliance's `timeZone`): the zone's offset at an
 * instant, the instant a day starts there, and one plain text form for mails and logs.
 * @module
 */

const formats = new Map<string, Intl.DateTimeFormat>();

function wallFormat(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    formats.set(timeZone, f);
  }
  return f;
}

function wallParts(t: number, timeZone: string): Record<string, string> {
  return Object.fromEntries(
    wallFormat(timeZone).formatToParts(new Date(t)).map((p) => [p.type, p.value]),
  );
}

/** The zone's offset from UTC at instant `t`, in ms (Berlin in winter: +3_600_000). */
export function zoneOffsetMs(t: number, timeZone: string): number {
  const p = wallParts(t, timeZone);
  const asUtc = Date.UTC(
    Number(p.year),
    Number(p.month) - 1,
    Number(p.day),
    Number(p.hour) % 24,
    Number(p.minute),
    Number(p.second),
  );
  return asUtc - Math.floor(t / 1000) * 1000;
}

/**
 * The instant day `d` of month `m0` (0-based; overflow rolls on, so d + 1 is the next day) of
 * year `y` begins in `timeZone`. Where midnight itself is skipped, the day's first instant.
 */
export function zoneMidnight(y: number, m0: number, d: number, timeZone: string): Date {
  const wall = Date.UTC(y, m0, d);
  // The offset at the guess, then at the corrected instant: a change of offset between them
  // moves midnight.
  let t = wall - zoneOffsetMs(wall, timeZone);
  t = wall - zoneOffsetMs(t, timeZone);
  return new Date(t);
}

/** "2025-03-01 14:05 Europe/Berlin": a date in the zone, for mails and logs; bad input as is. */
export function formatInZone(iso: string, timeZone: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const p = wallParts(t, timeZone);
  return `${p.year}-${p.month}-${p.day} ${
    String(Number(p.hour) % 24).padStart(2, "0")
  }:${p.minute} ${timeZone}`;
}
