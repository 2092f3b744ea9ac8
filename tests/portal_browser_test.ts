/**
 * The portal in a real browser: Debian's headless Chromium driven by playwright-core against
 * `vmirror serve` on loopback, with mailbox 4006 mirrored to the lab's backup MSS. Logs in,
 * sees the inbox (screenshots under `<lab>/artifacts/`), plays a message, forwards one (the
 * lab's SMTP recorder gets the attachment), fails to forward a private one, logs out.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { serve } from "../engine/serve.ts";
import { createApp } from "../portal/app.tsx";
import { setLogSink } from "../engine/support/mod.ts";
import { decodeBody, parseMessage, type Part } from "../engine/mime/mod.ts";
import { closeState, listAudit, openState } from "../engine/state/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import { pcmHeader } from "../portal/test_util.ts";
import { readSmtpInbox } from "../scripts/lab.ts";
import {
  CHROMIUM_ARGS as ARGS,
  chromiumPath,
  freePort,
  lab,
  labConfig,
  lowContrastTexts,
  wipeMailbox,
} from "./test_utils/mod.ts";

const MAILBOX = "4006";
function findPart(root: Part, test: (p: Part) => boolean): Part | null {
  if (test(root)) return root;
  for (const c of root.children) {
    const hit = findPart(c, test);
    if (hit) return hit;
  }
  return null;
}

Deno.test({
  name: "portal in Chromium: login, inbox, play, forward, private refused, logout",
  async fn(t) {
    const executablePath = await chromiumPath();
    const dir = await Deno.makeTempDir({ prefix: "vmirror-portal-browser-" });
    const artifacts = join(lab().dir, "artifacts");
    await Deno.mkdir(artifacts, { recursive: true });
    await Deno.writeTextFile(join(dir, "admin.pw"), "browser-admin-pw");
    const config = await labConfig(dir, (raw) => {
      raw.portal = { ...(raw.portal as object), adminPasswordFile: join(dir, "admin.pw") };
      // No directory: `serve` would subscribe (and so mirror) every lab mailbox, other tests'
      // included. With no subscriptions its mirror loop stays idle; this test mirrors 4006.
      delete raw.ldap;
    });
    const state = await openState(join(dir, "state.kv"));
    const logs: string[] = [];
    setLogSink((l) => logs.push(l));
    const stop = new AbortController();
    let served: Promise<void> | null = null;
    const profile = await Deno.makeTempDir({ prefix: "vmirror-chromium-" });
    let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | null = null;
    try {
      await wipeMailbox("backup", MAILBOX);
      const sync = await runSync(config, state, { mailboxes: [MAILBOX] });
      assert.equal(sync.failed, 0);
      const port = freePort();
      served = serve(config, state, {
        listen: `127.0.0.1:${port}`,
        signal: stop.signal,
        handler: createApp({ config, state }).fetch,
      });
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 100; i++) {
        if (logs.some((l) => l.includes("Portal listening"))) break;
        await new Promise((r) => setTimeout(r, 50));
      }

      context = await chromium.launchPersistentContext(profile, {
        executablePath,
        headless: true,
        args: ARGS,
        viewport: { width: 1100, height: 900 },
      });
      const page = context.pages()[0] ?? await context.newPage();
      const seeded = lab().seeded[MAILBOX].messages.filter((m) =>
        m.folder === "INBOX" && !m.broadcast
      );

      await t.step("log in with mailbox and PIN, by label, with the keyboard", async () => {
        await page.goto(`${base}/`);
        assert.match(page.url(), /\/login$/);
        // The first Tab reaches the skip link: the page starts keyboard-friendly.
        await page.keyboard.press("Tab");
        assert.equal(
          await page.evaluate(() => document.activeElement?.textContent),
          "Skip to content",
        );
        await page.getByLabel("Mailbox number").fill(MAILBOX);
        const pin = lab().mailboxes.find((m) => m.mailbox === MAILBOX)!.pin;
        await page.getByLabel("Voicemail PIN").fill(pin);
        await page.getByLabel("Voicemail PIN").press("Enter");
        await page.waitForURL(/\/inbox$/);
      });

      await t.step("see the inbox; screenshots for people to look at", async () => {
        const rows = page.locator("ol.msgs > li");
        assert.equal(await rows.count(), seeded.length);
        assert.equal(await page.locator(".badge.private").count(), 1);
        await page.screenshot({ path: join(artifacts, "portal-inbox.png"), fullPage: true });
        await page.setViewportSize({ width: 390, height: 844 });
        await page.screenshot({ path: join(artifacts, "portal-inbox-phone.png"), fullPage: true });
        // Nothing wider than a phone's screen.
        const overflow = await page.evaluate(() =>
          document.documentElement.scrollWidth - document.documentElement.clientWidth
        );
        assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px on a phone`);
        await page.setViewportSize({ width: 1100, height: 900 });
      });

      await t.step("light and dark: every word on the inbox keeps 4.5:1 contrast", async () => {
        for (const colorScheme of ["light", "dark"] as const) {
          await page.emulateMedia({ colorScheme });
          const low = await page.evaluate(lowContrastTexts);
          assert.deepEqual(low, [], `${colorScheme}: ${low.join("; ")}`);
          // Kind and state badges are told apart by their words, not colour alone.
          assert.ok(await page.locator(".badge.kind").count() >= 2);
        }
        await page.screenshot({ path: join(artifacts, "portal-inbox-dark.png"), fullPage: true });
        await page.emulateMedia({ colorScheme: "light" });
      });

      const voice = seeded.find((m) => m.kind === "voice" && !m.private && m.encoding === "gsm")!;
      await t.step("play a GSM message: the audio loads, has its duration, and plays", async () => {
        await page.locator("ol.msgs > li > a", {
          hasText: voice.subject.replace(/^Voice message from /, ""),
        })
          .first().click();
        await page.waitForURL(/\/m\/0\/\d+-\d+$/);
        const audio = page.locator("section.play audio").first();
        await audio.evaluate((a: HTMLAudioElement) =>
          a.readyState >= 1 ? null : new Promise((r, j) => {
            a.addEventListener("loadedmetadata", r, { once: true });
            a.addEventListener("error", () => j(new Error(`media error ${a.error?.code}`)), {
              once: true,
            });
            a.load();
          })
        );
        const duration = await audio.evaluate((a: HTMLAudioElement) => a.duration);
        assert.ok(
          Math.abs(duration - voice.seconds) <= 1,
          `duration ${duration} vs ${voice.seconds}`,
        );
        // A click gives the page user activation, so play() is allowed as for a person.
        await page.locator("h1").click();
        const played = await audio.evaluate(async (a: HTMLAudioElement) => {
          await a.play();
          await new Promise((r) => setTimeout(r, 1500));
          a.pause();
          return a.currentTime;
        });
        assert.ok(played > 0.3, `currentTime ${played}`);
        // Seeking makes the browser use Range requests; the player copes.
        const seeked = await audio.evaluate(async (a: HTMLAudioElement) => {
          a.currentTime = Math.max(0, a.duration - 1);
          await new Promise((r) => a.addEventListener("seeked", r, { once: true }));
          return a.currentTime;
        });
        assert.ok(seeked > 0.5);
        await page.screenshot({ path: join(artifacts, "portal-message.png"), fullPage: true });
        const plays = (await listAudit(state, 50)).filter((e) => e.action === "play");
        assert.ok(plays.length >= 1);
      });

      const to = `browser-${crypto.randomUUID().slice(0, 8)}@example.com`;
      await t.step("forward it by e-mail; the SMTP recorder gets the WAV attachment", async () => {
        await page.getByLabel("E-mail address").fill(to);
        await page.getByRole("button", { name: "Forward" }).click();
        await page.waitForURL(/forwarded=1/);
        assert.equal(
          (await page.locator("#notice").textContent())?.trim(),
          "The message was forwarded.",
        );
        const mail = readSmtpInbox().filter((r) => r.to.includes(to));
        assert.equal(mail.length, 1);
        const bytes = new TextEncoder().encode(mail[0].raw);
        const att = findPart(parseMessage(bytes), (p) => p.contentType.type === "audio")!;
        const wav = pcmHeader(decodeBody(bytes, att));
        assert.equal(wav.format, 1);
        assert.ok(Math.abs(wav.dataBytes / 16000 - voice.seconds) <= 1);
      });

      await t.step("a private message has no forward button and cannot be forwarded", async () => {
        await page.goto(`${base}/inbox`);
        await page.locator("ol.msgs > li", { has: page.locator(".badge.private") }).locator("a")
          .first().click();
        await page.waitForURL(/\/m\/0\/\d+-\d+$/);
        assert.equal(await page.getByRole("button", { name: "Forward" }).count(), 0);
        await page.screenshot({ path: join(artifacts, "portal-private.png"), fullPage: true });
        assert.match(
          (await page.locator("#private-note").textContent()) ?? "",
          /private: it cannot be forwarded/,
        );
        // Hand-made form, as a person with developer tools could post it.
        const before = readSmtpInbox().length;
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.url().endsWith("/forward")),
          page.evaluate((address: string) => {
            const csrf = document.querySelector<HTMLInputElement>('input[name="_csrf"]')!.value;
            const f = document.createElement("form");
            f.method = "post";
            f.action = `${location.pathname}/forward`;
            for (const [k, v] of [["_csrf", csrf], ["to", address]]) {
              const i = document.createElement("input");
              i.type = "hidden";
              i.name = k;
              i.value = v;
              f.append(i);
            }
            document.body.append(f);
            f.submit();
          }, to),
        ]);
        assert.equal(response.status(), 403);
        await page.waitForLoadState();
        assert.match((await page.locator("#notice").textContent()) ?? "", /private/);
        assert.equal(readSmtpInbox().length, before);
        // The refusal page (notice, notes, badges, player) in the dark scheme too.
        await page.emulateMedia({ colorScheme: "dark" });
        const low = await page.evaluate(lowContrastTexts);
        assert.deepEqual(low, [], `dark message page: ${low.join("; ")}`);
        await page.emulateMedia({ colorScheme: "light" });
      });

      await t.step("log out; the inbox asks for a login again", async () => {
        await page.getByRole("button", { name: "Log out" }).click();
        await page.waitForURL(/\/login$/);
        await page.goto(`${base}/inbox`);
        assert.match(page.url(), /\/login$/);
        await page.screenshot({ path: join(artifacts, "portal-login.png") });
        const actions = (await listAudit(state, 50)).map((e) => e.action);
        for (const a of ["login", "play", "forward", "forward-refused", "logout"]) {
          assert.ok(actions.includes(a), a);
        }
        assert.equal((await listAudit(state, 1))[0].actor, `subscriber:${MAILBOX}`);
      });
      await t.step("the admin's pages (after the subscriber left): audit log", async () => {
        const admin = await context!.newPage();
        await admin.goto(`${base}/admin`);
        assert.match(admin.url(), /\/admin\/login$/);
        await admin.getByLabel("User name").fill("admin");
        await admin.getByLabel("Password").fill("browser-admin-pw");
        await admin.getByRole("button", { name: "Log in" }).click();
        await admin.waitForURL(/\/admin$/);
        await admin.getByRole("link", { name: "Audit log" }).click();
        await admin.waitForURL(/\/admin\/audit$/);
        assert.ok(await admin.locator("td", { hasText: /^forward-refused$/ }).count() >= 1);
        await admin.screenshot({ path: join(artifacts, "portal-admin-audit.png"), fullPage: true });
        await admin.getByRole("button", { name: "Log out" }).click();
        await admin.waitForURL(/\/admin\/login$/);
        await admin.close();
      });
    } finally {
      await context?.close();
      stop.abort();
      await served;
      setLogSink((l) => console.error(l));
      closeState(state);
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
