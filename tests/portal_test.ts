/**
 * The subscriber portal against the lab's real servers: PIN login (IMAP and LDAP), throttling
 * and the admin's clear, the inbox, playback with Range, downloads, forwarding through the
 * lab's SMTP recorder, audit, logout — with the backup MSS and with the file store as mirror.
 * Mailboxes 4006 and 4007 are this file's (wiped and mirrored here).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pcmWavSize } from "../engine/audio/mod.ts";
import { parseWav } from "../engine/audio/mod.ts";
import type { Config, SourceConfig } from "../engine/config/mod.ts";
import { closeLdap, openLdap, searchEntries } from "../engine/directory/mod.ts";
import { setLogSink } from "../engine/support/mod.ts";
import { clearVoiceCache } from "../portal/mailbox_reader.ts";
import { decodeBody, headerValue, parseMessage, type Part } from "../engine/mime/mod.ts";
import { closeState, listAudit, openState, type State } from "../engine/state/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import { classifyMessage } from "../engine/voicemail/mod.ts";
import { createApp } from "../portal/app.tsx";
import { messageLinks, pcmHeader, PortalClient } from "../portal/test_util.ts";
import { readSmtpInbox } from "../scripts/lab.ts";
import { lab, labConfig, snapshot, wipeMailbox } from "./test_utils/mod.ts";

const LIMITS = {
  mailbox: { maxFailures: 3, windowMinutes: 15, lockMinutes: 15 },
  address: { maxFailures: 50, windowMinutes: 15, lockMinutes: 15 },
  admin: { maxFailures: 3, windowMinutes: 15, lockMinutes: 15 },
};
const ADMIN_PASSWORD = "lab-admin-pw-0123";

function pinOf(mailbox: string): string {
  return lab().mailboxes.find((m) => m.mailbox === mailbox)!.pin;
}

interface Setup {
  dir: string;
  config: Config & { source: SourceConfig };
  state: State;
}

async function setup(
  name: string,
  patch: (raw: Record<string, unknown>) => void = () => {},
  which: "imap" | "files" = "imap",
): Promise<Setup> {
  const dir = await Deno.makeTempDir({ prefix: `vmirror-portal-${name}-` });
  await Deno.writeTextFile(join(dir, "admin.pw"), `${ADMIN_PASSWORD}\n`);
  const config = await labConfig(dir, (raw) => {
    raw.portal = { ...(raw.portal as object), adminPasswordFile: join(dir, "admin.pw") };
    if (which === "files") {
      raw.target = { type: "files", root: join(dir, "store") };
    }
    patch(raw);
  }, which);
  if (which === "files") await Deno.mkdir(join(dir, "store"));
  const state = await openState(join(dir, "state.kv"));
  return { dir, config, state };
}

async function teardown(s: Setup) {
  closeState(s.state);
  await Deno.remove(s.dir, { recursive: true });
}

async function mirror(s: Setup, mailboxes: string[]) {
  if (s.config.target?.type === "imap") {
    for (const m of mailboxes) await wipeMailbox("backup", m);
  }
  const summary = await runSync(s.config, s.state, { mailboxes });
  assert.equal(summary.failed, 0, JSON.stringify(summary.mailboxes.map((m) => m.error)));
}

function app(s: Setup) {
  return createApp({ config: s.config, state: s.state, limits: LIMITS, adminIterations: 1000 });
}

/** The seeded messages of a mailbox that the mirror keeps (no broadcasts). */
function seeded(mailbox: string, folder = "INBOX") {
  return lab().seeded[mailbox].messages.filter((m) => m.folder === folder && !m.broadcast);
}

// The raw bytes of every mirrored message of a mailbox, by folder and UID (read directly).
async function backupMessages(mailbox: string) {
  const snap = await snapshot("backup", mailbox, lab().folders);
  const out = new Map<string, Uint8Array>();
  for (const [folder, f] of Object.entries(snap.folders)) {
    for (const m of f.messages) out.set(`${folder}/${f.uidValidity}-${m.uid}`, m.bytes);
  }
  return out;
}

function findPart(root: Part, test: (p: Part) => boolean): Part | null {
  if (test(root)) return root;
  for (const c of root.children) {
    const hit = findPart(c, test);
    if (hit) return hit;
  }
  return root.message ? findPart(root.message, test) : null;
}

Deno.test({
  name: "portal: PIN login, inbox, playback, download, forward, audit and logout (backup MSS)",
  async fn(t) {
    const s = await setup("main");
    try {
      await mirror(s, ["4006", "4007"]);
      clearVoiceCache();
      const portal = app(s);
      const browser = new PortalClient(portal);
      const raw = await backupMessages("4006");

      await t.step("health is public; status and pages need a login", async () => {
        const h = await browser.request("/healthz");
        assert.equal(h.status, 200);
        assert.equal((await h.json()).ok, true);
        const api = await browser.request("/api/status", { headers: { accept: "*/*" } });
        assert.equal(api.status, 401);
        await api.body?.cancel();
        const root = await browser.request("/");
        assert.equal(root.headers.get("location"), "/login");
        const inbox = await browser.request("/inbox");
        assert.equal(inbox.headers.get("location"), "/login");
      });

      await t.step("a wrong PIN is refused and audited", async () => {
        const res = await browser.login("4006", "000000");
        assert.equal(res.status, 401);
        assert.match(await res.text(), /mailbox number or PIN is not right/);
        const audit = await listAudit(s.state, 5);
        assert.equal(audit[0].action, "login-failed");
        assert.equal(audit[0].actor, "subscriber:4006");
        assert.equal(audit[0].from, "127.0.0.1");
        assert.ok(!JSON.stringify(audit).includes("000000"));
      });

      await t.step("forms without their token or from another site are refused", async () => {
        await browser.page("/login");
        const noToken = await browser.post("/login", {
          mailbox: "4006",
          pin: pinOf("4006"),
          _csrf: "",
        });
        assert.equal(noToken.status, 403);
        await noToken.body?.cancel();
        const crossSite = await browser.post("/login", { mailbox: "4006", pin: pinOf("4006") }, {
          origin: "https://evil.example",
        });
        assert.equal(crossSite.status, 403);
        await crossSite.body?.cancel();
      });

      await t.step("the right PIN signs in with a strict, HttpOnly, expiring cookie", async () => {
        await browser.page("/login");
        const res = await browser.post("/login", { mailbox: "4006", pin: pinOf("4006") });
        assert.equal(res.status, 303);
        assert.equal(res.headers.get("location"), "/inbox");
        const cookie = res.headers.getSetCookie().find((c) => c.startsWith("vm_session="))!;
        assert.match(cookie, /HttpOnly/);
        assert.match(cookie, /SameSite=Strict/);
        assert.match(cookie, /Max-Age=1800/);
        assert.match(cookie, /Path=\//);
        assert.doesNotMatch(cookie, /Secure/); // plain HTTP here; Secure when the portal has TLS
        assert.equal((await listAudit(s.state, 1))[0].action, "login");
      });

      let links: string[] = [];
      await t.step("the inbox lists the mirrored messages newest first, with badges", async () => {
        const { res, html } = await browser.page("/inbox");
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("cache-control"), "no-store");
        assert.match(res.headers.get("content-security-policy")!, /default-src 'none'/);
        const expected = seeded("4006");
        links = messageLinks(html);
        assert.equal(links.length, expected.length);
        assert.match(html, new RegExp(`1–${expected.length} of ${expected.length}, newest first`));
        const times = [...html.matchAll(/<time datetime="([^"]+)"/g)].map((m) => m[1]);
        const tops = times.filter((_, i, a) => i === 0 || a[i - 1] !== undefined);
        assert.ok(tops.length >= expected.length);
        const dates = expected.map((m) => m.internalDate).sort().reverse();
        // The first time of each row is its date; rows are newest first.
        const rowDates = [...html.matchAll(/<li class="msg[^"]*">.*?<time datetime="([^"]+)"/gs)]
          .map((m) => m[1]);
        assert.deepEqual([...rowDates].sort().reverse(), rowDates);
        assert.equal(rowDates.length, dates.length);
        const count = (re: RegExp) => (html.match(re) ?? []).length;
        assert.equal(count(/class="badge urgent"/g), expected.filter((m) => m.urgent).length);
        assert.equal(count(/class="badge private"/g), expected.filter((m) => m.private).length);
        assert.equal(
          count(/class="badge new"/g),
          expected.filter((m) => !m.flags.includes("\\Seen")).length,
        );
        // The forwarded chain (two earlier messages) shows as a nested thread.
        assert.match(html, /<ul class="thread"[^>]*><li>.*?<ul class="thread"/s);
        assert.doesNotMatch(html, /Broadcast/);
        const greetings = await browser.page("/inbox?f=1");
        assert.equal(messageLinks(greetings.html).length, seeded("4006", "Greetings").length);
      });

      const byKey = (link: string) => {
        const [, f, id] = /^\/m\/(\d+)\/(.+)$/.exec(link)!;
        return raw.get(`${lab().folders[Number(f)]}/${id}`)!;
      };
      const findLink = (pred: (info: ReturnType<typeof classifyMessage>) => boolean) =>
        links.find((l) => pred(classifyMessage(byKey(l))))!;

      await t.step("every encoding plays as 16-bit PCM of the right length", async () => {
        for (const encoding of ["gsm", "mulaw", "alaw"]) {
          const msg = seeded("4006").find((m) => m.encoding === encoding && m.kind === "voice")!;
          const link = findLink((i) => i.messageId === msg.messageId);
          const res = await browser.request(`${link}/audio/0`);
          assert.equal(res.status, 200, encoding);
          assert.equal(res.headers.get("accept-ranges"), "bytes");
          assert.equal(res.headers.get("content-type"), "audio/wav");
          const body = new Uint8Array(await res.arrayBuffer());
          assert.equal(Number(res.headers.get("content-length")), body.length);
          const h = pcmHeader(body);
          assert.deepEqual([h.riff, h.wave, h.format, h.channels, h.sampleRate, h.bits], [
            "RIFF",
            "WAVE",
            1,
            1,
            8000,
            16,
          ]);
          const seconds = h.dataBytes / 16000;
          assert.ok(Math.abs(seconds - msg.seconds) <= 1, `${encoding}: ${seconds} s`);
        }
      });

      await t.step("Range requests seek: 206 with the exact bytes, 416 past the end", async () => {
        const link = links[0];
        const full = new Uint8Array(await (await browser.request(`${link}/audio/0`)).arrayBuffer());
        const part = await browser.request(`${link}/audio/0`, {
          headers: { range: "bytes=100-199" },
        });
        assert.equal(part.status, 206);
        assert.equal(part.headers.get("content-range"), `bytes 100-199/${full.length}`);
        assert.deepEqual(new Uint8Array(await part.arrayBuffer()), full.subarray(100, 200));
        const open = await browser.request(`${link}/audio/0`, { headers: { range: "bytes=0-" } });
        assert.equal(open.status, 206);
        assert.deepEqual(new Uint8Array(await open.arrayBuffer()), full);
        const tail = await browser.request(`${link}/audio/0`, { headers: { range: "bytes=-10" } });
        assert.deepEqual(new Uint8Array(await tail.arrayBuffer()), full.subarray(full.length - 10));
        const past = await browser.request(`${link}/audio/0`, {
          headers: { range: `bytes=${full.length}-` },
        });
        assert.equal(past.status, 416);
        assert.equal(past.headers.get("content-range"), `bytes */${full.length}`);
        const head = await browser.request(`${link}/audio/0`, { method: "HEAD" });
        assert.equal(head.status, 200);
        assert.equal(Number(head.headers.get("content-length")), full.length);
        await head.body?.cancel();
        const info = parseWav(decodeBody(byKey(link), classifyMessage(byKey(link)).voiceParts[0]));
        assert.equal(full.length, pcmWavSize(info));
      });

      await t.step("a play is audited once per recording, not per Range request", async () => {
        const plays = (await listAudit(s.state, 100)).filter((e) => e.action === "play");
        assert.equal(plays.length, 3 + 1);
        assert.equal(plays[0].actor, "subscriber:4006");
        assert.ok(plays.every((p) => p.detail?.folder === "INBOX"));
      });

      await t.step("the original recording downloads byte for byte", async () => {
        const link = links[1];
        const res = await browser.request(`${link}/original/0`);
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-disposition")!, /^attachment; filename="voicemail-/);
        const info = classifyMessage(byKey(link));
        assert.deepEqual(
          new Uint8Array(await res.arrayBuffer()),
          decodeBody(byKey(link), info.voiceParts[0]),
        );
        assert.equal((await listAudit(s.state, 1))[0].action, "download");
      });

      await t.step("the thread's earlier messages play from the message page", async () => {
        const fwd = seeded("4006").find((m) => m.kind === "forwardChain")!;
        const link = findLink((i) => i.messageId === fwd.messageId);
        const { html } = await browser.page(link);
        assert.match(html, /Earlier in this thread/);
        // Forwarded twice: the thread nests the earlier message inside the forwarded one.
        assert.match(html, /<ol class="thread"><li>.*?<ol class="thread"><li>/s);
        const audios = [...html.matchAll(/<audio[^>]* src="([^"]+)"/g)].map((m) => m[1]);
        assert.ok(audios.length >= 3, audios.join());
        for (const src of audios) {
          const res = await browser.request(src);
          assert.equal(res.status, 200, src);
          assert.equal(pcmHeader(new Uint8Array(await res.arrayBuffer())).format, 1);
        }
      });

      const to = `fwd-${crypto.randomUUID().slice(0, 8)}@example.com`;
      await t.step("forward sends the recording as a WAV attachment through SMTP", async () => {
        const msg = seeded("4006").find((m) => !m.private && m.kind === "voice")!;
        const link = findLink((i) => i.messageId === msg.messageId);
        const { html } = await browser.page(link);
        assert.match(html, /action="[^"]+\/forward"/);
        const res = await browser.post(`${link}/forward`, { to });
        assert.equal(res.status, 303, await res.clone().text());
        assert.match(res.headers.get("location")!, /\?forwarded=1/);
        const mail = readSmtpInbox().filter((r) => r.to.includes(to));
        assert.equal(mail.length, 1);
        const bytes = new TextEncoder().encode(mail[0].raw);
        const root = parseMessage(bytes);
        const subject = headerValue(root.headers, "subject")!;
        assert.match(subject, /^Voice message from /);
        assert.equal(mail[0].from, s.config.smtp!.from);
        const text = findPart(root, (p) => p.contentType.type === "text")!;
        const body = new TextDecoder().decode(decodeBody(bytes, text));
        assert.match(body, /Voice message from .+, received \d{4}-\d{2}-\d{2} \d{2}:\d{2} \S+/);
        assert.match(body, /box 4006/);
        const att = findPart(root, (p) => p.contentType.type === "audio")!;
        assert.equal(`${att.contentType.type}/${att.contentType.subtype}`, "audio/wav");
        assert.match(att.disposition?.params.filename ?? "", /^voicemail-.*\.wav$/);
        const wav = pcmHeader(decodeBody(bytes, att));
        assert.deepEqual([wav.riff, wav.format, wav.sampleRate], ["RIFF", 1, 8000]);
        const a = (await listAudit(s.state, 1))[0];
        assert.equal(a.action, "forward");
        assert.equal(a.detail?.to, to);
      });

      await t.step("a private message has no forward form and the route refuses it", async () => {
        const msg = seeded("4006").find((m) => m.private)!;
        const link = findLink((i) => i.messageId === msg.messageId);
        const { html } = await browser.page(link);
        assert.doesNotMatch(html, /\/forward"/);
        assert.match(html, /private: it cannot be forwarded/);
        const before = readSmtpInbox().length;
        const res = await browser.post(`${link}/forward`, { to });
        assert.equal(res.status, 403);
        await res.body?.cancel();
        assert.equal(readSmtpInbox().length, before);
        assert.equal((await listAudit(s.state, 1))[0].action, "forward-refused");
      });

      await t.step("addresses are validated: no header injection, one recipient", async () => {
        const link = findLink((i) => !i.private && i.voiceParts.length > 0);
        const before = readSmtpInbox().length;
        for (const bad of [`${to}\r\nBcc: x@example.com`, `${to}, x@example.com`, "nobody"]) {
          const res = await browser.post(`${link}/forward`, { to: bad });
          assert.equal(res.status, 400, bad);
          assert.match(await res.text(), /Enter one e-mail address/);
        }
        const noToken = await browser.post(`${link}/forward`, { to, _csrf: "x" });
        assert.equal(noToken.status, 403);
        await noToken.body?.cancel();
        assert.equal(readSmtpInbox().length, before);
      });

      await t.step("failed logins lock a mailbox until the admin clears it", async () => {
        const other = new PortalClient(portal, { from: "10.0.0.7" });
        for (let i = 0; i < 3; i++) {
          const r = await other.login("4007", "111111");
          assert.equal(r.status, 401);
          await r.body?.cancel();
        }
        const locked = await other.login("4007", pinOf("4007"));
        assert.equal(locked.status, 429);
        assert.match(await locked.text(), /Too many failed attempts/);

        const admin = new PortalClient(portal, { from: "10.0.0.9" });
        const bad = await admin.adminLogin("admin", "wrong");
        assert.equal(bad.status, 401);
        await bad.body?.cancel();
        const ok = await admin.adminLogin("admin", ADMIN_PASSWORD);
        assert.equal(ok.status, 303);
        const { html } = await admin.page("/admin/lockouts");
        assert.match(html, /4007<\/th>.*?Locked until/s);
        const clear = await admin.post("/admin/lockouts/clear", { kind: "mailbox", id: "4007" });
        assert.equal(clear.status, 303);
        assert.doesNotMatch((await admin.page("/admin/lockouts")).html, /4007<\/th>/);
        const again = await other.login("4007", pinOf("4007"));
        assert.equal(again.status, 303);
        const actions = (await listAudit(s.state, 20)).map((e) => e.action);
        assert.ok(actions.includes("lockout-clear"));
        assert.ok(actions.includes("login-locked"));
      });

      await t.step("the admin sees sync health, the audit log and the JSON status", async () => {
        const admin = new PortalClient(portal);
        await admin.adminLogin("admin", ADMIN_PASSWORD);
        const status = await admin.page("/admin");
        assert.equal(status.res.status, 200);
        assert.match(status.html, /<h1>Dashboard<\/h1>/);
        const audit = await admin.page("/admin/audit");
        for (const action of ["login", "play", "download", "forward", "forward-refused"]) {
          assert.match(audit.html, new RegExp(`<td>${action}</td>`), action);
        }
        assert.ok(!audit.html.includes(pinOf("4006")));
        assert.ok(!audit.html.includes(ADMIN_PASSWORD));
        const api = await admin.request("/api/status", { headers: { accept: "application/json" } });
        assert.equal(api.status, 200);
        assert.ok(Array.isArray((await api.json()).runs));
        // A subscriber is not an admin.
        assert.equal((await browser.request("/admin")).headers.get("location"), "/admin/login");
        const sub = await browser.request("/api/status", { headers: { accept: "*/*" } });
        assert.equal(sub.status, 401);
        await sub.body?.cancel();
      });

      await t.step("logout ends the session for good", async () => {
        const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
        const res = await browser.post("/logout", {});
        assert.equal(res.status, 303);
        assert.equal(res.headers.get("location"), "/login");
        assert.equal((await browser.request("/inbox")).headers.get("location"), "/login");
        const replay = await browser.request(`${links[0]}/audio/0`, { headers: { cookie } });
        assert.equal(replay.status, 401);
        await replay.body?.cancel();
        assert.equal((await listAudit(s.state, 1))[0].action, "logout");
      });
    } finally {
      await teardown(s);
    }
  },
});

Deno.test({
  name: "portal: with TLS the session cookie is Secure and __Host- bound, and HSTS is sent",
  async fn() {
    const s = await setup("tls", (raw) => {
      // Only their presence matters to the app; the config reads them once at load.
      const { certFile, keyFile } = lab().tls;
      raw.portal = { ...(raw.portal as object), tlsCertFile: certFile, tlsKeyFile: keyFile };
    });
    try {
      const browser = new PortalClient(app(s), { origin: "https://portal.test" });
      const login = await browser.page("/login");
      assert.ok(login.res.headers.getSetCookie().every((c) => /; Secure/.test(c)));
      assert.match(login.res.headers.get("strict-transport-security")!, /max-age=\d+/);
      const res = await browser.post("/login", { mailbox: "4006", pin: pinOf("4006") });
      assert.equal(res.status, 303);
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith("__Host-vm_session="));
      assert.ok(cookie);
      assert.match(cookie, /; Secure/);
      assert.match(cookie, /; HttpOnly/);
      assert.match(cookie, /; SameSite=Strict/);
      assert.equal((await browser.request("/inbox")).status, 200);
    } finally {
      await teardown(s);
    }
  },
});

Deno.test({
  name: "portal: works while production is unreachable (backup MSS login and reads)",
  async fn() {
    const s = await setup("offline");
    try {
      await mirror(s, ["4006"]);
      // Production down: its port points nowhere; the portal only needs the backup.
      const down = { ...s, config: { ...s.config, source: { ...s.config.source, port: 1 } } };
      const browser = new PortalClient(app(down));
      const res = await browser.login("4006", pinOf("4006"));
      assert.equal(res.status, 303);
      const { html } = await browser.page("/inbox");
      const links = messageLinks(html);
      assert.equal(links.length, seeded("4006").length);
      const audio = await browser.request(`${links[0]}/audio/0`);
      assert.equal(audio.status, 200);
      await audio.body?.cancel();
    } finally {
      await teardown(s);
    }
  },
});

Deno.test({
  name: "portal: LDAP PIN check, falling back to the backup directory when production is down",
  async fn(t) {
    const s = await setup("ldap", (raw) => {
      raw.portal = { ...(raw.portal as object), pinCheck: "ldap" };
    });
    try {
      await t.step("production's directory decides", async () => {
        const browser = new PortalClient(app(s));
        const bad = await browser.login("4007", "000000");
        assert.equal(bad.status, 401);
        await bad.body?.cancel();
        const ok = await browser.login("4007", pinOf("4007"));
        assert.equal(ok.status, 303);
      });
      await t.step("the backup directory answers when production is down", async () => {
        const ldap = s.config.ldap!;
        const session = await openLdap(ldap.target!, { binaryAttributes: [ldap.attributes.pin] });
        let backupPin: string;
        try {
          const [entry] = await searchEntries(session, ldap.target!.baseDn, {
            filter: `(${ldap.attributes.mailbox}=4006)`,
            pageSize: 5,
            attributes: [ldap.attributes.pin],
          });
          const v = Object.entries(entry.attributes).find(([k]) =>
            k.toLowerCase() === ldap.attributes.pin.toLowerCase()
          )![1][0];
          backupPin = typeof v === "string" ? v : new TextDecoder().decode(v);
        } finally {
          await closeLdap(session);
        }
        const downConfig = {
          ...s.config,
          ldap: {
            ...ldap,
            source: { ...ldap.source, url: "ldap://127.0.0.1:1", timeoutSeconds: 2 },
          },
        };
        const lines: string[] = [];
        setLogSink((l) => lines.push(l));
        try {
          const browser = new PortalClient(
            createApp({
              config: downConfig,
              state: s.state,
              limits: LIMITS,
              adminIterations: 1000,
            }),
          );
          const ok = await browser.login("4006", backupPin);
          assert.equal(ok.status, 303);
          const bad = await browser.login("4006", backupPin === "000000" ? "111111" : "000000");
          assert.equal(bad.status, 401);
          await bad.body?.cancel();
        } finally {
          setLogSink((l) => console.error(l));
        }
        assert.ok(lines.some((l) => /Cannot check a PIN on "ldap:\/\/127\.0\.0\.1:1"/.test(l)));
        assert.ok(!lines.join("\n").includes(backupPin));
      });
    } finally {
      await teardown(s);
    }
  },
});

Deno.test({
  name: "portal: the file store as mirror (PIN checked on production, same inbox, plays)",
  async fn() {
    const s = await setup("files", () => {}, "files");
    try {
      await mirror(s, ["4006"]);
      const browser = new PortalClient(app(s));
      const res = await browser.login("4006", pinOf("4006"));
      assert.equal(res.status, 303);
      const { html } = await browser.page("/inbox");
      const links = messageLinks(html);
      assert.equal(links.length, seeded("4006").length);
      assert.equal((html.match(/class="badge private"/g) ?? []).length, 1);
      const msg = seeded("4006").find((m) => m.kind === "forwardChain")!;
      let found = false;
      for (const link of links) {
        const page = await browser.page(link);
        if (!page.html.includes(msg.subject)) continue;
        found = true;
        assert.match(page.html, new RegExp(msg.subject.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
        const audios = [...page.html.matchAll(/<audio[^>]* src="([^"]+)"/g)].map((m) => m[1]);
        for (const src of audios) {
          const a = await browser.request(src, { headers: { range: "bytes=0-" } });
          assert.equal(a.status, 206);
          assert.equal(pcmHeader(new Uint8Array(await a.arrayBuffer())).format, 1);
        }
      }
      assert.ok(found);
      const greetings = await browser.page("/inbox?f=1");
      assert.equal(messageLinks(greetings.html).length, seeded("4006", "Greetings").length);
    } finally {
      await teardown(s);
    }
  },
});
