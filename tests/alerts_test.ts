/**
 * The monitor against the lab's real servers: every configured server checked up, the backup
 * Dovecot stopped (and always started again) → exactly one alert mail at the lab's SMTP
 * recorder once it has been down `unreachableMinutes`, exactly one recovery mail when it is
 * back; a burst of failing mailboxes → one mail listing them all; a certificate seen over TLS.
 * Each test mails a recipient of its own, so the shared recorder's other mail does not count.
 */
import assert from "node:assert/strict";
import { readSmtpInbox } from "../scripts/lab.ts";
import { startDovecot, stopDovecot } from "../scripts/lab/dovecot.ts";
import { labLayout } from "../scripts/lab/paths.ts";
import {
  checkOnce,
  evaluateAlerts,
  listActiveAlerts,
  readiness,
  runMonitor,
} from "../engine/monitor/mod.ts";
import {
  closeState,
  listServerHealth,
  type MailboxResult,
  openState,
  putMailboxResult,
  type State,
} from "../engine/state/mod.ts";
import { setLogSink } from "../engine/support/mod.ts";
import { lab, labConfig, tempDir } from "./test_utils/mod.ts";

const ROLES = ["ldap-source", "ldap-target", "smtp", "source", "target"];

function recipient(tag: string): string {
  return `alerts-${tag}-${crypto.randomUUID().slice(0, 8)}@lab.example`;
}

function mailsTo(to: string) {
  return readSmtpInbox(lab().dir).filter((r) => r.to.includes(to));
}

function subjectOf(raw: string): string {
  return /^Subject: (.*(?:\r\n[ \t].*)*)/m.exec(raw)?.[1].replace(/\r\n[ \t]/g, " ") ?? "";
}

// Mail bodies arrive quoted-printable: soft line breaks joined, escapes decoded.
function bodyOf(raw: string): string {
  const body = raw.slice(raw.indexOf("\r\n\r\n") + 4).replace(/=\r\n/g, "");
  return body.replace(/=([0-9A-F]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\r\n/g, "\n");
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

const later = (d: Date, ms: number) => new Date(d.getTime() + ms);

// Tests that mail through engine/mail: after QUIT nodemailer arms a close timer that the
// relay's closing clears a moment later, sometimes after the test has ended. The resource
// sanitizer stays on; only that timer is let go.
const MAILS = { sanitizeOps: false };

Deno.test(
  "backup down: one alert mail after unreachableMinutes, one recovery mail",
  MAILS,
  async () => {
    await using dir = await tempDir("alerts");
    const to = recipient("down");
    const config = await labConfig(dir.path, (raw) => {
      // diskFreePercent 0: a nearly full disk on the test machine must not add its own alert.
      raw.alerts = { to: [to], unreachableMinutes: 0.01, diskFreePercent: 0 };
    });
    const l = lab();
    const layout = labLayout(l.dir, l.portOffset);
    await withState(async (state) => {
      const t0 = new Date();
      const first = await checkOnce(config, state, t0);
      assert.deepEqual(first.servers.map((h) => h.role).sort(), ROLES);
      for (const h of first.servers) {
        assert.ok(h.up, `${h.role} up: ${h.detail}`);
        assert.equal(typeof h.latencyMs, "number");
      }
      assert.equal(first.disks[0].which, "data");
      assert.ok(first.disks[0].freePercent! > 0);
      assert.equal((await readiness(state, config, t0)).ready, true);
      assert.equal((await evaluateAlerts(config, state, t0)).started.length, 0);

      try {
        await stopDovecot(layout.dovecot.backup);
        const t1 = later(t0, 1_000);
        await checkOnce(config, state, t1);
        const down = (await listServerHealth(state)).find((h) => h.role === "target")!;
        assert.equal(down.up, false);
        assert.equal(down.downSince, t1.toISOString());
        assert.match(down.detail, /18243|127\.0\.0\.1|mss-backup/);
        assert.equal((await readiness(state, config, t1)).ready, false);
        // Down for less than 0.6 s of the test's clock: no alert yet.
        assert.equal((await evaluateAlerts(config, state, t1)).started.length, 0);

        const t2 = later(t1, 1_000);
        await checkOnce(config, state, t2);
        const round = await evaluateAlerts(config, state, t2);
        assert.deepEqual(round.started.map((a) => a.key), ["server-down:target"]);
        assert.equal(round.sent, 1);
        await evaluateAlerts(config, state, later(t2, 1_000));
        const mails = mailsTo(to);
        assert.equal(mails.length, 1, "exactly one alert mail");
        assert.equal(subjectOf(mails[0].raw), "vmirror alert: 1 server unreachable");
        assert.match(bodyOf(mails[0].raw), /The backup "mss-backup" is unreachable/);
        assert.deepEqual((await listActiveAlerts(state)).map((a) => a.key), ["server-down:target"]);
      } finally {
        await startDovecot(layout, "backup");
      }

      const t3 = later(t0, 10_000);
      const back = await checkOnce(config, state, t3);
      assert.ok(back.servers.find((h) => h.role === "target")!.up);
      const round = await evaluateAlerts(config, state, t3);
      assert.deepEqual(round.cleared.map((a) => a.key), ["server-down:target"]);
      await evaluateAlerts(config, state, later(t3, 1_000));
      const mails = mailsTo(to);
      assert.equal(mails.length, 2, "exactly one recovery mail");
      assert.equal(subjectOf(mails[1].raw), "vmirror recovered: 1 server unreachable cleared");
      assert.deepEqual(await listActiveAlerts(state), []);
    });
  },
);

Deno.test("failing mailboxes starting together: one mail listing them all", MAILS, async () => {
  await using dir = await tempDir("alerts");
  const to = recipient("burst");
  const config = await labConfig(dir.path, (raw) => {
    raw.alerts = { to: [to], failedPasses: 3, diskFreePercent: 0 };
  });
  await withState(async (state) => {
    const now = new Date();
    for (const [mailbox, streak] of [["4001", 3], ["4002", 5], ["4003", 3], ["4004", 2]] as const) {
      await putMailboxResult(state, {
        mailbox,
        ok: false,
        startedAt: now.toISOString(),
        finishedAt: now.toISOString(),
        copied: 0,
        deleted: 0,
        flagsUpdated: 0,
        placeholders: 0,
        skipped: {},
        warnings: [],
        error: { message: "mss-backup: the mailbox is over quota" },
        failStreak: streak,
      } as MailboxResult);
    }
    const round = await evaluateAlerts(config, state, now);
    assert.equal(round.started.length, 3);
    await evaluateAlerts(config, state, later(now, 1_000));
    const mails = mailsTo(to);
    assert.equal(mails.length, 1);
    assert.equal(subjectOf(mails[0].raw), "vmirror alert: 3 mailboxes failing");
    assert.match(
      bodyOf(mails[0].raw),
      /3 mailboxes, failing with: mss-backup: the mailbox is over quota\n {4}4001, 4002, 4003\n/,
    );
  });
});

Deno.test("a certificate seen over TLS: its expiry is kept and alerts within certificateDays", async () => {
  await using dir = await tempDir("alerts");
  const l = lab();
  const config = await labConfig(dir.path, (raw) => {
    const source = raw.source as Record<string, unknown>;
    Object.assign(source, { tls: "tls", port: l.imap.prod.imapsPort, caFile: l.tls.caFile });
    // The lab's certificate lasts years: a window of 20,000 days reaches it.
    raw.alerts = { certificateDays: 20_000, diskFreePercent: 0 };
    delete raw.smtp;
  });
  await withState(async (state) => {
    const now = new Date();
    const { servers } = await checkOnce(config, state, now);
    const source = servers.find((h) => h.role === "source")!;
    assert.ok(source.up, source.detail);
    assert.ok(Date.parse(source.certificateExpiresAt!) > now.getTime());
    assert.equal(servers.find((h) => h.role === "smtp"), undefined);
    const round = await evaluateAlerts(config, state, now);
    assert.deepEqual(round.started.map((a) => a.key), ["certificate-expiring:source"]);
    assert.equal(round.queued, 0, "no relay configured: no mail");
  });
});

Deno.test("runMonitor checks at once and stops on abort", async () => {
  await using dir = await tempDir("alerts");
  const config = await labConfig(dir.path, (raw) => {
    raw.alerts = { diskFreePercent: 0 };
  });
  await withState(async (state) => {
    const stop = new AbortController();
    const run = runMonitor(config, state, { signal: stop.signal });
    const deadline = Date.now() + 20_000;
    while ((await listServerHealth(state)).length < ROLES.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    stop.abort();
    await run;
    assert.deepEqual((await listServerHealth(state)).map((h) => h.role).sort(), ROLES);
  });
});
