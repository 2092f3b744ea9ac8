/**
 * The subscriber portal II against the lab: a forwarded chain carries every recording, the
 * over-length message plays from the original kept on the appliance (found through the mirror's
 * map, or by Message-ID without it), downloads are PCM WAV with the original a click away,
 * private messages are neither downloaded nor forwarded (refused server-side and audited), a
 * message without a recording offers nothing to play or forward, and the Host allow-list.
 * Scratch mailbox 7365 is this file's: copies of 4006's and 4001's seeded voicemail.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { parseWav, pcmWavSize, toPcmWav } from "../engine/audio/mod.ts";
import type { Config, SourceConfig } from "../engine/config/mod.ts";
import { decodeBody, parseMessage, type Part } from "../engine/mime/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import { closeState, listAudit, openState, type State } from "../engine/state/mod.ts";
import { classifyMessage } from "../engine/voicemail/mod.ts";
import { STYLE_CSS } from "../static/style.ts";
import { createApp } from "../portal/app.tsx";
import { toCsv } from "../portal/archive.ts";
import { clearVoiceCache, voiceParts } from "../portal/mailbox_reader.ts";
import { messageLinks, pcmHeader, PortalClient } from "../portal/test_util.ts";
import { relativeDateTime } from "../portal/time.tsx";
import { readSmtpInbox } from "../scripts/lab.ts";
import {
  appendRaw,
  lab,
  labConfig,
  placeholderOf,
  scratchMailbox,
  snapshot,
  tempDir,
  wipeMailbox,
} from "./test_utils/mod.ts";

const MAILBOX = "7365";
const PIN = "246810";
const LIMITS = {
  mailbox: { maxFailures: 30, windowMinutes: 15, lockMinutes: 15 },
  address: { maxFailures: 50, windowMinutes: 15, lockMinutes: 15 },
  admin: { maxFailures: 3, windowMinutes: 15, lockMinutes: 15 },
};

type Labelled = "chain" | "reply" | "gsm" | "private" | "long" | "text";

// A message with no audio at all, dated now: the inbox shows it as "today".
function textOnly(now: Date): Uint8Array {
  return new TextEncoder().encode([
    "From: Front Desk <4010@mss.lab>",
    `To: ${MAILBOX}@mss.lab`,
    "Subject: Call me back about the delivery",
    `Date: ${now.toUTCString().replace("GMT", "+0000")}`,
    `Message-ID: <text-only.${now.getTime()}@mss.lab>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=us-ascii",
    "",
    "Only text, no recording.",
    "",
  ].join("\r\n"));
}

// Production copies of seeded messages (4006's kinds and 4001's over-length one) plus a text-only
// message, appended to the scratch mailbox; returns each one's Message-ID by label.
async function seed(now: Date): Promise<Record<Labelled, string>> {
  await scratchMailbox(MAILBOX);
  const seeded = lab().seeded["4006"].messages.filter((m) => m.folder === "INBOX");
  const pick = (test: (m: (typeof seeded)[number]) => boolean) => seeded.find(test)!.messageId;
  const ids: Record<Labelled, string> = {
    chain: pick((m) => m.kind === "forwardChain"),
    reply: pick((m) => m.kind === "replyChain"),
    gsm: pick((m) => m.kind === "voice" && m.encoding === "gsm" && !m.private),
    private: pick((m) => m.private),
    long: lab().longMessage.messageId,
    text: "",
  };
  const prod4006 = (await snapshot("prod", "4006", ["INBOX"])).folders.INBOX.messages;
  const prod4001 = (await snapshot("prod", "4001", ["INBOX"])).folders.INBOX.messages;
  const copies = [...prod4006, ...prod4001].filter((m) =>
    Object.values(ids).includes(m.messageId ?? "")
  );
  assert.equal(copies.length, 5);
  const text = textOnly(now);
  ids.text = classifyMessage(text).messageId!;
  await appendRaw("prod", MAILBOX, "INBOX", [
    ...copies.map((m) => ({
      bytes: m.bytes,
      flags: m.flags.filter((f) => f !== "\\Recent"),
      date: new Date(m.internalDate),
    })),
    { bytes: text, date: now },
  ]);
  return ids;
}

interface Setup {
  dir: string;
  config: Config & { source: SourceConfig };
  state: State;
  prod: Map<string, Uint8Array>;
  ids: Record<Labelled, string>;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function findPart(root: Part, test: (p: Part) => boolean): Part[] {
  const out: Part[] = [];
  const walk = (p: Part) => {
    if (test(p)) out.push(p);
    p.children.forEach(walk);
    if (p.message) walk(p.message);
  };
  walk(root);
  return out;
}

// Links of the inbox by label: the mirror's own bytes say which message each link shows.
async function linksByLabel(s: Setup, html: string): Promise<Record<Labelled, string>> {
  const backup = (await snapshot("backup", MAILBOX, ["INBOX"])).folders.INBOX;
  const out: Partial<Record<Labelled, string>> = {};
  for (const link of messageLinks(html)) {
    const uid = Number(link.split("-").at(-1));
    const m = backup.messages.find((x) => x.uid === uid)!;
    const id = placeholderOf(m.bytes) ?? m.messageId;
    const label = (Object.keys(s.ids) as Labelled[]).find((k) => s.ids[k] === id);
    if (label) out[label] = link;
  }
  assert.deepEqual(Object.keys(out).sort(), Object.keys(s.ids).sort());
  return out as Record<Labelled, string>;
}

async function signIn(app: ReturnType<typeof createApp>) {
  const browser = new PortalClient(app);
  const res = await browser.login(MAILBOX, PIN);
  assert.equal(res.status, 303, await res.text());
  return browser;
}

Deno.test({
  name: "portal II: chains forward whole, over-length plays, WAV downloads, private stays private",
  async fn(t) {
    await using tmp = await tempDir("portal2");
    const now = new Date();
    const ids = await seed(now);
    const config = await labConfig(tmp.path, (raw) => {
      raw.timeZone = "UTC";
    });
    assert.equal(config.limits.maxMessageSeconds, 120, "the lab's over-length limit");
    const state = await openState(join(tmp.path, "state.kv"));
    const prodSnap = (await snapshot("prod", MAILBOX, ["INBOX"])).folders.INBOX.messages;
    const s: Setup = {
      dir: tmp.path,
      config,
      state,
      ids,
      prod: new Map(prodSnap.map((m) => [m.messageId!, m.bytes])),
    };
    try {
      const sync = await runSync(config, state, { mailboxes: [MAILBOX] });
      assert.equal(sync.failed, 0, JSON.stringify(sync.mailboxes.map((m) => m.error)));
      assert.equal(sync.totals.placeholders, 1);
      clearVoiceCache();
      const app = createApp({ config, state, limits: LIMITS, adminIterations: 1000 });
      const browser = await signIn(app);
      const inbox = await browser.page("/inbox");
      const links = await linksByLabel(s, inbox.html);
      const parts = (label: Labelled) => voiceParts(classifyMessage(s.prod.get(ids[label])!));

      await t.step("badges: kind apart from state; today's date reads 'today'", () => {
        const row = (label: Labelled) =>
          new RegExp(`<li class="msg[^"]*"><a href="${links[label]}">(.*?)</a>`, "s").exec(
            inbox.html,
          )![1];
        assert.match(row("chain"), /<span class="badge kind">Forward<\/span>/);
        assert.match(row("reply"), /<span class="badge kind">Reply<\/span>/);
        assert.doesNotMatch(row("gsm"), /badge kind/);
        assert.match(row("private"), /<span class="badge private">Private<\/span>/);
        // The kind comes first, then the states.
        assert.match(row("reply"), /badge kind.*badge new/s);
        assert.match(row("text"), /<time datetime="[^"]+" title="[^"]+">today \d{2}:\d{2}<\/time>/);
        assert.match(inbox.html, /Times are in /);
      });

      await t.step("search by caller, number or subject, and by days", async () => {
        const found = async (query: string) => {
          const { res, html } = await browser.page(`/inbox?f=0&${query}`);
          assert.equal(res.status, 200);
          return messageLinks(html).map((l) =>
            (Object.keys(links) as Labelled[]).find((k) => links[k] === l)
          ).sort();
        };
        const who = classifyMessage(s.prod.get(ids.gsm)!).from!;
        assert.deepEqual(await found(`q=${encodeURIComponent(who.name.toUpperCase())}`), ["gsm"]);
        assert.deepEqual(await found(`q=${who.address.split("@")[0]}`), ["gsm"]);
        // The chain's subject names the caller of the forwarded message.
        const chainSubject = classifyMessage(s.prod.get(ids.chain)!).subject!;
        assert.deepEqual(await found(`q=${encodeURIComponent(chainSubject.slice(5))}`), ["chain"]);
        assert.deepEqual(await found("q=delivery"), ["text"]);
        const { html } = await browser.page("/inbox?f=0&q=nobody-at-all");
        assert.match(html, /No messages match\./);
        assert.match(html, /value="nobody-at-all"/);
        assert.match(html, /href="\/inbox\?f=0">Show all<\/a>/);
        // Days in the appliance's zone (UTC here), both included, on the arrival date.
        const day = (iso: string) => iso.slice(0, 10);
        const today = day(now.toISOString());
        const arrived = new Map(
          prodSnap.map((m) => [m.messageId!, day(new Date(m.internalDate).toISOString())]),
        );
        const on = (d: string) =>
          (Object.keys(ids) as Labelled[]).filter((k) => arrived.get(ids[k]) === d).sort();
        assert.ok(on(today).includes("text"));
        assert.deepEqual(await found(`from=${today}&to=${today}`), on(today));
        const chainDay = arrived.get(ids.chain)!;
        assert.deepEqual(await found(`from=${chainDay}&to=${chainDay}`), on(chainDay));
        // Reversed days are put in order; a malformed day is ignored.
        assert.deepEqual(
          await found(`from=${today}&to=${chainDay}`),
          await found(`from=${chainDay}`),
        );
        assert.equal((await found("from=yesterday")).length, Object.keys(ids).length);
      });

      await t.step("forwarding a chain sends every recording as PCM WAV, each named", async () => {
        const to = `chain-${crypto.randomUUID().slice(0, 8)}@example.com`;
        const page = await browser.page(links.chain);
        assert.match(page.html, /All 3 recordings, this message's and the earlier ones/);
        const res = await browser.post(`${links.chain}/forward`, { to });
        assert.equal(res.status, 303, await res.clone().text());
        await res.body?.cancel();
        const mail = readSmtpInbox().filter((r) => r.to.includes(to));
        assert.equal(mail.length, 1);
        const bytes = new TextEncoder().encode(mail[0].raw);
        const root = parseMessage(bytes);
        const atts = findPart(root, (p) => p.contentType.type === "audio");
        const expected = parts("chain");
        assert.equal(atts.length, expected.length);
        const source = s.prod.get(ids.chain)!;
        atts.forEach((att, i) => {
          const wav = decodeBody(bytes, att);
          const h = pcmHeader(wav);
          assert.deepEqual([h.riff, h.format, h.channels, h.sampleRate, h.bits], [
            "RIFF",
            1,
            1,
            8000,
            16,
          ]);
          const original = decodeBody(source, expected[i]);
          assert.equal(wav.length, pcmWavSize(parseWav(original)), `part ${i}`);
          assert.deepEqual(wav, toPcmWav(original), `part ${i}`);
          assert.ok(Math.abs(h.dataBytes / 16000 - expected[i].seconds!) <= 1, `part ${i}`);
          assert.match(att.disposition?.params.filename ?? "", /^voicemail-.*\.wav$/);
        });
        const names = atts.map((a) => a.disposition!.params.filename);
        assert.equal(new Set(names).size, names.length);
        const text = findPart(root, (p) => p.contentType.type === "text")[0];
        const body = new TextDecoder().decode(decodeBody(bytes, text));
        assert.match(body, /The 3 recordings are attached:/);
        // Who and when of every part of the chain.
        const info = classifyMessage(source);
        const people = [
          info.from!,
          info.chain!.children[0].from!,
          info.chain!.children[0]
            .children[0].from!,
        ];
        for (const [i, who] of people.entries()) {
          assert.match(body, new RegExp(`${i + 1}\\. ${names[i]}: .*${who.name}`), who.name);
        }
        assert.equal((body.match(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}/g) ?? []).length, 4);
        const a = (await listAudit(state, 1))[0];
        assert.deepEqual([a.action, a.detail?.recordings], ["forward", 3]);
      });

      await t.step("the over-length message plays from the kept original", async () => {
        const { html } = await browser.page(links.long);
        const seconds = lab().longMessage.seconds;
        assert.match(html, /plays from the copy kept on\s+this server/);
        assert.match(html, new RegExp(`<dd>${Math.floor(seconds / 60)} minutes ${seconds % 60}`));
        const audios = [...html.matchAll(/<audio[^>]* src="([^"]+)"/g)].map((m) => m[1]);
        assert.equal(audios.length, 1);
        assert.match(html, /action="[^"]+\/forward"/);
        const audio = await browser.request(audios[0]);
        assert.equal(audio.status, 200);
        const pcm = new Uint8Array(await audio.arrayBuffer());
        const original = decodeBody(s.prod.get(ids.long)!, parts("long")[0]);
        assert.deepEqual(pcm, toPcmWav(original));
        assert.ok(Math.abs(pcmHeader(pcm).dataBytes / 16000 - seconds) <= 1);
        const dl = await browser.request(`${links.long}/download/0`);
        assert.equal(dl.status, 200);
        assert.equal(pcmHeader(new Uint8Array(await dl.arrayBuffer())).format, 1);
        const to = `long-${crypto.randomUUID().slice(0, 8)}@example.com`;
        const fwd = await browser.post(`${links.long}/forward`, { to });
        assert.equal(fwd.status, 303);
        await fwd.body?.cancel();
        const [mail] = readSmtpInbox().filter((r) => r.to.includes(to));
        const bytes = new TextEncoder().encode(mail.raw);
        const [att] = findPart(parseMessage(bytes), (p) => p.contentType.type === "audio");
        assert.ok(Math.abs(pcmHeader(decodeBody(bytes, att)).dataBytes / 16000 - seconds) <= 1);
      });

      await t.step("without the mirror's map the original is found by its Message-ID", async () => {
        const fresh = await openState(join(tmp.path, "fresh.kv"));
        try {
          clearVoiceCache();
          const other = await signIn(createApp({ config, state: fresh, limits: LIMITS }));
          const { html } = await other.page(links.long);
          assert.match(html, /plays from the copy kept on/);
          const audio = await other.request(`${links.long}/audio/0`);
          assert.equal(audio.status, 200);
          assert.ok(
            Math.abs(
              pcmHeader(new Uint8Array(await audio.arrayBuffer())).dataBytes / 16000 -
                lab().longMessage.seconds,
            ) <= 1,
          );
        } finally {
          closeState(fresh);
        }
      });

      await t.step(
        "a GSM message downloads as PCM WAV, and as GSM in its original format",
        async () => {
          const { html } = await browser.page(links.gsm);
          assert.match(html, new RegExp(`href="${links.gsm}/download/0" download`));
          assert.match(html, new RegExp(`href="${links.gsm}/original/0" download`));
          const wav = await browser.request(`${links.gsm}/download/0`);
          assert.equal(wav.status, 200);
          assert.equal(wav.headers.get("content-type"), "audio/wav");
          assert.match(
            wav.headers.get("content-disposition")!,
            /^attachment; filename="voicemail-.*\.wav"/,
          );
          const body = new Uint8Array(await wav.arrayBuffer());
          assert.equal(Number(wav.headers.get("content-length")), body.length);
          const h = pcmHeader(body);
          assert.deepEqual([h.riff, h.wave, h.format, h.bits], ["RIFF", "WAVE", 1, 16]);
          const original = decodeBody(s.prod.get(ids.gsm)!, parts("gsm")[0]);
          assert.deepEqual(body, toPcmWav(original));
          const a = (await listAudit(state, 1))[0];
          assert.deepEqual([a.action, a.detail?.format], ["download", "wav"]);
          const orig = await browser.request(`${links.gsm}/original/0`);
          assert.equal(orig.status, 200);
          const gsm = new Uint8Array(await orig.arrayBuffer());
          assert.equal(parseWav(gsm).formatTag, 0x31);
          assert.deepEqual(gsm, original);
          assert.equal((await listAudit(state, 1))[0].detail?.format, "original");
        },
      );

      await t.step(
        "a private message is neither downloaded nor forwarded: 403 + audit",
        async () => {
          const { html } = await browser.page(links.private);
          assert.match(html, /<audio/); // still played
          assert.doesNotMatch(html, /\/download\/|\/original\//);
          assert.doesNotMatch(html, /\/forward"/);
          assert.match(html, /private: it can be played here, but not downloaded/);
          for (const kind of ["download", "original"]) {
            const res = await browser.request(`${links.private}/${kind}/0`);
            assert.equal(res.status, 403, kind);
            assert.match(await res.text(), /private: it can be played here, but not downloaded/);
            const a = (await listAudit(state, 1))[0];
            assert.equal(a.action, "download-refused");
            assert.equal(a.actor, `subscriber:${MAILBOX}`);
          }
          const before = readSmtpInbox().length;
          const fwd = await browser.post(`${links.private}/forward`, { to: "x@example.com" });
          assert.equal(fwd.status, 403);
          await fwd.body?.cancel();
          assert.equal(readSmtpInbox().length, before);
          assert.equal((await listAudit(state, 1))[0].action, "forward-refused");
          // portal.privateDownload allows the download (forwarding stays refused).
          const allowing = createApp({
            config: { ...config, portal: { ...config.portal, privateDownload: true } },
            state,
            limits: LIMITS,
          });
          const other = await signIn(allowing);
          const ok = await other.request(`${links.private}/download/0`);
          assert.equal(ok.status, 200);
          assert.equal(pcmHeader(new Uint8Array(await ok.arrayBuffer())).format, 1);
          const still = await other.post(`${links.private}/forward`, { to: "x@example.com" });
          assert.equal(still.status, 403);
          await still.body?.cancel();
        },
      );

      await t.step("a message without a recording: no player, no form, and a 409", async () => {
        const { html } = await browser.page(links.text);
        assert.doesNotMatch(html, /<audio/);
        assert.doesNotMatch(html, /\/forward"/);
        assert.match(html, /This message has no recording to forward/);
        const before = readSmtpInbox().length;
        const res = await browser.post(`${links.text}/forward`, { to: "x@example.com" });
        assert.equal(res.status, 409);
        assert.match(await res.text(), /This message has no recording to forward/);
        assert.equal(readSmtpInbox().length, before);
        const a = (await listAudit(state, 1))[0];
        assert.deepEqual([a.action, a.detail?.reason], ["forward-refused", "no-recording"]);
        const dl = await browser.request(`${links.text}/download/0`);
        assert.equal(dl.status, 404);
        await dl.body?.cancel();
      });

      await t.step(
        "the folder as a ZIP: every allowed recording as PCM WAV, and a listing",
        async () => {
          const { html } = await browser.page("/inbox?f=0");
          assert.match(html, /href="\/inbox\/zip\?f=0" download>Download all messages/);
          const res = await browser.request("/inbox/zip?f=0");
          assert.equal(res.status, 200);
          assert.equal(res.headers.get("content-type"), "application/zip");
          assert.match(
            res.headers.get("content-disposition")!,
            new RegExp(
              `^attachment; filename="voicemail-${MAILBOX}-Messages-\\d{4}-\\d{2}-\\d{2}\\.zip"`,
            ),
          );
          const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
          const wavs = Object.keys(files).filter((n) => n.endsWith(".wav"));
          const allowed: Labelled[] = ["chain", "reply", "gsm", "long"];
          const expected = allowed.flatMap((l) =>
            parts(l).map((p) => toPcmWav(decodeBody(s.prod.get(ids[l])!, p)))
          );
          assert.equal(wavs.length, expected.length);
          for (const want of expected) {
            assert.ok(wavs.some((n) => sameBytes(files[n], want)), "a recording is missing");
          }
          const csv = new TextDecoder().decode(files["index.csv"]).trim().split("\r\n");
          assert.equal(
            csv[0],
            '"file","received","caller","subject","seconds","kind","state","note"',
          );
          const notes = csv.slice(1).map((l) => l.split('","').at(-1)!.replace(/"$/, ""));
          assert.equal(csv.length - 1, expected.length + parts("private").length + 1);
          assert.equal(notes.filter((n) => n === "private: not included").length, 1);
          assert.equal(notes.filter((n) => n === "no recording").length, 1);
          assert.ok(csv.some((l) => l.includes('"earlier message"')));
          const a = (await listAudit(state, 1))[0];
          assert.deepEqual([a.action, a.detail?.messages], [
            "download-zip",
            Object.keys(ids).length,
          ]);
          // A search's result only.
          const some = await browser.request("/inbox/zip?f=0&q=delivery");
          const only = unzipSync(new Uint8Array(await some.arrayBuffer()));
          assert.deepEqual(Object.keys(only), ["index.csv"]);
          assert.match(
            new TextDecoder().decode(only["index.csv"]),
            /Call me back about the delivery/,
          );
        },
      );

      await t.step("an over-length message whose original is gone says so", async () => {
        await Deno.rename(join(tmp.path, "originals"), join(tmp.path, "originals.away"));
        const fresh = await openState(join(tmp.path, "gone.kv"));
        try {
          clearVoiceCache();
          const other = await signIn(createApp({ config, state: fresh, limits: LIMITS }));
          const { html } = await other.page(links.long);
          assert.match(html, /its recording is not kept on\s+this server/);
          assert.doesNotMatch(html, /<audio|\/forward"/);
          const res = await other.post(`${links.long}/forward`, { to: "x@example.com" });
          assert.equal(res.status, 409);
          await res.body?.cancel();
          const audio = await other.request(`${links.long}/audio/0`);
          assert.equal(audio.status, 404);
          await audio.body?.cancel();
        } finally {
          closeState(fresh);
          await Deno.rename(join(tmp.path, "originals.away"), join(tmp.path, "originals"));
        }
      });
    } finally {
      closeState(state);
    }
  },
});

// The inbox rows' link, "New" badge and class, by the caller's name each row shows.
function inboxRows(html: string): { link: string; unheard: boolean; text: string }[] {
  return [...html.matchAll(/<li class="msg([^"]*)">(.*?)<\/li>/gs)].map((m) => ({
    link: /href="(\/m\/\d+\/\d+-\d+)"/.exec(m[2])![1],
    unheard: m[1].includes("unread") && m[2].includes('class="badge new"'),
    text: m[2],
  }));
}

Deno.test({
  name: "portal II: heard marks are the portal's own and outlive mirroring again",
  async fn(t) {
    await using tmp = await tempDir("portal2-heard");
    const mailbox = "7366";
    await scratchMailbox(mailbox);
    const seeded = (await snapshot("prod", "4006", ["INBOX"])).folders.INBOX.messages;
    const unseen = seeded.filter((m) => !m.flags.includes("\\Seen")).slice(0, 2);
    assert.equal(unseen.length, 2);
    await appendRaw(
      "prod",
      mailbox,
      "INBOX",
      unseen.map((m) => ({
        bytes: m.bytes,
        date: new Date(m.internalDate),
      })),
    );
    const config = await labConfig(tmp.path);
    const state = await openState(join(tmp.path, "state.kv"));
    const mirrorState = await openState(join(tmp.path, "mirror.kv"));
    try {
      // The mirror's passes keep their own store here, so the second can start afresh.
      assert.equal((await runSync(config, mirrorState, { mailboxes: [mailbox] })).failed, 0);
      const app = createApp({ config, state, limits: LIMITS, adminIterations: 1000 });
      const browser = new PortalClient(app);
      assert.equal((await browser.login(mailbox, PIN)).status, 303);
      const first = inboxRows((await browser.page("/inbox")).html);
      assert.deepEqual(first.map((r) => r.unheard), [true, true]);

      await t.step("a play marks heard; a hand-made mark needs the form's token", async () => {
        const audio = await browser.request(`${first[0].link}/audio/0`, {
          headers: { range: "bytes=0-" },
        });
        assert.equal(audio.status, 206);
        await audio.body?.cancel();
        const rows = inboxRows((await browser.page("/inbox")).html);
        assert.deepEqual(rows.map((r) => r.unheard), [false, true]);
        const forged = await browser.post(`${first[1].link}/heard`, { heard: "1", _csrf: "x" });
        assert.equal(forged.status, 403);
        await forged.body?.cancel();
        const marked = await browser.post(`${first[1].link}/heard`, { heard: "1" });
        assert.equal(marked.status, 303);
        assert.match(marked.headers.get("location")!, /\?heard=1#notice$/);
        await marked.body?.cancel();
        const again = inboxRows((await browser.page("/inbox")).html);
        assert.deepEqual(again.map((r) => r.unheard), [false, false]);
        const unmark = await browser.post(`${first[0].link}/heard`, { heard: "0" });
        assert.equal(unmark.status, 303);
        await unmark.body?.cancel();
        const page = await browser.page(unmark.headers.get("location")!.replace(/#.*$/, ""));
        assert.match(page.html, /Marked as unheard\./);
        assert.match(page.html, />Mark as heard<\/button>/);
      });

      await t.step("production and the mirror keep their own read state", async () => {
        for (const side of ["prod", "backup"] as const) {
          const box = (await snapshot(side, mailbox, ["INBOX"])).folders.INBOX;
          assert.deepEqual(box.messages.map((m) => m.flags.includes("\\Seen")), [false, false]);
        }
      });

      await t.step("mirrored again under new UIDs, the marks still hold", async () => {
        const before = (await snapshot("backup", mailbox, ["INBOX"])).folders.INBOX.messages;
        const fresh = await openState(join(tmp.path, "mirror2.kv"));
        try {
          await wipeMailbox("backup", mailbox);
          assert.equal((await runSync(config, fresh, { mailboxes: [mailbox] })).failed, 0);
        } finally {
          closeState(fresh);
        }
        const after = (await snapshot("backup", mailbox, ["INBOX"])).folders.INBOX.messages;
        assert.notDeepEqual(after.map((m) => m.uid), before.map((m) => m.uid));
        const rows = inboxRows((await browser.page("/inbox")).html);
        assert.ok(rows.every((r) => !first.some((f) => f.link === r.link)), "new UIDs");
        // The first was marked unheard by hand, the second heard.
        assert.deepEqual(rows.map((r) => r.unheard), [true, false]);
      });
    } finally {
      closeState(mirrorState);
      closeState(state);
    }
  },
});

Deno.test({
  name: "portal II: greetings are labelled from what the store says, IMAP and file store",
  async fn() {
    const mailbox = "7367";
    await scratchMailbox(mailbox);
    const folder = lab().greetingsFolder;
    const greetings = (await snapshot("prod", "4006", [folder])).folders[folder].messages;
    await appendRaw(
      "prod",
      mailbox,
      folder,
      greetings.map((m) => ({
        bytes: m.bytes,
        flags: m.flags,
        date: new Date(m.internalDate),
      })),
    );
    const labels = (html: string) =>
      [...html.matchAll(/<span class="who">([^<]*)<\/span>/g)].map((m) => m[1]).sort();
    for (const which of ["imap", "files"] as const) {
      await using tmp = await tempDir(`portal2-greetings-${which}`);
      const config = await labConfig(tmp.path, (raw) => {
        if (which === "files") raw.target = { type: "files", root: join(tmp.path, "store") };
      }, which);
      if (which === "files") await Deno.mkdir(join(tmp.path, "store"));
      const state = await openState(join(tmp.path, "state.kv"));
      try {
        assert.equal((await runSync(config, state, { mailboxes: [mailbox] })).failed, 0);
        const browser = new PortalClient(
          createApp({ config, state, limits: LIMITS, adminIterations: 1000 }),
        );
        assert.equal((await browser.login(mailbox, PIN)).status, 303);
        const { html } = await browser.page("/inbox?f=1");
        // The store says busy and no answer in a header, extended absence in the subject only,
        // and nothing at all for the fourth.
        assert.deepEqual(labels(html), [
          "Busy greeting",
          "Extended absence greeting",
          "Greeting (unknown type)",
          "No-answer greeting",
        ], which);
        const link = (label: string) =>
          new RegExp(`<a href="(/m/1/\\d+-\\d+)"><span class="who">${label}`)
            .exec(html)![1];
        const busy = await browser.page(link("Busy greeting"));
        assert.match(busy.html, /<h1>Busy greeting<\/h1>/);
        assert.match(busy.html, /greeting-type header says/, which);
        const absence = await browser.page(link("Extended absence greeting"));
        assert.match(absence.html, /As its subject says/, which);
        const unknown = await browser.page(link("Greeting \\(unknown type\\)"));
        assert.match(unknown.html, /does not say which greeting this is/, which);
      } finally {
        closeState(state);
      }
    }
  },
});

Deno.test({
  name: "portal II: with portal.allowedHosts set, other Host headers are refused",
  async fn() {
    await using tmp = await tempDir("portal2-hosts");
    const config = await labConfig(tmp.path, (raw) => {
      raw.portal = {
        ...(raw.portal as object),
        allowedHosts: ["portal.test"],
        publicUrl: "https://voicemail.example.com",
      };
    });
    const state = await openState(join(tmp.path, "state.kv"));
    try {
      const app = createApp({ config, state, limits: LIMITS, adminIterations: 1000 });
      for (const origin of ["http://portal.test", "https://voicemail.example.com"]) {
        const res = await new PortalClient(app, { origin }).request("/login");
        assert.equal(res.status, 200, origin);
        await res.body?.cancel();
      }
      const rebound = await new PortalClient(app, { origin: "http://attacker.example" })
        .request("/login");
      assert.equal(rebound.status, 421);
      await rebound.body?.cancel();
      const spoofed = await new PortalClient(app).request("/login", {
        headers: { host: "attacker.example" },
      });
      assert.equal(spoofed.status, 421);
      await spoofed.body?.cancel();
      const health = await new PortalClient(app, { origin: "http://10.0.0.1" }).request(
        "/healthz",
      );
      assert.equal(health.status, 200);
      await health.body?.cancel();
    } finally {
      closeState(state);
    }
  },
});

Deno.test("relative dates: today and yesterday by the calendar day of the zone", () => {
  const now = new Date("2026-03-29T12:00:00Z"); // the day Berlin moves to summer time
  assert.equal(relativeDateTime("2026-03-29T00:30:00Z", "Europe/Berlin", now), "today 01:30");
  assert.equal(relativeDateTime("2026-03-28T22:30:00Z", "Europe/Berlin", now), "yesterday 23:30");
  assert.equal(relativeDateTime("2026-03-27T22:30:00Z", "Europe/Berlin", now), null);
  assert.equal(relativeDateTime("2026-03-28T22:30:00Z", "UTC", now), "yesterday 22:30");
  assert.equal(
    relativeDateTime("2026-03-01T00:00:00Z", "UTC", new Date("2026-03-01T09:00Z")),
    "today 00:00",
  );
  assert.equal(
    relativeDateTime("2026-02-28T23:00:00Z", "UTC", new Date("2026-03-01T09:00Z")),
    "yesterday 23:00",
  );
});

// WCAG's relative luminance and contrast ratio.
function contrast(a: string, b: string): number {
  const lum = (hex: string) => {
    const h = hex.length === 3 ? [...hex].map((c) => c + c).join("") : hex;
    const [r, g, bl] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16) / 255).map((c) =>
      c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
    );
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

Deno.test("style: badges and status words keep 4.5:1 contrast, light and dark", () => {
  const vars = (block: string) =>
    Object.fromEntries(
      [...block.matchAll(/--([a-z]+):#([0-9a-f]{3,6})/g)].map((m) => [m[1], m[2]]),
    );
  const light = vars(/:root\{([^}]*)\}/.exec(STYLE_CSS)![1]);
  const darkBlock = /@media \(prefers-color-scheme:dark\)\{:root\{([^}]*)\}([\s\S]*?)\}\}\n/.exec(
    STYLE_CSS,
  )!;
  const dark = { ...light, ...vars(darkBlock[1]) };
  const rule = (css: string, selector: string) =>
    new RegExp(`(?:^|[}\\n])${selector.replace(/\./g, "\\.")}\\{color:#([0-9a-f]{3,6})`).exec(css)
      ?.[1];
  for (const [name, v] of [["light", light], ["dark", dark]] as const) {
    // Filled badges: white words on their colour.
    for (const badge of ["new", "urgent", "private", "ok"]) {
      assert.ok(contrast("fff", v[badge]) >= 4.5, `${name} badge ${badge}`);
    }
    // Outlined badges and text: the page's colours.
    for (const text of ["fg", "muted", "link"]) {
      assert.ok(contrast(v[text], v.bg) >= 4.5, `${name} ${text} on bg`);
      assert.ok(contrast(v[text], v.soft) >= 4.5, `${name} ${text} on soft`);
    }
  }
  for (const status of [".bad", ".good"]) {
    const color = rule(darkBlock[2], status);
    assert.ok(color, `dark ${status} has its own colour`);
    assert.ok(contrast(color, dark.bg) >= 4.5, `dark ${status}`);
  }
  assert.ok(contrast(light.bad, light.bg) >= 4.5 && contrast(light.ok, light.bg) >= 4.5);
});

Deno.test("the ZIP's listing is CSV a spreadsheet shows and does not run", () => {
  assert.equal(
    toCsv([['=HYPERLINK("x")', "+1 555 0100", "@cmd", "-2", 'plain, "quoted"']]),
    `"'=HYPERLINK(""x"")","'+1 555 0100","'@cmd","'-2","plain, ""quoted"""\r\n`,
  );
});
