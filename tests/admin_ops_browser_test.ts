/**
 * Admin console II in a real browser: Debian's headless Chromium driven by playwright-core
 * against `vmirror serve` in a child process (a config file written here: the lab's production
 * and backup MSS and mail relay, no directory, alerts to ops@lab.test checked every 10 s, a
 * mirror pass only every hour so "sync now" is what moves the counts). Subscribes scratch
 * mailboxes through a CSV upload; syncs them now and watches the job and the mailbox pages;
 * stops the backup Dovecot (always started again) — the dashboard marks it down and exactly one
 * alert mail reaches the lab's SMTP recorder, one recovery mail when it is back; restores two
 * messages production lost (preview, confirm; a second restore adds nothing); scrapes `/metrics`
 * with a token from `vmirror admin token create` and matches it with `vmirror status --json`;
 * forwards a message as a subscriber and finds it with the audit page's filter.
 * Screenshots of every page at desktop and phone width go to `<lab>/artifacts/admin-ops/`.
 * Scratch mailboxes 7480–7482 belong to this test.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import parseText from "parse-prometheus-text-format";
import { readSmtpInbox, type SmtpRecord } from "../scripts/lab.ts";
import { startDovecot, stopDovecot } from "../scripts/lab/dovecot.ts";
import { labLayout } from "../scripts/lab/paths.ts";
import {
  Appliance,
  CHROMIUM_ARGS as ARGS,
  chromiumPath,
  DESKTOP,
  fillScratch,
  freePort,
  lab,
  labConfig,
  messageIdOf,
  press,
  runCli,
  Screenshots,
  snapshot,
  tempDir,
  withImap,
} from "./test_utils/mod.ts";

const ADMIN_PASSWORD = "ops browser admin password";
const OPS = "ops@lab.test";
// Scratch mailboxes and how many messages each gets on production.
const FILLS = { "7480": 4, "7481": 3, "7482": 2 } as const;
const MAILBOXES = Object.keys(FILLS);
const RESTORED = "7480";
const SUBSCRIBER = "7481";
// The PIN tests/test_utils gives scratch mailboxes on both sides of the lab.
const SCRATCH_PIN = "246810";
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a value other than undefined, or fails naming `what`. */
async function until<T>(
  what: string,
  ms: number,
  check: () => T | undefined | Promise<T | undefined>,
  detail: () => string = () => "",
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await check();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s\n${detail()}`);
    await sleep(500);
  }
}

/**
 * Waits on a job's page while it reloads itself (a meta refresh every 2 s) until the job has
 * ended; returns how many times the page reloaded.
 */
async function untilJobEnds(page: Page, ms = 60_000): Promise<number> {
  let loads = 0;
  const count = () => loads++;
  page.on("load", count);
  try {
    await until("the job to end", ms, async () => {
      try {
        await page.waitForLoadState("load");
        return (await page.locator('meta[http-equiv="refresh"]').count()) === 0 ? true : undefined;
      } catch {
        return undefined; // reloading at that moment
      }
    });
  } finally {
    page.off("load", count);
  }
  return loads;
}

/** The rows of a table as text: the row header, then each cell. */
async function tableRows(page: Page, table: string): Promise<string[][]> {
  return await page.locator(`${table} tbody tr`).evaluateAll((trs) =>
    trs.map((tr) =>
      [...tr.querySelectorAll(":scope > th, :scope > td")].map((c) => (c.textContent ?? "").trim())
    )
  );
}

// The parser ships no types: what it returns, as far as this test reads it (values as text).
interface ParsedFamily {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string> }[];
}
const parsePrometheus = parseText as (text: string) => ParsedFamily[];

function subjectOf(raw: string): string {
  return /^Subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(raw)?.[1].replace(/\r?\n[ \t]/g, " ")
    .trim() ?? "";
}

Deno.test({
  name: "admin console II in Chromium: CSV, sync now, backup down and up, restore, metrics, audit",
  async fn(t) {
    const l = lab();
    const layout = labLayout(l.dir, l.portOffset);
    const executablePath = await chromiumPath();
    await using tmp = await tempDir("admin-ops-browser");
    const data = tmp.path;
    const artifacts = join(l.dir, "artifacts", "admin-ops");
    await Deno.mkdir(artifacts, { recursive: true });

    for (const [mailbox, count] of Object.entries(FILLS)) await fillScratch(mailbox, count);
    const passwordFile = join(data, "admin.pw");
    await Deno.writeTextFile(passwordFile, ADMIN_PASSWORD);
    const config = await labConfig(data, (raw) => {
      // No directory: it would subscribe (and so mirror) every lab mailbox; the CSV upload is
      // how mailboxes are subscribed here.
      delete raw.ldap;
      raw.portal = { adminPasswordFile: passwordFile };
      // One pass at start (nothing subscribed yet), the next in an hour: only "sync now" mirrors.
      raw.schedule = { syncSeconds: 3600 };
      // diskFreePercent 0: a nearly full disk on the test machine must not add its own alert.
      raw.alerts = {
        to: [OPS],
        unreachableMinutes: 0.02,
        checkSeconds: 10,
        diskFreePercent: 0,
      };
    });
    const cli = ["--config", config.file!, "--data", data];

    // The recorder keeps every run's mail: only what arrives from now on counts.
    const before = new Set(readSmtpInbox(l.dir).map((r) => r.id));
    const mailTo = (to: string): SmtpRecord[] =>
      readSmtpInbox(l.dir).filter((r) => !before.has(r.id) && r.to.includes(to));
    const opsMail = (prefix: string) =>
      mailTo(OPS).filter((r) => subjectOf(r.raw).startsWith(prefix));

    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const app = new Appliance([...cli, "--listen", `127.0.0.1:${port}`]);
    let browser: Browser | null = null;
    let backupStopped = false;
    let stopped: Deno.CommandStatus | null = null;

    const camera = new Screenshots(artifacts);
    const shoot = (page: Page, name: string) => camera.shoot(page, name);

    try {
      await app.waitFor(/Portal listening on (\S+)/);
      browser = await chromium.launch({ executablePath, headless: true, args: ARGS });
      const adminContext = await browser.newContext({ viewport: DESKTOP });
      const page = await adminContext.newPage();

      /** The dashboard's server table as {server, state} (state: "✓ up" or "✗ down since …"). */
      const dashboardServers = async () => {
        await page.goto(`${base}/admin`);
        return (await tableRows(page, 'table[aria-labelledby="servers-h"]')).map((r) => ({
          server: r[0],
          state: r[1],
        }));
      };
      const backupState = async () =>
        (await dashboardServers()).find((s) => /^Backup(?! directory)/.test(s.server))?.state ??
          "";

      /** A mailbox page's "Messages" table: folder → production's count and the mirror's. */
      const mailboxCounts = async (mailbox: string) => {
        await page.goto(`${base}/admin/subscriptions/${mailbox}`);
        const rows = await tableRows(page, 'table[aria-labelledby="counts"]');
        return Object.fromEntries(rows.map((r) => [r[0], {
          production: r[1],
          mirror: parseInt(r[2], 10),
        }]));
      };

      await t.step("sign in: the dashboard, every configured server up", async () => {
        await page.goto(`${base}/admin`);
        assert.match(page.url(), /\/admin\/login$/);
        await shoot(page, "login");
        await page.getByLabel("User name").fill("admin");
        await page.getByLabel("Password").fill(ADMIN_PASSWORD);
        await press(page, "Log in");
        assert.match(page.url(), /\/admin$/);
        // The monitor checks at start: source, target and the relay (no directory here).
        const servers = await until("three servers checked up", 30_000, async () => {
          const s = await dashboardServers();
          return s.length === 3 && s.every((x) => x.state.startsWith("✓ up")) ? s : undefined;
        }, app.tail.bind(app));
        assert.deepEqual(servers.map((s) => s.server).sort(), [
          "Backupmss-backup",
          `Mail relay${l.smtp.host}:${l.smtp.port}`,
          "Production message storemss-prod",
        ]);
        assert.equal(await page.locator("#alerts-h").textContent(), "Alerts (0)");
        const ready = await fetch(`${base}/readyz`);
        assert.equal(ready.status, 200);
        assert.equal((await ready.json()).ready, true);
        await shoot(page, "dashboard");
      });

      await t.step("mailboxes: a CSV upload subscribes them, its bad line named", async () => {
        await page.getByRole("link", { name: "Mailboxes", exact: true }).click();
        await page.waitForURL(/\/admin\/subscriptions$/);
        assert.match((await page.locator("p.count").textContent()) ?? "", /No mailbox is mirrored/);
        await shoot(page, "subscriptions-empty");
        const csv = `mailbox,name\n${MAILBOXES.map((m) => `${m},Scratch ${m}`).join("\n")}\n` +
          "not a mailbox,Nobody\n";
        await page.locator("#csv").setInputFiles({
          name: "scratch.csv",
          mimeType: "text/csv",
          buffer: Buffer.from(csv),
        });
        await press(page, "Add from file");
        const outcome = (await page.locator("div.ok[role=status]").textContent()) ?? "";
        assert.match(outcome, new RegExp(`Added 3 mailboxes: ${MAILBOXES.join(", ")}\\.`));
        assert.match(outcome, /Line 1 was read as the header \("mailbox"\)/);
        const refused = (await page.locator("div.error[role=alert]").textContent()) ?? "";
        assert.match(refused, /1 entry was not taken/);
        assert.match(refused, /Line 5 of scratch\.csv: "not a mailbox"/);
        const rows = await tableRows(page, 'table[aria-label="Mailboxes"]');
        assert.deepEqual(rows.map((r) => [r[0], r[1], r[2]]), [
          ...MAILBOXES.map((m) => [m, "manual", "never synced"]),
        ]);
        await shoot(page, "subscriptions-uploaded");
      });

      await t.step(
        "a mailbox page before its first pass: production counted, mirror empty",
        async () => {
          const counts = await mailboxCounts(RESTORED);
          assert.equal(counts.INBOX.production, String(FILLS[RESTORED]));
          assert.equal(counts.INBOX.mirror, 0);
          assert.match(
            (await page.locator("dl.facts dd").nth(2).textContent()) ?? "",
            /never synced/,
          );
          await shoot(page, "mailbox-never-synced");
        },
      );

      await t.step("sync now: the job's page follows it to the end, the counts move", async () => {
        await page.getByRole("link", { name: "Sync & restore" }).click();
        await page.waitForURL(/\/admin\/jobs$/);
        await shoot(page, "jobs");
        await press(page, "Sync all subscribed mailboxes");
        assert.match(page.url(), /\/admin\/jobs\/[^/]+$/);
        await untilJobEnds(page);
        const status = (await page.locator("p[role=status]").textContent()) ?? "";
        assert.match(status, /^Done: /);
        const rows = await tableRows(page, 'section[aria-labelledby="h-result"] table');
        assert.deepEqual(
          rows.map((r) => [r[0], r[1], Number(r[2])]),
          MAILBOXES.map((m) => [m, "ok", FILLS[m as keyof typeof FILLS]]),
        );
        await shoot(page, "job-sync");

        for (const m of MAILBOXES) {
          const counts = await mailboxCounts(m);
          const n = String(FILLS[m as keyof typeof FILLS]);
          assert.deepEqual(counts.INBOX, { production: n, mirror: Number(n) }, m);
        }
        await page.goto(`${base}/admin/subscriptions/${RESTORED}`);
        const passes = await tableRows(page, 'table[aria-labelledby="passes"]');
        assert.equal(passes.length, 1);
        assert.equal(passes[0][1], "ok");
        assert.equal(Number(passes[0][2]), FILLS[RESTORED]);
        await shoot(page, "mailbox");

        await page.goto(`${base}/admin/subscriptions`);
        const states = (await tableRows(page, 'table[aria-label="Mailboxes"]')).map((r) => r[2]);
        assert.deepEqual(states, MAILBOXES.map(() => "ok"));
        await shoot(page, "subscriptions");
      });

      await t.step("backup down: the dashboard marks it, exactly one alert mail", async () => {
        assert.ok(await stopDovecot(layout.dovecot.backup), "the backup Dovecot was not running");
        backupStopped = true;
        const down = await until("the dashboard to show the backup down", 30_000, async () => {
          const s = await backupState();
          return s.startsWith("✗ down") ? s : undefined;
        }, app.tail.bind(app));
        assert.match(down, /^✗ down since \d{4}-\d\d-\d\d \d\d:\d\d/);
        const detail = await page.locator('table[aria-labelledby="servers-h"] td.detail')
          .allTextContents();
        assert.ok(detail.some((d) => /mss-backup|18143|refused/.test(d)), `${detail}`);
        const ready = await fetch(`${base}/readyz`);
        assert.equal(ready.status, 503);
        await ready.body?.cancel();

        // Down longer than unreachableMinutes at a check: the alert starts, its mail goes out.
        await until(
          "the alert mail",
          30_000,
          () => opsMail("vmirror alert").length || undefined,
        );
        const alerts = opsMail("vmirror alert");
        assert.equal(alerts.length, 1, "exactly one alert mail");
        assert.equal(subjectOf(alerts[0].raw), "vmirror alert: 1 server unreachable");
        await page.goto(`${base}/admin`);
        assert.equal(await page.locator("#alerts-h").textContent(), "Alerts (1)");
        assert.match(
          (await page.locator("ul.alerts li").first().textContent()) ?? "",
          /The backup "mss-backup" is unreachable/,
        );
        await shoot(page, "dashboard-backup-down");
      });

      await t.step(
        "backup up again: the dashboard says so, exactly one recovery mail",
        async () => {
          await startDovecot(layout, "backup");
          backupStopped = false;
          await until("the dashboard to show the backup up", 30_000, async () => {
            const s = await backupState();
            return s.startsWith("✓ up") ? s : undefined;
          }, app.tail.bind(app));
          await until(
            "the recovery mail",
            30_000,
            () => opsMail("vmirror recovered").length || undefined,
          );
          const recovered = opsMail("vmirror recovered");
          assert.equal(recovered.length, 1, "exactly one recovery mail");
          assert.equal(
            subjectOf(recovered[0].raw),
            "vmirror recovered: 1 server unreachable cleared",
          );
          assert.equal(opsMail("vmirror alert").length, 1, "still one alert mail");
          await page.goto(`${base}/admin`);
          assert.equal(await page.locator("#alerts-h").textContent(), "Alerts (0)");
          const ready = await fetch(`${base}/readyz`);
          assert.equal(ready.status, 200);
          await ready.body?.cancel();
          await shoot(page, "dashboard-backup-up");
        },
      );

      await t.step(
        "restore: the preview lists what production lost, confirm puts it back",
        async () => {
          const prod = await snapshot("prod", RESTORED, ["INBOX"]);
          const all = prod.folders.INBOX.messages;
          const lost = all.slice(0, 2);
          await withImap("prod", RESTORED, async (c) => {
            await c.mailboxOpen("INBOX");
            await c.messageDelete(lost.map((m) => m.uid).join(","), { uid: true });
          });
          const lostSubjects = lost.map((m) => subjectOf(new TextDecoder().decode(m.bytes))).sort();

          await page.goto(`${base}/admin/jobs`);
          await page.getByLabel("Mailbox", { exact: true }).fill(RESTORED);
          await press(page, "Preview restore");
          await untilJobEnds(page);
          assert.match(
            (await page.locator("#h-restore-list").textContent()) ?? "",
            /What would go back/,
          );
          const preview = await tableRows(page, 'section[aria-labelledby="h-restore-list"] table');
          assert.deepEqual(preview.map((r) => r[4]), ["would go back", "would go back"]);
          assert.deepEqual(preview.map((r) => r[2]).sort(), lostSubjects);
          assert.equal(
            (await snapshot("prod", RESTORED, ["INBOX"])).folders.INBOX.messages.length,
            all.length - 2,
            "a preview changes nothing",
          );
          await shoot(page, "restore-preview");

          await press(page, "Confirm restore");
          await untilJobEnds(page);
          assert.match((await page.locator("p[role=status]").textContent()) ?? "", /^Done: /);
          const done = await tableRows(page, 'section[aria-labelledby="h-restore-list"] table');
          assert.deepEqual(done.map((r) => r[4]), ["restored", "restored"]);
          await shoot(page, "restore-done");
          const back = (await snapshot("prod", RESTORED, ["INBOX"])).folders.INBOX.messages;
          assert.deepEqual(
            back.map((m) => messageIdOf(m.bytes)).sort(),
            all.map((m) => m.messageId).sort(),
          );
        },
      );

      await t.step("a second restore finds nothing to put back", async () => {
        await page.goto(`${base}/admin/jobs`);
        await page.getByLabel("Mailbox", { exact: true }).fill(RESTORED);
        await press(page, "Preview restore");
        await untilJobEnds(page);
        const section = page.locator('section[aria-labelledby="h-restore-list"]');
        assert.match((await section.textContent()) ?? "", /Nothing to restore\./);
        assert.equal(await page.getByRole("button", { name: "Confirm restore" }).count(), 0);
        assert.equal(
          (await snapshot("prod", RESTORED, ["INBOX"])).folders.INBOX.messages.length,
          FILLS[RESTORED],
        );
        await shoot(page, "restore-nothing");
        await page.goto(`${base}/admin/jobs`);
        await shoot(page, "jobs-recent");
      });

      await t.step("/metrics with a CLI-made token parses and matches status --json", async () => {
        const made = await runCli(["admin", "token", "create", "--name", "ops-browser", ...cli]);
        assert.equal(made.code, 0, made.stderr);
        const token = made.stdout.trim();
        const anonymous = await fetch(`${base}/metrics`);
        assert.equal(anonymous.status, 401);
        await anonymous.body?.cancel();
        const res = await fetch(`${base}/metrics`, {
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(res.status, 200);
        const families = new Map(parsePrometheus(await res.text()).map((f) => [f.name, f]));
        const value = (name: string, labels: Record<string, string> = {}) => {
          const m = families.get(name)?.metrics.find((m) =>
            Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)
          );
          return m?.value === undefined ? undefined : Number(m.value);
        };

        const status = await runCli(["status", "--json", ...cli]);
        assert.equal(status.code, 0, status.stderr);
        const json = JSON.parse(status.stdout) as {
          subscriptions: unknown[];
          mailboxes: { ok: boolean }[];
          totals: {
            copied: number;
            deleted: number;
            placeholders: number;
            skipped: Record<string, number>;
          };
        };
        const copied = Object.values(FILLS).reduce((a, b) => a + b, 0);
        assert.equal(json.totals.copied, copied);
        assert.equal(value("vmirror_messages_copied_total"), json.totals.copied);
        assert.equal(value("vmirror_messages_deleted_total"), json.totals.deleted);
        assert.equal(value("vmirror_messages_placeholders_total"), json.totals.placeholders);
        for (const [reason, n] of Object.entries(json.totals.skipped)) {
          assert.equal(value("vmirror_messages_skipped_total", { reason }), n, reason);
        }
        assert.equal(value("vmirror_subscriptions"), json.subscriptions.length);
        assert.equal(
          value("vmirror_mailboxes", { state: "ok" }),
          json.mailboxes.filter((m) => m.ok).length,
        );
        // Counted in the serving process: the three passes of "sync now".
        assert.equal(value("vmirror_mailbox_passes_total", { result: "ok" }), MAILBOXES.length);
        assert.equal(value("vmirror_server_up", { role: "target", name: "mss-backup" }), 1);
      });

      const to = `ops-forward-${crypto.randomUUID().slice(0, 8)}@example.com`;
      await t.step("a subscriber forwards a message by e-mail", async () => {
        const context = await browser!.newContext({ viewport: DESKTOP });
        try {
          const sub = await context.newPage();
          await sub.goto(`${base}/`);
          await sub.getByLabel("Mailbox number").fill(SUBSCRIBER);
          await sub.getByLabel("Voicemail PIN").fill(SCRATCH_PIN);
          await sub.getByLabel("Voicemail PIN").press("Enter");
          await sub.waitForURL(/\/inbox$/);
          assert.equal(await sub.locator("ol.msgs > li").count(), FILLS[SUBSCRIBER]);
          await shoot(sub, "subscriber-inbox");
          await sub.locator("ol.msgs > li > a").first().click();
          await sub.waitForURL(/\/m\/0\/\d+-\d+$/);
          await sub.getByLabel("E-mail address").fill(to);
          await sub.getByRole("button", { name: "Forward" }).click();
          await sub.waitForURL(/forwarded=1/);
          await shoot(sub, "subscriber-forwarded");
          assert.equal(mailTo(to).length, 1);
        } finally {
          await context.close();
        }
      });

      await t.step("the audit page filtered by mailbox and action finds the forward", async () => {
        await page.goto(`${base}/admin`);
        await page.getByRole("link", { name: "Audit log" }).click();
        await page.waitForURL(/\/admin\/audit$/);
        const search = async (mailbox: string, action: string) => {
          await page.getByLabel("Mailbox", { exact: true }).fill(mailbox);
          await page.getByLabel("Action", { exact: true }).fill(action);
          await press(page, "Search");
          return await tableRows(page, "table.audit");
        };
        const forwards = await search(SUBSCRIBER, "forward");
        assert.equal(forwards.length, 1, JSON.stringify(forwards));
        assert.deepEqual(forwards[0].slice(1, 3), [`subscriber:${SUBSCRIBER}`, "forward"]);
        assert.match(forwards[0][4], new RegExp(`to=${to.replaceAll(".", "\\.")}`));
        const query = new URL(page.url()).searchParams;
        assert.equal(query.get("mailbox"), SUBSCRIBER);
        assert.equal(query.get("action"), "forward");
        await shoot(page, "audit-forward");

        assert.deepEqual(await search(RESTORED, "forward"), []);
        assert.match((await page.locator("p.count").textContent()) ?? "", /^No entries match\./);
        const restores = await search(RESTORED, "restore");
        assert.ok(restores.length >= 1, "the restore is audited under its mailbox");
        assert.ok(restores.every((r) => r[2] === "restore" && r[1].startsWith("admin")));
        await shoot(page, "audit-restore");
      });

      await t.step("send a test alert: one more mail to ops, the alerts unchanged", async () => {
        await page.goto(`${base}/admin`);
        await press(page, "Send a test alert");
        assert.match(page.url(), /\/admin\?alert=sent$/);
        assert.equal(
          (await page.locator("p[role=status]").textContent())?.trim(),
          "The test alert was sent.",
        );
        assert.equal(opsMail("vmirror test alert").length, 1);
        assert.equal(mailTo(OPS).length, 3, "alert, recovery and test mail");
        assert.equal(opsMail("vmirror alert").length, 1, "still one alert mail");
        assert.equal(opsMail("vmirror recovered").length, 1, "still one recovery mail");
        await shoot(page, "dashboard-test-alert");
      });

      await t.step("no page scrolls sideways on a phone", () => {
        assert.ok(camera.shots.length >= 18, `only ${camera.shots.length} pages shot`);
        assert.deepEqual(
          camera.overflows,
          [],
          `pages wider than a phone: ${camera.overflows.join(", ")}`,
        );
      });
    } finally {
      if (backupStopped) await startDovecot(layout, "backup");
      await browser?.close();
      stopped = await app.stop();
    }
    // Reached only when the steps passed: a failure above keeps its own message.
    assert.ok(stopped.success, `serve did not stop cleanly (code ${stopped.code}):\n${app.tail()}`);
  },
});
