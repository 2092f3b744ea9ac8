import assert from "node:assert/strict";
import {
  checkEntries,
  csvCell,
  formatSeconds,
  MAX_ENTRIES,
  pageLinks,
  pageParam,
  paging,
  parseMailboxCsv,
  parsePastedList,
  subscriptionRow,
  subscriptionsCsv,
} from "./subscriptions_view.ts";
import type { MailboxResult } from "../engine/state/mod.ts";

Deno.test("parsePastedList() splits on new lines, commas, semicolons and spaces, keeping lines", () => {
  const got = parsePastedList("4001, 4002\r\n\n  4003 4004;4005\n\tbad id!\n");
  assert.deepEqual(got, [
    { value: "4001", line: 1 },
    { value: "4002", line: 1 },
    { value: "4003", line: 3 },
    { value: "4004", line: 3 },
    { value: "4005", line: 3 },
    { value: "bad", line: 4 },
    { value: "id!", line: 4 },
  ]);
  assert.deepEqual(parsePastedList("  \n "), []);
});

Deno.test("parseMailboxCsv() reads the first column, with or without a header row", () => {
  const withHeader = parseMailboxCsv(
    "\uFEFFmailbox,managed_by\r\n4001,manual\r\n4002,directory\r\n",
  );
  assert.equal(withHeader.header, "mailbox");
  assert.deepEqual(withHeader.entries, [{ value: "4001", line: 2 }, { value: "4002", line: 3 }]);
  const bare = parseMailboxCsv("4001\n4002\n\n4003");
  assert.equal(bare.header, null);
  assert.deepEqual(bare.entries.map((e) => [e.value, e.line]), [
    ["4001", 1],
    ["4002", 2],
    ["4003", 4],
  ]);
  // A spreadsheet's header with spaces is a header; a typo with digits on line 1 is an entry.
  assert.equal(parseMailboxCsv("Mailbox Number;Name\n4001;A").header, "Mailbox Number");
  assert.deepEqual(parseMailboxCsv("Mailbox Number;Name\n4001;A").entries, [
    { value: "4001", line: 2 },
  ]);
  const typo = parseMailboxCsv("40 01,x\n4002,y");
  assert.equal(typo.header, null);
  assert.deepEqual(typo.entries[0], { value: "40 01", line: 1 });
});

Deno.test("parseMailboxCsv() follows RFC 4180 quoting, including quoted line breaks", () => {
  const csv = 'mailbox,note\n"4001","a, b"\n"40""02",x\n4003,"two\nlines"\n4004,z\n';
  const got = parseMailboxCsv(csv).entries;
  assert.deepEqual(got, [
    { value: "4001", line: 2 },
    { value: '40"02', line: 3 },
    { value: "4003", line: 4 },
    { value: "4004", line: 6 },
  ]);
});

Deno.test("checkEntries() keeps each valid id once and reports every invalid one with its line", () => {
  const out = checkEntries([
    { value: "4001", line: 1 },
    { value: "4001", line: 2 },
    { value: "../etc", line: 3 },
    { value: "x".repeat(70), line: 4 },
    "alice@corp.lab",
    "bad*",
  ]);
  assert.deepEqual(out.mailboxes, ["4001", "alice@corp.lab"]);
  assert.deepEqual(out.invalid.map((e) => [e.value.slice(0, 6), e.line]), [
    ["../etc", 3],
    ["xxxxxx", 4],
    ["bad*", undefined],
  ]);
  assert.match(out.invalid[0].reason, /not a mailbox id/);
  assert.match(out.invalid[1].reason, /longer than 64/);
});

Deno.test("checkEntries() refuses more than MAX_ENTRIES mailboxes in one request, by name", () => {
  const ids = Array.from({ length: MAX_ENTRIES + 2 }, (_, i) => String(100000 + i));
  const out = checkEntries(ids);
  assert.equal(out.mailboxes.length, MAX_ENTRIES);
  assert.equal(out.invalid.length, 2);
  assert.match(out.invalid[0].reason, /more than/);
});

Deno.test("paging() clamps the page; pageLinks() leaves gaps instead of hundreds of links", () => {
  assert.deepEqual(paging(0, 3, 50), { page: 1, pageSize: 50, pages: 1, offset: 0 });
  assert.deepEqual(paging(10_000, 400, 50), { page: 200, pageSize: 50, pages: 200, offset: 9950 });
  assert.deepEqual(paging(101, 3, 50), { page: 3, pageSize: 50, pages: 3, offset: 100 });
  assert.deepEqual(pageLinks(1, 1), [1]);
  assert.deepEqual(pageLinks(1, 200), [1, 2, 3, null, 200]);
  assert.deepEqual(pageLinks(100, 200), [1, null, 98, 99, 100, 101, 102, null, 200]);
  assert.deepEqual(pageLinks(4, 6), [1, 2, 3, 4, 5, 6]);
  assert.equal(pageParam("7"), 7);
  for (const bad of [undefined, null, "", "0", "-1", "2.5", "x"]) assert.equal(pageParam(bad), 1);
});

Deno.test("subscriptionRow() takes the state from the newest result", () => {
  const sub = { mailbox: "4001", origin: "directory" as const, addedAt: "2026-01-01T00:00:00Z" };
  const result: MailboxResult = {
    mailbox: "4001",
    ok: false,
    startedAt: "2026-01-02T00:00:00Z",
    finishedAt: "2026-01-02T00:00:05Z",
    copied: 0,
    deleted: 0,
    flagsUpdated: 0,
    placeholders: 0,
    skipped: {},
    warnings: [],
    error: { message: "Cannot log in", server: "mss-prod", operation: "log in" },
  };
  assert.deepEqual(subscriptionRow(sub), {
    mailbox: "4001",
    origin: "directory",
    addedAt: "2026-01-01T00:00:00Z",
    orphanedSince: null,
    state: "never",
    lastPassAt: null,
  });
  const failed = subscriptionRow({ ...sub, orphanedSince: "2026-02-01T00:00:00Z" }, result);
  assert.equal(failed.state, "failed");
  assert.equal(failed.lastPassAt, "2026-01-02T00:00:05Z");
  assert.equal(failed.orphanedSince, "2026-02-01T00:00:00Z");
  assert.equal(failed.error?.server, "mss-prod");
  const ok = subscriptionRow(sub, { ...result, ok: true, error: undefined });
  assert.equal(ok.state, "ok");
  assert.equal(ok.error, undefined);
});

Deno.test("subscriptionsCsv() exports a header and quoted cells that import again", () => {
  const csv = subscriptionsCsv([
    {
      mailbox: "4001",
      origin: "manual",
      addedAt: "2026-01-01T00:00:00.000Z",
      orphanedSince: null,
      state: "failed",
      lastPassAt: "2026-01-02T00:00:00.000Z",
      error: { message: 'Cannot select "INBOX", sorry' },
    },
    {
      mailbox: "alice@corp.lab",
      origin: "directory",
      addedAt: "2026-01-01T00:00:00.000Z",
      orphanedSince: "2026-03-01T00:00:00.000Z",
      state: "never",
      lastPassAt: null,
    },
  ]);
  const lines = csv.split("\r\n");
  assert.equal(lines[0], "mailbox,managed_by,added_at,orphaned_since,state,last_pass_at,error");
  assert.equal(
    lines[1],
    '4001,manual,2026-01-01T00:00:00.000Z,,failed,2026-01-02T00:00:00.000Z,"Cannot select ""INBOX"", sorry"',
  );
  const back = parseMailboxCsv(csv);
  assert.equal(back.header, "mailbox");
  assert.deepEqual(back.entries.map((e) => e.value), ["4001", "alice@corp.lab"]);
  assert.equal(csvCell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
  assert.equal(csvCell("a\nb"), '"a\nb"');
});

Deno.test("formatSeconds() reads as a person would say it", () => {
  assert.equal(formatSeconds(null), "—");
  assert.equal(formatSeconds(0.25), "0.3 s");
  assert.equal(formatSeconds(42), "42 s");
  assert.equal(formatSeconds(185), "3 min 5 s");
  assert.equal(formatSeconds(7800), "2 h 10 min");
  assert.equal(formatSeconds(90000), "1 d 1 h");
});
