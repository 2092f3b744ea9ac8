import assert from "node:assert/strict";
import { formatDateTime, zoneAbbreviation, zoneLabel } from "./dates.ts";

Deno.test("formatDateTime() writes one 24-hour format with the zone's short name", () => {
  assert.equal(formatDateTime("2026-12-02T09:41:00Z", "Europe/Berlin"), "2026-12-02 10:41 CET");
  assert.equal(formatDateTime("2026-07-02T20:05:00Z", "Europe/Berlin"), "2026-07-02 22:05 CEST");
  assert.equal(formatDateTime("2026-12-02T04:41:00Z", "America/New_York"), "2026-12-01 23:41 EST");
  assert.equal(formatDateTime(new Date("2026-01-01T00:00:00Z"), "UTC"), "2026-01-01 00:00 UTC");
  assert.equal(formatDateTime("2026-07-01T12:00:00Z", "Europe/London"), "2026-07-01 13:00 BST");
});

Deno.test("formatDateTime() names a zone without a short name by its IANA name", () => {
  assert.equal(
    formatDateTime("2026-12-02T09:41:00Z", "Asia/Kolkata"),
    "2026-12-02 15:11 Asia/Kolkata",
  );
  assert.equal(zoneAbbreviation("Asia/Tokyo"), "Asia/Tokyo");
});

Deno.test("formatDateTime() answers an invalid date with nothing and an unknown zone in UTC", () => {
  assert.equal(formatDateTime("not a date", "UTC"), "");
  assert.equal(formatDateTime("2026-12-02T09:41:00Z", "Mars/Olympus"), "2026-12-02 09:41 UTC");
});

Deno.test("formatDateTime() shows midnight as 00, not 24", () => {
  assert.equal(formatDateTime("2026-03-01T23:00:00Z", "Europe/Berlin"), "2026-03-02 00:00 CET");
});

Deno.test("zoneLabel() names the zone and its short name", () => {
  const winter = new Date("2026-12-02T09:41:00Z");
  assert.equal(zoneLabel("Europe/Berlin", winter), "Europe/Berlin (CET)");
  assert.equal(zoneLabel("UTC", winter), "UTC");
  assert.equal(zoneLabel("Asia/Kolkata", winter), "Asia/Kolkata");
  assert.equal(zoneLabel("America/Chicago", winter), "America/Chicago (CST)");
});
