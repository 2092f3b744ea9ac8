import assert from "node:assert/strict";
import {
  parseDirectorySyncParams,
  parseRestoreParams,
  parseSyncParams,
  splitMailboxes,
  startOfDay,
} from "./params.ts";

const NOW = new Date("2026-12-02T10:00:00Z");
const opts = { timeZone: "Europe/Berlin", now: NOW };

Deno.test("parseSyncParams() takes a list of mailbox ids, none meaning all", () => {
  assert.deepEqual(parseSyncParams(undefined), { ok: true, value: { mailboxes: [] } });
  assert.deepEqual(parseSyncParams({}), { ok: true, value: { mailboxes: [] } });
  assert.deepEqual(parseSyncParams({ mailboxes: ["4001", "4001", "4002"] }), {
    ok: true,
    value: { mailboxes: ["4001", "4002"] },
  });
});

Deno.test("parseSyncParams() names each bad entry by its path", () => {
  const out = parseSyncParams({ mailboxes: ["4001", "a b", 7], extra: 1 });
  assert.equal(out.ok, false);
  if (out.ok) return;
  assert.deepEqual(out.errors.map((e) => e.path).sort(), ["extra", "mailboxes/1", "mailboxes/2"]);
  assert.deepEqual(parseSyncParams({ mailboxes: "4001" }).ok, false);
  assert.deepEqual(parseSyncParams([1]).ok, false);
});

Deno.test("parseDirectorySyncParams() is a dry run unless told false", () => {
  assert.deepEqual(parseDirectorySyncParams(undefined), { ok: true, value: { dryRun: true } });
  assert.deepEqual(parseDirectorySyncParams({ dryRun: false }), {
    ok: true,
    value: { dryRun: false },
  });
  const bad = parseDirectorySyncParams({ dryRun: "no" });
  assert.ok(!bad.ok && bad.errors[0].path === "dryRun");
});

Deno.test("parseRestoreParams() checks mailbox, side, date, folders and UIDs", () => {
  const ok = parseRestoreParams({
    mailbox: "4001",
    from: "files",
    since: "2026-11-30",
    folders: ["INBOX", "INBOX"],
    uids: [3, 3, 4],
    dryRun: false,
  }, opts);
  assert.deepEqual(ok, {
    ok: true,
    value: {
      mailbox: "4001",
      from: "files",
      since: "2026-11-30",
      folders: ["INBOX"],
      uids: [3, 4],
      dryRun: false,
    },
  });
  const bad = parseRestoreParams({
    mailbox: "../x",
    from: "tape",
    since: "2026-02-30",
    folders: ["ok", "", "a\u0000b"],
    uids: [0, 1.5],
    dryRun: "yes",
  }, opts);
  assert.ok(!bad.ok);
  assert.deepEqual(bad.errors.map((e) => e.path), [
    "mailbox",
    "from",
    "since",
    "folders/1",
    "folders/2",
    "uids/0",
    "uids/1",
    "dryRun",
  ]);
  const missing = parseRestoreParams({}, opts);
  assert.ok(!missing.ok && missing.errors[0].path === "mailbox");
});

Deno.test("parseRestoreParams() refuses a day that has not begun, and defaults to a dry run", () => {
  const future = parseRestoreParams({ mailbox: "4001", since: "2026-12-03" }, opts);
  assert.ok(!future.ok && /future/.test(future.errors[0].message));
  const today = parseRestoreParams({ mailbox: "4001", since: "2026-12-02" }, opts);
  assert.ok(today.ok && today.value.dryRun === true);
  const text = parseRestoreParams({ mailbox: "4001", since: "yesterday" }, opts);
  assert.ok(!text.ok && /YYYY-MM-DD/.test(text.errors[0].message));
});

Deno.test("startOfDay() is midnight in the appliance's time zone, across DST changes", () => {
  assert.equal(startOfDay("2026-12-02", "UTC").toISOString(), "2026-12-02T00:00:00.000Z");
  assert.equal(startOfDay("2026-12-02", "Europe/Berlin").toISOString(), "2026-12-01T23:00:00.000Z");
  assert.equal(startOfDay("2026-07-01", "Europe/Berlin").toISOString(), "2026-06-30T22:00:00.000Z");
  // The days clocks change in Berlin: midnight is before the change.
  assert.equal(startOfDay("2026-03-29", "Europe/Berlin").toISOString(), "2026-03-28T23:00:00.000Z");
  assert.equal(startOfDay("2026-10-25", "Europe/Berlin").toISOString(), "2026-10-24T22:00:00.000Z");
  assert.equal(
    startOfDay("2026-12-02", "America/New_York").toISOString(),
    "2026-12-02T05:00:00.000Z",
  );
  assert.equal(startOfDay("2026-12-02", "Asia/Kolkata").toISOString(), "2026-12-01T18:30:00.000Z");
});

Deno.test("splitMailboxes() splits on spaces, commas and new lines", () => {
  assert.deepEqual(splitMailboxes(" 4001, 4002\n4003;;4004 "), ["4001", "4002", "4003", "4004"]);
  assert.deepEqual(splitMailboxes(""), []);
});
