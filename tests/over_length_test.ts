/**
 * The over-length rule for every size: voicemails over `limits.maxMessageSeconds` become a
 * placeholder on the backup MSS with the original kept byte-identical under <data>/originals,
 * also when they are large enough to be streamed through the spool (over 4 MB); a large one
 * under the limit is copied whole — unless the backup itself refuses it for its size (the lab's
 * second Cyrus has `maxmessagesize` 1 MiB: "NO [TOOBIG]"), when it too becomes a placeholder
 * with its original kept, and the mailbox does not fail. The WAVs are made by sox, as an MSS
 * would store them.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { closeState, openState } from "../engine/state/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import {
  appendRaw,
  cyrusBackupSide,
  imapSide,
  lab,
  type MirrorSide,
  placeholderOf,
  scratchMailbox,
  snapshot,
  tempDir,
  wipeMailbox,
} from "./test_utils/mod.ts";

/** Each backup, its scratch mailbox, and the size over which it refuses an APPEND (0: none). */
const BACKUPS: { side: MirrorSide; mailbox: string; refusesOver: () => number }[] = [
  { side: imapSide, mailbox: "7351", refusesOver: () => 0 },
  { side: cyrusBackupSide, mailbox: "7720", refusesOver: () => lab().cyrusBackup.maxMessageSize },
];

const SOX: Record<string, string[]> = {
  mulaw: ["-e", "mu-law"],
  alaw: ["-e", "a-law"],
  gsm: ["-e", "gsm-full-rate"],
  pcm16: ["-e", "signed-integer", "-b", "16"],
};

async function soxWav(dir: string, encoding: string, seconds: number): Promise<Uint8Array> {
  const path = join(dir, `${encoding}-${seconds}.wav`);
  const out = await new Deno.Command("sox", {
    args: [
      "-n",
      "-r",
      "8000",
      "-c",
      "1",
      ...SOX[encoding],
      path,
      "synth",
      String(seconds),
      "sine",
      "300-3000",
    ],
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return await Deno.readFile(path);
}

function vpim(id: string, audio: Uint8Array, claimedSeconds: number | null): Uint8Array {
  const b64 = Buffer.from(audio).toString("base64").match(/.{1,76}/g)!.join("\r\n");
  const text = [
    "From: Caller <4021@mss1.example>",
    "To: 7351@mss1.example",
    `Subject: long voicemail ${id}`,
    "Date: Tue, 03 Mar 2026 09:15:42 +0000",
    `Message-ID: <${id}@mss1.example>`,
    "MIME-Version: 1.0",
    'Content-Type: multipart/voice-message; boundary="vpim-b"',
    "",
    "--vpim-b",
    "Content-Type: audio/wav",
    "Content-Transfer-Encoding: base64",
    "Content-Disposition: inline; voice=Voice-Message; filename=msg.wav",
    ...(claimedSeconds === null ? [] : [`Content-Duration: ${claimedSeconds}`]),
    "",
    b64,
    "--vpim-b--",
    "",
  ].join("\r\n");
  return new TextEncoder().encode(text);
}

for (const { side, mailbox, refusesOver } of BACKUPS) {
  Deno.test({
    name:
      `[${side.name}] voicemails over the length limit get a placeholder and a byte-identical original whatever their size; a large one under it is copied whole unless the backup refuses it`,
    async fn(t) {
      const mb = await scratchMailbox(mailbox);
      await using tmp = await tempDir(`over-length-${side.name}`);
      const dir = tmp.path;
      // Dovecot's backup is emptied by scratchMailbox; a Cyrus backup here.
      await side.wipe(await side.config(join(dir, "wipe")), mb);
      try {
        const messages = {
          // 400 s µ-law: 3.2 MB of audio, 4.3 MB in base64, with its Content-Duration.
          mulaw: vpim("mulaw-400", await soxWav(dir, "mulaw", 400), 400),
          // Over 4 MB and no Content-Duration: only the WAV header tells.
          alaw: vpim("alaw-420", await soxWav(dir, "alaw", 420), null),
          // 400 s GSM is 0.9 MB: the in-memory path.
          gsm: vpim("gsm-400", await soxWav(dir, "gsm", 400), 400),
          // 250 s of 16-bit PCM is 5.3 MB, yet under the limit: streamed.
          pcm: vpim("pcm-250", await soxWav(dir, "pcm16", 250), 250),
          // 60 s of 16-bit PCM is 1.3 MB, under the limit: in memory, in one batch with gsm-400.
          pcmShort: vpim("pcm-60", await soxWav(dir, "pcm16", 60), 60),
        };
        for (const k of ["mulaw", "alaw", "pcm"] as const) {
          assert.ok(messages[k].length > 4 * 1024 * 1024, `${k} must be streamed`);
        }
        assert.ok(messages.gsm.length < 4 * 1024 * 1024);
        assert.ok(messages.pcmShort.length < 4 * 1024 * 1024);
        // Under the length limit but over the backup's own size limit, if it has one.
        const limit = refusesOver();
        const refused = limit > 0
          ? (["pcm", "pcmShort"] as const).filter((k) => messages[k].length > limit)
          : [];
        assert.equal(refused.length, limit > 0 ? 2 : 0, "both large ones are over its limit");
        await appendRaw(
          "prod",
          mb,
          "INBOX",
          Object.values(messages).map((bytes) => ({
            bytes,
            date: new Date("2026-03-03T09:15:42Z"),
          })),
        );
        const config = await side.config(dir, (raw) => {
          raw.limits = { ...(raw.limits as object | undefined), maxMessageSeconds: 300 };
        });
        const state = await openState(join(dir, "state.kv"));
        let summary;
        try {
          summary = await runSync(config, state, { mailboxes: [mb] });
          await t.step("a second pass copies, and is refused, nothing", async () => {
            const again = await runSync(config, state, { mailboxes: [mb] });
            assert.equal(again.failed, 0, JSON.stringify(again.mailboxes[0].error));
            const t2 = again.totals;
            assert.deepEqual([t2.copied, t2.placeholders], [0, 0]);
          });
        } finally {
          closeState(state);
        }
        assert.equal(summary.failed, 0, JSON.stringify(summary.mailboxes[0].error));
        assert.equal(summary.totals.placeholders, 3 + refused.length);
        assert.equal(summary.totals.copied, 2 - refused.length);
        const warned = summary.mailboxes[0].warnings.filter((w) => /refused UID/.test(w));
        assert.equal(warned.length, refused.length, JSON.stringify(summary.mailboxes[0].warnings));

        const prod = (await snapshot("prod", mb, ["INBOX"])).folders.INBOX;
        const backup = (await side.read(config, mb, ["INBOX"])).folders.INBOX.messages;
        const byId = (id: string) =>
          prod.messages.find((m) => m.messageId === `<${id}@mss1.example>`)!;
        const ids = { pcm: "pcm-250", pcmShort: "pcm-60" } as const;
        const standIns = ["mulaw-400", "alaw-420", "gsm-400", ...refused.map((k) => ids[k])];
        await t.step(
          "the over-length ones, and those the backup refused, are placeholders, each original kept exactly",
          async () => {
            for (const id of standIns) {
              const original = byId(id);
              const stand = backup.filter((m) => placeholderOf(m.bytes) === original.messageId);
              assert.equal(stand.length, 1, `${id}: one placeholder`);
              assert.ok(stand[0].bytes.length < 64 * 1024, `${id}: the placeholder is small`);
              const reason = /^x-vmirror-reason:\s*(\S+)/im.exec(
                new TextDecoder().decode(stand[0].bytes),
              )?.[1];
              assert.equal(reason, id.startsWith("pcm") ? "too-big" : "too-long", id);
              const kept = await Deno.readFile(
                join(dir, "originals", mb, "INBOX", `${prod.uidValidity}-${original.uid}.eml`),
              );
              assert.ok(Buffer.from(kept).equals(Buffer.from(original.bytes)), `${id}: original`);
            }
          },
        );
        await t.step("the large ones the backup takes are copied whole, byte-identical", () => {
          for (const k of (["pcm", "pcmShort"] as const).filter((k) => !refused.includes(k))) {
            const original = byId(ids[k]);
            const copies = backup.filter((m) => m.messageId === original.messageId);
            assert.equal(copies.length, 1);
            assert.ok(Buffer.from(copies[0].bytes).equals(Buffer.from(original.bytes)));
          }
          assert.equal(backup.length, 5);
        });
        await t.step("nothing is left in the spool", async () => {
          const left = [];
          for await (const e of Deno.readDir(join(dir, "spool"))) left.push(e.name);
          assert.deepEqual(left, []);
        });
      } finally {
        await wipeMailbox("prod", mb);
        await wipeMailbox("backup", mb);
        if (side !== imapSide) await side.wipe(await side.config(dir), mb);
      }
    },
  });
}
