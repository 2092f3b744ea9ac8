/**
 * The over-length rule for every size: voicemails over `limits.maxMessageSeconds` become a
 * placeholder on the backup MSS with the original kept byte-identical under <data>/originals,
 * also when they are large enough to be streamed through the spool (over 4 MB); a large one
 * under the limit is copied whole. The WAVs are made by sox, as an MSS would store them.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { closeState, openState } from "../engine/state/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import {
  appendRaw,
  labConfig,
  placeholderOf,
  scratchMailbox,
  snapshot,
  tempDir,
  wipeMailbox,
} from "./test_utils/mod.ts";

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

Deno.test({
  name:
    "[imap] voicemails over the length limit get a placeholder and a byte-identical original whatever their size; a large one under it is copied whole",
  async fn(t) {
    const mb = await scratchMailbox("7351");
    await using tmp = await tempDir("over-length");
    const dir = tmp.path;
    try {
      const messages = {
        // 400 s µ-law: 3.2 MB of audio, 4.3 MB in base64, with its Content-Duration.
        mulaw: vpim("mulaw-400", await soxWav(dir, "mulaw", 400), 400),
        // Over 4 MB and no Content-Duration: only the WAV header tells.
        alaw: vpim("alaw-420", await soxWav(dir, "alaw", 420), null),
        // 400 s GSM is 0.9 MB: the in-memory path.
        gsm: vpim("gsm-400", await soxWav(dir, "gsm", 400), 400),
        // 250 s of 16-bit PCM is 5.3 MB, yet under the limit.
        pcm: vpim("pcm-250", await soxWav(dir, "pcm16", 250), 250),
      };
      for (const k of ["mulaw", "alaw", "pcm"] as const) {
        assert.ok(messages[k].length > 4 * 1024 * 1024, `${k} must be streamed`);
      }
      assert.ok(messages.gsm.length < 4 * 1024 * 1024);
      await appendRaw(
        "prod",
        mb,
        "INBOX",
        Object.values(messages).map((bytes) => ({ bytes, date: new Date("2026-03-03T09:15:42Z") })),
      );
      const config = await labConfig(dir, (raw) => {
        raw.limits = { ...(raw.limits as object | undefined), maxMessageSeconds: 300 };
      });
      const state = await openState(join(dir, "state.kv"));
      let summary;
      try {
        summary = await runSync(config, state, { mailboxes: [mb] });
      } finally {
        closeState(state);
      }
      assert.equal(summary.failed, 0, JSON.stringify(summary.mailboxes[0].error));
      assert.equal(summary.totals.placeholders, 3);
      assert.equal(summary.totals.copied, 1);

      const prod = (await snapshot("prod", mb, ["INBOX"])).folders.INBOX;
      const backup = (await snapshot("backup", mb, ["INBOX"])).folders.INBOX.messages;
      const byId = (id: string) =>
        prod.messages.find((m) => m.messageId === `<${id}@mss1.example>`)!;
      await t.step(
        "the over-length ones are placeholders, each original kept exactly",
        async () => {
          for (const id of ["mulaw-400", "alaw-420", "gsm-400"]) {
            const original = byId(id);
            const stand = backup.filter((m) => placeholderOf(m.bytes) === original.messageId);
            assert.equal(stand.length, 1, `${id}: one placeholder`);
            assert.ok(stand[0].bytes.length < 64 * 1024, `${id}: the placeholder is small`);
            const kept = await Deno.readFile(
              join(dir, "originals", mb, "INBOX", `${prod.uidValidity}-${original.uid}.eml`),
            );
            assert.ok(Buffer.from(kept).equals(Buffer.from(original.bytes)), `${id}: original`);
          }
        },
      );
      await t.step("the large one under the limit is copied whole, byte-identical", () => {
        const original = byId("pcm-250");
        const copies = backup.filter((m) => m.messageId === original.messageId);
        assert.equal(copies.length, 1);
        assert.ok(Buffer.from(copies[0].bytes).equals(Buffer.from(original.bytes)));
        assert.equal(backup.length, 4);
      });
      await t.step("nothing is left in the spool", async () => {
        const left = [];
        for await (const e of Deno.readDir(join(dir, "spool"))) left.push(e.name);
        assert.deepEqual(left, []);
      });
    } finally {
      await wipeMailbox("prod", mb);
      await wipeMailbox("backup", mb);
    }
  },
});
