import assert from "node:assert/strict";
import { instantOf, parseAuditSearch, publicEntry } from "./api_audit.ts";

Deno.test("instantOf() takes a day in the zone, the next day's start when it ends a range", () => {
  const iso = (raw: string, zone: string, end = false) => instantOf(raw, zone, end)?.toISOString();
  assert.equal(iso("2026-03-02", "UTC"), "2026-03-02T00:00:00.000Z");
  assert.equal(iso("2026-03-02", "UTC", true), "2026-03-03T00:00:00.000Z");
  assert.equal(iso("2026-03-02", "Europe/Berlin"), "2026-03-01T23:00:00.000Z");
  assert.equal(iso("2026-07-02", "Europe/Berlin"), "2026-07-01T22:00:00.000Z");
  assert.equal(iso("2026-12-31", "America/New_York", true), "2027-01-01T05:00:00.000Z");
  // The days DST starts and ends: midnight is still the day's start.
  assert.equal(iso("2026-03-29", "Europe/Berlin", true), "2026-03-29T22:00:00.000Z");
  assert.equal(iso("2026-10-25", "Europe/Berlin", true), "2026-10-25T23:00:00.000Z");
  assert.equal(iso("2026-03-02T10:41:00Z", "Europe/Berlin"), "2026-03-02T10:41:00.000Z");
  assert.equal(iso("2026-03-02T10:41:00+01:00", "UTC", true), "2026-03-02T09:41:00.000Z");
  for (const bad of ["2026-13-01", "2026-02-30", "02.03.2026", "yesterday", "2026-03-02T10:41"]) {
    assert.equal(instantOf(bad, "UTC", false), null, bad);
  }
});

Deno.test("parseAuditSearch() reads the fields, pages and dates, naming each bad one", () => {
  const ok = parseAuditSearch(
    { who: " 4001 ", action: "login*", mailbox: "", from: "2026-03-01", page: "3" },
    "UTC",
  );
  assert.ok(ok.ok);
  assert.deepEqual(ok.query, {
    who: "4001",
    action: "login*",
    mailbox: undefined,
    from: new Date("2026-03-01T00:00:00.000Z"),
    to: undefined,
    page: 3,
    pageSize: 50,
  });
  assert.equal(ok.text.who, "4001");
  const bad = parseAuditSearch(
    { from: "junk", to: "2026-02-30", page: "0", pageSize: "9999" },
    "UTC",
  );
  assert.ok(!bad.ok);
  assert.deepEqual(bad.errors.map((e) => e.path), ["from", "to", "page", "pageSize"]);
  assert.equal(bad.text.from, "junk");
  const long = parseAuditSearch({ who: "x".repeat(500) }, "UTC");
  assert.equal(long.text.who.length, 100);
});

Deno.test("publicEntry() leaves out detail keys that could name a secret", () => {
  const e = publicEntry({
    at: "2026-03-01T00:00:00.000Z",
    actor: "admin:admin",
    action: "x",
    detail: { pin: "1234", password: "p", apiToken: "t", mailbox: "4001" },
  });
  assert.deepEqual(e.detail, { mailbox: "4001" });
});
