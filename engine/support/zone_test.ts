import assert from "node:assert/strict";
import { formatInZone, zoneMidnight, zoneOffsetMs } from "./zone.ts";

Deno.test("zoneOffsetMs() follows summer time", () => {
  assert.equal(zoneOffsetMs(Date.parse("2026-01-15T12:00:00Z"), "Europe/Berlin"), 3_600_000);
  assert.equal(zoneOffsetMs(Date.parse("2026-07-15T12:00:00Z"), "Europe/Berlin"), 7_200_000);
  assert.equal(zoneOffsetMs(Date.parse("2026-07-15T12:00:00Z"), "UTC"), 0);
});

Deno.test("zoneMidnight() is the instant a day starts in the zone, across offset changes", () => {
  assert.equal(
    zoneMidnight(2026, 0, 15, "Europe/Berlin").toISOString(),
    "2026-01-14T23:00:00.000Z",
  );
  // The day summer time starts (29 March 2026) begins under winter time.
  assert.equal(
    zoneMidnight(2026, 2, 29, "Europe/Berlin").toISOString(),
    "2026-03-28T23:00:00.000Z",
  );
  assert.equal(
    zoneMidnight(2026, 2, 30, "Europe/Berlin").toISOString(),
    "2026-03-29T22:00:00.000Z",
  );
  // Day overflow rolls into the next month.
  assert.equal(zoneMidnight(2026, 0, 32, "UTC").toISOString(), "2026-02-01T00:00:00.000Z");
  assert.equal(
    zoneMidnight(2026, 5, 1, "America/New_York").toISOString(),
    "2026-06-01T04:00:00.000Z",
  );
});

Deno.test("formatInZone() writes one plain form, and leaves bad input as it is", () => {
  assert.equal(
    formatInZone("2026-07-15T12:05:00Z", "Europe/Berlin"),
    "2026-07-15 14:05 Europe/Berlin",
  );
  assert.equal(formatInZone("2026-12-31T23:30:00Z", "UTC"), "2026-12-31 23:30 UTC");
  assert.equal(formatInZone("nonsense", "UTC"), "nonsense");
});
