import assert from "node:assert/strict";
import { validateConfig } from "../engine/config/mod.ts";
import { join } from "node:path";
import {
  type MessageFilter,
  type MessageSummary,
  openMailboxReader,
  readKeptOriginal,
  summarizeClassified,
  voiceParts,
} from "./mailbox_reader.ts";
import { keepOriginal } from "../engine/mirror/mod.ts";
import { closeState, openState, recordCopy } from "../engine/state/mod.ts";
import { decodeBody } from "../engine/mime/mod.ts";
import { openFileTarget } from "../engine/files/mod.ts";
import { classifyMessage } from "../engine/voicemail/mod.ts";
import { muLawWav as toneWav } from "../tests/test_utils/mod.ts";

// A µ-law WAV of `seconds` of a tone: small, and decodable by the portal's player path.
function muLawWav(seconds: number, tone = 440): Uint8Array {
  return toneWav(seconds, { tone, amplitude: 90, header: "plain" });
}

function b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/.{76}/g, "$&\r\n");
}

interface Spec {
  messageId: string;
  date: string;
  from?: string;
  headers?: string[];
  spokenName?: boolean;
  forwarded?: boolean;
}

const VOICE = muLawWav(2);
const NAME = muLawWav(0.5, 880);
const INNER = muLawWav(1.5, 330);

function message(s: Spec): Uint8Array {
  const b = "=_b1";
  const lines = [
    `From: ${s.from ?? '"Ann Lee" <4021@mss.lab>'}`,
    "To: <4006@mss.lab>",
    "Subject: Voice message from Ann Lee",
    `Date: ${s.date}`,
    `Message-ID: ${s.messageId}`,
    ...(s.headers ?? []),
    "MIME-Version: 1.0",
    `Content-Type: multipart/voice-message; boundary="${b}"; version=2.0`,
    "",
    `--${b}`,
    "Content-Type: audio/wav",
    "Content-Transfer-Encoding: base64",
    "Content-Disposition: inline; voice=Voice-Message; filename=message.wav",
    "Content-Duration: 2",
    "",
    b64(VOICE),
  ];
  if (s.spokenName) {
    lines.push(
      `--${b}`,
      "Content-Type: audio/wav",
      "Content-Transfer-Encoding: base64",
      "Content-Disposition: inline; voice=Originator-Spoken-Name; filename=name.wav",
      "",
      b64(NAME),
    );
  }
  if (s.forwarded) {
    lines.push(
      `--${b}`,
      "Content-Type: message/rfc822",
      "",
      'From: "Bo Ek" <4030@mss.lab>',
      "Subject: Original",
      "Date: Tue, 30 Apr 2024 09:00:00 +0000",
      "Message-ID: <inner@mss.lab>",
      "MIME-Version: 1.0",
      'Content-Type: multipart/voice-message; boundary="=_b2"',
      "",
      "--=_b2",
      "Content-Type: audio/wav",
      "Content-Transfer-Encoding: base64",
      "Content-Disposition: inline; voice=Voice-Message",
      "",
      b64(INNER),
      "--=_b2--",
    );
  }
  lines.push(`--${b}--`, "");
  return new TextEncoder().encode(lines.join("\r\n"));
}

const FACTS = {
  folder: "INBOX",
  uidValidity: 9,
  uid: 3,
  internalDate: "2024-05-01T14:03:22.000Z",
  size: 1,
  flags: ["\\Seen"],
};

Deno.test("summarizeClassified() numbers voice parts over the chain and keeps the thread", () => {
  const bytes = message({
    messageId: "<m1@mss.lab>",
    date: "Wed, 01 May 2024 14:03:22 +0000",
    headers: ["Importance: High", "Sensitivity: Private", "In-Reply-To: <inner@mss.lab>"],
    spokenName: true,
    forwarded: true,
  });
  const info = classifyMessage(bytes);
  const s = summarizeClassified(info, FACTS);
  assert.equal(s.sender, "Ann Lee 4021");
  assert.equal(s.urgent, true);
  assert.equal(s.private, true);
  assert.equal(s.placeholder, false);
  assert.equal(s.inReplyTo, "<inner@mss.lab>");
  assert.equal(s.durationSeconds, 2);
  assert.deepEqual(s.voices.map((v) => [v.index, v.role]), [
    [0, "Voice-Message"],
    [1, "Originator-Spoken-Name"],
    [2, "Voice-Message"],
  ]);
  assert.deepEqual(s.tree.voices, [0, 1]);
  assert.equal(s.tree.children.length, 1);
  assert.equal(s.tree.children[0].sender, "Bo Ek 4030");
  assert.deepEqual(s.tree.children[0].voices, [2]);
  // voiceParts() numbers the same way: part 2 is the forwarded message's recording.
  const parts = voiceParts(info);
  assert.deepEqual(decodeBody(bytes, parts[2]), INNER);
  assert.deepEqual(decodeBody(bytes, parts[1]), NAME);
  // A description fits a KV value many times over.
  assert.ok(JSON.stringify(s).length < 8_000);
});

Deno.test("summarizeClassified() recognises the mirror's placeholders", () => {
  const bytes = message({
    messageId: "<p@x>",
    date: "Wed, 01 May 2024 14:03:22 +0000",
    headers: ["X-Vmirror-Placeholder: <orig@x>"],
  });
  assert.equal(summarizeClassified(classifyMessage(bytes), FACTS).placeholder, true);
});

Deno.test("readKeptOriginal() finds a placeholder's original by map, else by Message-ID", async () => {
  const root = await Deno.makeTempDir({ prefix: "vmirror-originals-" });
  const state = await openState(join(root, "state.kv"));
  try {
    const original = message({ messageId: "<long@x>", date: "Wed, 01 May 2024 14:03:22 +0000" });
    const other = message({ messageId: "<other@x>", date: "Wed, 01 May 2024 14:03:22 +0000" });
    const placeholder = message({
      messageId: "<p@x>",
      date: "Wed, 01 May 2024 14:03:22 +0000",
      headers: ["X-Vmirror-Placeholder: <long@x>"],
    });
    const key = { mailbox: "4006", folder: "INBOX", uidValidity: 77, uid: 5 };
    // Kept under the SOURCE's UIDVALIDITY and UID, which the portal does not know.
    const source = { mailbox: "4006", folder: "INBOX", uidValidity: 3, uid: 40 };
    await keepOriginal(root, { ...source, uid: 39, bytes: other });
    const path = await keepOriginal(root, { ...source, bytes: original });
    assert.deepEqual(await readKeptOriginal(root, state, key, placeholder), original);

    // The map names the file even when the Message-ID could not be written in the placeholder.
    const anonymous = message({
      messageId: "<p2@x>",
      date: "Wed, 01 May 2024 14:03:22 +0000",
      headers: ["X-Vmirror-Placeholder: none"],
    });
    assert.equal(await readKeptOriginal(root, state, key, anonymous), null);
    await recordCopy(state, source, {
      srcUid: 40,
      targetUid: 5,
      targetUidValidity: 77,
      kind: "placeholder",
      messageId: "<long@x>",
      internalDate: "2024-05-01T14:03:22.000Z",
      size: original.length,
      flags: [],
      keptAs: path,
    });
    assert.deepEqual(await readKeptOriginal(root, state, key, anonymous), original);
    // Another UID, or another mailbox's key, finds nothing of it.
    assert.equal(await readKeptOriginal(root, state, { ...key, uid: 6 }, anonymous), null);
    assert.equal(
      await readKeptOriginal(root, state, { ...key, mailbox: "4007" }, placeholder),
      null,
    );
    // A map entry pointing outside the mailbox's originals is not followed.
    await recordCopy(state, { ...source, mailbox: "4007" }, {
      srcUid: 40,
      targetUid: 5,
      targetUidValidity: 77,
      kind: "placeholder",
      messageId: "<long@x>",
      internalDate: "2024-05-01T14:03:22.000Z",
      size: original.length,
      flags: [],
      keptAs: path,
    });
    assert.equal(
      await readKeptOriginal(root, state, { ...key, mailbox: "4007" }, anonymous),
      null,
    );
  } finally {
    closeState(state);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the file-store reader lists newest first, pages, and stays in its mailbox", async () => {
  const root = await Deno.makeTempDir({ prefix: "vmirror-reader-" });
  try {
    const config = await validateConfig({ target: { type: "files", root } }, {
      file: null,
      dataDir: root,
    });
    const target = config.target;
    assert.equal(target?.type, "files");
    if (target?.type !== "files") return;
    const dates = ["2024-05-01T10:00:00Z", "2024-05-03T10:00:00Z", "2024-05-02T10:00:00Z"];
    const store = await openFileTarget(target, "4006", { utc: true });
    const inbox = await store.openFolder("INBOX");
    const uids: number[] = [];
    for (const [i, d] of dates.entries()) {
      const bytes = message({
        messageId: `<f${i}@x>`,
        date: new Date(d).toUTCString(),
        spokenName: i === 1,
        forwarded: i === 1,
        headers: i === 2 ? ["Sensitivity: Private"] : [],
      });
      const uid = await inbox.append(bytes, i === 0 ? ["\\Seen"] : [], new Date(d), {
        mailbox: "4006",
        folder: "INBOX",
        uid: 100 + i,
        uidValidity: 5,
        kind: "copy",
      });
      uids.push(uid!);
    }
    await store.close();
    const other = await openFileTarget(target, "4007", { utc: true });
    const otherInbox = await other.openFolder("INBOX");
    const otherUid = await otherInbox.append(
      message({ messageId: "<other@x>", date: "Wed, 01 May 2024 09:00:00 +0000" }),
      [],
      new Date("2024-05-01T09:00:00Z"),
    );
    await other.close();

    const reader = openMailboxReader(config, "4006");
    const page = await reader.list("INBOX", { offset: 0, limit: 2 });
    assert.equal(page.total, 3);
    assert.deepEqual(page.items.map((m) => m.messageId), ["<f1@x>", "<f2@x>"]);
    assert.ok(page.uidValidity > 0);
    const rest = await reader.list("INBOX", { offset: 2, limit: 2 });
    assert.deepEqual(rest.items.map((m) => [m.messageId, m.flags]), [["<f0@x>", ["\\Seen"]]]);
    assert.equal((await reader.list("Greetings", { offset: 0, limit: 5 })).total, 0);
    // Search: days of arrival in the zone given, and words of caller or subject.
    const found = async (filter: MessageFilter) =>
      (await reader.list("INBOX", { offset: 0, limit: 10, filter })).items.map((x) => x.messageId);
    assert.deepEqual(await found({ fromDay: "2024-05-02" }), ["<f1@x>", "<f2@x>"]);
    assert.deepEqual(await found({ toDay: "2024-05-01" }), ["<f0@x>"]);
    assert.deepEqual(await found({ fromDay: "2024-05-03", timeZone: "Asia/Tokyo" }), ["<f1@x>"]);
    assert.deepEqual(await found({ text: "ANN LEE", toDay: "2024-05-02" }), ["<f2@x>", "<f0@x>"]);
    assert.deepEqual(await found({ text: "4021" }), ["<f1@x>", "<f2@x>", "<f0@x>"]);
    assert.deepEqual(await found({ text: "nobody" }), []);

    const m = await reader.get({ folder: "INBOX", uidValidity: page.uidValidity, uid: uids[1] });
    assert.ok(m);
    // The file store describes a message exactly as the IMAP path would.
    const fromBytes: MessageSummary = summarizeClassified(
      classifyMessage(message({
        messageId: "<f1@x>",
        date: new Date(dates[1]).toUTCString(),
        spokenName: true,
        forwarded: true,
      })),
      { ...FACTS, uidValidity: m.uidValidity, uid: m.uid, flags: m.flags },
    );
    assert.deepEqual(m.tree, fromBytes.tree);
    assert.deepEqual(m.voices, fromBytes.voices);
    assert.equal(
      (await reader.get({ folder: "INBOX", uidValidity: page.uidValidity, uid: uids[2] }))?.private,
      true,
    );
    assert.deepEqual(
      (await reader.voice({ folder: "INBOX", uidValidity: page.uidValidity, uid: uids[1] }, 2))
        ?.bytes,
      INNER,
    );
    assert.equal(
      await reader.voice({ folder: "INBOX", uidValidity: page.uidValidity, uid: uids[1] }, 3),
      null,
    );
    assert.equal(
      await reader.get({ folder: "INBOX", uidValidity: page.uidValidity + 1, uid: uids[1] }),
      null,
    );
    assert.equal(
      await reader.get({ folder: "INBOX", uidValidity: page.uidValidity, uid: 999 }),
      null,
    );
    await reader.close();

    // 4007's reader sees its own message only, whatever identifiers it is given.
    const r2 = openMailboxReader(config, "4007");
    const own = await r2.list("INBOX", { offset: 0, limit: 10 });
    assert.deepEqual(own.items.map((x) => x.messageId), ["<other@x>"]);
    for (const uid of uids) {
      const got = await r2.get({ folder: "INBOX", uidValidity: page.uidValidity, uid: uid });
      assert.ok(got === null || got.messageId === "<other@x>");
      const v = await r2.voice({ folder: "INBOX", uidValidity: page.uidValidity, uid: uid }, 2);
      assert.equal(v, null);
    }
    assert.equal(otherUid, 1);
    // A mailbox the store never saw is empty, not an error.
    const none = openMailboxReader(config, "4999");
    assert.equal((await none.list("INBOX", { offset: 0, limit: 10 })).total, 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
