/**
 * Isolation: a subscriber signed in as 4006 tries every portal route with mailbox 4007's
 * identifiers (folder, UIDVALIDITY-UID, voice part), plus tampered parameters, and never gets
 * anything of 4007's. Mailboxes 4006 and 4007 (wiped and mirrored here).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeState, openState } from "../engine/state/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import { decodeBody } from "../engine/mime/mod.ts";
import { classifyMessage } from "../engine/voicemail/mod.ts";
import { voiceParts } from "../portal/mailbox_reader.ts";
import { createApp } from "../portal/app.tsx";
import { messageLinks, PortalClient } from "../portal/test_util.ts";
import { readSmtpInbox } from "../scripts/lab.ts";
import { lab, labConfig, snapshot, wipeMailbox } from "./test_utils/mod.ts";

function pinOf(mailbox: string): string {
  return lab().mailboxes.find((m) => m.mailbox === mailbox)!.pin;
}

Deno.test({
  name: "portal isolation: every route with another mailbox's identifiers yields nothing of it",
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "vmirror-portal-iso-" });
    await Deno.writeTextFile(join(dir, "admin.pw"), "iso-admin-pw");
    const config = await labConfig(dir, (raw) => {
      raw.portal = { ...(raw.portal as object), adminPasswordFile: join(dir, "admin.pw") };
    });
    const state = await openState(join(dir, "state.kv"));
    try {
      for (const m of ["4006", "4007"]) await wipeMailbox("backup", m);
      const sync = await runSync(config, state, { mailboxes: ["4006", "4007"] });
      assert.equal(sync.failed, 0);
      const app = createApp({ config, state, adminIterations: 1000 });

      // What each mailbox holds, read straight from the backup: folder/uidvalidity-uid → bytes.
      const held = async (mailbox: string) => {
        const snap = await snapshot("backup", mailbox, lab().folders);
        const out = new Map<string, Uint8Array>();
        for (const [folder, f] of Object.entries(snap.folders)) {
          for (const m of f.messages) {
            out.set(`${lab().folders.indexOf(folder)}/${f.uidValidity}-${m.uid}`, m.bytes);
          }
        }
        return out;
      };
      const mine = await held("4006");
      const theirs = await held("4007");
      const theirIds = [...theirs.values()].map((b) => classifyMessage(b).messageId!);
      const audioOf = (held: Map<string, Uint8Array>) =>
        [...held.values()].flatMap((b) =>
          voiceParts(classifyMessage(b)).map((p) => decodeBody(b, p))
        );
      // The lab reuses recordings between mailboxes: a clip 4006 holds itself is no leak.
      const myAudio = audioOf(mine);
      const theirAudio = audioOf(theirs).filter((a) =>
        !myAudio.some((m) => m.length === a.length && m.every((x, i) => x === a[i]))
      );

      const victim = new PortalClient(app, { from: "10.1.0.7" });
      assert.equal((await victim.login("4007", pinOf("4007"))).status, 303);
      const targets: string[] = [];
      for (const f of [0, 1]) {
        targets.push(...messageLinks((await victim.page(`/inbox?f=${f}`)).html));
      }
      assert.equal(targets.length, theirs.size);
      const shared = targets.filter((l) => mine.has(l.slice("/m/".length))).length;
      console.log(`4007 ids that also name a 4006 message: ${shared} of ${targets.length}`);

      const me = new PortalClient(app, { from: "10.1.0.6" });
      assert.equal((await me.login("4006", pinOf("4006"))).status, 303);
      await me.page("/inbox");

      const leaks = (text: string) => theirIds.filter((id) => text.includes(id));
      const sameBytes = (a: Uint8Array, b: Uint8Array) =>
        a.length === b.length && a.every((x, i) => x === b[i]);

      await t.step("pages, audio, originals and forward with 4007's ids", async () => {
        const before = readSmtpInbox().length;
        // 4007's UIDs under 4006's own UIDVALIDITY too: what a guess at "the same UID" gives.
        const myValidity = new Map(
          [...mine.keys()].map((k) => [k.split("/")[0], k.split(/[/-]/)[1]]),
        );
        const guesses = targets.map((l) => {
          const [, f, , uid] = /^\/m\/(\d+)\/(\d+)-(\d+)$/.exec(l)!;
          return `/m/${f}/${myValidity.get(f)}-${uid}`;
        });
        for (const link of [...targets, ...guesses]) {
          const key = link.slice("/m/".length);
          // The same id may name one of 4006's own messages (UIDVALIDITY is per folder, and two
          // mailboxes can share one); then 4006 must get exactly its own message.
          const own = mine.get(key);
          const page = await me.request(link);
          const html = await page.text();
          if (own) {
            assert.equal(page.status, 200);
            assert.ok(html.includes(classifyMessage(own).from?.name ?? ""), link);
          } else {
            assert.equal(page.status, 404, link);
          }
          assert.deepEqual(leaks(html), [], link);
          for (let n = 0; n < 4; n++) {
            for (const kind of ["audio", "original"]) {
              const res = await me.request(`${link}/${kind}/${n}`);
              const body = new Uint8Array(await res.arrayBuffer());
              if (res.status !== 200) {
                assert.ok([404, 415, 422].includes(res.status), `${link}/${kind}/${n}`);
                continue;
              }
              assert.ok(own, `${link}/${kind}/${n} answered for a message 4006 does not have`);
              if (kind === "original") {
                const parts = voiceParts(classifyMessage(own));
                assert.ok(sameBytes(body, decodeBody(own, parts[n])));
              }
              assert.ok(!theirAudio.some((a) => a.length > 1000 && sameBytes(a, body)));
            }
          }
          if (!own) {
            const fwd = await me.post(`${link}/forward`, { to: "iso@example.com" });
            await fwd.body?.cancel();
            assert.equal(fwd.status, 404, `${link}/forward`);
          }
        }
        const sent = readSmtpInbox().slice(before).filter((r) => r.to.includes("iso@example.com"));
        for (const mail of sent) assert.deepEqual(leaks(mail.raw), []);
      });

      await t.step(
        "tampered parameters: other mailbox in query, cookie, headers, paths",
        async () => {
          const inbox = messageLinks((await me.page("/inbox")).html);
          for (
            const path of [
              "/inbox?mailbox=4007",
              "/inbox?f=0&mailbox=4007&user=4007",
              "/inbox?f=1&mailbox=4007",
              `${inbox[0]}?mailbox=4007`,
            ]
          ) {
            const res = await me.request(path, {
              headers: {
                cookie: `${[...me.cookies].map(([k, v]) => `${k}=${v}`).join("; ")}; mailbox=4007`,
                "x-mailbox": "4007",
                "x-forwarded-user": "4007",
                authorization: "Basic " + btoa(`4007:${pinOf("4007")}`),
              },
            });
            const html = await res.text();
            assert.equal(res.status, 200, path);
            assert.match(html, /Mailbox 4006/);
            assert.deepEqual(leaks(html), [], path);
          }
          for (
            const path of [
              "/inbox?f=2",
              "/inbox?f=-1",
              "/inbox?f=99999",
              "/m/2/1-1",
              "/m/0/0-1",
              "/m/0/1-0",
              "/m/0/-1-1",
              "/m/0/1-1-1",
              "/m/0/99999999999-1",
              "/m/0/..%2F4007",
              "/m/..%2f4007/1-1",
              "/m/0/4007/INBOX/1",
              `${inbox[0]}/audio/-1`,
              `${inbox[0]}/audio/1000`,
              `${inbox[0]}/audio/x`,
              `${inbox[0]}/original/..%2F..%2F4007`,
            ]
          ) {
            const res = await me.request(path);
            const text = await res.text();
            assert.ok([404, 400].includes(res.status), `${path}: ${res.status}`);
            assert.deepEqual(leaks(text), [], path);
          }
        },
      );

      await t.step("no session, or an admin's, reaches no subscriber data", async () => {
        const anon = new PortalClient(app);
        for (const link of targets.slice(0, 3)) {
          assert.equal((await anon.request(link)).headers.get("location"), "/login");
          const a = await anon.request(`${link}/audio/0`);
          assert.equal(a.status, 401);
          await a.body?.cancel();
          const o = await anon.request(`${link}/original/0`);
          assert.equal(o.status, 401);
          await o.body?.cancel();
        }
        const admin = new PortalClient(app);
        assert.equal((await admin.adminLogin("admin", "iso-admin-pw")).status, 303);
        for (const link of targets.slice(0, 3)) {
          assert.equal((await admin.request(link)).headers.get("location"), "/login");
          const a = await admin.request(`${link}/audio/0`);
          assert.equal(a.status, 401);
          await a.body?.cancel();
        }
        assert.equal((await admin.request("/inbox")).headers.get("location"), "/login");
        const forged = new PortalClient(app);
        forged.cookies.set("vm_session", "A".repeat(43));
        assert.equal((await forged.request("/inbox")).headers.get("location"), "/login");
      });
    } finally {
      closeState(state);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
