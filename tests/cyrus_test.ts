/**
 * Cyrus IMAP as the second server implementation (issue 16): the lab's instance (classic
 * namespace, proxy authorization, sasldb PINs, production's voicemail copied), and what vmirror
 * does differently for it — folder names mapped into Cyrus's personal namespace (`Greetings` ↔
 * `INBOX.Greetings`), the namespace asked once per endpoint. The mirror itself against Cyrus on
 * either side runs in the shared suite (mirror_shared_test.ts, PAIRINGS).
 */
import assert from "node:assert/strict";
import { ImapFlow } from "imapflow";
import { labStatus } from "../scripts/lab.ts";
import { ImapSession } from "../engine/imap/mod.ts";
import { openImapTarget } from "../engine/target/mod.ts";
import {
  capabilityFilteringRelay,
  cyrusSide,
  cyrusSnapshot,
  lab,
  tempDir,
  verb,
  withCyrus,
} from "./test_utils/mod.ts";

/** A subscriber's own login (PIN) on the lab's Cyrus; resolves to whether it was accepted. */
async function pinLogin(user: string, pass: string, authzid?: string): Promise<boolean> {
  const l = lab();
  const client = new ImapFlow({
    host: l.cyrus.host,
    port: l.cyrus.port,
    secure: false,
    doSTARTTLS: false,
    disableCompression: true,
    disableAutoIdle: true,
    logger: false,
    auth: { user, pass, authzid, loginMethod: "AUTH=PLAIN" },
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.logout();
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

Deno.test("the lab runs Cyrus with the classic namespace and production's voicemail", async () => {
  const l = lab();
  const rows = (await labStatus({ dir: l.dir, portOffset: l.portOffset }))
    .filter((r) => r.name.startsWith("cyrus"));
  assert.deepEqual(rows.map((r) => [r.name, r.up]), [["cyrus imap", true], ["cyrus imaps", true]]);
  assert.equal(l.cyrus.separator, ".");
  assert.equal(l.cyrus.personalPrefix, "INBOX.");
  assert.equal(l.cyrus.greetingsFolder, `INBOX.${l.greetingsFolder}`);
  // 4007..4012 are no pairing's scratch or seeded mailboxes: still as the lab copied them.
  const mb = "4012";
  await withCyrus(mb, async (c) => {
    const folders = (await c.list()).map((f) => [f.path, f.delimiter]);
    assert.deepEqual(folders.sort(), [["INBOX", "."], [l.cyrus.greetingsFolder, "."]]);
  });
  const snap = await cyrusSnapshot(mb, l.folders);
  for (const folder of l.folders) {
    const seeded = l.seeded[mb].messages.filter((m) => m.folder === folder);
    assert.equal(l.cyrus.seeded[mb][folder], seeded.length, `${folder}: copied count`);
    assert.deepEqual(
      snap.folders[folder].messages.map((m) => m.messageId).sort(),
      seeded.map((m) => m.messageId).sort(),
      `${folder}: the same messages as production`,
    );
    for (const m of snap.folders[folder].messages) {
      const s = seeded.find((x) => x.messageId === m.messageId)!;
      assert.equal(m.internalDate, Date.parse(s.internalDate), `${m.messageId}: date`);
      assert.equal(m.size, s.size, `${m.messageId}: size`);
    }
  }
});

Deno.test("Cyrus: subscribers log in with their PIN; only the trusted server may act for others", async () => {
  const l = lab();
  const [a, b] = l.mailboxes;
  assert.equal(await pinLogin(a.mailbox, a.pin), true, "own PIN");
  assert.equal(await pinLogin(a.mailbox, "000000"), false, "wrong PIN");
  // Proxy authorization is the trusted server's (proxyservers), not a subscriber's.
  assert.equal(await pinLogin(a.mailbox, a.pin, b.mailbox), false, "subscriber acting for another");
  assert.equal(await pinLogin(l.trusted.user, l.trusted.password, b.mailbox), true, "trusted");
});

Deno.test("Cyrus: vmirror's session maps configured folder names into Cyrus's namespace", async () => {
  const l = lab();
  await using tmp = await tempDir("cyrus-namespace");
  const relay = capabilityFilteringRelay(l.cyrus.port, []);
  try {
    const config = await cyrusSide.config(tmp.path, (raw) => {
      (raw.target as Record<string, unknown>).port = relay.port;
    });
    assert.ok(config.target?.type === "imap");
    const mb = "4012";
    const greetings = l.cyrus.seeded[mb][l.greetingsFolder];
    for (let i = 0; i < 2; i++) {
      const s = await ImapSession.open(config.target, mb);
      try {
        // Cyrus: "Greetings" is "INBOX.Greetings"; a name already in Cyrus's terms is kept.
        assert.equal((await s.status(l.greetingsFolder))?.MESSAGES, String(greetings));
        assert.equal((await s.status(l.cyrus.greetingsFolder))?.MESSAGES, String(greetings));
        assert.equal((await s.status("INBOX"))?.MESSAGES, String(l.cyrus.seeded[mb].INBOX));
      } finally {
        await s.logout();
      }
    }
    const asked = relay.commands.filter((c) => verb(c) === "NAMESPACE");
    assert.equal(asked.length, 1, `NAMESPACE once per endpoint:\n${relay.commands.join("\n")}`);
    assert.ok(
      relay.commands.some((c) => / STATUS "?INBOX\.Greetings"? /.test(c)),
      relay.commands.join("\n"),
    );

    // The target creates a configured "Archive/2024" as Cyrus's "INBOX.Archive.2024".
    const scratch = "7710";
    await cyrusSide.wipe(config, scratch);
    const target = await openImapTarget(config.target, scratch);
    try {
      const folder = await target.openFolder("Archive/2024");
      assert.equal((await folder.listUids()).size, 0);
    } finally {
      await target.close();
    }
    await withCyrus(scratch, async (c) => {
      const paths = (await c.list()).map((f) => f.path).sort();
      assert.deepEqual(paths, ["INBOX", "INBOX.Archive", "INBOX.Archive.2024"]);
    });
    await cyrusSide.wipe(config, scratch);
  } finally {
    relay.close();
  }
});
