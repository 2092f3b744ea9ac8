/**
 * UID SEARCH with an 8-bit value against the lab's Dovecot: a backup without UIDPLUS (reached
 * through a capability-filtering relay) gives no APPENDUID, so each copy's UID is found by
 * searching its Message-ID. A Message-ID with UTF-8 bytes must be sent as those bytes, under
 * `CHARSET UTF-8`, as a literal — then the copy is found, recorded, and not copied again.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeState, openState } from "../engine/state/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import {
  appendRaw,
  capabilityFilteringRelay,
  lab,
  labConfig,
  scratchMailbox,
  snapshot,
  tempDir,
  verb,
} from "./test_utils/mod.ts";

const MAILBOX = "7391";

/** A small text message whose Message-ID is `id`, written as UTF-8 bytes. */
function message(id: string, subject: string): Uint8Array {
  return new TextEncoder().encode(
    [
      'From: "Ünal Groß" <7001@mss.lab>',
      `To: <${MAILBOX}@mss.lab>`,
      `Subject: ${subject}`,
      `Message-ID: ${id}`,
      "Date: Fri, 20 Nov 2026 08:00:00 +0000",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "",
      "Grüße aus dem Labor.",
      "",
    ].join("\r\n"),
  );
}

Deno.test({
  name: "a copy with an 8-bit Message-ID is found after APPEND without UIDPLUS, and kept once",
  async fn(t) {
    const mb = await scratchMailbox(MAILBOX);
    const tag = crypto.randomUUID();
    const eightBit = `<grüße-ß-${tag}@vmirror.test>`;
    const plain = `<plain-${tag}@vmirror.test>`;
    await appendRaw("prod", mb, "INBOX", [
      { bytes: message(eightBit, "8-bit id"), flags: ["\\Seen"] },
      { bytes: message(plain, "7-bit id"), flags: [] },
    ]);
    // The engine reads header bytes one char per byte, so does the snapshot.
    const wireId = new TextDecoder("latin1").decode(new TextEncoder().encode(eightBit));

    // No UIDPLUS (so no APPENDUID) and no LITERAL+ (so the search's literal waits for "+").
    const relay = capabilityFilteringRelay(lab().imap.backup.port, [
      "UIDPLUS",
      "LITERAL+",
      "LITERAL-",
    ]);
    await using dir = await tempDir("imap-search");
    const config = await labConfig(dir.path, (raw) => {
      (raw.target as Record<string, unknown>).port = relay.port;
      (raw.source as Record<string, unknown>).folders = ["INBOX"];
      delete (raw.source as Record<string, unknown>).greetingsFolder;
    });
    const state = await openState(join(dir.path, "state.kv"));
    const transcript = () => relay.commands.join("\n");
    try {
      await t.step("the first pass copies both and finds each copy by its Message-ID", async () => {
        const s = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(s.failed, 0, `${JSON.stringify(s.mailboxes[0].error)}\n${transcript()}`);
        assert.equal(s.totals.copied, 2, transcript());
        assert.ok(!relay.announced.has("UIDPLUS"), "UIDPLUS reached the engine");
        const searches = relay.commands.filter((c) => verb(c) === "UID SEARCH");
        // 8-bit: CHARSET UTF-8 and a synchronizing literal; 7-bit: a quoted string as before.
        assert.ok(
          searches.some((c) => /^\S+ UID SEARCH CHARSET UTF-8 HEADER Message-ID \{\d+\}$/.test(c)),
          transcript(),
        );
        assert.ok(
          searches.some((c) => c.endsWith(` UID SEARCH HEADER Message-ID "${plain}"`)),
          transcript(),
        );
        const backup = (await snapshot("backup", mb, ["INBOX"])).folders.INBOX.messages;
        assert.equal(backup.filter((m) => m.messageId === wireId).length, 1);
        assert.equal(backup.filter((m) => m.messageId === plain).length, 1);
      });

      await t.step("the next pass copies nothing: the copies were recorded", async () => {
        relay.commands.length = 0;
        const s = await runSync(config, state, { mailboxes: [mb] });
        assert.equal(s.failed, 0, JSON.stringify(s.mailboxes[0].error));
        assert.equal(s.totals.copied, 0, transcript());
        assert.ok(!relay.commands.some((c) => verb(c) === "APPEND"), transcript());
        const backup = (await snapshot("backup", mb, ["INBOX"])).folders.INBOX.messages;
        assert.equal(backup.length, 2);
        assert.equal(backup.filter((m) => m.messageId === wireId).length, 1);
      });
    } finally {
      closeState(state);
      relay.close();
    }
  },
});
