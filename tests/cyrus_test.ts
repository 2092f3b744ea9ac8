/**
 * Cyrus IMAP as the second server implementation (issue 16): the lab's two instances (classic
 * namespace, proxy authorization, sasldb PINs; one with production's voicemail copied, one an
 * empty backup with `maxmessagesize`), and what vmirror does differently for Cyrus — folder
 * names mapped into Cyrus's personal namespace (`Greetings` ↔ `INBOX.Greetings`) by the lean
 * session (NAMESPACE asked once per endpoint) and by the imapflow clients (connection test,
 * portal, restore), the portal's PIN check by the subscriber's own login on a Cyrus backup, and
 * IDLE on a Cyrus production (Cyrus has no NOTIFY). The mirror itself against Cyrus on either
 * side runs in the shared suite (mirror_shared_test.ts, PAIRINGS); kill -9, restore and the
 * backup's size refusal in crash_test.ts, restore_test.ts and over_length_test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ImapFlow } from "imapflow";
import { labStatus } from "../scripts/lab.ts";
import { ImapSession } from "../engine/imap/mod.ts";
import { runScheduler, runSync, type SyncSummary } from "../engine/mirror/mod.ts";
import { probeImap } from "../engine/probe/mod.ts";
import { addSubscriptions, closeState, openState } from "../engine/state/mod.ts";
import { openImapTarget } from "../engine/target/mod.ts";
import { clearVoiceCache } from "../portal/mailbox_reader.ts";
import { createApp } from "../portal/app.tsx";
import { messageLinks, PortalClient } from "../portal/test_util.ts";
import {
  capabilityFilteringRelay,
  cyrusBackupSide,
  cyrusSide,
  cyrusSnapshot,
  cyrusSource,
  lab,
  tempDir,
  variant,
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
  assert.deepEqual(rows.map((r) => [r.name, r.up]), [
    ["cyrus imap", true],
    ["cyrus imaps", true],
    ["cyrus-backup imap", true],
    ["cyrus-backup imaps", true],
  ]);
  // The backup Cyrus announces its maxmessagesize as APPENDLIMIT (RFC 7889).
  assert.ok(l.cyrusBackup.maxMessageSize > 0);
  await withCyrus("4012", (c) => {
    assert.equal(c.capabilities.get("APPENDLIMIT"), l.cyrusBackup.maxMessageSize);
    return Promise.resolve();
  }, "cyrus-backup");
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

Deno.test("Cyrus: the connection test finds the configured folders under Cyrus's names", async () => {
  const l = lab();
  await using tmp = await tempDir("cyrus-probe");
  const config = await cyrusSide.config(tmp.path, cyrusSource.patch);
  const r = await probeImap(config.source, {
    side: "source",
    mailbox: "4012",
    folders: l.folders,
    greetingsFolder: l.greetingsFolder,
  });
  const folders = r.steps.find((s) => s.step === "folders")!;
  assert.equal(r.ok, true, JSON.stringify(r.steps));
  // Listed by Cyrus as "INBOX.Greetings", compared as configured.
  assert.deepEqual(folders.info?.missing, []);
  assert.deepEqual((folders.info?.found as string[]).sort(), [...l.folders].sort());
});

Deno.test({
  name:
    "portal with a Cyrus backup: PIN login by the subscriber's own Cyrus login, inbox and greetings",
  async fn(t) {
    const l = lab();
    const mb = "4008";
    const sub = l.mailboxes.find((m) => m.mailbox === mb)!;
    await using tmp = await tempDir("cyrus-portal");
    const config = await cyrusBackupSide.config(tmp.path, cyrusSource.patch);
    // The default: PINs checked by a login to the backup MSS (portal.pinCheck "imap").
    assert.equal(config.portal.pinCheck, "imap");
    await cyrusBackupSide.wipe(config, mb);
    const state = await openState(join(tmp.path, "state.kv"));
    try {
      const s = await runSync(config, state, { mailboxes: [mb] });
      assert.equal(s.failed, 0, JSON.stringify(s.mailboxes[0].error));
      clearVoiceCache();
      const portal = createApp({ config, state, adminIterations: 1000 });
      const browser = new PortalClient(portal);
      await t.step("a wrong PIN is refused, the subscriber's PIN signs in", async () => {
        const bad = await browser.login(mb, "000000");
        assert.equal(bad.status, 401);
        await bad.body?.cancel();
        const ok = await browser.login(mb, sub.pin);
        assert.equal(ok.status, 303);
        assert.equal(ok.headers.get("location"), "/inbox");
        await ok.body?.cancel();
      });
      await t.step(
        "the inbox and the greetings folder (INBOX.Greetings) list the mirror",
        async () => {
          const seeded = (folder: string) =>
            l.seeded[mb].messages.filter((m) => m.folder === folder && !m.broadcast).length;
          const inbox = await browser.page("/inbox");
          assert.equal(inbox.res.status, 200);
          assert.equal(messageLinks(inbox.html).length, seeded("INBOX"));
          const greetings = await browser.page("/inbox?f=1");
          assert.equal(messageLinks(greetings.html).length, seeded(l.greetingsFolder));
          assert.ok(seeded(l.greetingsFolder) > 0);
          const link = messageLinks(greetings.html)[0];
          const audio = await browser.request(`${link}/audio/0`);
          assert.equal(audio.status, 200);
          assert.equal(audio.headers.get("content-type"), "audio/wav");
          await audio.body?.cancel();
        },
      );
    } finally {
      closeState(state);
      await cyrusBackupSide.wipe(config, mb);
    }
  },
});

Deno.test({
  name: "Cyrus production (no NOTIFY): IDLE gets a new message mirrored before any poll",
  async fn() {
    const mb = "7723";
    const seed = (await cyrusSnapshot("4002", ["INBOX"])).folders.INBOX.messages[0].bytes;
    await cyrusSource.fill(mb, 1);
    await using tmp = await tempDir("cyrus-idle");
    const config = await cyrusBackupSide.config(tmp.path, (raw) => {
      cyrusSource.patch(raw);
      raw.schedule = { syncSeconds: 3600, idle: true, idleMailboxes: 5 };
    });
    const state = await openState(join(tmp.path, "state.kv"));
    const ac = new AbortController();
    const passes: { cause: string; summary: SyncSummary }[] = [];
    const waitFor = async (pred: () => boolean, what: string) => {
      const until = Date.now() + 30_000;
      while (!pred() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      assert.ok(pred(), `timed out waiting for ${what}: ${JSON.stringify(passes)}`);
    };
    let running: Promise<void> | undefined;
    try {
      await addSubscriptions(state, [mb]);
      running = runScheduler(config, state, {
        signal: ac.signal,
        onPass: (summary, cause) => passes.push({ cause, summary }),
      });
      await waitFor(() => passes.length >= 1, "the first pass");
      assert.equal(passes[0].summary.totals.copied, 1);
      // Give the watcher a moment to enter IDLE, then a new message arrives on production.
      await new Promise((r) => setTimeout(r, 1500));
      const from = passes.length;
      await cyrusSource.appendRaw(mb, "INBOX", [{ bytes: variant(seed, 7723), date: new Date() }]);
      await waitFor(
        () => passes.slice(from).some((p) => p.cause !== "poll" && p.summary.totals.copied === 1),
        "an IDLE-triggered copy",
      );
      assert.equal(passes.filter((p) => p.cause === "poll").length, 1, "no second poll");
      const mirror = await cyrusBackupSide.read(config, mb, ["INBOX"]);
      assert.equal(mirror.folders.INBOX.messages.length, 2);
    } finally {
      ac.abort();
      await running;
      closeState(state);
      await cyrusBackupSide.wipe(config, mb);
    }
  },
});

Deno.test("Cyrus production: a pass with no change is a login and one STATUS per folder", async () => {
  const l = lab();
  const mb = "4009";
  await using tmp = await tempDir("cyrus-no-change");
  const relay = capabilityFilteringRelay(l.cyrus.port, []);
  try {
    const config = await cyrusBackupSide.config(tmp.path, (raw) => {
      cyrusSource.patch(raw);
      (raw.source as Record<string, unknown>).port = relay.port;
    });
    await cyrusBackupSide.wipe(config, mb);
    const state = await openState(join(tmp.path, "state.kv"));
    try {
      const first = await runSync(config, state, { mailboxes: [mb] });
      assert.equal(first.failed, 0, JSON.stringify(first.mailboxes[0].error));
      assert.ok(first.totals.copied > 0);
      const from = relay.commands.length;
      const again = await runSync(config, state, { mailboxes: [mb] });
      assert.equal(again.failed, 0);
      assert.equal(again.totals.copied, 0);
      const verbs = relay.commands.slice(from).map(verb).filter((v) => v !== "LOGOUT");
      // CONDSTORE's HIGHESTMODSEQ comes with STATUS on Cyrus without an ENABLE.
      assert.deepEqual(verbs, ["AUTHENTICATE", "STATUS", "STATUS"], verbs.join(" "));
    } finally {
      closeState(state);
    }
    await cyrusBackupSide.wipe(config, mb);
  } finally {
    relay.close();
  }
});
