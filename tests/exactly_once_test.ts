/**
 * Exactly once when the backup answers late or not at all, and when messages cannot be told
 * apart by Message-ID, date and size: a TCP fault proxy (tests/test_utils/fault_proxy.ts, a fake network
 * in front of the real backup Dovecot) cuts or holds up an APPEND; the mirror must end with
 * every message exactly once, byte-identical.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  closeState,
  deleteMapEntries,
  listMap,
  openState,
  putIntent,
} from "../engine/state/mod.ts";
import { runSync, type SyncSummary } from "../engine/mirror/mod.ts";
import type { Config, SourceConfig } from "../engine/config/mod.ts";
import {
  appendRaw,
  filesSide,
  imapSide,
  lab,
  type MirrorSide,
  scratchMailbox,
  snapshot,
  startFaultProxy,
  tempDir,
  variant,
  wipeMailbox,
} from "./test_utils/mod.ts";

const latin1 = new TextDecoder("latin1");
const DATE = new Date(Date.UTC(2026, 2, 3, 9, 15, 42));

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A seeded voicemail (not a broadcast) to build look-alikes from. */
async function seededVoicemail(): Promise<Uint8Array> {
  const seeded = await snapshot("prod", "4003", ["INBOX"]);
  const b = lab().broadcast;
  const m = seeded.folders.INBOX.messages.find((m) =>
    !new RegExp(`^${b.header}:`, "im").test(latin1.decode(m.bytes.subarray(0, 4096)))
  );
  assert.ok(m, "no seeded voicemail in 4003");
  return m.bytes;
}

/**
 * Two different voicemails with no Message-ID, the same size and date (two callers in one
 * second), and two byte-identical deliveries of one voicemail.
 */
function lookAlikes(base: Uint8Array, tag: number) {
  const noId = latin1.decode(base).replace(/^message-id:[^\r\n]*\r?\n/im, "");
  const caller = (c: string) =>
    Uint8Array.from(noId.replace(/^(subject:[ \t]*)/im, `$1${c}`), (ch) => ch.charCodeAt(0));
  const n1 = caller("A");
  const n2 = caller("B");
  assert.equal(n1.length, n2.length);
  assert.notDeepEqual(n1, n2);
  const d = variant(base, tag);
  return { n1, n2, d1: d, d2: d };
}

/** Message digests on a side, with how many times each occurs. */
function tally(messages: { bytes: Uint8Array }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of messages) out.set(sha256(m.bytes), (out.get(sha256(m.bytes)) ?? 0) + 1);
  return out;
}

async function assertExact(side: MirrorSide, config: Config, mailbox: string) {
  const prod = await snapshot("prod", mailbox, ["INBOX"]);
  const mirror = await side.read(config, mailbox, ["INBOX"]);
  assert.deepEqual(
    tally(mirror.folders.INBOX?.messages ?? []),
    tally(prod.folders.INBOX.messages),
    "the mirror must hold every production message exactly as often as production does",
  );
}

async function sync(
  config: Config & { source: SourceConfig },
  dir: string,
  mailbox: string,
): Promise<SyncSummary> {
  const state = await openState(join(dir, "state.kv"));
  try {
    return await runSync(config, state, { mailboxes: [mailbox], retryDelayMs: 50 });
  } finally {
    closeState(state);
  }
}

function throughProxy(port: number) {
  return (raw: Record<string, unknown>) => {
    const target = raw.target as Record<string, unknown>;
    target.port = port;
    target.commandTimeoutSeconds = 2;
    // No retry inside a pass: each test drives the passes itself.
    raw.limits = { ...(raw.limits as object | undefined), retries: 0 };
  };
}

Deno.test({
  name:
    "[imap] after an APPEND cut mid-literal, look-alike messages (no Message-ID, same size and second; byte-identical twins) each land exactly once",
  async fn() {
    const mb = await scratchMailbox("7341");
    const proxy = startFaultProxy({ targetPort: lab().imap.backup.port });
    await using tmp = await tempDir("exact-cut");
    const dir = tmp.path;
    try {
      const config = await imapSide.config(dir, throughProxy(proxy.port));
      const { n1, n2, d1, d2 } = lookAlikes(await seededVoicemail(), 7341);
      // The first of each pair is mirrored on its own first.
      await appendRaw("prod", mb, "INBOX", [{ bytes: n1, date: DATE }, { bytes: d1, date: DATE }]);
      assert.equal((await sync(config, dir, mb)).failed, 0);
      await appendRaw("prod", mb, "INBOX", [{ bytes: n2, date: DATE }, { bytes: d2, date: DATE }]);
      // The next connection to the backup is cut once 3 kB have gone up: inside the APPEND
      // literal (the commands before it are a few hundred bytes; each message is far larger).
      proxy.setFault({ kind: "cut", direction: "up", afterBytes: 3000 });
      const cut = await sync(config, dir, mb);
      assert.equal(proxy.fired, 1, "the cut did not happen");
      assert.equal(cut.failed, 1, "the pass whose APPEND was cut must fail");
      const healed = await sync(config, dir, mb);
      assert.equal(healed.failed, 0, JSON.stringify(healed.mailboxes[0].error));
      await assertExact(imapSide, config, mb);
      // And it stays so: a further pass neither adds nor removes anything.
      assert.equal((await sync(config, dir, mb)).failed, 0);
      await assertExact(imapSide, config, mb);
    } finally {
      await proxy.close();
      await wipeMailbox("prod", mb);
      await wipeMailbox("backup", mb);
    }
  },
});

Deno.test({
  name:
    "[imap] an APPEND held up in the network past the command timeout lands late, and the duplicate it makes is removed",
  async fn() {
    const mb = await scratchMailbox("7342");
    const proxy = startFaultProxy({ targetPort: lab().imap.backup.port });
    await using tmp = await tempDir("exact-late");
    const dir = tmp.path;
    try {
      const config = await imapSide.config(dir, throughProxy(proxy.port));
      const { n1, d1 } = lookAlikes(await seededVoicemail(), 7342);
      await appendRaw("prod", mb, "INBOX", [{ bytes: n1, date: DATE }]);
      assert.equal((await sync(config, dir, mb)).failed, 0);
      await appendRaw("prod", mb, "INBOX", [{ bytes: d1, date: DATE }]);
      // The APPEND's literal is held 6 s in the proxy: the client gives up after 2 s, the
      // server gets the message later all the same.
      proxy.setFault({ kind: "delay", direction: "up", afterBytes: 3000, ms: 6000 });
      const timedOut = await sync(config, dir, mb);
      assert.equal(timedOut.failed, 1, "the held APPEND must time out");
      // Retried at once: the copy is not on the backup yet, so it is written again.
      assert.equal((await sync(config, dir, mb)).failed, 0);
      // Once the held bytes are through, the backup holds the message twice.
      let twice = false;
      for (let i = 0; i < 40 && !twice; i++) {
        await new Promise((r) => setTimeout(r, 250));
        const backup = await snapshot("backup", mb, ["INBOX"]);
        twice = backup.folders.INBOX.messages.filter((m) => sha256(m.bytes) === sha256(d1))
          .length === 2;
      }
      assert.ok(twice, "the late APPEND never landed (the scenario did not happen)");
      // The next pass (production unchanged) recognises its own late landing and removes it.
      const next = await sync(config, dir, mb);
      assert.equal(next.failed, 0);
      assert.ok(
        next.mailboxes[0].warnings.some((w) => /late-arriving duplicate/.test(w)),
        JSON.stringify(next.mailboxes[0].warnings),
      );
      await assertExact(imapSide, config, mb);
      assert.equal((await sync(config, dir, mb)).failed, 0);
      await assertExact(imapSide, config, mb);
    } finally {
      await proxy.close();
      await wipeMailbox("prod", mb);
      await wipeMailbox("backup", mb);
    }
  },
});

Deno.test({
  name:
    "[imap] a MULTIAPPEND whose answer comes after the command timeout is resolved, not copied again",
  async fn() {
    const boxes = [await scratchMailbox("7344"), await scratchMailbox("7345")];
    const proxy = startFaultProxy({ targetPort: lab().imap.backup.port });
    await using tmp = await tempDir("exact-answer");
    const dir = tmp.path;
    try {
      const { n1, d1 } = lookAlikes(await seededVoicemail(), 7344);
      const configs = [];
      for (const mb of boxes) {
        const d = join(dir, mb);
        configs.push(await imapSide.config(d, throughProxy(proxy.port)));
        await appendRaw("prod", mb, "INBOX", [{ bytes: n1, date: DATE }]);
        assert.equal((await sync(configs.at(-1)!, d, mb)).failed, 0);
        // Six at once: one MULTIAPPEND whose answer is held up.
        const six = [d1, ...[1, 2, 3, 4, 5].map((k) => variant(d1, k))];
        await appendRaw("prod", mb, "INBOX", six.map((bytes) => ({ bytes, date: DATE })));
      }
      // The first mailbox shows how many bytes the backup sends in such a pass; both mailboxes
      // are alike, so in the second the answer to the APPEND starts about as far in (before it,
      // only the LOGOUT exchange of some 70 bytes).
      const before = proxy.bytes.down;
      assert.equal((await sync(configs[0], join(dir, boxes[0]), boxes[0])).failed, 0);
      const passBytes = proxy.bytes.down - before;
      proxy.setFault({ kind: "delay", direction: "down", afterBytes: passBytes - 100, ms: 5000 });
      const late = await sync(configs[1], join(dir, boxes[1]), boxes[1]);
      assert.equal(late.failed, 1, "the answer must come too late");
      assert.match(late.mailboxes[0].error?.operation ?? "", /append/i, "not the APPEND's answer");
      // The messages are on the backup already: the next pass records them instead of copying.
      const next = await sync(configs[1], join(dir, boxes[1]), boxes[1]);
      assert.equal(next.failed, 0, JSON.stringify(next.mailboxes[0].error));
      assert.equal(next.totals.copied, 0);
      await assertExact(imapSide, configs[1], boxes[1]);
      await new Promise((r) => setTimeout(r, 5500));
      assert.equal((await sync(configs[1], join(dir, boxes[1]), boxes[1])).failed, 0);
      await assertExact(imapSide, configs[1], boxes[1]);
    } finally {
      await proxy.close();
      for (const mb of boxes) {
        await wipeMailbox("prod", mb);
        await wipeMailbox("backup", mb);
      }
    }
  },
});

Deno.test({
  name:
    "[files] an open intent is resolved only by its own bytes, never by a look-alike the map holds",
  async fn() {
    const mb = await scratchMailbox("7343");
    await using tmp = await tempDir("exact-files");
    const dir = tmp.path;
    try {
      const config = await filesSide.config(dir);
      const { n1, n2, d1, d2 } = lookAlikes(await seededVoicemail(), 7343);
      await appendRaw(
        "prod",
        mb,
        "INBOX",
        [n1, n2, d1, d2].map((bytes) => ({ bytes, date: DATE })),
      );
      assert.equal((await sync(config, dir, mb)).failed, 0);
      await assertExact(filesSide, config, mb);
      // A crash after the intents of n2 and d2 were written and before their files were: the
      // store has n1 and d1 only, the map knows n1 and d1, the intents of n2 and d2 are open.
      const prod = (await snapshot("prod", mb, ["INBOX"])).folders.INBOX;
      const state = await openState(join(dir, "state.kv"));
      try {
        const map = await listMap(state, {
          mailbox: mb,
          folder: "INBOX",
          uidValidity: prod.uidValidity,
        });
        const second = [prod.messages[1], prod.messages[3]];
        const root = (config.target as { root: string }).root;
        for (const m of second) {
          const entry = map.find((e) => e.srcUid === m.uid)!;
          for (const e of Deno.readDirSync(join(root, mb, "INBOX"))) {
            if (e.name.startsWith(".")) continue;
            const meta = JSON.parse(
              Deno.readTextFileSync(join(root, mb, "INBOX", e.name, "meta.json")),
            );
            if (meta.uid === entry.targetUid) {
              Deno.removeSync(join(root, mb, "INBOX", e.name), { recursive: true });
            }
          }
          await deleteMapEntries(
            state,
            { mailbox: mb, folder: "INBOX", uidValidity: prod.uidValidity },
            [m.uid],
          );
          await putIntent(state, { mailbox: mb, folder: "INBOX", uidValidity: prod.uidValidity }, {
            srcUid: m.uid,
            messageId: entry.messageId,
            internalDate: entry.internalDate,
            size: entry.size,
            srcMessageId: entry.messageId,
            srcSize: entry.size,
            kind: "copy",
            startedAt: new Date().toISOString(),
            digest: sha256(m.bytes),
          });
        }
      } finally {
        closeState(state);
      }
      assert.equal((await filesSide.read(config, mb, ["INBOX"])).folders.INBOX.messages.length, 2);
      // The crash came after the folder's cursor was saved: a new message makes the next pass
      // look at the folder again (a real crash leaves the cursor behind the open intents).
      await appendRaw("prod", mb, "INBOX", [{ bytes: variant(d1, 99), date: DATE }]);
      assert.equal((await sync(config, dir, mb)).failed, 0);
      await assertExact(filesSide, config, mb);
    } finally {
      await wipeMailbox("prod", mb);
    }
  },
});
