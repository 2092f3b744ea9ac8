import assert from "node:assert/strict";
import type { ActiveAlert } from "../state/mod.ts";
import {
  countWords,
  groupAlerts,
  type MailContext,
  recoveryMail,
  startMail,
  TEST_ALERT_SUBJECT,
  testAlertMail,
  when,
} from "./mail_text.ts";

const NOW = new Date("2025-06-01T12:00:00Z");
const CTX: MailContext = { now: NOW, timeZone: "UTC", host: "vm1", active: 3 };

function alert(kind: ActiveAlert["kind"], subject: string, reason = ""): ActiveAlert {
  return {
    key: `${kind}:${subject}`,
    kind,
    subject,
    summary: `${kind} of ${subject}`,
    since: "2025-06-01T11:50:00Z",
    updatedAt: NOW.toISOString(),
    facts: reason ? { reason } : {},
  };
}

Deno.test("groups put causes first and sort mailboxes numerically", () => {
  const g = groupAlerts([
    alert("mailbox-failing", "4010"),
    alert("mailbox-failing", "4002"),
    alert("server-down", "target"),
    alert("disk-low", "data"),
  ]);
  assert.deepEqual(g.map((x) => x.kind), ["server-down", "disk-low", "mailbox-failing"]);
  assert.deepEqual(g[2].items.map((a) => a.subject), ["4002", "4010"]);
});

Deno.test("count words: singular and plural per kind", () => {
  assert.equal(
    countWords([
      alert("server-down", "target"),
      alert("mailbox-failing", "1"),
      alert("mailbox-failing", "2"),
    ]),
    "1 server unreachable, 2 mailboxes failing",
  );
});

Deno.test("a burst of 500 failing mailboxes is one short mail, grouped by cause", () => {
  const alerts = [
    alert("server-down", "source"),
    ...Array.from({ length: 500 }, (_, i) => alert("mailbox-failing", String(5000 + i), "refused")),
    alert("mailbox-failing", "4001", "quota"),
  ];
  const m = startMail(alerts, { ...CTX, active: 501 });
  assert.equal(m.subject, "vmirror alert: 1 server unreachable, 501 mailboxes failing");
  assert.match(m.text, /^vmirror on vm1 found 502 new problems \(2025-06-01 12:00 UTC\):/);
  assert.match(
    m.text,
    /Servers unreachable \(1\):\n- server-down of source \(since 2025-06-01 11:50 UTC\)/,
  );
  assert.match(m.text, /Mailboxes failing pass after pass \(501\):/);
  assert.match(m.text, /- mailbox, failing with: quota\n {4}4001\n/);
  assert.match(m.text, /- 500 mailboxes, failing with: refused\n {4}5000, 5001, /);
  assert.match(m.text, /5499\n/);
  assert.ok(m.text.split("\n").every((l) => l.length <= 120));
  assert.ok(m.text.length < 8000, `${m.text.length} characters`);
});

Deno.test("the recovery mail lists what cleared and what is still active", () => {
  const cleared = [
    { ...alert("server-down", "target"), clearedAt: NOW.toISOString() },
    { ...alert("mailbox-failing", "4001", "refused"), clearedAt: NOW.toISOString() },
  ];
  const m = recoveryMail(cleared, { ...CTX, active: 0 });
  assert.equal(m.subject, "vmirror recovered: 1 server unreachable, 1 mailbox failing cleared");
  assert.match(m.text, /2 problems have cleared/);
  assert.match(m.text, /cleared 2025-06-01 12:00 UTC/);
  assert.match(m.text, /mailbox passing again\n {4}4001/);
  assert.match(m.text, /Nothing else needs attention now\./);
  assert.match(recoveryMail(cleared, { ...CTX, active: 2 }).text, /Still active: 2/);
});

Deno.test("long lists of other kinds are cut with a count", () => {
  const many = Array.from({ length: 80 }, (_, i) => alert("deletions-held", String(i)));
  const m = startMail(many, { ...CTX, active: 80 });
  assert.match(m.text, /- … and 30 more \(see the dashboard\)/);
});

Deno.test("the mail text stays under the outbox's size", () => {
  const huge = Array.from(
    { length: 5000 },
    (_, i) => alert("mailbox-failing", `mailbox-${i}`, `cause ${i} ${"x".repeat(200)}`),
  );
  const m = startMail(huge, { ...CTX, active: 5000 });
  assert.ok(m.text.length <= 28_100);
  assert.match(m.text, /cut here/);
});

Deno.test("the test alert and dates in the appliance's time zone", () => {
  const t = testAlertMail({ now: NOW, timeZone: "Europe/Berlin" });
  assert.equal(t.subject, TEST_ALERT_SUBJECT);
  assert.match(t.text, /sent 2025-06-01 14:00 Europe\/Berlin/);
  assert.equal(when("nonsense", "UTC"), "nonsense");
});
