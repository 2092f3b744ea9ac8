import assert from "node:assert/strict";
import type { HeldDeletions, MailboxResult, ServerHealth } from "../state/mod.ts";
import { activeConditions, type AlertFacts, failStreak } from "./conditions.ts";

const NOW = new Date("2025-06-01T12:00:00Z");
const SETTINGS = {
  to: [],
  failedPasses: 3,
  unreachableMinutes: 10,
  diskFreePercent: 10,
  certificateDays: 30,
  checkSeconds: 60,
};

function facts(over: Partial<AlertFacts> = {}): AlertFacts {
  return {
    now: NOW,
    settings: SETTINGS,
    results: [],
    servers: [],
    held: [],
    disks: [],
    directory: null,
    ...over,
  };
}

function result(mailbox: string, streak: number | undefined, ok = false): MailboxResult {
  return {
    mailbox,
    ok,
    startedAt: NOW.toISOString(),
    finishedAt: NOW.toISOString(),
    copied: 0,
    deleted: 0,
    flagsUpdated: 0,
    placeholders: 0,
    skipped: {},
    warnings: [],
    ...(ok ? {} : { error: { message: "connection refused", server: "mss-prod" } }),
    ...(streak === undefined ? {} : { failStreak: streak }),
  } as MailboxResult;
}

function server(over: Partial<ServerHealth>): ServerHealth {
  return {
    role: "target",
    name: "mss-backup",
    up: true,
    checkedAt: NOW.toISOString(),
    latencyMs: 3,
    downSince: null,
    detail: "ok",
    ...over,
  };
}

const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();
const keys = (f: AlertFacts) => activeConditions(f).map((c) => c.key);

Deno.test("nothing wrong: no conditions", () => {
  assert.deepEqual(activeConditions(facts({ servers: [server({})] })), []);
});

Deno.test("a mailbox alerts from failedPasses failures in a row, not before", () => {
  const f = facts({
    results: [result("4001", 2), result("4002", 3), result("4003", 7), result("4004", 0, true)],
  });
  assert.deepEqual(keys(f), ["mailbox-failing:4002", "mailbox-failing:4003"]);
  const c = activeConditions(f)[0];
  assert.equal(c.kind, "mailbox-failing");
  assert.match(c.summary, /Mailbox 4002 failed 3 passes in a row: connection refused/);
  assert.equal(c.facts.reason, "connection refused");
});

Deno.test("without failStreak a failed result counts as one failure", () => {
  assert.equal(failStreak(result("1", undefined)), 1);
  assert.equal(failStreak(result("1", undefined, true)), 0);
  assert.deepEqual(
    keys(facts({ settings: { ...SETTINGS, failedPasses: 1 }, results: [result("9", undefined)] })),
    ["mailbox-failing:9"],
  );
});

Deno.test("a server alerts once down for unreachableMinutes", () => {
  const down = (m: number) =>
    server({ up: false, latencyMs: null, downSince: minutesAgo(m), detail: "refused" });
  assert.deepEqual(keys(facts({ servers: [down(9.9)] })), []);
  const c = activeConditions(facts({ servers: [down(10)] }));
  assert.deepEqual(c.map((x) => x.key), ["server-down:target"]);
  assert.equal(c[0].since, minutesAgo(10));
  assert.match(c[0].summary, /backup "mss-backup" is unreachable: refused/);
});

Deno.test("held deletions alert until released", () => {
  const held: HeldDeletions = {
    mailbox: "4005",
    since: minutesAgo(60),
    updatedAt: NOW.toISOString(),
    count: 25,
    mirrored: 30,
    reason: "mailbox",
  };
  assert.deepEqual(keys(facts({ held: [held] })), ["deletions-held:4005"]);
  const released = { ...held, released: { at: NOW.toISOString(), by: "admin" } };
  assert.deepEqual(keys(facts({ held: [released] })), []);
});

Deno.test("a disk alerts under diskFreePercent; an unreadable disk does not", () => {
  const disk = (which: "data" | "files", freePercent: number | null) => ({
    which,
    path: `/${which}`,
    checkedAt: NOW.toISOString(),
    freeBytes: null,
    totalBytes: null,
    freePercent,
  });
  assert.deepEqual(
    keys(facts({ disks: [disk("data", 9.5), disk("files", 10), disk("files", null)] })),
    [
      "disk-low:data",
    ],
  );
});

Deno.test("a certificate alerts within certificateDays, and once expired", () => {
  const inDays = (d: number) => new Date(NOW.getTime() + d * 86_400_000).toISOString();
  const f = facts({
    servers: [
      server({ role: "source", name: "p", certificateExpiresAt: inDays(29.5) }),
      server({ role: "target", certificateExpiresAt: inDays(31) }),
      server({ role: "smtp", name: "relay", certificateExpiresAt: inDays(-1) }),
      server({ role: "ldap-source", name: "l", certificateExpiresAt: null }),
    ],
  });
  const c = activeConditions(f);
  assert.deepEqual(c.map((x) => x.key), [
    "certificate-expiring:source",
    "certificate-expiring:smtp",
  ]);
  assert.match(c[0].summary, /expires on 2025-07-01 \(in 29 days\)/);
  assert.match(c[1].summary, /expired on 2025-05-31/);
});

Deno.test("the last directory pass failing alerts; a good one does not", () => {
  assert.deepEqual(keys(facts({ directory: { ok: true, startedAt: minutesAgo(5) } })), []);
  const c = activeConditions(
    facts({ directory: { ok: false, startedAt: minutesAgo(5), error: "bind refused" } }),
  );
  assert.deepEqual(c.map((x) => x.key), ["directory-failed:directory"]);
  assert.match(c[0].summary, /failed: bind refused/);
});

Deno.test("error texts in summaries are redacted and clipped", () => {
  const r = result("4001", 3);
  r.error = { message: `A1 LOGIN vmirror s3cret-pass ${"x".repeat(400)}` };
  const [c] = activeConditions(facts({ results: [r] }));
  assert.doesNotMatch(c.summary, /s3cret/);
  assert.ok(c.summary.length < 300);
});
