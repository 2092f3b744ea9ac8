/**
 * The mirror against servers with a minimal capability set, like an older voicemail message
 * store: no SASL-IR, LITERAL+ / LITERAL-, MULTIAPPEND, UIDPLUS, CONDSTORE, QRESYNC, ENABLE,
 * LIST-STATUS or ID. The lab has no such server, so each side is reached through a
 * capability-filtering relay: a relay in front of the real Dovecot that hides capabilities,
 * emulating an older store. It forwards bytes both ways, removes the hidden names from every
 * capability list the server sends (greeting, `* CAPABILITY`, tagged `OK [CAPABILITY …]`), and
 * records the client's commands, so the test sees which fallbacks the engine took: AUTHENTICATE
 * with a continuation, synchronizing literals, one APPEND per message, a search for each copy's
 * UID, \Deleted + EXPUNGE, and a full flag scan on every pass.
 *
 * Dovecot behind the relay still implements what is hidden; the engine only knows what it is
 * told, which is what an older store tells it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeState, openState } from "../engine/state/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import {
  appendRaw,
  assertMirrored,
  assertReadOnly,
  capabilityFilteringRelay,
  hideCapabilities,
  imapFramer,
  isBroadcast,
  lab,
  labConfig,
  OLDER_STORE_HIDES,
  scratchMailbox,
  snapshot,
  tempDir,
  variant,
  verb,
  withImap,
} from "./test_utils/mod.ts";

const HIDDEN = OLDER_STORE_HIDES;

const latin1 = new TextDecoder("latin1");

/** Latin-1 text back to the bytes it was decoded from (TextEncoder would write UTF-8). */
function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (!a.length) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The literals a recorded command carries (`{n}` or `{n+}`), as written. */
function literals(line: string): string[] {
  return line.match(/\{\d+\+?\}/g) ?? [];
}

/**
 * A fax message (a TIFF attachment in base64) of about `rawBytes` * 4/3 bytes. It has no voice
 * part, so the lab's duration limit does not make it a placeholder: it is copied whole.
 */
function faxMessage(rawBytes: number, id: string): Uint8Array {
  const tiff = new Uint8Array(rawBytes);
  for (let i = 0; i < tiff.length; i += 65536) {
    crypto.getRandomValues(tiff.subarray(i, Math.min(i + 65536, tiff.length)));
  }
  tiff.set([0x49, 0x49, 0x2a, 0x00]); // little-endian TIFF magic
  let b64 = "";
  for (let i = 0; i < tiff.length; i += 57 * 1000) {
    const slice = tiff.subarray(i, Math.min(i + 57 * 1000, tiff.length));
    b64 += btoa(String.fromCharCode(...slice)).replace(/.{76}/g, "$&\r\n");
    if (!b64.endsWith("\n")) b64 += "\r\n";
  }
  const head = [
    'From: "Fax Machine" <15550123@mss.lab>',
    "To: <7380@mss.lab>",
    "Subject: Fax, 40 pages",
    `Message-ID: <${id}@test>`,
    "Date: Fri, 20 Nov 2026 08:00:00 +0000",
    "MIME-Version: 1.0",
    'Content-Type: multipart/fax-message; boundary="f1"',
    "",
    "--f1",
    "Content-Type: image/tiff; application=faxbw",
    "Content-Transfer-Encoding: base64",
    "Content-Disposition: inline; filename=fax.tif",
    "",
    "",
  ].join("\r\n");
  return latin1Bytes(`${head}${b64}--f1--\r\n`);
}

/** No command relied on a hidden capability. */
function assertNoHiddenExtensions(commands: string[], side: string) {
  const log = `${side}:\n${commands.join("\n")}`;
  for (const c of commands) {
    assert.ok(!/^\S+ AUTHENTICATE \S+ \S/i.test(c), `SASL-IR initial response sent: ${c}`);
    assert.deepEqual(
      literals(c).filter((l) => l.endsWith("+}")),
      [],
      `non-synchronizing literal: ${c}`,
    );
    assert.ok(!/CHANGEDSINCE|HIGHESTMODSEQ|QRESYNC|CONDSTORE/i.test(c), `CONDSTORE: ${c}`);
  }
  const verbs = new Set(commands.map(verb));
  for (const v of ["UID EXPUNGE", "ENABLE", "ID"]) assert.ok(!verbs.has(v), `${v} sent\n${log}`);
}

Deno.test("the capability filter rewrites capability lists only, never literal data", async () => {
  const hide = new Set(["SASL-IR", "UIDPLUS", "LITERAL+"]);
  // A body that looks like capability lines, and a `{n}` inside it that is not a literal.
  const body = "* CAPABILITY IMAP4rev1 SASL-IR\r\nS9 OK [CAPABILITY UIDPLUS] x {5}\r\n";
  const input = [
    "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ IDLE AUTH=PLAIN] ready.\r\n",
    `* 1 FETCH (UID 7 BODY[] {${body.length}}\r\n${body})\r\n`,
    "S2 OK [CAPABILITY IMAP4rev1 UIDPLUS IDLE] Logged in\r\n",
    "* CAPABILITY IMAP4rev1 LITERAL+ IDLE\r\n",
    "* OK [UIDVALIDITY 3] SASL-IR stays outside capability lists\r\n",
  ].join("");
  const expected = [
    "* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN] ready.\r\n",
    `* 1 FETCH (UID 7 BODY[] {${body.length}}\r\n${body})\r\n`,
    "S2 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n",
    "* CAPABILITY IMAP4rev1 IDLE\r\n",
    "* OK [UIDVALIDITY 3] SASL-IR stays outside capability lists\r\n",
  ].join("");
  const bytes = latin1Bytes(input);
  // Every chunking, from byte by byte up, must frame the same way.
  for (const size of [1, 2, 3, 7, 16, 61, bytes.length]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
    const offered = new Set<string>();
    const out: Uint8Array[] = [];
    await ReadableStream.from(chunks)
      .pipeThrough(imapFramer((line) => hideCapabilities(line, hide, offered)))
      .pipeTo(new WritableStream({ write: (c) => void out.push(c) }));
    assert.equal(latin1.decode(out.reduce(concat, new Uint8Array(0))), expected, `chunks ${size}`);
    assert.ok(offered.has("SASL-IR") && offered.has("UIDPLUS") && offered.has("LITERAL+"));
  }
});

Deno.test({
  name: "a store without SASL-IR, LITERAL+, MULTIAPPEND, UIDPLUS or CONDSTORE is mirrored exactly",
  async fn(t) {
    const l = lab();
    const folders = [...l.folders];
    const mb = await scratchMailbox("7380");
    const seeded = await snapshot("prod", "4002", ["INBOX"]);
    const pool = seeded.folders.INBOX.messages.filter((m) => !isBroadcast(m.bytes));
    const small = Array.from({ length: 5 }, (_, i) => {
      const src = pool[i % pool.length];
      return {
        bytes: variant(src.bytes, i + 1),
        flags: src.flags,
        date: new Date(src.internalDate - i * 60_000),
      };
    });
    // Over the engine's 4 MiB threshold: read in ranges into a spool file, APPENDed streamed.
    const big = faxMessage(4_000_000, `fax-${crypto.randomUUID()}`);
    assert.ok(big.length > 4 * 1024 * 1024);
    const uids = await appendRaw("prod", mb, "INBOX", [
      ...small,
      { bytes: big, flags: ["\\Seen"], date: new Date("2026-11-20T08:00:05Z") },
    ]);
    await appendRaw("prod", mb, l.greetingsFolder, [{
      bytes: variant(pool[0].bytes, 9),
      flags: ["\\Seen"],
      date: new Date("2026-11-01T12:00:00Z"),
    }]);
    const total = small.length + 2;
    // The scan's flags must differ between messages, or a flag mix-up would go unnoticed.
    assert.ok(new Set(small.map((m) => m.flags.join(" "))).size > 1);

    const prodRelay = capabilityFilteringRelay(l.imap.prod.port);
    const backupRelay = capabilityFilteringRelay(l.imap.backup.port);
    await using tmp = await tempDir("minimal");
    const dir = tmp.path;
    const config = await labConfig(dir, (raw) => {
      (raw.source as Record<string, unknown>).port = prodRelay.port;
      (raw.target as Record<string, unknown>).port = backupRelay.port;
    });
    const state = await openState(join(dir, "state.kv"));
    const transcript = () =>
      `production:\n${prodRelay.commands.join("\n")}\nbackup:\n${backupRelay.commands.join("\n")}`;
    try {
      await t.step(
        "first pass: everything copied byte for byte, with flags and dates",
        async () => {
          const before = await snapshot("prod", mb, folders);
          const s = await runSync(config, state, { mailboxes: [mb] });
          assert.equal(s.failed, 0, `${JSON.stringify(s.mailboxes[0].error)}\n${transcript()}`);
          assert.equal(s.totals.copied, total);
          assert.equal(s.totals.placeholders, 0);
          assert.deepEqual(await snapshot("prod", mb, folders), before, "production changed");
          const backup = await snapshot("backup", mb, folders);
          assertMirrored(before, backup);
          assert.ok(backup.folders.INBOX.messages.some((m) => m.bytes.length === big.length));
        },
      );

      await t.step("the relays hid what Dovecot offers", () => {
        for (const r of [prodRelay, backupRelay]) {
          // Hiding something the server never had would prove nothing.
          for (const c of ["SASL-IR", "LITERAL+", "MULTIAPPEND", "UIDPLUS", "CONDSTORE"]) {
            assert.ok(r.offered.has(c), `Dovecot did not offer ${c}`);
          }
          assert.ok(r.announced.size > 0, "no capability list reached the engine");
          for (const c of HIDDEN) assert.ok(!r.announced.has(c), `${c} reached the engine`);
        }
      });

      await t.step("the first pass took the fallbacks", () => {
        for (const [side, r] of [["production", prodRelay], ["backup", backupRelay]] as const) {
          assertNoHiddenExtensions(r.commands, side);
          // SASL PLAIN without SASL-IR: the credentials follow a "+" continuation.
          const auth = r.commands.filter((c) => verb(c) === "AUTHENTICATE");
          assert.ok(auth.length > 0, `${side}: no AUTHENTICATE\n${transcript()}`);
          for (const c of auth) assert.match(c, /^\S+ AUTHENTICATE PLAIN$/i);
        }
        assertReadOnly(prodRelay.commands);
        // The large message was read in ranges, not whole.
        assert.ok(prodRelay.commands.some((c) => /BODY\.PEEK\[\]<\d+\.\d+>/i.test(c)));
        const appends = backupRelay.commands.filter((c) => verb(c) === "APPEND");
        // No MULTIAPPEND: one APPEND per message, each carrying one synchronizing literal.
        assert.equal(appends.length, total, transcript());
        for (const a of appends) assert.equal(literals(a).length, 1, a);
        assert.ok(appends.some((a) => literals(a)[0] === `{${big.length}}`), "no streamed APPEND");
        // No UIDPLUS: no APPENDUID, so each copy's UID is found by its Message-ID.
        const searches = backupRelay.commands.filter((c) =>
          /^\S+ UID SEARCH HEADER Message-ID /i.test(c)
        );
        assert.ok(searches.length >= total, transcript());
      });

      await t.step("a deletion and a flag change on production reach the backup", async () => {
        await withImap("prod", mb, async (c) => {
          await c.mailboxOpen("INBOX");
          await c.messageDelete(String(uids[0]), { uid: true });
          await c.messageFlagsRemove(String(uids[1]), ["\\Seen"], { uid: true });
          await c.messageFlagsAdd(String(uids[1]), ["\\Flagged", "\\Answered"], { uid: true });
        });
        const before = await snapshot("prod", mb, folders);
        prodRelay.commands.length = 0;
        backupRelay.commands.length = 0;
        const s = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(s.failed, 0, `${JSON.stringify(s.mailboxes[0].error)}\n${transcript()}`);
        assert.deepEqual(
          [s.totals.copied, s.totals.deleted, s.totals.flagsUpdated],
          [0, 1, 1],
          transcript(),
        );
        assert.deepEqual(await snapshot("prod", mb, folders), before, "production changed");
        assertMirrored(before, await snapshot("backup", mb, folders));
        assertReadOnly(prodRelay.commands);
        assertNoHiddenExtensions(prodRelay.commands, "production");
        assertNoHiddenExtensions(backupRelay.commands, "backup");
        // Without CONDSTORE the change is found by scanning every message's flags.
        assert.ok(
          prodRelay.commands.some((c) => /^\S+ UID FETCH 1:\* \(UID FLAGS[^)]*\)$/i.test(c)),
          transcript(),
        );
        // Without UIDPLUS: mark \Deleted, check nothing else is marked, plain EXPUNGE.
        const backupVerbs = backupRelay.commands.map(verb);
        assert.ok(
          backupRelay.commands.some((c) => /UID STORE \d+ \+FLAGS\.SILENT \(\\Deleted\)$/i.test(c)),
          transcript(),
        );
        assert.ok(backupRelay.commands.some((c) => /^\S+ UID SEARCH DELETED$/i.test(c)));
        assert.equal(backupVerbs.filter((v) => v === "EXPUNGE").length, 1, transcript());
        assert.ok(!backupVerbs.includes("APPEND"));
      });

      await t.step("a pass with no change scans the flags and copies nothing", async () => {
        const prodBefore = await snapshot("prod", mb, folders);
        const backupBefore = await snapshot("backup", mb, folders);
        prodRelay.commands.length = 0;
        backupRelay.commands.length = 0;
        const s = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(s.failed, 0, `${JSON.stringify(s.mailboxes[0].error)}\n${transcript()}`);
        const t3 = s.totals;
        assert.deepEqual(
          [t3.copied, t3.deleted, t3.flagsUpdated, t3.placeholders],
          [0, 0, 0, 0],
          transcript(),
        );
        // Every folder is scanned again (STATUS cannot show a flag change without CONDSTORE)…
        const scans = prodRelay.commands.filter((c) => /^\S+ UID FETCH 1:\* \(UID FLAGS/i.test(c));
        assert.equal(scans.length, folders.length, transcript());
        assertReadOnly(prodRelay.commands);
        assertNoHiddenExtensions(prodRelay.commands, "production");
        // …and no body is read, nothing is written.
        assert.ok(!prodRelay.commands.some((c) => /BODY\.PEEK\[\]/i.test(c)), transcript());
        const backupVerbs = new Set(backupRelay.commands.map(verb));
        for (const v of ["APPEND", "UID STORE", "STORE", "EXPUNGE", "UID EXPUNGE", "CREATE"]) {
          assert.ok(!backupVerbs.has(v), `the backup received ${v}\n${transcript()}`);
        }
        // HIGHESTMODSEQ (read directly, not through the relay) proves nothing was stored.
        assert.deepEqual(await snapshot("prod", mb, folders), prodBefore, "production changed");
        assert.deepEqual(await snapshot("backup", mb, folders), backupBefore, "backup changed");
      });

      await t.step(
        "without UIDPLUS, a deletion never expunges another message marked \\Deleted",
        async () => {
          const prod = await snapshot("prod", mb, ["INBOX"]);
          const idOf = (uid: number) => prod.folders.INBOX.messages.find((m) => m.uid === uid)!;
          const stranger = idOf(uids[2]).messageId;
          const gone = idOf(uids[3]).messageId;
          const backupUid = async (id: string | null) =>
            (await snapshot("backup", mb, ["INBOX"])).folders.INBOX.messages
              .find((m) => m.messageId === id)?.uid;
          // Someone else (a user of the backup, another tool) marks a message \Deleted there.
          const strangerUid = await backupUid(stranger);
          assert.ok(strangerUid);
          await withImap("backup", mb, async (c) => {
            await c.mailboxOpen("INBOX");
            await c.messageFlagsAdd(String(strangerUid), ["\\Deleted"], { uid: true });
          });
          await withImap("prod", mb, async (c) => {
            await c.mailboxOpen("INBOX");
            await c.messageDelete(String(uids[3]), { uid: true });
          });
          // A new voicemail arrives meanwhile: the held-back deletion must not hold it back.
          const [fresh] = await appendRaw("prod", mb, "INBOX", [{
            bytes: variant(pool[1].bytes, 77),
          }]);
          const freshId = (await snapshot("prod", mb, ["INBOX"])).folders.INBOX.messages
            .find((m) => m.uid === fresh)!.messageId;
          backupRelay.commands.length = 0;
          const s = await runSync(config, state, { mailboxes: [mb], retryDelayMs: 10 });
          // Plain EXPUNGE would take the other message too: the engine holds back and says why.
          assert.ok(
            !backupRelay.commands.some((c) => verb(c) === "EXPUNGE"),
            `EXPUNGE sent while another message was marked \\Deleted\n${transcript()}`,
          );
          const held = await snapshot("backup", mb, ["INBOX"]);
          const flagsOf = (id: string | null) =>
            held.folders.INBOX.messages.find((m) => m.messageId === id)?.flags;
          assert.ok(flagsOf(stranger)?.includes("\\Deleted"), "the other message was expunged");
          assert.ok(flagsOf(gone)?.includes("\\Deleted"), "the copy to delete is not marked");
          // The pass goes on and says why the deletion waits; the new message is copied.
          assert.equal(s.failed, 0, JSON.stringify(s.mailboxes[0]));
          assert.equal(s.totals.deleted, 0);
          assert.equal(s.totals.copied, 1);
          assert.ok(await backupUid(freshId), "the new message was not copied");
          assert.ok(
            s.mailboxes[0].warnings.some((w) => /UIDPLUS.*\\Deleted/.test(w)),
            JSON.stringify(s.mailboxes[0].warnings),
          );
          // Nothing changes on production, yet the next pass tries the deletion again.
          const still = await runSync(config, state, { mailboxes: [mb] });
          assert.equal(still.failed, 0);
          assert.equal(still.totals.deleted, 0);
          assert.ok(still.mailboxes[0].warnings.some((w) => /UIDPLUS/.test(w)));
          // Once the other mark is gone, the next pass completes the deletion.
          await withImap("backup", mb, async (c) => {
            await c.mailboxOpen("INBOX");
            await c.messageFlagsRemove(String(strangerUid), ["\\Deleted"], { uid: true });
          });
          const again = await runSync(config, state, { mailboxes: [mb] });
          assert.equal(again.failed, 0, JSON.stringify(again.mailboxes[0].error));
          assert.equal(again.totals.deleted, 1);
          assert.equal(await backupUid(gone), undefined);
          assertMirrored(
            await snapshot("prod", mb, folders),
            await snapshot("backup", mb, folders),
          );
        },
      );
    } finally {
      closeState(state);
      prodRelay.close();
      backupRelay.close();
    }
  },
});
