import assert from "node:assert/strict";
import { serialize } from "node:v8";
import {
  compactReport,
  type DirectoryReport,
  formatDirectoryReport,
  formatDirectoryRunLine,
} from "./directory.ts";

function report(over: Partial<DirectoryReport> = {}): DirectoryReport {
  return {
    id: "r1",
    startedAt: "2026-03-10T12:00:00.000Z",
    finishedAt: "2026-03-10T12:00:01.500Z",
    asOf: "2026-03-10T12:00:00.000Z",
    durationMs: 1500,
    dryRun: false,
    ok: true,
    source: { url: "ldap://prod:389", baseDn: "ou=s,dc=prod", entries: 3 },
    target: { url: "ldap://dr:389", baseDn: "ou=s,dc=dr", entries: 2 },
    counts: {
      entries: 3,
      managed: 3,
      subscribed: 1,
      orphaned: 1,
      unorphaned: 0,
      unsubscribed: 1,
      pending: 1,
      added: 1,
      modified: 1,
      missing: 0,
      failed: 1,
      onlyOnBackup: 0,
      warnings: 1,
    },
    subscriptions: {
      subscribe: ["4001"],
      orphan: [{ mailbox: "4009", reason: "not in the directory" }],
      unorphan: [],
      unsubscribe: [{ mailbox: "4008", orphanedSince: "2026-03-01T00:00:00.000Z" }],
      pending: [{
        mailbox: "4009",
        orphanedSince: "2026-03-10T12:00:00.000Z",
        unsubscribeAfter: "2026-03-17T12:00:00.000Z",
      }],
    },
    backup: {
      changes: [
        {
          mailbox: "4002",
          dn: "uid=4002,ou=s,dc=dr",
          op: "modify",
          changes: [
            { attr: "displayName", op: "replace", detail: 'displayName "B" → "Bruno"' },
            { attr: "vmPin", op: "replace", detail: "vmPin changed (value not shown)" },
          ],
          status: "done",
        },
        {
          mailbox: "4003",
          dn: "uid=4003,ou=s,dc=dr",
          op: "add",
          attributes: ["objectClass", "uid", "vmPin"],
          status: "done",
          mailboxProvisioning: "created on the backup MSS",
        },
        {
          mailbox: "4004",
          dn: "uid=4004,ou=s,dc=dr",
          op: "modify",
          changes: [{ attr: "vmPin", op: "add", detail: "vmPin set (value not shown)" }],
          status: "failed",
          error: 'Cannot modify "uid=4004,ou=s,dc=dr" on "ldap://dr:389": object class violation',
        },
      ],
      missing: [],
    },
    warnings: ['The production entry "uid=x" has no "vmMailboxNumber": skipped'],
    ...over,
  };
}

Deno.test("formatDirectoryReport() gives the counts, then one line per change", () => {
  const text = formatDirectoryReport(report());
  const lines = text.split("\n");
  assert.equal(lines[0], "Directory sync 2026-03-10T12:00:00.000Z");
  assert.match(
    text,
    /Subscriptions: 1 subscribed, 1 orphaned, 0 back in the directory, 1 unsubscribed, 1 in their grace period/,
  );
  assert.match(text, /Backup directory: 1 added, 1 modified, 0 missing \(not created\), 1 failed/);
  assert.ok(lines.includes("  subscribe 4001"));
  assert.ok(lines.includes("  orphan 4009: not in the directory"));
  assert.ok(
    lines.includes("  unsubscribe 4008: orphaned since 2026-03-01T00:00:00.000Z (messages kept)"),
  );
  assert.ok(
    lines.includes(
      '  modify "uid=4002,ou=s,dc=dr": displayName "B" → "Bruno"; vmPin changed (value not shown)',
    ),
  );
  assert.ok(
    lines.includes(
      '  add "uid=4003,ou=s,dc=dr" (objectClass, uid, vmPin); mailbox: created on the backup MSS',
    ),
  );
  assert.ok(lines.includes('  FAILED modify "uid=4004,ou=s,dc=dr": vmPin set (value not shown)'));
  assert.ok(text.includes("Warnings:\n  The production entry"));
  assert.equal(lines.at(-1), "Took 1.5 s");
});

Deno.test("formatDirectoryReport() says a dry run changed nothing and shows a fatal error alone", () => {
  assert.match(formatDirectoryReport(report({ dryRun: true })), /dry run: nothing was changed/);
  const failed = formatDirectoryReport(report({
    ok: false,
    error: { message: 'Cannot bind to "ldap://prod:389" as "cn=x": invalid credentials' },
  }));
  assert.match(
    failed,
    /FAILED: Cannot bind to "ldap:\/\/prod:389" as "cn=x": invalid credentials$/,
  );
  assert.doesNotMatch(failed, /subscribe 4001/);
});

Deno.test("formatDirectoryRunLine() sums a run up on one line", () => {
  assert.equal(
    formatDirectoryRunLine(report({ ok: false })),
    "directory\t2026-03-10T12:00:00.000Z\tFAILED\t3 subscribers\tsubscribed 1\torphaned 1\t" +
      "unsubscribed 1\tpending 1\tbackup added 1\tmodified 1\tfailed 1",
  );
  assert.match(
    formatDirectoryRunLine(report({ error: { message: "Cannot connect" } })),
    /^directory\t\S+\tFAILED\tCannot connect$/,
  );
});

Deno.test("compactReport() keeps a small report whole", () => {
  const r = report();
  assert.deepEqual(compactReport(r), r);
});

Deno.test("compactReport() shortens lists to fit a KV value, failures first, counts whole", () => {
  const many = Array.from({ length: 5000 }, (_, i) => String(80000 + i));
  const big = report({
    subscriptions: { ...report().subscriptions, subscribe: many },
    backup: {
      changes: [
        ...many.map((m) => ({
          mailbox: m,
          dn: `uid=${m},ou=bulk,dc=dr`,
          op: "modify" as const,
          changes: [{
            attr: "displayName",
            op: "replace" as const,
            detail: `displayName "a" → "b ${m}"`,
          }],
          status: "done" as const,
        })),
        { mailbox: "1", dn: "uid=1", op: "add", status: "failed", error: "refused" },
      ],
      missing: [],
    },
  });
  const c = compactReport(big);
  assert.ok(serialize(c).length <= 60_000, `${serialize(c).length} bytes`);
  assert.equal(c.backup.changes[0].status, "failed");
  assert.equal(c.counts, big.counts);
  assert.ok(c.truncated!["subscribe"] > 0 && c.truncated!["backup changes"] > 0);
  assert.equal(c.subscriptions.subscribe.length + c.truncated!["subscribe"], 5000);
  assert.match(
    formatDirectoryReport(c),
    /stored record shortened: \d+ subscribe, \d+ backup changes not listed/,
  );
  assert.equal(big.subscriptions.subscribe.length, 5000, "the report itself is not changed");
});
