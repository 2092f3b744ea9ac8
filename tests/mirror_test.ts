/**
 * The mirror engine against the lab's real Dovecot pair (production → backup).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeState, openState } from "../engine/state/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import {
  appendRaw,
  assertMirrored,
  freePort,
  isBroadcast,
  lab,
  labConfig,
  messageIdOf,
  placeholderOf,
  scratchMailbox,
  snapshot,
  tempDir,
  variant,
  wipeMailbox,
  withImap,
} from "./test_utils/mod.ts";

const FOLDERS = () => lab().folders;

Deno.test({
  name: "an over-length message becomes a placeholder, and a lost state store adopts the backup",
  async fn(t) {
    const l = lab();
    const mailboxes = ["4001", "4002", "4003"];
    for (const m of mailboxes) await wipeMailbox("backup", m);
    await using tmp = await tempDir("mirror");
    const dir = tmp.path;
    const config = await labConfig(dir);
    const state = await openState(join(dir, "state.kv"));
    try {
      const before = await Promise.all(mailboxes.map((m) => snapshot("prod", m, FOLDERS())));
      const summary = await runSync(config, state, { mailboxes });
      await t.step("the over-length message is kept byte-identical on the app server", async () => {
        assert.equal(summary.totals.placeholders, 1);
        const orig = before[mailboxes.indexOf(l.longMessage.mailbox)].folders[l.longMessage.folder]
          .messages.find((x) => x.messageId === l.longMessage.messageId)!;
        const kept: string[] = [];
        for await (
          const e of Deno.readDir(
            join(dir, "originals", l.longMessage.mailbox, l.longMessage.folder),
          )
        ) {
          kept.push(e.name);
        }
        assert.equal(kept.length, 1);
        const bytes = await Deno.readFile(
          join(dir, "originals", l.longMessage.mailbox, l.longMessage.folder, kept[0]),
        );
        assert.deepEqual(bytes, orig.bytes);
      });
      await t.step(
        "a lost state store adopts what the backup holds, never duplicating",
        async () => {
          await using tmp2 = await tempDir("mirror-lost");
          const dir2 = tmp2.path;
          const state2 = await openState(join(dir2, "state.kv"));
          try {
            const s = await runSync(await labConfig(dir2), state2, { mailboxes });
            assert.equal(s.failed, 0);
            assert.equal(s.totals.copied, 0);
            const adopted = s.mailboxes.reduce((n, m) => n + (m.adopted ?? 0), 0);
            assert.equal(adopted, summary.totals.copied);
            for (const [i, m] of mailboxes.entries()) {
              const backup = await snapshot("backup", m, FOLDERS());
              const long = m === l.longMessage.mailbox
                ? new Set([l.longMessage.messageId])
                : new Set<string>();
              // The placeholder is not adoptable (different identity): a second one appears,
              // so compare without placeholders here.
              for (const f of Object.values(backup.folders)) {
                f.messages = f.messages.filter((x) => !placeholderOf(x.bytes));
              }
              for (const f of Object.values(before[i].folders)) {
                f.messages = f.messages.filter((x) => !long.has(x.messageId ?? ""));
              }
              assertMirrored(before[i], backup);
            }
          } finally {
            closeState(state2);
          }
        },
      );
    } finally {
      closeState(state);
    }
  },
});

/** Fills a scratch mailbox on production with variants of a seeded mailbox's messages. */
async function scratch(mailbox: string, count: number, folder = "INBOX") {
  await scratchMailbox(mailbox);
  const seeded = await snapshot("prod", "4002", ["INBOX"]);
  const pool = seeded.folders.INBOX.messages.filter((m) => !isBroadcast(m.bytes));
  const msgs = Array.from({ length: count }, (_, i) => {
    const src = pool[i % pool.length];
    return {
      bytes: variant(src.bytes, i + 1),
      flags: src.flags,
      date: new Date(src.internalDate - i * 60_000),
    };
  });
  return await appendRaw("prod", mailbox, folder, msgs);
}

Deno.test({
  name: "messages only the backup holds are left alone; a copy removed from it is copied again",
  async fn(t) {
    const mb = "7310";
    await scratch(mb, 8);
    await using tmp = await tempDir("changes");
    const dir = tmp.path;
    const config = await labConfig(dir);
    const state = await openState(join(dir, "state.kv"));
    try {
      const first = await runSync(config, state, { mailboxes: [mb] });
      assert.equal(first.failed, 0, JSON.stringify(first.mailboxes[0].error));
      assert.equal(first.totals.copied, 8);

      await t.step("a message only the backup holds is reported and kept", async () => {
        const stranger = new TextEncoder().encode(
          "From: a@b\r\nTo: c@d\r\nSubject: stranger\r\nMessage-ID: <stranger@test>\r\n\r\nhi\r\n",
        );
        await appendRaw("backup", mb, "INBOX", [{ bytes: stranger }]);
        // A new message on production forces a pass with a target scan.
        await appendRaw("prod", mb, "INBOX", [{
          bytes: variant(
            (await snapshot("prod", mb, ["INBOX"])).folders.INBOX.messages[0].bytes,
            99,
          ),
        }]);
        const s = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(s.failed, 0);
        assert.ok(s.mailboxes[0].warnings.some((w) => /not known to the mirror/.test(w)));
        const backup = await snapshot("backup", mb, ["INBOX"]);
        assert.ok(backup.folders.INBOX.messages.some((m) => m.messageId === "<stranger@test>"));
      });

      await t.step("a copy removed from the backup is copied again", async () => {
        await withImap("backup", mb, async (c) => {
          await c.mailboxOpen("INBOX");
          const all = await c.search({ all: true }, { uid: true }) || [];
          const victim =
            (await c.fetchAll(all.join(","), { uid: true, source: true }, { uid: true }))
              .find((m) => messageIdOf(new Uint8Array(m.source!)) !== "<stranger@test>")!;
          await c.messageDelete(String(victim.uid), { uid: true });
        });
        await appendRaw("prod", mb, "INBOX", [{
          bytes: variant(
            (await snapshot("prod", mb, ["INBOX"])).folders.INBOX.messages[0].bytes,
            98,
          ),
        }]);
        const s = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(s.failed, 0);
        assert.equal(s.totals.copied, 2);
        const prod = await snapshot("prod", mb, ["INBOX"]);
        const backup = await snapshot("backup", mb, ["INBOX"]);
        backup.folders.INBOX.messages = backup.folders.INBOX.messages.filter((m) =>
          m.messageId !== "<stranger@test>"
        );
        assertMirrored(prod, backup);
      });
    } finally {
      closeState(state);
    }
  },
});

Deno.test({
  name: "a backup UIDVALIDITY change re-pairs without copying again",
  async fn(t) {
    const mb = "7312";
    const folder = lab().greetingsFolder;
    await scratch(mb, 5, folder);
    await using tmp = await tempDir("uidvalidity");
    const dir = tmp.path;
    const config = await labConfig(dir);
    const state = await openState(join(dir, "state.kv"));
    // Rebuilding a folder with the same messages gives it a new UIDVALIDITY and new UIDs.
    const rebuild = async (side: "prod" | "backup") => {
      const snap = await snapshot(side, mb, [folder]);
      await withImap(side, mb, (c) => c.mailboxDelete(folder));
      await appendRaw(
        side,
        mb,
        folder,
        snap.folders[folder].messages.map((m) => ({
          bytes: m.bytes,
          flags: m.flags,
          date: new Date(m.internalDate),
        })),
      );
      const again = await snapshot(side, mb, [folder]);
      assert.notEqual(again.folders[folder].uidValidity, snap.folders[folder].uidValidity);
    };
    try {
      const first = await runSync(config, state, { mailboxes: [mb] });
      assert.equal(first.failed, 0, JSON.stringify(first.mailboxes[0].error));
      assert.equal(first.totals.copied, 5);
      await t.step("the backup's folder rebuilt", async () => {
        await rebuild("backup");
        await appendRaw("prod", mb, folder, [{
          bytes: variant(
            (await snapshot("prod", mb, [folder])).folders[folder].messages[0].bytes,
            77,
          ),
        }]);
        const s = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(s.failed, 0, JSON.stringify(s.mailboxes[0].error));
        assert.deepEqual([s.totals.copied, s.totals.deleted], [1, 0]);
        assertMirrored(
          await snapshot("prod", mb, [folder]),
          await snapshot("backup", mb, [folder]),
        );
      });
    } finally {
      closeState(state);
    }
  },
});

Deno.test({
  name: "a wrong trusted password gives one clear error for the server",
  async fn() {
    await using tmp = await tempDir("badpass");
    const dir = tmp.path;
    await Deno.writeTextFile(join(dir, "wrong.secret"), "not-the-password\n");
    const config = await labConfig(dir, (raw) => {
      const s = raw.source as Record<string, unknown>;
      s.trustedPasswordFile = join(dir, "wrong.secret");
    });
    const state = await openState(join(dir, "state.kv"));
    try {
      const s = await runSync(config, state, { mailboxes: ["4001", "4002", "4003", "4004"] });
      assert.equal(s.failed, 4);
      assert.equal(s.serverErrors.length, 1);
      assert.match(s.serverErrors[0].message, /credentials were refused by "mss-prod"/);
      assert.ok(!JSON.stringify(s).includes("not-the-password"));
    } finally {
      closeState(state);
    }
  },
});

Deno.test({
  name: "LOGIN with a separator impersonates as well as SASL PLAIN authzid",
  async fn() {
    const mb = "4005";
    await wipeMailbox("backup", mb);
    await using tmp = await tempDir("separator");
    const dir = tmp.path;
    const config = await labConfig(dir, (raw) => {
      for (const side of ["source", "target"]) {
        (raw[side] as Record<string, unknown>).impersonation = "separator";
      }
    });
    const state = await openState(join(dir, "state.kv"));
    try {
      const s = await runSync(config, state, { mailboxes: [mb] });
      assert.equal(s.failed, 0, JSON.stringify(s.mailboxes[0].error));
      assert.ok(s.totals.copied > 0);
      assertMirrored(
        await snapshot("prod", mb, FOLDERS()),
        await snapshot("backup", mb, FOLDERS()),
      );
    } finally {
      closeState(state);
    }
  },
});

Deno.test({
  name: "one failing mailbox never stops the others; errors carry mailbox, server, operation",
  async fn() {
    await using tmp = await tempDir("faults");
    const dir = tmp.path;
    const config = await labConfig(dir);
    const state = await openState(join(dir, "state.kv"));
    try {
      const good = await scratchMailbox("7330");
      const s = await runSync(config, state, { mailboxes: [good, "7399", "4004"] });
      const byMailbox = new Map(s.mailboxes.map((m) => [m.mailbox, m]));
      assert.equal(byMailbox.get(good)!.ok, true);
      assert.equal(byMailbox.get("4004")!.ok, true);
      const bad = byMailbox.get("7399")!;
      assert.equal(bad.ok, false);
      assert.match(bad.error!.message, /mailbox "7399" on "mss-prod"/);
      assert.equal(s.serverErrors.length, 0, "a missing mailbox is not a server-wide failure");
    } finally {
      closeState(state);
    }
  },
});

Deno.test({
  name: "an unreachable server is retried with backoff, then reported per mailbox",
  async fn() {
    await using tmp = await tempDir("unreachable");
    const dir = tmp.path;
    // A port nothing listens on: bound, noted, released.
    const port = freePort();
    const config = await labConfig(dir, (raw) => {
      (raw.source as Record<string, unknown>).port = port;
      raw.limits = { ...(raw.limits as object), retries: 2 };
    });
    const state = await openState(join(dir, "state.kv"));
    try {
      const started = Date.now();
      const s = await runSync(config, state, { mailboxes: ["4001"], retryDelayMs: 50 });
      assert.equal(s.failed, 1);
      assert.match(s.mailboxes[0].error!.message, /ECONNREFUSED|refused/i);
      assert.match(s.mailboxes[0].error!.message, /mailbox "4001" on "mss-prod"/);
      // Two retries at 50 ms and 100 ms.
      assert.ok(Date.now() - started >= 150, "no backoff happened");
    } finally {
      closeState(state);
    }
  },
});

Deno.test({
  name: "STARTTLS and implicit TLS verify the server against the configured CA",
  async fn(t) {
    const l = lab();
    const mb = await scratchMailbox("7331");
    const seed = (await snapshot("prod", "4002", ["INBOX"])).folders.INBOX.messages[0];
    await appendRaw("prod", mb, "INBOX", [{
      bytes: variant(seed.bytes, 1),
      date: new Date(seed.internalDate),
    }]);
    for (
      const [mode, srcPort, dstPort] of [
        ["starttls", l.imap.prod.port, l.imap.backup.port],
        ["tls", l.imap.prod.imapsPort, l.imap.backup.imapsPort],
      ] as const
    ) {
      await t.step(`${mode} with caFile works`, async () => {
        await wipeMailbox("backup", mb);
        await using tmp = await tempDir(`tls-${mode}`);
        const dir = tmp.path;
        const config = await labConfig(dir, (raw) => {
          for (const [side, port] of [["source", srcPort], ["target", dstPort]] as const) {
            Object.assign(raw[side] as object, { tls: mode, port, caFile: l.tls.caFile });
          }
        });
        const state = await openState(join(dir, "state.kv"));
        try {
          const s = await runSync(config, state, { mailboxes: [mb] });
          assert.equal(s.failed, 0, JSON.stringify(s.mailboxes[0].error));
          assert.equal(s.totals.copied, 1);
          // The second pass goes through the lean status probe, over the same TLS.
          const again = await runSync(config, state, { mailboxes: [mb] });
          assert.equal(again.failed, 0, JSON.stringify(again.mailboxes[0].error));
          assert.equal(again.totals.copied, 0);
        } finally {
          closeState(state);
        }
      });
      await t.step(`${mode} without the CA is refused`, async () => {
        await using tmp = await tempDir(`tls-${mode}-noca`);
        const dir = tmp.path;
        const config = await labConfig(dir, (raw) => {
          Object.assign(raw.source as object, { tls: mode, port: srcPort });
        });
        const state = await openState(join(dir, "state.kv"));
        try {
          const s = await runSync(config, state, { mailboxes: [mb], retryDelayMs: 10 });
          assert.equal(s.failed, 1);
          assert.match(s.mailboxes[0].error!.message, /certificate|self[- ]signed|issuer/i);
        } finally {
          closeState(state);
        }
      });
    }
  },
});

/** A VPIM message of about `mb` megabytes (µ-law audio of random bytes, base64). */
function bigMessage(mb: number, id: string): Uint8Array {
  const audio = new Uint8Array(Math.floor((mb * 1024 * 1024 * 3) / 4));
  for (let i = 0; i < audio.length; i += 65536) {
    crypto.getRandomValues(audio.subarray(i, Math.min(i + 65536, audio.length)));
  }
  // A WAV header (µ-law, 8 kHz) so the classifier sees a real voice part.
  const view = new DataView(audio.buffer);
  const ascii = (o: number, s: string) =>
    [...s].forEach((c, i) => (audio[o + i] = c.charCodeAt(0)));
  ascii(0, "RIFF");
  view.setUint32(4, audio.length - 8, true);
  ascii(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 7, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, 8000, true);
  view.setUint32(28, 8000, true);
  view.setUint16(32, 1, true);
  view.setUint16(34, 8, true);
  ascii(36, "data");
  view.setUint32(40, audio.length - 44, true);
  let b64 = "";
  for (let i = 0; i < audio.length; i += 57 * 1000) {
    const slice = audio.subarray(i, Math.min(i + 57 * 1000, audio.length));
    b64 += btoa(String.fromCharCode(...slice)).replace(/.{76}/g, "$&\r\n");
    if (!b64.endsWith("\n")) b64 += "\r\n";
  }
  const head = [
    'From: "Big Caller" <15550199@mss.lab>',
    "To: <7332@mss.lab>",
    "Subject: A very long voice message",
    `Message-ID: <${id}@test>`,
    "Date: Mon, 23 Nov 2026 10:00:00 +0000",
    "MIME-Version: 1.0",
    'Content-Type: multipart/voice-message; boundary="b1"',
    "",
    "--b1",
    "Content-Type: audio/wav",
    "Content-Transfer-Encoding: base64",
    "Content-Disposition: inline; voice=Voice-Message; filename=msg.wav",
    "",
    "",
  ].join("\r\n");
  return new TextEncoder().encode(`${head}${b64}--b1--\r\n`);
}

Deno.test({
  name: "a 50 MB message is streamed to the backup byte for byte, or kept whole as an original",
  async fn(t) {
    const mb = await scratchMailbox("7332");
    const big = bigMessage(50, `big-${crypto.randomUUID()}`);
    await appendRaw("prod", mb, "INBOX", [{ bytes: big, flags: ["\\Seen"], date: new Date() }]);
    await t.step("streamed copy", async () => {
      await using tmp = await tempDir("big");
      const dir = tmp.path;
      // Its audio lasts over an hour: without a length limit it is copied whole.
      const config = await labConfig(dir, (raw) => {
        raw.limits = { ...(raw.limits as object), maxMessageSeconds: null };
      });
      const state = await openState(join(dir, "state.kv"));
      try {
        const s = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(s.failed, 0, JSON.stringify(s.mailboxes[0].error));
        assert.equal(s.totals.copied, 1);
        const backup = await snapshot("backup", mb, ["INBOX"]);
        assert.equal(backup.folders.INBOX.messages.length, 1);
        assert.ok(backup.folders.INBOX.messages[0].bytes.length === big.length);
        assert.deepEqual(backup.folders.INBOX.messages[0].bytes, big);
        assert.deepEqual(backup.folders.INBOX.messages[0].flags, ["\\Seen"]);
        // Nothing left behind in the spool.
        const left = [...Deno.readDirSync(join(dir, "spool"))];
        assert.equal(left.length, 0);
      } finally {
        closeState(state);
      }
    });
    await t.step("over the size limit: placeholder on the backup, original kept", async () => {
      await wipeMailbox("backup", mb);
      await using tmp = await tempDir("big-placeholder");
      const dir = tmp.path;
      const config = await labConfig(dir, (raw) => {
        raw.limits = { ...(raw.limits as object), maxMessageBytes: 10 * 1024 * 1024 };
      });
      const state = await openState(join(dir, "state.kv"));
      try {
        const s = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(s.failed, 0, JSON.stringify(s.mailboxes[0].error));
        assert.equal(s.totals.placeholders, 1);
        const backup = await snapshot("backup", mb, ["INBOX"]);
        assert.ok(placeholderOf(backup.folders.INBOX.messages[0].bytes));
        const folder = join(dir, "originals", mb, "INBOX");
        const [kept] = [...Deno.readDirSync(folder)];
        assert.deepEqual(await Deno.readFile(join(folder, kept.name)), big);
      } finally {
        closeState(state);
      }
    });
  },
});
