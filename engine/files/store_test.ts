import assert from "node:assert/strict";
import { join } from "node:path";
import type { FilesTargetConfig } from "../config/mod.ts";
import {
  FileStoreError,
  type FileTargetOptions,
  openFileTarget,
  storeRecordedName,
} from "./store.ts";
import type { StoredMessageMeta } from "./meta.ts";
import type { MessageOrigin, MirrorTarget, TargetFolder } from "../target/mod.ts";
import { base64Lines, muLawWav } from "../../tests/test_utils/mod.ts";

// ---------------------------------------------------------------------------------------------
// Messages built here: VPIM multipart with base64 µ-law WAV parts, a forwarded message inside.

interface TestMessage {
  from?: string;
  subject?: string;
  messageId?: string;
  date?: string;
  extraHeaders?: string[];
  voice?: Uint8Array;
  spokenName?: Uint8Array;
  forwarded?: { from: string; messageId: string; voice: Uint8Array };
}

function buildMessage(m: TestMessage = {}): Uint8Array {
  const b = "=_vm_boundary_1";
  const lines = [
    `From: ${m.from ?? '"Ann Lee" <4021@mss.lab>'}`,
    "To: Bob Ray <4001@mss.lab>",
    `Subject: ${m.subject ?? "Voice message from Ann Lee"}`,
    `Date: ${m.date ?? "Wed, 01 May 2024 14:03:22 +0000"}`,
    `Message-ID: ${m.messageId ?? "<msg-1@mss.lab>"}`,
    ...(m.extraHeaders ?? []),
    "MIME-Version: 1.0",
    `Content-Type: multipart/voice-message; boundary="${b}"; version=2.0`,
    "",
  ];
  if (m.spokenName) {
    lines.push(
      `--${b}`,
      "Content-Type: audio/wav",
      "Content-Transfer-Encoding: base64",
      "Content-Disposition: inline; voice=Originator-Spoken-Name; filename=name.wav",
      "",
      base64Lines(m.spokenName),
    );
  }
  lines.push(
    `--${b}`,
    "Content-Type: audio/wav",
    "Content-Transfer-Encoding: base64",
    "Content-Disposition: inline; voice=Voice-Message; filename=message.wav",
    `Content-Duration: ${Math.round(((m.voice ?? VOICE).length - 58) / 8000)}`,
    "",
    base64Lines(m.voice ?? VOICE),
  );
  if (m.forwarded) {
    const fb = "=_vm_boundary_2";
    lines.push(
      `--${b}`,
      "Content-Type: message/rfc822",
      "",
      `From: ${m.forwarded.from}`,
      "Subject: Original",
      "Date: Tue, 30 Apr 2024 09:00:00 +0000",
      `Message-ID: ${m.forwarded.messageId}`,
      "MIME-Version: 1.0",
      `Content-Type: multipart/voice-message; boundary="${fb}"`,
      "",
      `--${fb}`,
      "Content-Type: audio/wav",
      "Content-Transfer-Encoding: base64",
      "Content-Disposition: inline; voice=Voice-Message",
      "",
      base64Lines(m.forwarded.voice),
      `--${fb}--`,
    );
  }
  lines.push(`--${b}--`, "");
  return new TextEncoder().encode(lines.join("\r\n"));
}

const VOICE = muLawWav(2);
const NAME = muLawWav(1, { tone: 880 });
const FWD_VOICE = muLawWav(1.5, { tone: 330 });
const DATE = new Date("2024-05-01T14:03:22.000Z");

function origin(uid: number, folder = "INBOX"): MessageOrigin {
  return { mailbox: "4001", folder, uid, uidValidity: 777, kind: "copy" };
}

// ---------------------------------------------------------------------------------------------
// Fixtures

interface Fixture {
  root: string;
  config: FilesTargetConfig;
  open: (opts?: FileTargetOptions & { mailbox?: string }) => Promise<MirrorTarget>;
}

async function withStore(
  fn: (f: Fixture) => Promise<void>,
  over: Partial<FilesTargetConfig> = {},
): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "vmirror-files-" });
  const root = join(base, "store");
  await Deno.mkdir(root);
  const config: FilesTargetConfig = {
    type: "files",
    name: "disk",
    root,
    onDelete: "remove",
    retentionDays: 30,
    createRoot: false,
    ...over,
  };
  const opened: MirrorTarget[] = [];
  try {
    await fn({
      root,
      config,
      open: async (opts = {}) => {
        const t = await openFileTarget(config, opts.mailbox ?? "4001", { utc: true, ...opts });
        opened.push(t);
        return t;
      },
    });
  } finally {
    for (const t of opened) await t.close();
    await Deno.remove(base, { recursive: true });
  }
}

async function readMetaAt(dir: string): Promise<StoredMessageMeta> {
  return JSON.parse(await Deno.readTextFile(join(dir, "meta.json")));
}

async function entries(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

// Every path below `dir`, relative, for checking what the store wrote.
async function walk(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    out.push(rel);
    if (e.isDirectory) out.push(...await walk(join(dir, e.name), rel));
  }
  return out.sort();
}

async function messageDirs(folderDir: string): Promise<string[]> {
  return (await entries(folderDir)).filter((n) => !n.startsWith("."));
}

// ---------------------------------------------------------------------------------------------

Deno.test("append() stores the message whole, its voice parts and meta.json", async () => {
  await withStore(async ({ root, open }) => {
    const target = await open();
    assert.equal(target.name, "disk");
    assert.equal(target.placeholders, false);
    const inbox = await target.openFolder("INBOX");
    assert.ok(inbox.allowFlag("$Forwarded") && inbox.allowFlag("\\Seen"));
    const bytes = buildMessage({
      spokenName: NAME,
      extraHeaders: ["Importance: High", "Sensitivity: Private"],
      forwarded: { from: "Cy Doe <4033@mss.lab>", messageId: "<orig-1@mss.lab>", voice: FWD_VOICE },
    });
    const uid = await inbox.append(bytes, ["\\Seen", "$Forwarded"], DATE, origin(12));
    assert.equal(uid, 1);

    const folderDir = join(root, "4001", "INBOX");
    const dirs = await messageDirs(folderDir);
    assert.deepEqual(dirs, ["2024-05-01_14-03-22_Ann Lee 4021_1"]);
    const msgDir = join(folderDir, dirs[0]);
    assert.deepEqual(await entries(msgDir), [
      "message.eml",
      "meta.json",
      "spoken-name.wav",
      "voice-3.1.wav",
      "voice.wav",
    ]);
    assert.deepEqual(await Deno.readFile(join(msgDir, "message.eml")), bytes);
    assert.deepEqual(await Deno.readFile(join(msgDir, "voice.wav")), VOICE);
    assert.deepEqual(await Deno.readFile(join(msgDir, "spoken-name.wav")), NAME);
    assert.deepEqual(await Deno.readFile(join(msgDir, "voice-3.1.wav")), FWD_VOICE);

    const meta = await readMetaAt(msgDir);
    assert.equal(meta.uid, 1);
    assert.equal(meta.uidValidity, inbox.uidValidity);
    assert.deepEqual(meta.source, origin(12));
    assert.deepEqual(meta.flags, ["\\Seen", "$Forwarded"]);
    assert.equal(meta.internalDate, DATE.toISOString());
    assert.equal(meta.size, bytes.length);
    assert.equal(meta.messageId, "<msg-1@mss.lab>");
    assert.equal(meta.sender, "Ann Lee 4021");
    assert.deepEqual(meta.from, { name: "Ann Lee", address: "4021@mss.lab" });
    assert.equal(meta.subject, "Voice message from Ann Lee");
    assert.equal(meta.urgent, true);
    assert.equal(meta.private, true);
    assert.equal(meta.broadcast, false);
    assert.equal(meta.durationSeconds, 2);
    assert.deepEqual(
      meta.voiceParts.map((p) => [p.file, p.role, p.partPath, p.bytes, p.seconds]),
      [
        ["spoken-name.wav", "Originator-Spoken-Name", "1", NAME.length, 1],
        ["voice.wav", "Voice-Message", "2", VOICE.length, 2],
        ["voice-3.1.wav", "Voice-Message", "3.1", FWD_VOICE.length, 1.5],
      ],
    );
    // The chain as a tree: the message, the forwarded one inside it.
    assert.equal(meta.chain?.messageId, "<msg-1@mss.lab>");
    assert.deepEqual(meta.chain?.voiceFiles, ["spoken-name.wav", "voice.wav"]);
    assert.equal(meta.chain?.children.length, 1);
    const fwd = meta.chain!.children[0];
    assert.equal(fwd.messageId, "<orig-1@mss.lab>");
    assert.equal(fwd.from?.address, "4033@mss.lab");
    assert.equal(fwd.partPath, "3");
    assert.deepEqual(fwd.voiceFiles, ["voice-3.1.wav"]);
    assert.equal(fwd.date, "2024-04-30T09:00:00.000Z");

    // Only the final directory and the state file: no work files left behind.
    assert.deepEqual(await entries(folderDir), [
      ".vmirror-folder.json",
      ".vmirror-folder.lock",
      dirs[0],
    ]);
    const state = JSON.parse(await Deno.readTextFile(join(folderDir, ".vmirror-folder.json")));
    assert.equal(state.folder, "INBOX");
    assert.equal(state.uidValidity, inbox.uidValidity);
    assert.equal(state.nextUid, 2);
  });
});

Deno.test("every folder, greetings included, is stored the same way", async () => {
  await withStore(async ({ root, open }) => {
    const target = await open();
    const greetings = await target.openFolder("Greetings");
    const uid = await greetings.append(
      buildMessage({ subject: "Busy greeting", messageId: "<g1@mss.lab>" }),
      [],
      DATE,
      origin(3, "Greetings"),
    );
    assert.equal(uid, 1);
    const dirs = await messageDirs(join(root, "4001", "Greetings"));
    assert.equal(dirs.length, 1);
    const meta = await readMetaAt(join(root, "4001", "Greetings", dirs[0]));
    assert.equal(meta.subject, "Busy greeting");
    assert.equal(meta.source?.folder, "Greetings");
    assert.ok(await Deno.stat(join(root, "4001", "Greetings", dirs[0], "voice.wav")));
  });
});

Deno.test("UIDs grow, survive reopening and are never reused after a removal", async () => {
  await withStore(async ({ root, open }) => {
    const t1 = await open();
    const f1 = await t1.openFolder("INBOX");
    const u1 = await f1.append(buildMessage({ messageId: "<a@x>" }), [], DATE, origin(1));
    const u2 = await f1.append(buildMessage({ messageId: "<b@x>" }), [], DATE, origin(2));
    assert.deepEqual([u1, u2], [1, 2]);
    await f1.remove([2]);
    const t2 = await open();
    const f2 = await t2.openFolder("INBOX");
    assert.equal(f2.uidValidity, f1.uidValidity);
    assert.deepEqual(await f2.listUids(), new Set([1]));
    const u3 = await f2.append(buildMessage({ messageId: "<c@x>" }), [], DATE, origin(3));
    assert.equal(u3, 3);
    assert.deepEqual(await f2.listUids(), new Set([1, 3]));
    // A second folder has its own UIDs and its own UIDVALIDITY.
    const other = await t2.openFolder("Saved");
    assert.equal(await other.append(buildMessage(), [], DATE, origin(9, "Saved")), 1);
    assert.notEqual(other.uidValidity, f2.uidValidity);
    assert.deepEqual(await entries(join(root, "4001")), [
      ".vmirror-mailbox.json",
      "INBOX",
      "Saved",
    ]);
  });
});

Deno.test("two processes storing in one folder never get the same UID", async () => {
  await withStore(async ({ open }) => {
    // Two targets stand for the service and a one-off `sync --once`: each has its own memory.
    const a = await (await open()).openFolder("INBOX");
    const b = await (await open()).openFolder("INBOX");
    assert.equal(a.uidValidity, b.uidValidity);
    const uids = [
      await a.append(buildMessage({ messageId: "<a1@x>" }), [], DATE, origin(1)),
      await b.append(buildMessage({ messageId: "<b1@x>" }), [], DATE, origin(2)),
      await a.append(buildMessage({ messageId: "<a2@x>" }), [], DATE, origin(3)),
      ...await Promise.all([
        a.append(buildMessage({ messageId: "<a3@x>" }), [], DATE, origin(4)),
        b.append(buildMessage({ messageId: "<b2@x>" }), [], DATE, origin(5)),
      ]),
    ];
    assert.equal(new Set(uids).size, 5, `UIDs reused: ${uids}`);
    assert.deepEqual(await a.listUids(), new Set(uids));
  });
});

Deno.test("find() matches Message-ID, date to the second and size; listAll() lists all", async () => {
  await withStore(async ({ open }) => {
    const f = await (await open()).openFolder("INBOX");
    const a = buildMessage({ messageId: "<a@x>" });
    const b = buildMessage({ messageId: "<b@x>" });
    const noId = buildMessage({ messageId: "" });
    const ua = await f.append(a, [], new Date("2024-05-01T10:00:00.400Z"), origin(1));
    const ub = await f.append(b, [], new Date("2024-05-01T11:00:00Z"), origin(2));
    const un = await f.append(noId, [], new Date("2024-05-01T12:00:00Z"), origin(3));
    const at = (iso: string) => new Date(iso);
    assert.equal(
      await f.find({
        messageId: "<a@x>",
        internalDate: at("2024-05-01T10:00:00Z"),
        size: a.length,
      }),
      ua,
    );
    assert.equal(
      await f.find({
        messageId: "<b@x>",
        internalDate: at("2024-05-01T11:00:00Z"),
        size: b.length,
      }),
      ub,
    );
    assert.equal(
      await f.find({
        messageId: null,
        internalDate: at("2024-05-01T12:00:00Z"),
        size: noId.length,
      }),
      un,
    );
    // Wrong second, wrong size, wrong id: no match.
    assert.equal(
      await f.find({
        messageId: "<a@x>",
        internalDate: at("2024-05-01T10:00:01Z"),
        size: a.length,
      }),
      null,
    );
    assert.equal(
      await f.find({ messageId: "<a@x>", internalDate: at("2024-05-01T10:00:00Z"), size: 1 }),
      null,
    );
    assert.equal(
      await f.find({
        messageId: "<z@x>",
        internalDate: at("2024-05-01T11:00:00Z"),
        size: b.length,
      }),
      null,
    );
    const all = await f.listAll();
    assert.deepEqual(all.map((m) => [m.uid, m.messageId, m.size]), [
      [ua, "<a@x>", a.length],
      [ub, "<b@x>", b.length],
      [un, null, noId.length],
    ]);
    assert.equal(all[0].internalDate.toISOString(), "2024-05-01T10:00:00.400Z");
  });
});

Deno.test("setFlags() rewrites meta.json atomically and keeps the rest", async () => {
  await withStore(async ({ root, open }) => {
    const f = await (await open({ now: () => new Date("2024-06-01T00:00:00Z") })).openFolder(
      "INBOX",
    );
    const bytes = buildMessage();
    const uid = (await f.append(bytes, [], DATE, origin(5)))!;
    const folderDir = join(root, "4001", "INBOX");
    const [dir] = await messageDirs(folderDir);
    const before = await readMetaAt(join(folderDir, dir));
    await f.setFlags(uid, ["\\Seen", "\\Answered"]);
    const after = await readMetaAt(join(folderDir, dir));
    assert.deepEqual(after.flags, ["\\Seen", "\\Answered"]);
    assert.equal(after.flagsChangedAt, "2024-06-01T00:00:00.000Z");
    assert.deepEqual({ ...after, flags: before.flags, flagsChangedAt: undefined }, {
      ...before,
      flagsChangedAt: undefined,
    });
    assert.deepEqual(await Deno.readFile(join(folderDir, dir, "message.eml")), bytes);
    assert.deepEqual(await entries(folderDir), [
      ".vmirror-folder.json",
      ".vmirror-folder.lock",
      dir,
    ]);
    // A UID the store does not hold is an error, not a silent success.
    await assert.rejects(() => f.setFlags(99, ["\\Seen"]), (e) => {
      assert.ok(e instanceof FileStoreError);
      assert.match(
        e.message,
        /^Cannot set the flags of message 99 of "INBOX" of mailbox "4001" in ".*": no such message in the store$/,
      );
      return true;
    });
  });
});

Deno.test("remove() deletes exactly the given messages", async () => {
  await withStore(async ({ root, open }) => {
    const f = await (await open()).openFolder("INBOX");
    for (let i = 1; i <= 4; i++) {
      await f.append(buildMessage({ messageId: `<m${i}@x>` }), [], DATE, origin(i));
    }
    await f.remove([2, 4, 42]); // 42 is unknown: ignored
    assert.deepEqual(await f.listUids(), new Set([1, 3]));
    const folderDir = join(root, "4001", "INBOX");
    assert.deepEqual(await messageDirs(folderDir), [
      "2024-05-01_14-03-22_Ann Lee 4021_1",
      "2024-05-01_14-03-22_Ann Lee 4021_3",
    ]);
    assert.deepEqual(await entries(folderDir), [
      ".vmirror-folder.json",
      ".vmirror-folder.lock",
      "2024-05-01_14-03-22_Ann Lee 4021_1",
      "2024-05-01_14-03-22_Ann Lee 4021_3",
    ]);
    await f.remove([]);
    await f.remove([2]); // already gone: nothing to do
    assert.deepEqual(await f.listUids(), new Set([1, 3]));
    // Removed by a person after the folder was listed: not an error either.
    await Deno.remove(join(folderDir, "2024-05-01_14-03-22_Ann Lee 4021_3"), { recursive: true });
    await f.remove([3]);
    assert.deepEqual(await f.listUids(), new Set([1]));
    assert.ok(!(await entries(join(root, "4001"))).includes("deleted"));
  });
});

Deno.test('remove() with onDelete "move" keeps deletions until retention ends', async (t) => {
  let now = new Date("2024-06-01T00:00:00Z");
  const clock = () => now;
  await withStore(async ({ root, open }) => {
    const f = await (await open({ now: clock })).openFolder("INBOX");
    const bytes = buildMessage({ messageId: "<m1@x>" });
    await f.append(bytes, ["\\Seen"], DATE, origin(1));
    await f.append(buildMessage({ messageId: "<m2@x>" }), [], DATE, origin(2));
    const deletedDir = join(root, "4001", "deleted", "INBOX");

    await t.step("moves the message directory to deleted/<folder>/", async () => {
      await f.remove([1]);
      assert.deepEqual(await f.listUids(), new Set([2]));
      const moved = await messageDirs(deletedDir);
      assert.deepEqual(moved, ["2024-05-01_14-03-22_Ann Lee 4021_1"]);
      const meta = await readMetaAt(join(deletedDir, moved[0]));
      assert.equal(meta.deletedAt, "2024-06-01T00:00:00.000Z");
      assert.deepEqual(meta.flags, ["\\Seen"]);
      assert.deepEqual(await Deno.readFile(join(deletedDir, moved[0], "message.eml")), bytes);
    });

    await t.step("a deleted message is no longer the folder's", async () => {
      const f2 = await (await open({ now: clock })).openFolder("INBOX");
      assert.deepEqual(await f2.listUids(), new Set([2]));
      assert.equal(
        await f2.find({ messageId: "<m1@x>", internalDate: DATE, size: bytes.length }),
        null,
      );
    });

    await t.step("keeps it within the retention period", async () => {
      now = new Date("2024-06-30T23:00:00Z");
      await open({ now: clock });
      assert.equal((await messageDirs(deletedDir)).length, 1);
    });

    await t.step("purges it at open once older than retentionDays", async () => {
      now = new Date("2024-07-01T00:00:01Z");
      await open({ now: clock });
      assert.deepEqual(await entries(deletedDir), []);
    });

    await t.step("purges at remove too, by the directory time without deletedAt", async () => {
      // Moved there by a person: no deletedAt, so the directory's time counts.
      const byHand = join(deletedDir, "by-hand");
      await Deno.mkdir(byHand);
      await Deno.writeTextFile(join(byHand, "message.eml"), "x");
      await Deno.utime(byHand, new Date("2024-01-01T00:00:00Z"), new Date("2024-01-01T00:00:00Z"));
      const fresh = join(deletedDir, "fresh");
      await Deno.mkdir(fresh);
      await Deno.utime(fresh, now, now);
      await f.remove([2]);
      assert.deepEqual(await messageDirs(deletedDir), [
        "2024-05-01_14-03-22_Ann Lee 4021_2",
        "fresh",
      ]);
    });
  }, { onDelete: "move", retentionDays: 30 });
});

Deno.test("a half-written message is never listed and is cleaned up at open", async () => {
  let now = new Date();
  await withStore(async ({ root, open }) => {
    const f = await (await open({ now: () => now })).openFolder("INBOX");
    const bytes = buildMessage();
    await f.append(bytes, [], DATE, origin(1));
    const folderDir = join(root, "4001", "INBOX");
    // What a crash leaves: a work directory with a complete-looking message in it, and a
    // visible directory whose meta.json was never written or whose message.eml is short.
    const work = join(folderDir, ".tmp-crashed");
    await Deno.mkdir(work);
    await Deno.writeFile(join(work, "message.eml"), bytes);
    const fake = {
      ...(await readMetaAt(join(folderDir, (await messageDirs(folderDir))[0]))),
      uid: 7,
    };
    await Deno.writeTextFile(join(work, "meta.json"), JSON.stringify(fake));
    const noMeta = join(folderDir, "no-meta");
    await Deno.mkdir(noMeta);
    await Deno.writeFile(join(noMeta, "message.eml"), bytes);
    const short = join(folderDir, "short");
    await Deno.mkdir(short);
    await Deno.writeFile(join(short, "message.eml"), bytes.subarray(0, 10));
    await Deno.writeTextFile(join(short, "meta.json"), JSON.stringify({ ...fake, uid: 8 }));
    const tmpFile = join(folderDir, ".tmp-state");
    await Deno.writeTextFile(tmpFile, "{");

    assert.deepEqual(await f.listUids(), new Set([1]));
    assert.equal(
      await f.find({ messageId: "<msg-1@mss.lab>", internalDate: DATE, size: bytes.length }),
      1,
    );
    assert.deepEqual((await f.listAll()).map((m) => m.uid), [1]);

    // Fresh work files may belong to another process writing right now: left alone.
    await (await open({ now: () => now })).openFolder("INBOX");
    assert.ok((await entries(folderDir)).includes(".tmp-crashed"));
    // Stale ones are a crash's: removed.
    now = new Date(Date.now() + 60 * 60_000);
    const f2 = await (await open({ now: () => now })).openFolder("INBOX");
    const left = await entries(folderDir);
    assert.ok(!left.some((n) => n.startsWith(".tmp-")), left.join(", "));
    assert.deepEqual(await f2.listUids(), new Set([1]));
    // The next UID is still fresh: the crashed UID 7 in the work directory was never taken.
    assert.equal(await f2.append(buildMessage({ messageId: "<n@x>" }), [], DATE, origin(2)), 2);
  });
});

Deno.test("a folder whose state file was lost is taken back with a new UIDVALIDITY", async () => {
  await withStore(async ({ root, open }) => {
    const f1 = await (await open()).openFolder("INBOX");
    await f1.append(buildMessage({ messageId: "<a@x>" }), [], DATE, origin(1));
    await f1.append(buildMessage({ messageId: "<b@x>" }), [], DATE, origin(2));
    await Deno.remove(join(root, "4001", "INBOX", ".vmirror-folder.json"));
    const f2 = await (await open()).openFolder("INBOX");
    assert.notEqual(f2.uidValidity, f1.uidValidity);
    assert.deepEqual(await f2.listUids(), new Set([1, 2]));
    assert.equal(await f2.append(buildMessage({ messageId: "<c@x>" }), [], DATE, origin(3)), 3);
    assert.deepEqual(await entries(join(root, "4001")), [".vmirror-mailbox.json", "INBOX"]);
  });
});

Deno.test("hostile headers and names never leave the store's root", async () => {
  await withStore(async ({ root, open }) => {
    const parent = join(root, "..");
    const before = await entries(parent);
    const hostileMailbox = "../../etc";
    const t = await open({ mailbox: hostileMailbox });
    const folders = ["../../../tmp/x", "CON", "deleted", "a/b", "a_b", ".hidden", "\u202eexe.", ""];
    const senders = [
      '"../../etc" <../../etc@evil>',
      '"/etc/passwd" <x@y>',
      "=?utf-8?b?Li4vLi4vZXRj?= <a@b>", // "../../etc" as an encoded word
      '"\u202egnp.exe" <c@d>',
      `"${"A".repeat(500)}" <e@f>`,
      '"CON" <g@h>',
      "<..@..>",
    ];
    const stored: { folder: string; uid: number; bytes: Uint8Array }[] = [];
    for (const folder of folders) {
      const f = await t.openFolder(folder);
      for (const [i, from] of senders.entries()) {
        const bytes = buildMessage({
          from,
          subject: "a/b\\c/../../d\u0000e\u202e",
          messageId: `<${folder.length}.${i}@x>`,
        });
        const uid = (await f.append(bytes, ["\\Seen"], DATE, origin(i + 1, folder)))!;
        stored.push({ folder, uid, bytes });
      }
    }
    assert.deepEqual(await entries(parent), before, "something was written beside the root");
    const paths = await walk(root);
    for (const p of paths) {
      for (const segment of p.split("/")) {
        assert.ok(segment.length <= 100, `segment too long: ${segment}`);
        assert.doesNotMatch(segment, /[<>:"\\|?*\p{Cc}\u202e]/u, p);
        assert.doesNotMatch(segment, /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i, p);
        assert.doesNotMatch(segment, /[. ]$/, p);
        assert.ok(segment !== "." && segment !== "..", p);
      }
      assert.ok(p.length <= 240, `path too long: ${p}`);
    }
    // One directory per mailbox and per folder: names that sanitise alike stay apart.
    const mailboxDirs = await entries(root);
    assert.equal(mailboxDirs.length, 1);
    const folderDirs = (await entries(join(root, mailboxDirs[0]))).filter((n) =>
      !n.startsWith(".")
    );
    assert.equal(folderDirs.length, folders.length);
    assert.ok(!folderDirs.includes("deleted"), "a folder took the deleted area's name");
    assert.ok(!folderDirs.includes("CON"));
    // And each comes back to its own directory with its own messages.
    const t2 = await open({ mailbox: hostileMailbox });
    for (const folder of folders) {
      const f = await t2.openFolder(folder);
      const mine = stored.filter((s) => s.folder === folder);
      assert.deepEqual(await f.listUids(), new Set(mine.map((s) => s.uid)), folder);
      for (const s of mine) {
        const hit = await f.find({
          messageId: `<${folder.length}.${s.uid - 1}@x>`,
          internalDate: DATE,
          size: s.bytes.length,
        });
        assert.equal(hit, s.uid);
      }
    }
  });
});

Deno.test("two mailboxes whose names sanitise alike get their own directories", async () => {
  await withStore(async ({ root, open }) => {
    const a = await (await open({ mailbox: "a/b" })).openFolder("INBOX");
    const b = await (await open({ mailbox: "a:b" })).openFolder("INBOX");
    await a.append(buildMessage({ messageId: "<a@x>" }), [], DATE, origin(1));
    assert.deepEqual(await b.listUids(), new Set());
    assert.deepEqual(await entries(root), ["a_b", "a_b~2"]);
    const again = await (await open({ mailbox: "a:b" })).openFolder("INBOX");
    assert.deepEqual(await again.listUids(), new Set());
    const first = await (await open({ mailbox: "a/b" })).openFolder("INBOX");
    assert.deepEqual(await first.listUids(), new Set([1]));
  });
});

Deno.test("a message that cannot be parsed is still stored whole", async () => {
  await withStore(async ({ root, open }) => {
    const f = await (await open()).openFolder("INBOX");
    const junk = new Uint8Array(3000).map((_, i) => (i * 37) & 0xff);
    const uid = await f.append(junk, [], DATE, origin(1));
    assert.equal(uid, 1);
    const [dir] = await messageDirs(join(root, "4001", "INBOX"));
    assert.deepEqual(await Deno.readFile(join(root, "4001", "INBOX", dir, "message.eml")), junk);
    assert.deepEqual(await f.listUids(), new Set([1]));
  });
});

Deno.test("storeRecordedName() writes recorded-name.wav in the mailbox directory", async () => {
  await withStore(async ({ root, open }) => {
    await open();
    const path = await storeRecordedName(root, "4001", NAME);
    assert.equal(path, join(root, "4001", "recorded-name.wav"));
    assert.deepEqual(await Deno.readFile(path), NAME);
    await storeRecordedName(root, "4001", VOICE);
    assert.deepEqual(await Deno.readFile(path), VOICE);
    assert.deepEqual(await entries(join(root, "4001")), [
      ".vmirror-mailbox.json",
      "recorded-name.wav",
    ]);
    // A folder called like the file does not take it.
    const f = await (await open()).openFolder("recorded-name.wav");
    await f.append(buildMessage(), [], DATE, origin(1));
    assert.deepEqual(await Deno.readFile(path), VOICE);
  });
});

Deno.test("with createRoot off, a missing root is an error, never created (an unmounted share)", async () => {
  await withStore(async ({ config }) => {
    const missing = { ...config, root: join(config.root, "not-mounted") };
    await assert.rejects(() => openFileTarget(missing, "4001"), (e) => {
      assert.ok(e instanceof FileStoreError);
      assert.equal(e.name, "FileStoreError");
      assert.equal(e.mailbox, "4001");
      assert.equal(e.path, missing.root);
      assert.equal(e.store, "disk");
      assert.equal(
        e.message,
        `Cannot open the files of mailbox "4001" in "${missing.root}": the store's root does not exist (is the share mounted?)`,
      );
      return true;
    });
    await assert.rejects(() => Deno.stat(missing.root), Deno.errors.NotFound);
    await assert.rejects(() => storeRecordedName(missing.root, "4001", NAME), FileStoreError);
  });
});

Deno.test("with createRoot on, a missing root is created one level deep, never more", async () => {
  await withStore(async ({ config }) => {
    const fresh = { ...config, root: join(config.root, "new"), createRoot: true };
    const target = await openFileTarget(fresh, "4001");
    await target.close();
    assert.ok((await Deno.stat(fresh.root)).isDirectory);
    const deep = { ...config, root: join(config.root, "a", "b"), createRoot: true };
    await assert.rejects(() => openFileTarget(deep, "4001"), /cannot be created/);
  });
});

// ---------------------------------------------------------------------------------------------
// A full disk: a 1 MiB tmpfs (needs root to mount).

const isRoot = Deno.build.os === "linux" && Deno.uid() === 0;

async function mountTmpfs(dir: string, size: string): Promise<boolean> {
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
    stdout: "null",
    stderr: "piped",
  }).output();
  return out.success;
}

async function unmount(dir: string): Promise<void> {
  await new Deno.Command("umount", { args: [dir], stdout: "null", stderr: "null" }).output();
}

Deno.test({
  name: "a full disk gives a clear error and harms nothing already stored",
  ignore: !isRoot,
  fn: async () => {
    const mnt = await Deno.makeTempDir({ prefix: "vmirror-enospc-" });
    if (!await mountTmpfs(mnt, "1m")) {
      await Deno.remove(mnt);
      throw new Error(`Cannot mount a tmpfs on "${mnt}"`);
    }
    try {
      const config: FilesTargetConfig = {
        type: "files",
        name: "small",
        root: mnt,
        onDelete: "remove",
        retentionDays: 30,
        createRoot: false,
      };
      const target = await openFileTarget(config, "4001", { utc: true });
      const f = await target.openFolder("INBOX");
      // ~120 KB each (message + decoded WAV): the disk fills within a dozen.
      const stored = new Map<number, Uint8Array>();
      let error: unknown = null;
      for (let i = 1; i <= 40 && !error; i++) {
        const bytes = buildMessage({
          messageId: `<m${i}@x>`,
          voice: muLawWav(5, { tone: 200 + i }),
        });
        try {
          stored.set((await f.append(bytes, [], DATE, origin(i)))!, bytes);
        } catch (e) {
          error = e;
          assert.ok(e instanceof FileStoreError, String(e));
          assert.equal(e.name, "FileStoreError");
          assert.equal(e.code, "ENOSPC");
          assert.equal(e.mailbox, "4001");
          assert.equal(e.path, mnt);
          assert.equal(e.operation, `store UID ${i} of "INBOX"`);
          assert.equal(
            e.message,
            `Cannot store UID ${i} of "INBOX" of mailbox "4001" in "${mnt}": no space left on device`,
          );
          assert.ok(e.cause instanceof Error);
        }
      }
      assert.ok(error, "the disk never filled");
      assert.ok(stored.size >= 3, `only ${stored.size} stored before the disk filled`);

      // Everything stored before is intact and listed; no half message, no work files.
      const folderDir = join(mnt, "4001", "INBOX");
      const check = async (folder: TargetFolder) => {
        assert.deepEqual(await folder.listUids(), new Set(stored.keys()));
        for (const [uid, bytes] of stored) {
          const [dir] = (await messageDirs(folderDir)).filter((n) => n.endsWith(`_${uid}`));
          assert.deepEqual(await Deno.readFile(join(folderDir, dir, "message.eml")), bytes);
          assert.equal((await readMetaAt(join(folderDir, dir))).uid, uid);
        }
        assert.ok(!(await entries(folderDir)).some((n) => n.startsWith(".tmp-")));
        JSON.parse(await Deno.readTextFile(join(folderDir, ".vmirror-folder.json")));
      };
      await check(f);
      const reopened = await (await openFileTarget(config, "4001", { utc: true })).openFolder(
        "INBOX",
      );
      await check(reopened);

      // Once space is freed, storing works again with a fresh UID.
      const [first] = stored.keys();
      await reopened.remove([first]);
      stored.delete(first);
      const bytes = buildMessage({ messageId: "<after@x>" });
      const uid = (await reopened.append(bytes, [], DATE, origin(99)))!;
      assert.ok(uid > Math.max(...stored.keys()));
      stored.set(uid, bytes);
      await check(reopened);
    } finally {
      await unmount(mnt);
      await Deno.remove(mnt, { recursive: true });
    }
  },
});

for (const direct of [true, false]) {
  const how = direct ? "direct calls (local disk)" : "asynchronous calls (a share)";
  Deno.test(`batch mode with ${how}: invisible until flush, whole after it, nothing left by close`, async () => {
    await withStore(async ({ root, open }) => {
      const target = await open({ batch: true, direct });
      const inbox = await target.openFolder("INBOX");
      const folderDir = join(root, "4001", "INBOX");
      // The third is over 4 MiB: staged asynchronously even on a local disk, in the same batch.
      const long = muLawWav(560);
      const bodies = [1, 2, 3].map((i) =>
        buildMessage({
          messageId: `<batch-${i}@mss.lab>`,
          subject: `Batch ${i}`,
          voice: i === 3 ? long : VOICE,
        })
      );
      assert.ok(bodies[2].length > 4 * 1024 * 1024);
      for (const [i, b] of bodies.entries()) await inbox.append(b, [], DATE, origin(i + 1));
      assert.deepEqual(await messageDirs(folderDir), [], "nothing visible before flush");
      assert.equal((await inbox.listUids()).size, 0);
      await inbox.flush!();
      const dirs = await messageDirs(folderDir);
      assert.equal(dirs.length, 3);
      for (const [i, name] of dirs.entries()) {
        assert.deepEqual(await Deno.readFile(join(folderDir, name, "message.eml")), bodies[i]);
        const voice = await Deno.readFile(join(folderDir, name, "voice.wav"));
        assert.deepEqual(voice, i === 2 ? long : VOICE);
        assert.equal((await readMetaAt(join(folderDir, name))).subject, `Batch ${i + 1}`);
      }
      // A batch whose pass failed before its flush: closing the target leaves no trace of it.
      await inbox.append(buildMessage({ messageId: "<lost@mss.lab>" }), [], DATE, origin(9));
      const temps = async () => (await entries(folderDir)).filter((n) => n.startsWith(".tmp-"));
      assert.equal((await temps()).length, 1, "its work directory is staged");
      await target.close();
      assert.deepEqual(await temps(), []);
      assert.equal((await messageDirs(folderDir)).length, 3);
    });
  });
}
