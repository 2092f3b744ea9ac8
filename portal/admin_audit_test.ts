import assert from "node:assert/strict";
import type { AuditEntry } from "../engine/state/mod.ts";
import { auditCsv, auditHref, csvCell, csvRow } from "./admin_audit.tsx";

Deno.test("csvCell() quotes per RFC 4180 and defuses formulas", () => {
  assert.equal(csvCell("plain"), "plain");
  assert.equal(csvCell(""), "");
  assert.equal(csvCell('a "b", c'), '"a ""b"", c"');
  assert.equal(csvCell("two\nlines"), '"two\nlines"');
  assert.equal(csvCell('=HYPERLINK("x")'), '"\'=HYPERLINK(""x"")"');
  for (const lead of ["+", "-", "@", "\t", "\r"]) {
    assert.ok(csvCell(`${lead}1`).replace(/^"/, "").startsWith("'"), JSON.stringify(lead));
  }
  assert.equal(csvCell("2026-03-01T00:00:00.000Z"), "2026-03-01T00:00:00.000Z");
});

Deno.test("csvRow() writes at, actor, action, from and the detail as JSON", () => {
  const e: AuditEntry = {
    at: "2026-03-01T00:00:00.000Z",
    actor: "subscriber:4001",
    action: "forward",
    from: "10.0.0.1",
    detail: { to: "a@example.com", pin: "1234" },
  };
  assert.equal(
    csvRow(e),
    '2026-03-01T00:00:00.000Z,subscriber:4001,forward,10.0.0.1,"{""to"":""a@example.com""}"\r\n',
  );
  assert.equal(csvRow({ at: "t", actor: "a", action: "b" }), "t,a,b,,\r\n");
});

Deno.test("auditCsv() streams a header and every entry, and stops the read when cancelled", async () => {
  async function* entries(n: number, done: { closed: boolean }) {
    try {
      for (let i = 0; i < n; i++) yield { at: `t${i}`, actor: "a", action: "b" } as AuditEntry;
    } finally {
      done.closed = true;
    }
  }
  const all = { closed: false };
  const text = await new Response(auditCsv(entries(450, all))).text();
  const lines = text.split("\r\n");
  assert.equal(lines[0], "at,actor,action,from,detail");
  assert.equal(lines.length, 452);
  assert.equal(lines[450], "t449,a,b,,");
  const cut = { closed: false };
  const reader = auditCsv(entries(10_000, cut)).getReader();
  await reader.read();
  await reader.cancel();
  assert.equal(cut.closed, true);
});

Deno.test("auditHref() keeps the filled fields and the page", () => {
  const text = { who: "4001", action: "", mailbox: "", from: "2026-03-01", to: "" };
  assert.equal(auditHref("/admin/audit", text, 2), "/admin/audit?who=4001&from=2026-03-01&page=2");
  assert.equal(auditHref("/admin/audit.csv", text), "/admin/audit.csv?who=4001&from=2026-03-01");
  assert.equal(auditHref("/admin/audit", { ...text, who: "", from: "" }, 1), "/admin/audit");
});
