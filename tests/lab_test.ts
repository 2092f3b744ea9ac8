/**
 * The lab's real servers behave as the rest of the suite assumes: trusted-server logins in both
 * forms over plain, STARTTLS and implicit TLS, seeded voicemail, LDAP directories, SMTP recorder.
 * Runs against a started lab (`deno task lab start`; the test runner starts it).
 * @module
 */

import { ImapFlow, type ImapFlowOptions, type MessageStructureObject } from "imapflow";
import { Client as LdapClient, InvalidCredentialsError } from "ldapts";
import nodemailer from "nodemailer";
import {
  addLabUser,
  type LabInfo,
  type LabSide,
  labStatus,
  readLab,
  readSmtpInbox,
  resetMailbox,
  seedMailbox,
  wavInfo,
} from "../scripts/lab.ts";

const lab: LabInfo = readLab();
const ca = Deno.readTextFileSync(lab.tls.caFile);
const sides: LabSide[] = ["prod", "backup"];
const transports = ["plain", "starttls", "tls"] as const;
type Transport = typeof transports[number];

/** Deno.test with the sanitizers on (off by default since Deno 2.8) and a time limit. */
function labTest(name: string, ms: number, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({
    name,
    sanitizeOps: true,
    sanitizeResources: true,
    fn: async (t) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Test "${name}" took longer than ${ms} ms`)), ms);
      });
      try {
        await Promise.race([fn(t), limit]);
      } finally {
        clearTimeout(timer);
      }
    },
  });
}

/** Options for a trusted-server or subscriber connection. */
function imapOptions(
  side: LabSide,
  transport: Transport,
  auth: ImapFlowOptions["auth"],
): ImapFlowOptions {
  const s = lab.imap[side];
  return {
    host: s.host,
    port: transport === "tls" ? s.imapsPort : s.port,
    secure: transport === "tls",
    doSTARTTLS: transport === "starttls",
    tls: { ca, servername: lab.tls.serverName },
    disableCompression: true,
    disableAutoIdle: true,
    logger: false,
    auth,
  };
}

/** Trusted-server login (SASL PLAIN with authzid) into a mailbox over plain IMAP. */
function trustedOptions(side: LabSide, mailbox: string): ImapFlowOptions {
  return imapOptions(side, "plain", {
    user: lab.trusted.user,
    pass: lab.trusted.password,
    authzid: mailbox,
    loginMethod: "AUTH=PLAIN",
  });
}

/** Connects, runs `fn`, and always logs out. */
async function withImap<T>(opts: ImapFlowOptions, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow(opts);
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/** Connects expecting the login to be refused; closes whatever was opened. */
async function assertLoginRefused(opts: ImapFlowOptions): Promise<void> {
  const client = new ImapFlow(opts);
  client.on("error", () => {});
  let loggedIn = false;
  try {
    await client.connect();
    loggedIn = true;
  } catch (e) {
    const err = e as { authenticationFailed?: boolean; responseText?: string };
    if (!err.authenticationFailed && !/AUTH/i.test(String(err.responseText ?? e))) throw e;
  } finally {
    client.close();
  }
  if (loggedIn) throw new Error(`Login as "${opts.auth?.user}" was accepted, expected a refusal`);
}

/** Whether the connection is encrypted and logged in as expected. */
function assertSession(c: ImapFlow, transport: Transport): void {
  if (!c.authenticated) throw new Error("Not authenticated");
  if (c.secureConnection !== (transport !== "plain")) {
    throw new Error(`TLS state ${c.secureConnection} does not fit transport "${transport}"`);
  }
}

/** Walks a body structure depth-first. */
function* walk(node: MessageStructureObject): Generator<MessageStructureObject> {
  yield node;
  for (const c of node.childNodes ?? []) yield* walk(c);
}

/** Depth of message/rfc822 nesting in a body structure. */
function rfc822Depth(node: MessageStructureObject): number {
  const below = Math.max(0, ...(node.childNodes ?? []).map(rfc822Depth));
  return node.type === "message/rfc822" ? below + 1 : below;
}

function assertEquals<T>(actual: T, expected: T, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

labTest("lab: every server is up and answers on its port", 10_000, async () => {
  const down = (await labStatus({ dir: lab.dir, portOffset: lab.portOffset })).filter((s) => !s.up);
  assertEquals(down.map((s) => s.name), [], "servers down");
});

labTest(
  "dovecot: the trusted server impersonates a mailbox with SASL PLAIN authzid",
  30_000,
  async (t) => {
    for (const side of sides) {
      for (const transport of transports) {
        await t.step(`${side} over ${transport}`, async () => {
          const auth = {
            user: lab.trusted.user,
            pass: lab.trusted.password,
            authzid: "4003",
            loginMethod: "AUTH=PLAIN",
          };
          await withImap(imapOptions(side, transport, auth), async (c) => {
            assertSession(c, transport);
            await c.mailboxOpen("INBOX", { readOnly: true });
          });
        });
      }
    }
  },
);

labTest(
  "dovecot: the trusted server impersonates with LOGIN <mailbox>*vmirror",
  30_000,
  async (t) => {
    for (const side of sides) {
      for (const transport of transports) {
        await t.step(`${side} over ${transport}`, async () => {
          const auth = {
            user: `4003${lab.trusted.separator}${lab.trusted.user}`,
            pass: lab.trusted.password,
            loginMethod: "LOGIN",
          };
          await withImap(imapOptions(side, transport, auth), async (c) => {
            assertSession(c, transport);
            await c.mailboxOpen("INBOX", { readOnly: true });
          });
        });
      }
    }
  },
);

labTest("dovecot: a wrong trusted password or an unknown mailbox is refused", 30_000, async (t) => {
  for (const side of sides) {
    await t.step(`${side}: wrong password, SASL PLAIN`, async () => {
      await assertLoginRefused(imapOptions(side, "plain", {
        user: lab.trusted.user,
        pass: `${lab.trusted.password}x`,
        authzid: "4003",
        loginMethod: "AUTH=PLAIN",
      }));
    });
    await t.step(`${side}: wrong password, LOGIN`, async () => {
      await assertLoginRefused(imapOptions(side, "plain", {
        user: `4003*${lab.trusted.user}`,
        pass: "wrong",
        loginMethod: "LOGIN",
      }));
    });
    await t.step(`${side}: unknown mailbox`, async () => {
      await assertLoginRefused(imapOptions(side, "plain", {
        user: lab.trusted.user,
        pass: lab.trusted.password,
        authzid: "9999",
        loginMethod: "AUTH=PLAIN",
      }));
    });
  }
});

labTest("dovecot: a subscriber logs in with its own PIN", 15_000, async (t) => {
  const sub = lab.mailboxes[6];
  for (const side of sides) {
    await t.step(side, async () => {
      await withImap(
        imapOptions(side, "starttls", { user: sub.mailbox, pass: sub.pin, loginMethod: "LOGIN" }),
        (c) => Promise.resolve(assertSession(c, "starttls")),
      );
      await assertLoginRefused(
        imapOptions(side, "plain", { user: sub.mailbox, pass: "000000", loginMethod: "LOGIN" }),
      );
    });
  }
});

labTest(
  "dovecot: every production mailbox opens and the seed record is consistent",
  30_000,
  async () => {
    // Other suites add and expunge messages in 4001..4012 (production is what they mirror), so
    // exact counts are checked on a fresh mailbox below, not here.
    for (const sub of lab.mailboxes) {
      await withImap(trustedOptions("prod", sub.mailbox), async (c) => {
        const boxes = (await c.list()).map((b) => b.path);
        if (!boxes.includes("INBOX")) throw new Error(`Mailbox ${sub.mailbox} has no INBOX`);
        if (!c.capabilities.has("QRESYNC") || !c.capabilities.has("CONDSTORE")) {
          throw new Error("Dovecot lacks QRESYNC/CONDSTORE");
        }
      });
      const rec = lab.seeded[sub.mailbox];
      assertEquals(
        Object.values(rec.folders).reduce((a, b) => a + b, 0),
        rec.messages.length,
        `${sub.mailbox} seed record`,
      );
    }
    const counts = Object.values(lab.seeded).map((s) => s.folders.INBOX);
    if (new Set(counts).size < 3) throw new Error(`Seeded counts do not vary: ${counts}`);
    const long = lab.seeded[lab.longMessage.mailbox].messages.find((m) =>
      m.messageId === lab.longMessage.messageId
    );
    assertEquals(long?.seconds, 150, "seconds of the over-length message");
    if (Deno.statSync(lab.audio.long).size >= 300_000) throw new Error("Long audio is over 300 KB");
  },
);

labTest(
  "seeding: a fresh mailbox gets the standard voicemail set, WAV49 and nested chains",
  60_000,
  async (t) => {
    const mailbox = `5${String(Math.floor(Math.random() * 100_000)).padStart(5, "0")}`;
    await addLabUser("prod", mailbox, "246810", { dir: lab.dir });
    const seeded = await seedMailbox("prod", mailbox, { dir: lab.dir });
    try {
      await t.step("generated audio files have the MSS formats", () => {
        const file = wavInfo(Deno.readFileSync(lab.audio.gsm));
        assertEquals([file.formatTag, file.byteRate, file.sampleRate], [0x31, 1625, 8000], "GSM");
        assertEquals(wavInfo(Deno.readFileSync(lab.audio.mulaw)).formatTag, 7, "µ-law tag");
        assertEquals(wavInfo(Deno.readFileSync(lab.audio.alaw)).formatTag, 6, "A-law tag");
        return Promise.resolve();
      });
      await t.step("folders hold what was appended", async () => {
        const expected: Record<string, number> = {};
        for (const m of seeded) expected[m.folder] = (expected[m.folder] ?? 0) + 1;
        assertEquals(Object.keys(expected).sort(), ["Greetings", "INBOX"], "folders");
        await withImap(trustedOptions("prod", mailbox), async (c) => {
          for (const [folder, n] of Object.entries(expected)) {
            const st = await c.status(folder, { messages: true });
            assertEquals(st && st.messages, n, `${folder} messages`);
          }
        });
      });
      await t.step("the GSM voice part is WAV49 and its Content-Duration fits", async () => {
        const gsm = seeded.find((m) => m.encoding === "gsm" && m.kind === "voice");
        const chain = seeded.find((m) => m.kind === "forwardChain");
        if (!gsm?.uid || !chain?.uid) throw new Error("No GSM message or forward chain seeded");
        await withImap(trustedOptions("prod", mailbox), async (c) => {
          await c.mailboxOpen("INBOX", { readOnly: true });
          const msg = await c.fetchOne(String(gsm.uid), { bodyStructure: true, flags: true }, {
            uid: true,
          });
          if (!msg || !msg.bodyStructure) throw new Error(`UID ${gsm.uid} not found`);
          const voice = [...walk(msg.bodyStructure)].find((n) =>
            n.type.startsWith("audio/") && n.dispositionParameters?.voice === "Voice-Message"
          );
          if (!voice?.part) throw new Error("No Voice-Message part");
          const parts = await c.downloadMany(String(gsm.uid), [voice.part], { uid: true });
          const wav = wavInfo(new Uint8Array(parts[voice.part].content as Uint8Array));
          assertEquals(wav.formatTag, 0x31, "format tag of the seeded GSM part");
          assertEquals(Math.max(1, Math.round(wav.duration)), gsm.seconds, "Content-Duration");
          const flags = [...(msg.flags ?? [])].filter((f) => f !== "\\Recent").sort();
          assertEquals(flags, [...gsm.flags].sort(), "flags");
          const fwd = await c.fetchOne(String(chain.uid), { bodyStructure: true }, { uid: true });
          if (!fwd || !fwd.bodyStructure) throw new Error(`UID ${chain.uid} not found`);
          assertEquals(rfc822Depth(fwd.bodyStructure), 2, "message/rfc822 depth of the chain");
        });
      });
    } finally {
      await resetMailbox("prod", mailbox, { dir: lab.dir });
    }
  },
);

labTest(
  "ldap: vmirror reads the 12 production subscribers with binary recorded names",
  15_000,
  async () => {
    const client = new LdapClient({ url: lab.ldap.prod.url, timeout: 5000, connectTimeout: 5000 });
    try {
      await client.bind(lab.ldap.prod.bindDn, lab.trusted.password);
      const { searchEntries } = await client.search(lab.ldap.prod.baseDn, {
        scope: "sub",
        filter: "(objectClass=vmSubscriber)",
        paged: { pageSize: 5 },
        explicitBufferAttributes: ["vmRecordedName", "vmPin"],
      });
      // Other suites may add subscribers or change PINs in production (it is their source), so
      // this checks the lab's 12 are there with binary values rather than exact contents.
      for (const sub of lab.mailboxes) {
        const e = searchEntries.find((x) => x.vmMailboxNumber === sub.mailbox);
        if (!e) throw new Error(`Subscriber ${sub.mailbox} missing from production LDAP`);
        const name = e.vmRecordedName as Uint8Array;
        if (!(name instanceof Uint8Array)) throw new Error(`${e.dn}: recorded name is not binary`);
        assertEquals(wavInfo(name).formatTag, 7, `${e.dn} recorded name format`);
        if (!(e.vmPin instanceof Uint8Array) || e.vmPin.length === 0) {
          throw new Error(`${e.dn}: PIN is not a non-empty octet string`);
        }
      }
      assertEquals(lab.ldap.prod.subscribers.length, 12, "subscribers loaded into production");
    } finally {
      await client.unbind();
    }
  },
);

labTest(
  "ldap: the backup directory was loaded with stale copies and vmirror may write to it",
  15_000,
  async () => {
    const stale = lab.ldap.backup.subscribers;
    assertEquals(
      stale.map((s) => s.mailbox),
      ["4001", "4002", "4003", "4004", "4005", "4006"],
      "stale",
    );
    const differs = stale.filter((s) =>
      JSON.stringify(s) !== JSON.stringify(lab.mailboxes.find((m) => m.mailbox === s.mailbox))
    );
    assertEquals(differs.length, 6, "stale copies that differ from production");
    const client = new LdapClient({
      url: lab.ldap.backup.url,
      timeout: 5000,
      connectTimeout: 5000,
    });
    // Directory-sync suites rewrite these entries, so only the write path is checked live: add,
    // read back and delete an entry of this test's own.
    const dn = `uid=t${crypto.randomUUID().slice(0, 8)},${lab.ldap.backup.baseDn}`;
    try {
      await client.bind(lab.ldap.backup.bindDn, lab.trusted.password);
      await client.add(dn, {
        objectClass: ["inetOrgPerson", "vmSubscriber"],
        cn: "Lab Test",
        sn: "Test",
        vmMailboxNumber: "49999",
        vmPin: "1234",
      });
      const { searchEntries } = await client.search(dn, { scope: "base" });
      assertEquals(searchEntries.length, 1, "entry added by vmirror");
      await client.del(dn);
    } finally {
      await client.unbind();
    }
  },
);

labTest("ldap: a wrong bind password is refused on both directories", 15_000, async () => {
  for (const side of sides) {
    const client = new LdapClient({ url: lab.ldap[side].url, timeout: 5000, connectTimeout: 5000 });
    try {
      await client.bind(lab.ldap[side].bindDn, "wrong-password");
      throw new Error(`${side}: bind with a wrong password succeeded`);
    } catch (e) {
      if (!(e instanceof InvalidCredentialsError)) throw e;
    } finally {
      await client.unbind();
    }
  }
});

labTest("smtp: the recorder stores a message sent with nodemailer", 15_000, async () => {
  const transport = nodemailer.createTransport({
    host: lab.smtp.host,
    port: lab.smtp.port,
    secure: false,
    ignoreTLS: true,
    // Destroy the socket after QUIT instead of arming a 5 s close timer the sanitizer flags.
    socketCloseTimeout: 0,
    auth: { user: lab.smtp.relayUser, pass: lab.smtp.relayPassword },
  });
  const subject = `lab test ${crypto.randomUUID()}`;
  try {
    await transport.sendMail({
      from: "vmirror@lab.invalid",
      to: "4001@mss.lab",
      subject,
      text: "Hello from the lab test.",
    });
  } finally {
    transport.close();
  }
  const got = readSmtpInbox(lab.dir).find((m) => m.raw.includes(subject));
  if (!got) throw new Error(`Message "${subject}" was not recorded`);
  assertEquals(
    [got.from, got.to, got.authUser],
    ["vmirror@lab.invalid", ["4001@mss.lab"], "relay"],
    "envelope",
  );
});

labTest(
  "lab: addLabUser, seedMailbox and resetMailbox work while the servers run",
  30_000,
  async () => {
    const mailbox = "4901";
    await addLabUser("backup", mailbox, "112233", { dir: lab.dir });
    const appended = await seedMailbox("backup", mailbox, {
      count: 3,
      folder: "Archive",
      dir: lab.dir,
    });
    assertEquals(appended.length, 3, "appended");
    const auth = { user: mailbox, pass: "112233", loginMethod: "LOGIN" };
    const count = () =>
      withImap(imapOptions("backup", "plain", auth), async (c) => {
        const boxes = (await c.list()).map((b) => b.path).sort();
        const st = boxes.includes("Archive")
          ? await c.status("Archive", { messages: true })
          : false;
        return { boxes, messages: st ? st.messages : 0 };
      });
    assertEquals(await count(), { boxes: ["Archive", "INBOX"], messages: 3 }, "after seeding");
    await resetMailbox("backup", mailbox, { dir: lab.dir });
    assertEquals(await count(), { boxes: ["INBOX"], messages: 0 }, "after reset");
  },
);
