/**
 * The subscriber portal II in a real browser: Debian's headless Chromium (playwright-core)
 * against the portal served on loopback, reading scratch mailbox 7415 mirrored to the lab's
 * backup MSS — copies of 4006's voicemail and greetings and of 4001's over-length message. A
 * depth-2 chain forwarded whole (the SMTP recorder's mail holds three PCM WAVs of the parts'
 * lengths), the over-length message played at its real length, a GSM message downloaded as PCM
 * WAV the browser plays, a private message refused (403 + audit), fair lockouts with two client
 * addresses, search and its ZIP (unzipped and compared), heard/unheard kept by the portal, new
 * since the last visit, playing from the list (with and without script), greeting labels, and
 * the admin's tables at 390 px. Every page is checked for 4.5:1 contrast, light and dark, and
 * shot at desktop and phone width into `<lab>/artifacts/portal2/`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { parseWav, toPcmWav } from "../engine/audio/mod.ts";
import { decodeBody, parseMessage, type Part } from "../engine/mime/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import { serve } from "../engine/serve.ts";
import { addSubscriptions, closeState, listAudit, openState } from "../engine/state/mod.ts";
import { setLogSink } from "../engine/support/mod.ts";
import { classifyMessage, type VoicePart } from "../engine/voicemail/mod.ts";
import { createApp } from "../portal/app.tsx";
import { voiceParts } from "../portal/mailbox_reader.ts";
import { pcmHeader } from "../portal/test_util.ts";
import { readSmtpInbox } from "../scripts/lab.ts";
import {
  appendRaw,
  CHROMIUM_ARGS,
  chromiumPath,
  DESKTOP,
  freePort,
  lab,
  labConfig,
  lowContrastTexts,
  PHONE,
  scratchMailbox,
  snapshot,
  tempDir,
  variant,
} from "./test_utils/mod.ts";

const MAILBOX = "7415";
const PIN = "246810";
const ADMIN_PASSWORD = "portal2-browser-admin-pw";
const LIMITS = {
  mailbox: { maxFailures: 3, windowMinutes: 15, lockMinutes: 15, delayAfter: 3 },
  address: { maxFailures: 6, windowMinutes: 15, lockMinutes: 15, delayAfter: 6 },
  admin: { maxFailures: 3, windowMinutes: 15, lockMinutes: 15, delayAfter: 2 },
};
// The greetings' labels, from what each seeded greeting's store says (voicemail.ts plans them).
const GREETING_LABELS: Record<string, string> = {
  "Greeting: busy": "Busy greeting",
  "Greeting: no answer": "No-answer greeting",
  "Extended absence greeting": "Extended absence greeting",
  "Greeting": "Greeting (unknown type)",
};

type Labelled = "chain" | "reply" | "gsm" | "mulaw" | "private" | "long";

/** Every page a person sees: contrast light and dark, no sideways scroll at 390 px, shots. */
async function look(page: Page, dir: string, name: string): Promise<void> {
  for (const colorScheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme });
    const low = await page.evaluate(lowContrastTexts);
    assert.deepEqual(low, [], `${name} (${colorScheme}): ${low.join("; ")}`);
  }
  await page.emulateMedia({ colorScheme: "light" });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: join(dir, `${name}-dark.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize(PHONE);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `${name}: ${width}px wide at ${PHONE.width}px`);
  await page.screenshot({ path: join(dir, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

/** Waits for an audio element's metadata; its duration in seconds. */
function loadedDuration(a: HTMLAudioElement): Promise<number> {
  return a.readyState >= 1 ? Promise.resolve(a.duration) : new Promise((resolve, reject) => {
    a.addEventListener("loadedmetadata", () => resolve(a.duration), { once: true });
    a.addEventListener("error", () => reject(new Error(`media error ${a.error?.code}`)), {
      once: true,
    });
    if (a.preload === "none") a.load();
  });
}

/** Plays an audio element a moment; where it got to. */
async function playAWhile(a: HTMLAudioElement): Promise<number> {
  await a.play();
  await new Promise((r) => setTimeout(r, 1200));
  a.pause();
  return a.currentTime;
}

function findParts(root: Part, test: (p: Part) => boolean): Part[] {
  const out: Part[] = [];
  const walk = (p: Part) => {
    if (test(p)) out.push(p);
    p.children.forEach(walk);
    if (p.message) walk(p.message);
  };
  walk(root);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// A voice part's length as its own WAV says (data bytes ÷ byte rate, or GSM blocks).
function partSeconds(bytes: Uint8Array, part: VoicePart): number {
  const pcm = toPcmWav(decodeBody(bytes, part));
  return pcmHeader(pcm).dataBytes / 16000;
}

// Production copies of 4006's INBOX messages by kind, 4001's over-length one and 4006's
// greetings, into the scratch mailbox; returns each one's Message-ID by label.
async function seed(): Promise<Record<Labelled, string>> {
  await scratchMailbox(MAILBOX);
  const seeded = lab().seeded["4006"].messages.filter((m) => m.folder === "INBOX");
  const pick = (test: (m: (typeof seeded)[number]) => boolean) => seeded.find(test)!.messageId;
  const ids: Record<Labelled, string> = {
    chain: pick((m) => m.kind === "forwardChain"),
    reply: pick((m) => m.kind === "replyChain"),
    gsm: pick((m) => m.kind === "voice" && m.encoding === "gsm" && !m.private),
    mulaw: pick((m) => m.kind === "voice" && m.encoding === "mulaw" && !m.private),
    private: pick((m) => m.private),
    long: lab().longMessage.messageId,
  };
  const greetings = lab().greetingsFolder;
  const p4006 = await snapshot("prod", "4006", ["INBOX", greetings]);
  const p4001 = await snapshot("prod", "4001", ["INBOX"]);
  const copies = [...p4006.folders.INBOX.messages, ...p4001.folders.INBOX.messages]
    .filter((m) => Object.values(ids).includes(m.messageId ?? ""));
  assert.equal(copies.length, Object.keys(ids).length);
  const copy = (m: (typeof copies)[number]) => ({
    bytes: m.bytes,
    flags: m.flags,
    date: new Date(m.internalDate),
  });
  await appendRaw("prod", MAILBOX, "INBOX", copies.map(copy));
  assert.equal(p4006.folders[greetings].messages.length, Object.keys(GREETING_LABELS).length);
  await appendRaw("prod", MAILBOX, greetings, p4006.folders[greetings].messages.map(copy));
  return ids;
}

async function signIn(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.getByLabel("Mailbox number").fill(MAILBOX);
  await page.getByLabel("Voicemail PIN").fill(PIN);
  await Promise.all([page.waitForURL(/\/inbox$/), page.getByLabel("Voicemail PIN").press("Enter")]);
}

Deno.test({
  name: "portal II in Chromium: chains, over-length, downloads, private, lockouts, search, " +
    "heard state, last visit, list playback, greetings, admin tables at 390 px",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn(t) {
    const executablePath = await chromiumPath();
    await using tmp = await tempDir("portal2-browser");
    const shots = join(lab().dir, "artifacts", "portal2");
    await Deno.mkdir(shots, { recursive: true });
    await Deno.writeTextFile(join(tmp.path, "admin.pw"), `${ADMIN_PASSWORD}\n`);
    const ids = await seed();
    const config = await labConfig(tmp.path, (raw) => {
      raw.timeZone = "UTC";
      // Chromium's requests all come from loopback: as a trusted proxy, loopback's
      // X-Forwarded-For gives each browser context a client address of its own.
      raw.portal = {
        ...(raw.portal as object),
        adminPasswordFile: join(tmp.path, "admin.pw"),
        trustedProxies: ["127.0.0.1"],
      };
      // No directory: serve would subscribe every lab mailbox; this test mirrors its own. Its
      // mailbox is subscribed only for the admin's last look, and no pass of serve's runs by then.
      delete raw.ldap;
      raw.schedule = { syncSeconds: 3600 };
    });
    const state = await openState(join(tmp.path, "state.kv"));
    const logs: string[] = [];
    setLogSink((l) => logs.push(l));
    const stop = new AbortController();
    let served: Promise<void> | null = null;
    const contexts: BrowserContext[] = [];
    const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
    try {
      const sync = await runSync(config, state, { mailboxes: [MAILBOX] });
      assert.equal(sync.failed, 0, JSON.stringify(sync.mailboxes.map((m) => m.error)));
      assert.equal(sync.totals.placeholders, 1);
      const prod = await snapshot("prod", MAILBOX, ["INBOX"]);
      const bytesOf = (label: Labelled) =>
        prod.folders.INBOX.messages.find((m) => m.messageId === ids[label])!.bytes;
      const partsOf = (label: Labelled) => voiceParts(classifyMessage(bytesOf(label)));

      const port = freePort();
      served = serve(config, state, {
        listen: `127.0.0.1:${port}`,
        signal: stop.signal,
        handler: createApp({ config, state, limits: LIMITS, adminIterations: 1000 }).fetch,
      });
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 200 && !logs.some((l) => l.includes("Portal listening")); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const open = async (opts: { from?: string; javaScriptEnabled?: boolean } = {}) => {
        const context = await browser.newContext({
          viewport: DESKTOP,
          javaScriptEnabled: opts.javaScriptEnabled ?? true,
          acceptDownloads: true,
          extraHTTPHeaders: opts.from ? { "X-Forwarded-For": opts.from } : {},
        });
        contexts.push(context);
        return await context.newPage();
      };
      const page = await open({ from: "192.0.2.50" });
      // The inbox row of a message, found by the caller's name its page shows.
      const subjectOf = (label: Labelled) =>
        classifyMessage(bytesOf(label)).subject!.replace(/^(Fwd|Re): /, "");
      const row = (label: Labelled) =>
        page.locator("ol.msgs > li.msg", { hasText: subjectOf(label) });

      await t.step(
        "lockouts are fair: the address that failed is locked, not the owner",
        async () => {
          const attacker = await open({ from: "198.51.100.7" });
          await attacker.goto(`${base}/login`);
          for (let i = 0; i < 3; i++) {
            await attacker.getByLabel("Mailbox number").fill(MAILBOX);
            await attacker.getByLabel("Voicemail PIN").fill("000000");
            const [res] = await Promise.all([
              attacker.waitForResponse((r) =>
                r.url().endsWith("/login") && r.request().method() === "POST"
              ),
              attacker.getByLabel("Voicemail PIN").press("Enter"),
            ]);
            assert.equal(res.status(), 401);
            await attacker.waitForLoadState();
          }
          await attacker.getByLabel("Mailbox number").fill(MAILBOX);
          await attacker.getByLabel("Voicemail PIN").fill(PIN);
          const [locked] = await Promise.all([
            attacker.waitForResponse((r) =>
              r.url().endsWith("/login") && r.request().method() === "POST"
            ),
            attacker.getByLabel("Voicemail PIN").press("Enter"),
          ]);
          assert.equal(locked.status(), 429);
          await attacker.waitForLoadState();
          assert.match(
            await attacker.locator("#login-error").textContent() ?? "",
            /Too many failed/,
          );
          await look(attacker, shots, "login-locked");
          // The owner, on another address, signs in with the right PIN at once.
          await signIn(page, base);
          const audit = await listAudit(state, 20);
          assert.ok(audit.some((e) => e.action === "login" && e.from === "192.0.2.50"));
          assert.ok(audit.some((e) => e.from === "198.51.100.7" && /fail|lock/.test(e.action)));
        },
      );

      await t.step("first visit: the inbox says so; heard state from production's", async () => {
        assert.match(await page.locator("#visit").textContent() ?? "", /from your next visit on/);
        assert.equal(await page.locator("li.msg.fresh").count(), 0);
        assert.match(
          await page.locator("#heard-help").textContent() ?? "",
          /kept by this portal for you; your voicemail system's own marks\s+are never changed/,
        );
        // 4006's gsm message is unread on production: "New" here until it is played.
        assert.equal(await row("gsm").locator(".badge.new").count(), 1);
        await look(page, shots, "inbox");
      });

      await t.step("play from the list: in place, one player at a time, marks heard", async () => {
        const before = page.url();
        await row("gsm").locator("a.play").click();
        const gsmPlayer = row("gsm").locator("audio.row-player");
        await gsmPlayer.waitFor();
        assert.ok(
          Math.abs(
            await gsmPlayer.evaluate(loadedDuration) -
              partSeconds(bytesOf("gsm"), partsOf("gsm")[0]),
          ) <= 1,
        );
        await page.waitForFunction(() => {
          const a = document.querySelector<HTMLAudioElement>("audio.row-player");
          return a !== null && a.currentTime > 0.3;
        });
        assert.equal(page.url(), before, "the list stays");
        assert.equal(await row("gsm").locator("a.play").getAttribute("aria-pressed"), "true");
        await row("mulaw").locator("a.play").click();
        await row("mulaw").locator("audio.row-player").waitFor();
        await page.waitForFunction(() => {
          const a = document.querySelector<HTMLAudioElement>("li.msg audio.row-player");
          return a !== null && !a.paused && a.currentTime > 0.3;
        });
        assert.equal(await page.locator("audio.row-player").count(), 1, "one player at a time");
        assert.equal(await row("gsm").locator("a.play").getAttribute("aria-pressed"), "false");
        await look(page, shots, "inbox-playing");
        await page.locator("audio.row-player").evaluate((a: HTMLAudioElement) => a.pause());
        // Played: heard, kept by the portal (a reload asks the server).
        await page.reload();
        assert.equal(await row("gsm").locator(".badge.new").count(), 0);
        assert.ok(!(await row("gsm").getAttribute("class"))!.includes("unread"));
      });

      await t.step("mark unheard; production and the mirror are not touched", async () => {
        const prodBefore = (await snapshot("prod", MAILBOX, ["INBOX"])).folders.INBOX;
        const backupBefore = (await snapshot("backup", MAILBOX, ["INBOX"])).folders.INBOX;
        await row("gsm").locator("a:not(.play)").click();
        await page.waitForURL(/\/m\/0\/\d+-\d+$/);
        assert.equal(
          await page.locator("#heard-state").textContent(),
          "You have heard this message.",
        );
        await page.getByRole("button", { name: "Mark as unheard" }).click();
        await page.waitForURL(/heard=0/);
        assert.equal(await page.locator("#notice").textContent(), "Marked as unheard.");
        assert.equal(await page.locator(".badge.new").count(), 1);
        await look(page, shots, "message-unheard");
        await page.goto(`${base}/inbox`);
        assert.equal(await row("gsm").locator(".badge.new").count(), 1);
        for (const [side, before] of [["prod", prodBefore], ["backup", backupBefore]] as const) {
          const after = (await snapshot(side, MAILBOX, ["INBOX"])).folders.INBOX;
          assert.equal(after.highestModseq, before.highestModseq, `${side} changed`);
          assert.deepEqual(after.messages.map((m) => m.flags), before.messages.map((m) => m.flags));
        }
      });

      await t.step("without script, a list's play control opens the message's player", async () => {
        const plain = await open({ from: "192.0.2.51", javaScriptEnabled: false });
        await signIn(plain, base);
        const link = plain.locator("ol.msgs > li.msg", { hasText: subjectOf("mulaw") }).locator(
          "a.play",
        );
        await Promise.all([plain.waitForURL(/\/m\/0\/\d+-\d+#listen$/), link.click()]);
        assert.equal(await plain.locator("section.play audio").count(), 1);
        await plain.close();
      });

      await t.step(
        "a depth-2 chain forwards whole: three PCM WAVs of the parts' lengths",
        async () => {
          await page.goto(`${base}/inbox`);
          await row("chain").locator("a:not(.play)").click();
          await page.waitForURL(/\/m\/0\/\d+-\d+$/);
          assert.equal(await page.locator("section.play audio, section.thread audio").count(), 3);
          await look(page, shots, "message-chain");
          const to = `chain-${crypto.randomUUID().slice(0, 8)}@example.com`;
          await page.getByLabel("E-mail address").fill(to);
          await Promise.all([
            page.waitForURL(/forwarded=1/),
            page.getByRole("button", { name: "Forward" }).click(),
          ]);
          const [mail] = readSmtpInbox().filter((r) => r.to.includes(to));
          assert.ok(mail, "no mail at the recorder");
          const bytes = new TextEncoder().encode(mail.raw);
          const atts = findParts(parseMessage(bytes), (p) => p.contentType.type === "audio");
          const parts = partsOf("chain").filter((p) => p.role === "Voice-Message");
          assert.equal(atts.length, 3);
          assert.equal(parts.length, 3);
          for (const [i, att] of atts.entries()) {
            const wav = decodeBody(bytes, att);
            const h = pcmHeader(wav);
            assert.deepEqual([h.riff, h.wave, h.format, h.bits, h.sampleRate], [
              "RIFF",
              "WAVE",
              1,
              16,
              8000,
            ]);
            assert.ok(
              sameBytes(wav, toPcmWav(decodeBody(bytesOf("chain"), parts[i]))),
              `part ${i}`,
            );
            const claimed = parts[i].seconds!;
            assert.ok(
              Math.abs(h.dataBytes / 16000 - claimed) <= 1,
              `part ${i}: ${h.dataBytes / 16000} s vs ${claimed} s`,
            );
          }
          // The mail says who and when for each recording: the forwarder's, then the earlier two.
          const text = findParts(parseMessage(bytes), (p) => p.contentType.type === "text")
            .map((p) => new TextDecoder().decode(decodeBody(bytes, p))).join("\n");
          const senders = [
            ...new TextDecoder("latin1").decode(bytesOf("chain")).matchAll(/^From: "([^"]+)"/gm),
          ].map((m) => m[1]);
          assert.equal(senders.length, 3);
          senders.forEach((who, i) => {
            assert.match(
              text,
              new RegExp(
                `${i + 1}\\. [^\\r\\n]*from ${who}[^,]*, \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC`,
              ),
            );
          });
        },
      );

      await t.step("the over-length message plays with its real duration", async () => {
        await page.goto(`${base}/inbox`);
        await page.locator("ol.msgs > li.msg", { hasText: subjectOf("long") }).locator(
          "a:not(.play)",
        )
          .click();
        await page.waitForURL(/\/m\/0\/\d+-\d+$/);
        assert.match(await page.locator("#kept-note").textContent() ?? "", /kept on this\s+server/);
        const audio = page.locator("section.play audio").first();
        const duration = await audio.evaluate(loadedDuration);
        const seconds = lab().longMessage.seconds;
        assert.ok(Math.abs(duration - seconds) <= 1, `duration ${duration} vs ${seconds}`);
        await page.locator("h1").click(); // user activation, as a person's click gives
        assert.ok(await audio.evaluate(playAWhile) > 0.3);
        await look(page, shots, "message-long");
      });

      await t.step("a GSM message downloads as PCM WAV, which the browser plays", async () => {
        await page.goto(`${base}/inbox`);
        await row("gsm").locator("a:not(.play)").click();
        await page.waitForURL(/\/m\/0\/\d+-\d+$/);
        assert.equal(parseWav(decodeBody(bytesOf("gsm"), partsOf("gsm")[0])).formatTag, 0x31);
        const [download] = await Promise.all([
          page.waitForEvent("download"),
          page.getByRole("link", { name: "Download the recording (WAV)" }).click(),
        ]);
        assert.match(download.suggestedFilename(), /^voicemail-.*\.wav$/);
        const file = await Deno.readFile((await download.path())!);
        const h = pcmHeader(file);
        assert.deepEqual([h.riff, h.format, h.bits], ["RIFF", 1, 16]);
        assert.ok(sameBytes(file, toPcmWav(decodeBody(bytesOf("gsm"), partsOf("gsm")[0]))));
        const href = await page.getByRole("link", { name: "Download the recording (WAV)" })
          .getAttribute("href");
        const played = await page.evaluate(async (src: string) => {
          const a = new Audio(src);
          await new Promise((ok, fail) => {
            a.addEventListener("loadedmetadata", ok, { once: true });
            a.addEventListener("error", () => fail(new Error(`media error ${a.error?.code}`)));
          });
          await a.play();
          await new Promise((r) => setTimeout(r, 800));
          a.pause();
          return { duration: a.duration, at: a.currentTime };
        }, href!);
        assert.ok(Math.abs(played.duration - h.dataBytes / 16000) < 0.1);
        assert.ok(played.at > 0.2, `currentTime ${played.at}`);
        // Downloaded: heard (the mark-unheard step had undone the play).
        await page.reload();
        assert.equal(
          await page.locator("#heard-state").textContent(),
          "You have heard this message.",
        );
        const orig = page.getByRole("link", { name: "Original format of the recording" });
        assert.equal(await orig.count(), 1);
      });

      await t.step("a private message: download and forward refused, 403 + audit", async () => {
        await page.goto(`${base}/inbox`);
        await row("private").locator("a:not(.play)").click();
        await page.waitForURL(/\/m\/0\/\d+-\d+$/);
        const path = new URL(page.url()).pathname;
        assert.equal(await page.locator(`a[href^="${path}/download/"]`).count(), 0);
        assert.equal(await page.getByRole("button", { name: "Forward" }).count(), 0);
        await look(page, shots, "message-private");
        for (const kind of ["download", "original"]) {
          const res = await page.request.get(`${base}${path}/${kind}/0`);
          assert.equal(res.status(), 403, kind);
        }
        const before = readSmtpInbox().length;
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.url().endsWith("/forward")),
          page.evaluate(() => {
            const csrf = document.querySelector<HTMLInputElement>('input[name="_csrf"]')!.value;
            const f = document.createElement("form");
            f.method = "post";
            f.action = `${location.pathname}/forward`;
            for (const [k, v] of [["_csrf", csrf], ["to", "someone@example.com"]]) {
              const i = document.createElement("input");
              i.type = "hidden";
              i.name = k;
              i.value = v;
              f.append(i);
            }
            document.body.append(f);
            f.submit();
          }),
        ]);
        assert.equal(response.status(), 403);
        // The refusal is a page of its own: wait for it before going anywhere else.
        await page.waitForURL(/\/forward$/);
        assert.match(await page.locator("#notice").textContent() ?? "", /private/);
        assert.equal(readSmtpInbox().length, before);
        const audit = (await listAudit(state, 10)).filter((e) =>
          e.actor === `subscriber:${MAILBOX}`
        );
        assert.equal(audit.filter((e) => e.action === "download-refused").length, 2);
        assert.equal(audit.filter((e) => e.action === "forward-refused").length, 1);
        assert.equal(audit.find((e) => e.action === "forward-refused")!.detail?.reason, "private");
      });

      await t.step(
        "search, and its result as a ZIP of PCM WAVs (unzipped and compared)",
        async () => {
          await page.goto(`${base}/inbox`);
          const caller = classifyMessage(bytesOf("gsm")).from!.name;
          await page.getByLabel("Caller, number or subject").fill(caller);
          await Promise.all([
            page.waitForURL(/q=/),
            page.getByRole("button", { name: "Search" }).click(),
          ]);
          const rows = page.locator("ol.msgs > li.msg");
          const matching = prod.folders.INBOX.messages.filter((m) =>
            classifyMessage(m.bytes).from?.name === caller ||
            (classifyMessage(m.bytes).subject ?? "").includes(caller)
          );
          assert.equal(await rows.count(), matching.length);
          await look(page, shots, "inbox-search");
          const [download] = await Promise.all([
            page.waitForEvent("download"),
            page.getByRole("link", { name: /Download these messages/ }).click(),
          ]);
          const files = unzipSync(await Deno.readFile((await download.path())!));
          const wavs = Object.keys(files).filter((n) => n.endsWith(".wav"));
          const expected = matching.filter((m) => !classifyMessage(m.bytes).private).flatMap((m) =>
            voiceParts(classifyMessage(m.bytes)).map((p) => toPcmWav(decodeBody(m.bytes, p)))
          );
          assert.ok(expected.length > 0);
          assert.equal(wavs.length, expected.length);
          for (const want of expected) {
            assert.ok(wavs.some((n) => sameBytes(files[n], want)), "a recording is missing");
          }
          assert.match(new TextDecoder().decode(files["index.csv"]), new RegExp(caller));
        },
      );

      await t.step("greetings are labelled from what the store says, honestly", async () => {
        await page.goto(`${base}/inbox?f=1`);
        const labels = await page.locator("ol.msgs > li.msg .who").allTextContents();
        assert.deepEqual(labels.sort(), Object.values(GREETING_LABELS).sort());
        // The store's own subject is shown where it says more than the label.
        assert.equal(
          await page.locator("ol.msgs .subject", { hasText: "Greeting: busy" }).count(),
          1,
        );
        await look(page, shots, "greetings");
        await page.locator("li.msg", { hasText: "Busy greeting" }).locator("a:not(.play)").click();
        await page.waitForURL(/\/m\/1\/\d+-\d+$/);
        assert.equal(await page.locator("h1").textContent(), "Busy greeting");
        assert.match(await page.locator("#greeting-source").textContent() ?? "", /header/);
        await page.goto(`${base}/inbox?f=1`);
        await page.locator("li.msg", { hasText: "unknown type" }).locator("a:not(.play)").click();
        assert.match(await page.locator("#greeting-source").textContent() ?? "", /does not say/);
        await look(page, shots, "greeting-unknown");
      });

      await t.step("the next visit marks what arrived since the last one", async () => {
        await page.goto(`${base}/inbox`);
        await Promise.all([
          page.waitForURL(/\/login$/),
          page.getByRole("button", { name: "Log out" }).click(),
        ]);
        await new Promise((r) => setTimeout(r, 1100)); // arrival times are whole seconds
        // A copy with its own Message-ID and today's Date: it arrives now.
        const now = new Date();
        const fresh = new TextEncoder().encode(
          new TextDecoder().decode(variant(bytesOf("reply"), 1)).replace(
            /^Date: .*$/m,
            `Date: ${now.toUTCString().replace("GMT", "+0000")}`,
          ),
        );
        await appendRaw("prod", MAILBOX, "INBOX", [{ bytes: fresh, date: now }]);
        const again = await runSync(config, state, { mailboxes: [MAILBOX] });
        assert.equal(again.totals.copied, 1);
        await signIn(page, base);
        assert.match(
          await page.locator("#visit").textContent() ?? "",
          /Your last visit: today \d\d:\d\d\. 1 new since then/,
        );
        const marked = page.locator("ol.msgs > li.msg.fresh");
        assert.equal(await marked.count(), 1);
        assert.equal(await marked.locator(".since").textContent(), "New since your last visit");
        assert.equal(
          await page.locator("ol.msgs > li.msg").first().getAttribute("class"),
          "msg unread fresh",
        );
        assert.match(await marked.locator(".when").textContent() ?? "", /^today \d\d:\d\d$/);
        await look(page, shots, "inbox-since-last-visit");
        // Kept across sessions: a reload in this visit still counts from the last one.
        await page.reload();
        assert.equal(await page.locator("ol.msgs > li.msg.fresh").count(), 1);
      });

      await t.step(
        "the admin's tables read at 390 px, and its pages keep their contrast",
        async () => {
          await addSubscriptions(state, [MAILBOX]);
          const admin = await open();
          await admin.goto(`${base}/admin/login`);
          await admin.getByLabel("User name").fill("admin");
          await admin.getByLabel("Password").fill(ADMIN_PASSWORD);
          await Promise.all([
            admin.waitForURL(/\/admin$/),
            admin.getByLabel("Password").press("Enter"),
          ]);
          for (
            const [path, name] of [
              ["/admin", "admin-dashboard"],
              ["/admin/subscriptions", "admin-subscriptions"],
              [`/admin/subscriptions/${MAILBOX}`, "admin-mailbox"],
              ["/admin/audit", "admin-audit"],
              ["/admin/jobs", "admin-jobs"],
            ]
          ) {
            await admin.goto(`${base}${path}`);
            assert.equal(new URL(admin.url()).pathname, path);
            await look(admin, shots, name);
          }
        },
      );
    } finally {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
      stop.abort();
      await served;
      setLogSink((l) => console.error(l));
      closeState(state);
    }
  },
});
