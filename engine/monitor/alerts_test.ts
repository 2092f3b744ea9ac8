import assert from "node:assert/strict";
import { type Config, loadConfig } from "../config/mod.ts";
import type { OutgoingMail } from "../mail/mod.ts";
import {
  closeState,
  listAudit,
  listQueuedAlertMails,
  type MailboxResult,
  openState,
  putDirectoryRunRecord,
  putHeldDeletions,
  putMailboxResult,
  putServerHealth,
  type ServerHealth,
  type State,
} from "../state/mod.ts";
import { setLogSink } from "../support/mod.ts";
import { evaluateAlerts, listActiveAlerts, sendTestAlert } from "./alerts.ts";

const T0 = new Date("2025-06-01T12:00:00Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const TO = ["ops@example.org", "oncall@example.org"];

async function config(over: Record<string, unknown> = {}): Promise<Config> {
  return await loadConfig({
    dataDir: "/tmp/vmirror-monitor-unit",
    env: {},
    stored: {
      smtp: { host: "127.0.0.1", port: 2525, from: "vmirror@example.org" },
      alerts: { to: TO, unreachableMinutes: 10, failedPasses: 3 },
      timeZone: "UTC",
      ...over,
    },
  });
}

/** A fake relay: records mails, or refuses while `down`. */
function relay() {
  const r = {
    down: false,
    mails: [] as OutgoingMail[],
    send: (m: OutgoingMail) => {
      if (r.down) return Promise.reject(new Error("relay 127.0.0.1:2525: connection refused"));
      r.mails.push(m);
      return Promise.resolve();
    },
  };
  return r;
}

function target(up: boolean, downSince: Date | null = null): ServerHealth {
  return {
    role: "target",
    name: "mss-backup",
    up,
    checkedAt: T0.toISOString(),
    latencyMs: up ? 2 : null,
    downSince: downSince?.toISOString() ?? null,
    detail: up ? "accepted the login" : "cannot connect: connection refused",
  };
}

function failing(mailbox: string, streak: number): MailboxResult {
  return {
    mailbox,
    ok: streak === 0,
    startedAt: T0.toISOString(),
    finishedAt: T0.toISOString(),
    copied: 0,
    deleted: 0,
    flagsUpdated: 0,
    placeholders: 0,
    skipped: {},
    warnings: [],
    ...(streak ? { error: { message: "mailbox is locked" } } : {}),
    failStreak: streak,
  } as MailboxResult;
}

async function withState(fn: (state: State) => Promise<void>) {
  const state = await openState(":memory:");
  const lines: string[] = [];
  setLogSink((l) => lines.push(l));
  try {
    await fn(state);
  } finally {
    setLogSink((l) => console.error(l));
    closeState(state);
  }
}

Deno.test("a server down: one mail per recipient at start, one at recovery, both audited", async () => {
  await withState(async (state) => {
    const cfg = await config();
    const r = relay();
    await putServerHealth(state, target(false, at(0)));
    let round = await evaluateAlerts(cfg, state, at(5), r.send);
    assert.equal(round.started.length, 0, "not down long enough yet");
    round = await evaluateAlerts(cfg, state, at(10), r.send);
    assert.deepEqual(round.started.map((a) => a.key), ["server-down:target"]);
    assert.equal(round.started[0].since, at(0).toISOString());
    assert.deepEqual(r.mails.map((m) => m.to), TO);
    assert.match(r.mails[0].subject, /^vmirror alert: 1 server unreachable$/);
    assert.match(r.mails[0].text, /backup "mss-backup" is unreachable/);

    // Still down: no new mail.
    await evaluateAlerts(cfg, state, at(11), r.send);
    assert.equal(r.mails.length, 2);
    assert.deepEqual((await listActiveAlerts(state)).map((a) => a.key), ["server-down:target"]);

    await putServerHealth(state, target(true));
    round = await evaluateAlerts(cfg, state, at(12), r.send);
    assert.deepEqual(round.cleared.map((a) => a.key), ["server-down:target"]);
    assert.equal(r.mails.length, 4);
    assert.match(r.mails[2].subject, /^vmirror recovered: 1 server unreachable cleared$/);
    assert.deepEqual(await listActiveAlerts(state), []);
    await evaluateAlerts(cfg, state, at(13), r.send);
    assert.equal(r.mails.length, 4);

    const audit = (await listAudit(state)).reverse();
    assert.deepEqual(audit.map((a) => [a.actor, a.action, a.detail?.key]), [
      ["system", "alert-start", "server-down:target"],
      ["system", "alert-clear", "server-down:target"],
    ]);
  });
});

Deno.test("many conditions starting together make one mail, grouped by kind", async () => {
  await withState(async (state) => {
    const cfg = await config({ alerts: { to: ["ops@example.org"] } });
    const r = relay();
    for (const m of ["4001", "4002", "4003"]) await putMailboxResult(state, failing(m, 3));
    await putMailboxResult(state, failing("4004", 2));
    await putHeldDeletions(state, {
      mailbox: "4005",
      since: T0.toISOString(),
      updatedAt: T0.toISOString(),
      count: 40,
      mirrored: 50,
      reason: "mailbox",
    });
    const round = await evaluateAlerts(cfg, state, at(1), r.send);
    assert.equal(round.started.length, 4);
    assert.equal(r.mails.length, 1);
    assert.equal(
      r.mails[0].subject,
      "vmirror alert: 1 mailbox with held deletions, 3 mailboxes failing",
    );
    assert.match(
      r.mails[0].text,
      /3 mailboxes, failing with: mailbox is locked\n {4}4001, 4002, 4003/,
    );
    // A changed streak updates the alert's words, it does not mail again.
    await putMailboxResult(state, failing("4001", 4));
    await evaluateAlerts(cfg, state, at(2), r.send);
    assert.equal(r.mails.length, 1);
    const a = (await listActiveAlerts(state)).find((x) => x.key === "mailbox-failing:4001");
    assert.match(a!.summary, /failed 4 passes/);
    assert.equal(a!.since, at(1).toISOString());
  });
});

Deno.test("a refused mail is kept and sent next round, in order", async () => {
  await withState(async (state) => {
    const cfg = await config({ alerts: { to: ["ops@example.org"], failedPasses: 1 } });
    const r = relay();
    r.down = true;
    await putMailboxResult(state, failing("4001", 1));
    let round = await evaluateAlerts(cfg, state, at(1), r.send);
    assert.equal(round.failed, 1);
    assert.equal(r.mails.length, 0);
    const [queued] = await listQueuedAlertMails(state);
    assert.equal(queued.attempts, 1);
    assert.match(queued.lastError!, /connection refused/);

    // It clears while the relay is still down: both mails wait, the recovery after the start.
    await putMailboxResult(state, failing("4001", 0));
    round = await evaluateAlerts(cfg, state, at(2), r.send);
    assert.equal(round.failed, 1, "the second mail waits behind the first");
    assert.equal((await listQueuedAlertMails(state)).length, 2);

    r.down = false;
    round = await evaluateAlerts(cfg, state, at(3), r.send);
    assert.equal(round.sent, 2);
    assert.deepEqual(r.mails.map((m) => m.subject.split(":")[0]), [
      "vmirror alert",
      "vmirror recovered",
    ]);
    assert.deepEqual(await listQueuedAlertMails(state), []);
  });
});

Deno.test("a mail refused for a day is given up", async () => {
  await withState(async (state) => {
    const cfg = await config({ alerts: { to: ["ops@example.org"], failedPasses: 1 } });
    const r = relay();
    r.down = true;
    await putMailboxResult(state, failing("4001", 1));
    await evaluateAlerts(cfg, state, at(1), r.send);
    await evaluateAlerts(cfg, state, at(25 * 60), r.send);
    assert.deepEqual(await listQueuedAlertMails(state), []);
    assert.equal((await listActiveAlerts(state)).length, 1, "the alert itself stays active");
  });
});

Deno.test("without recipients or relay: alerts and audit, no mail", async () => {
  await withState(async (state) => {
    for (
      const cfg of [await config({ alerts: { to: [] } }), { ...await config(), smtp: undefined }]
    ) {
      const r = relay();
      await putMailboxResult(state, failing("4001", 5));
      const round = await evaluateAlerts(cfg, state, at(1), r.send);
      assert.equal(round.queued, 0);
      assert.equal(r.mails.length, 0);
      assert.equal((await listActiveAlerts(state)).length, 1);
      await putMailboxResult(state, failing("4001", 0));
      await evaluateAlerts(cfg, state, at(2), r.send);
      assert.deepEqual(await listActiveAlerts(state), []);
    }
    assert.equal((await listAudit(state)).length, 4);
  });
});

Deno.test("a failed directory pass alerts only while a directory is configured", async () => {
  await withState(async (state) => {
    const r = relay();
    await putDirectoryRunRecord(state, {
      id: "d1",
      startedAt: T0.toISOString(),
      ok: false,
      error: { message: "cannot bind" },
    });
    const noLdap = await config();
    assert.equal((await evaluateAlerts(noLdap, state, at(1), r.send)).started.length, 0);
    const withLdap = {
      ...noLdap,
      ldap: { source: { url: "ldap://127.0.0.1:1" } },
    } as unknown as Config;
    const round = await evaluateAlerts(withLdap, state, at(2), r.send);
    assert.deepEqual(round.started.map((a) => a.summary), [
      "The last directory sync failed: cannot bind",
    ]);
  });
});

Deno.test("the test alert goes to every recipient; without a relay it says why", async () => {
  const cfg = await config();
  const r = relay();
  assert.deepEqual(await sendTestAlert(cfg, r.send), TO);
  assert.deepEqual(r.mails.map((m) => [m.to, m.subject]), TO.map((t) => [t, "vmirror test alert"]));
  await assert.rejects(() => sendTestAlert({ ...cfg, smtp: undefined }, r.send), /no mail relay/);
  const none = { ...cfg, alerts: { ...cfg.alerts, to: [] } };
  await assert.rejects(() => sendTestAlert(none, r.send), /no alert recipients/);
  r.down = true;
  await assert.rejects(
    () => sendTestAlert(cfg, r.send),
    /Cannot send the test alert to "ops@example.org": relay .*; to "oncall@example.org"/,
  );
});
