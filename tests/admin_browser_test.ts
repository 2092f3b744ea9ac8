/**
 * The admin console in a real browser: Debian's headless Chromium driven by playwright-core
 * against the real appliance (`vmirror serve` in a child process, empty data dir, no config
 * file). Claims it with the setup code (wrong code refused), fills every server section for
 * the lab and presses its test button (wrong password, another CA and a closed port first),
 * saves, and waits on the mailboxes page until the lab's mailboxes are mirrored — no restart —
 * then reads each mailbox's page and the dashboard.
 * Screenshots of every page at desktop and phone width go to `<lab>/artifacts/admin/`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { readSmtpInbox } from "../scripts/lab.ts";
import {
  Appliance,
  CHROMIUM_ARGS as ARGS,
  chromiumPath,
  DESKTOP,
  freePort,
  lab,
  press,
  restoreDirectory,
  Screenshots,
  sh,
  snapshotDirectory,
  tempDir,
  wipeMailbox,
  withImap,
} from "./test_utils/mod.ts";

const PASSWORD = "browser admin password";
const SAMPLE = "4001";
/** This machine's first IPv4 address that is not loopback, or null. */
async function outsideAddress(): Promise<string | null> {
  const r = await sh("ip -4 -o addr");
  if (!r.ok) return null;
  for (const line of r.out.split("\n")) {
    const m = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(line);
    if (m && !m[1].startsWith("127.")) return m[1];
  }
  return null;
}

/** A probe result as the page shows it. */
interface Shown {
  ok: boolean;
  heading: string;
  server: string;
  steps: { step: string; state: string; detail: string }[];
}

async function probeShown(page: Page): Promise<Shown> {
  const section = page.locator("section.probe").first();
  await section.waitFor();
  const cls = (await section.getAttribute("class")) ?? "";
  const steps = await section.locator("ol.steps > li").evaluateAll((lis) =>
    lis.map((li) => ({
      step: li.querySelector("strong")?.textContent ?? "",
      state: li.classList.contains("failed")
        ? "failed"
        : li.classList.contains("skipped")
        ? "skipped"
        : "passed",
      detail: (li.querySelector(".detail")?.textContent ?? "").replace(/^: /, ""),
    }))
  );
  return {
    ok: /\bok\b/.test(cls),
    heading: (await section.locator("h2").textContent()) ?? "",
    server: (await section.locator("p").first().textContent()) ?? "",
    steps,
  };
}

function failedStep(shown: Shown): { step: string; detail: string } {
  const f = shown.steps.find((s) => s.state === "failed");
  assert.ok(f, `no failed step: ${JSON.stringify(shown)}`);
  return f;
}

function assertPassed(shown: Shown, steps: string[]): void {
  assert.ok(shown.ok, `the test failed: ${JSON.stringify(shown, null, 1)}`);
  assert.match(shown.heading, /passed/);
  for (const s of steps) {
    assert.ok(
      shown.steps.some((x) => x.step === s && x.state === "passed"),
      `step ${s} did not pass: ${JSON.stringify(shown.steps)}`,
    );
  }
}

/** Fills inputs by field id; checkboxes take booleans, selects take option values. */
async function fill(page: Page, values: Record<string, string | boolean>): Promise<void> {
  for (const [id, value] of Object.entries(values)) {
    const el = page.locator(`#${id}`);
    const tag = await el.evaluate((e) => e.tagName.toLowerCase());
    if (typeof value === "boolean") await el.setChecked(value);
    else if (tag === "select") await el.selectOption(value);
    else await el.fill(value);
  }
}

Deno.test({
  name: "admin console in Chromium: setup with the code, settings tested and saved, mirror runs",
  async fn(t) {
    const l = lab();
    const executablePath = await chromiumPath();
    await using tmp = await tempDir("admin-browser");
    const data = join(tmp.path, "data");
    const artifacts = join(l.dir, "artifacts", "admin");
    await Deno.mkdir(artifacts, { recursive: true });

    // Another CA, for the certificate check to reject the lab's server certificate.
    const otherCa = join(tmp.path, "other-ca.pem");
    const ca = await sh(
      `openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Not the lab CA" ` +
        `-keyout "${join(tmp.path, "other-ca.key")}" -out "${otherCa}" 2>&1`,
    );
    assert.ok(ca.ok, `openssl: ${ca.out}`);

    // A fresh mirror: the backup holds nothing of the lab's mailboxes, so the first pass copies.
    const withMail: string[] = [];
    for (const m of l.mailboxes) {
      await wipeMailbox("backup", m.mailbox);
      const count = await withImap("prod", m.mailbox, async (c) => {
        let n = 0;
        const existing = new Set((await c.list()).map((f) => f.path));
        for (const folder of l.folders.filter((f) => existing.has(f))) {
          const status = await c.status(folder, { messages: true });
          n += status ? status.messages ?? 0 : 0;
        }
        return n;
      });
      if (count > 0) withMail.push(m.mailbox);
    }
    assert.ok(withMail.length > 0, "no lab mailbox has mail on production");

    // From loopback the setup page asks no code; listening on an outside address makes the
    // browser's requests come from that address, as from another machine.
    const outside = await outsideAddress();
    const host = outside ?? "127.0.0.1";
    const port = freePort();
    const base = `http://${host}:${port}`;
    // No config file, as on a freshly installed appliance.
    const app = new Appliance(["--data", data, "--listen", `${host}:${port}`]);
    const profile = await Deno.makeTempDir({ prefix: "vmirror-chromium-" });
    let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | null = null;
    let stopped: Deno.CommandStatus | null = null;

    const camera = new Screenshots(artifacts);
    const shoot = (page: Page, name: string) => camera.shoot(page, name);

    // The appliance's directory passes write to the lab's backup directory, which later tests
    // expect as the lab seeded it: put back when done.
    const backupDirectory = await snapshotDirectory("backup");
    try {
      await app.waitFor(/Portal listening on (\S+)/);
      const code = await app.waitFor(/Setup code \(needed from any other machine\): (\S+)/);
      assert.match(code, /^[A-Z0-9]{4}(-[A-Z0-9]{4}){4}$/);
      const codeFile = join(data, "setup-code.txt");
      assert.equal((await Deno.readTextFile(codeFile)).trim(), code);
      assert.equal((await Deno.stat(codeFile)).mode! & 0o777, 0o600);

      context = await chromium.launchPersistentContext(profile, {
        executablePath,
        headless: true,
        args: ARGS,
        viewport: DESKTOP,
      });
      const page = context.pages()[0] ?? await context.newPage();

      await t.step(
        "setup: a wrong code is refused, the right one leads to the settings",
        async () => {
          await page.goto(`${base}/admin`);
          assert.match(page.url(), /\/admin\/setup$/);
          if (!outside) {
            // No outside address on this machine: the browser is on loopback, where the page
            // asks no code (the code was still printed and written, checked above).
            assert.equal(await page.locator("#code").count(), 0);
            await shoot(page, "setup");
          } else {
            await shoot(page, "setup");
            await page.getByLabel("Setup code").fill("AAAA-BBBB-CCCC-DDDD-EEEE");
            await page.getByLabel("New admin password").fill(PASSWORD);
            await page.getByLabel("Repeat the password").fill(PASSWORD);
            await press(page, "Save and continue");
            assert.match(page.url(), /\/admin\/setup$/);
            assert.match(
              (await page.locator("#setup-error").textContent()) ?? "",
              /setup code is not right/,
            );
            await shoot(page, "setup-wrong-code");
            await page.getByLabel("Setup code").fill(code.toLowerCase());
          }
          await page.getByLabel("New admin password").fill(PASSWORD);
          await page.getByLabel("Repeat the password").fill(PASSWORD);
          await press(page, "Save and continue");
          assert.match(page.url(), /\/admin\/settings$/);
          assert.equal(await page.locator("h1").textContent(), "Settings");
          // The code is spent: its file is gone, the setup page leads to the login.
          await assert.rejects(Deno.stat(codeFile), Deno.errors.NotFound);
          await shoot(page, "settings-empty");
        },
      );

      const source = (over: Record<string, string | boolean> = {}) => ({
        "f-source-name": "mss-prod",
        "f-source-host": "127.0.0.1",
        "f-source-port": String(l.imap.prod.imapsPort),
        "f-source-tls": "tls",
        "f-source-caFile": l.tls.caFile,
        "f-source-trustedUser": l.trusted.user,
        "f-source-trustedPassword": l.trusted.password,
        "f-source-impersonation": "authzid",
        "f-source-folders": l.folders.join("\n"),
        "f-source-greetingsFolder": l.greetingsFolder,
        "f-_mailbox": SAMPLE,
        ...over,
      });
      const testSource = async (over: Record<string, string | boolean>, shot: string) => {
        await fill(page, source(over));
        await press(page, "Test the production MSS");
        const shown = await probeShown(page);
        await shoot(page, shot);
        return shown;
      };

      await t.step("source: a wrong password is refused by the named server", async () => {
        await page.getByRole("link", { name: "Production MSS" }).click();
        await page.waitForURL(/\/admin\/settings\/source$/);
        await shoot(page, "source");
        const shown = await testSource(
          { "f-source-trustedPassword": "not-the-password" },
          "source-test-wrong-password",
        );
        assert.equal(shown.ok, false);
        assert.match(shown.heading, /failed/);
        const f = failedStep(shown);
        assert.equal(f.step, "login");
        assert.match(f.detail, /mss-prod/);
        assert.match(f.detail, /refused|authenticat/i);
        // Neither the typed password nor the lab's is written into the page.
        const html = await page.content();
        assert.ok(!html.includes("not-the-password"));
        assert.ok(!html.includes(l.trusted.password));
      });

      await t.step("source: a CA file of another CA shows an untrusted certificate", async () => {
        const shown = await testSource({ "f-source-caFile": otherCa }, "source-test-other-ca");
        const f = failedStep(shown);
        assert.equal(f.step, "tls");
        assert.match(f.detail, /certificate/);
        assert.match(f.detail, /CA this appliance does not trust/);
      });

      await t.step("source: a closed port shows the connection refused", async () => {
        const closed = freePort();
        const shown = await testSource(
          { "f-source-port": String(closed) },
          "source-test-closed-port",
        );
        const f = failedStep(shown);
        assert.equal(f.step, "connect");
        assert.match(f.detail, /refused/);
        assert.match(f.detail, new RegExp(`:${closed}`));
      });

      await t.step("source: the lab's values pass every step, and are saved", async () => {
        const shown = await testSource({}, "source-test-ok");
        assertPassed(shown, ["connect", "tls", "login", "impersonate", "folders", "capabilities"]);
        await fill(page, source());
        await press(page, "Save");
        assert.match(page.url(), /\/admin\/settings\/source\?saved=\d+/);
        assert.match((await page.locator("p.ok[role=status]").textContent()) ?? "", /^Saved: \d+/);
        await shoot(page, "source-saved");
      });

      await t.step("target: the backup MSS passes its test, and is saved", async () => {
        await page.goto(`${base}/admin/settings/target`);
        await shoot(page, "target");
        const target = {
          "f-target-type": "imap",
          "f-target-name": "mss-backup",
          "f-target-host": "127.0.0.1",
          "f-target-port": String(l.imap.backup.imapsPort),
          "f-target-tls": "tls",
          "f-target-caFile": l.tls.caFile,
          "f-target-trustedUser": l.trusted.user,
          "f-target-trustedPassword": l.trusted.password,
          "f-target-impersonation": "authzid",
        };
        await fill(page, { ...target, "f-_mailbox": SAMPLE });
        await press(page, "Test the backup");
        assertPassed(await probeShown(page), ["connect", "tls", "login", "impersonate"]);
        await shoot(page, "target-test-ok");
        await fill(page, target);
        await press(page, "Save");
        assert.match(page.url(), /\/admin\/settings\/target\?saved=\d+/);
        await shoot(page, "target-saved");
      });

      await t.step("ldap: both directories pass their tests, and are saved", async () => {
        await page.goto(`${base}/admin/settings/ldap`);
        await shoot(page, "ldap");
        // As the lab's own config: subscribers by their object class, default attribute names.
        const ldap = {
          "f-ldap-source-url": l.ldap.prod.url,
          "f-ldap-source-bindDn": l.ldap.prod.bindDn,
          "f-ldap-source-bindPassword": l.trusted.password,
          "f-ldap-source-baseDn": l.ldap.prod.baseDn,
          "f-ldap-source-filter": "(objectClass=vmSubscriber)",
          "f-ldap-target-url": l.ldap.backup.url,
          "f-ldap-target-bindDn": l.ldap.backup.bindDn,
          "f-ldap-target-bindPassword": l.trusted.password,
          "f-ldap-target-baseDn": l.ldap.backup.baseDn,
          "f-ldap-target-filter": "(objectClass=vmSubscriber)",
        };
        await fill(page, ldap);
        await press(page, "Test the production directory");
        assertPassed(await probeShown(page), ["connect", "bind", "search"]);
        await shoot(page, "ldap-test-source-ok");
        await fill(page, ldap);
        await press(page, "Test the backup directory");
        assertPassed(await probeShown(page), ["connect", "bind", "search"]);
        await shoot(page, "ldap-test-target-ok");
        await fill(page, ldap);
        await press(page, "Save");
        assert.match(page.url(), /\/admin\/settings\/ldap\?saved=\d+/);
        await shoot(page, "ldap-saved");
      });

      await t.step("smtp: a test message reaches the lab's recorder, and is saved", async () => {
        await page.goto(`${base}/admin/settings/smtp`);
        await shoot(page, "smtp");
        const smtp = {
          "f-smtp-host": l.smtp.host,
          "f-smtp-port": String(l.smtp.port),
          "f-smtp-secure": false,
          "f-smtp-from": "vmirror@lab.invalid",
        };
        const to = `admin-browser-${crypto.randomUUID().slice(0, 8)}@example.com`;
        await fill(page, { ...smtp, "f-_to": to });
        await press(page, "Send a test message");
        assertPassed(await probeShown(page), ["connect"]);
        await shoot(page, "smtp-test-ok");
        assert.equal(readSmtpInbox(l.dir).filter((r) => r.to.includes(to)).length, 1);
        await fill(page, smtp);
        await press(page, "Save");
        assert.match(page.url(), /\/admin\/settings\/smtp\?saved=\d+/);
        await shoot(page, "smtp-saved");
      });

      await t.step("the overview names what is set", async () => {
        await page.getByRole("link", { name: "All settings" }).click();
        await page.waitForURL(/\/admin\/settings$/);
        await shoot(page, "settings");
      });

      await t.step("mailboxes: the lab's mailboxes are mirrored without a restart", async () => {
        // The list shows each subscribed mailbox's state; the directory sync subscribes them
        // and the mirror loop's first pass copies them, both started by the saves above.
        let rows: { mailbox: string; state: string }[] = [];
        const deadline = Date.now() + 90_000;
        const done = () =>
          withMail.every((m) => rows.some((r) => r.mailbox === m && r.state.startsWith("ok")));
        while (Date.now() < deadline) {
          await page.goto(`${base}/admin/subscriptions`);
          rows = await page.locator("table tbody tr").evaluateAll((trs) =>
            trs.map((tr) => ({
              mailbox: tr.querySelector("th")?.textContent ?? "",
              state: tr.querySelectorAll("td")[1]?.textContent ?? "",
            }))
          );
          if (done()) break;
          await new Promise((r) => setTimeout(r, 1000));
        }
        assert.ok(done(), `not mirrored within 90 s: ${JSON.stringify(rows)}\n${app.tail()}`);
        await shoot(page, "subscriptions");

        // Each mailbox's page: what the mirror holds, folder by folder, next to production's
        // live count (a rule's skips are on production only), and the pass that copied it.
        for (const m of withMail) {
          await page.getByRole("link", { name: m, exact: true }).click();
          await page.waitForURL(new RegExp(`/admin/subscriptions/${m}$`));
          const folders = await page.locator('table[aria-labelledby="counts"] tbody tr')
            .evaluateAll((trs) =>
              trs.map((tr) => {
                const td = [...tr.querySelectorAll("td")].map((c) => c.textContent ?? "");
                return {
                  folder: tr.querySelector("th")?.textContent ?? "",
                  production: td[0],
                  mirrored: parseInt(td[1], 10),
                  skipped: parseInt(td[2], 10),
                };
              })
            );
          const mirrored = folders.reduce((n, f) => n + f.mirrored, 0);
          assert.ok(mirrored > 0, `${m}: nothing on the mirror: ${JSON.stringify(folders)}`);
          for (const f of folders) {
            if (f.production === "no such folder") continue;
            assert.equal(
              Number(f.production),
              f.mirrored + f.skipped,
              `${m}/${f.folder}: ${JSON.stringify(f)}`,
            );
          }
          const copied = await page.locator('table[aria-labelledby="passes"] tbody tr')
            .evaluateAll((trs) =>
              trs.map((tr) => parseInt(tr.querySelectorAll("td")[2]?.textContent ?? "", 10))
            );
          assert.ok(copied.some((n) => n > 0), `${m}: no pass copied: ${copied}`);
          if (m === withMail[0]) await shoot(page, "mailbox");
          await page.goBack();
        }
      });

      await t.step("the dashboard: every configured server up, the mailboxes ok", async () => {
        await page.getByRole("link", { name: "Dashboard" }).click();
        await page.waitForURL(/\/admin$/);
        const servers = await page.locator('table[aria-labelledby="servers-h"] tbody tr')
          .evaluateAll((trs) => trs.map((tr) => tr.querySelector("td")?.textContent ?? ""));
        assert.equal(servers.length, 5, `servers: ${servers}`);
        assert.ok(servers.every((s) => s.startsWith("✓ up")), `servers: ${servers}`);
        const tiles = await page.locator("ul.tiles > li").allTextContents();
        assert.match(tiles[0], /^[1-9]\d* ok$/, `tiles: ${tiles}`);
        assert.equal(tiles[1], "0 failing");
        assert.equal(tiles[2], "0 not synced yet");
        await shoot(page, "dashboard");
      });

      await t.step("audit log and lockouts", async () => {
        await page.getByRole("link", { name: "Audit log" }).click();
        await page.waitForURL(/\/admin\/audit$/);
        const actions = await page.locator("td").allTextContents();
        for (const a of ["admin-setup", "settings-change"]) {
          assert.ok(actions.includes(a), `${a} not in the audit log`);
        }
        if (outside) assert.ok(actions.includes("admin-setup-refused"));
        // Saved secrets are audited as changed, never shown.
        assert.ok(!(await page.content()).includes(l.trusted.password));
        await shoot(page, "audit");
        await page.getByRole("link", { name: "Lockouts" }).click();
        await page.waitForURL(/\/admin\/lockouts$/);
        await shoot(page, "lockouts");
      });

      await t.step("no page scrolls sideways on a phone", () => {
        assert.ok(camera.shots.length >= 20, `only ${camera.shots.length} pages shot`);
        assert.deepEqual(
          camera.overflows,
          [],
          `pages wider than a phone: ${camera.overflows.join(", ")}`,
        );
      });
    } finally {
      await context?.close();
      stopped = await app.stop();
      await restoreDirectory("backup", backupDirectory);
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
    // Reached only when the steps passed: a failure above keeps its own message.
    assert.ok(stopped.success, `serve did not stop cleanly (code ${stopped.code}):\n${app.tail()}`);
  },
});
