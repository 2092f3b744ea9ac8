/**
 * The session's framing against a scripted fake peer on loopback: login forms, capabilities,
 * literal framing with and without LITERAL+, a refused literal, the message count. Behaviour
 * against a real server (Dovecot) is covered by the lab tests in tests/.
 */
import assert from "node:assert/strict";
import type { ImapEndpoint } from "../config/mod.ts";
import { ImapSession, isTooBig, TooBigError } from "./session.ts";

const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** What the fake peer's script can do with its one connection. */
interface PeerIo {
  /** The next line from the client, CRLF removed (latin1). */
  line(): Promise<string>;
  /** The next `n` bytes from the client. */
  bytes(n: number): Promise<Uint8Array>;
  /** Sends text as is (add the CRLFs). */
  send(text: string): Promise<void>;
}

/** A fake IMAP peer: a loopback listener whose one connection is played by `script`. */
function fakePeer(script: (io: PeerIo) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const conn = await listener.accept();
    let buf = new Uint8Array(0);
    const more = async () => {
      const chunk = new Uint8Array(4096);
      const n = await conn.read(chunk);
      if (n === null) throw new Error("the client closed the connection");
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
    };
    const io: PeerIo = {
      line: async () => {
        while (buf.indexOf(10) < 0) await more();
        const i = buf.indexOf(10);
        const text = latin1.decode(buf.subarray(0, i)).replace(/\r$/, "");
        buf = buf.slice(i + 1);
        return text;
      },
      bytes: async (n) => {
        while (buf.length < n) await more();
        const out = buf.slice(0, n);
        buf = buf.slice(n);
        return out;
      },
      send: async (text) => {
        await conn.write(enc.encode(text));
      },
    };
    try {
      await script(io);
    } finally {
      conn.close();
      listener.close();
    }
  })();
  return { port: (listener.addr as Deno.NetAddr).port, done };
}

function endpoint(port: number, over: Partial<ImapEndpoint> = {}): ImapEndpoint {
  return {
    name: "fake",
    host: "127.0.0.1",
    port,
    tls: "none",
    trustedUser: "trusted",
    trustedPassword: "s3cret",
    impersonation: "authzid",
    separator: "*",
    connectTimeoutSeconds: 5,
    commandTimeoutSeconds: 5,
    ...over,
  };
}

const PLAIN = btoa("4021\0trusted\0s3cret");

Deno.test("login: SASL-IR in one line, capabilities from the tagged OK", async () => {
  const peer = fakePeer(async (io) => {
    await io.send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] fake ready\r\n");
    assert.equal(await io.line(), `S1 AUTHENTICATE PLAIN ${PLAIN}`);
    await io.send("S1 OK [CAPABILITY IMAP4rev1 UIDPLUS LITERAL+] Logged in\r\n");
    assert.equal(await io.line(), "S2 LOGOUT");
    await io.send("* BYE\r\nS2 OK bye\r\n");
  });
  const s = await ImapSession.open(endpoint(peer.port), "4021");
  assert.ok(s.has("uidplus") && s.has("LITERAL+") && !s.has("SASL-IR"));
  await s.logout();
  await peer.done;
});

Deno.test("login: without SASL-IR the credentials follow the continuation", async () => {
  const peer = fakePeer(async (io) => {
    await io.send("* OK fake ready\r\n");
    assert.equal(await io.line(), "S1 CAPABILITY");
    await io.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nS1 OK done\r\n");
    assert.equal(await io.line(), "S2 AUTHENTICATE PLAIN");
    await io.send("+ \r\n");
    assert.equal(await io.line(), PLAIN);
    await io.send("S2 OK Logged in\r\n");
    assert.equal(await io.line(), "S3 CAPABILITY");
    await io.send("* CAPABILITY IMAP4rev1 IDLE\r\nS3 OK done\r\n");
  });
  const s = await ImapSession.open(endpoint(peer.port), "4021");
  await peer.done;
  assert.ok(s.has("IDLE"));
  s.close();
});

Deno.test("login: the separator form; a refusal is an authentication failure", async () => {
  const peer = fakePeer(async (io) => {
    await io.send("* OK [CAPABILITY IMAP4rev1 SASL-IR] fake ready\r\n");
    assert.equal(await io.line(), 'S1 LOGIN "4021*trusted" "s3cret"');
    await io.send("S1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
  });
  const err = await ImapSession.open(endpoint(peer.port, { impersonation: "separator" }), "4021")
    .then(() => null, (e) => e);
  await peer.done;
  assert.equal(err?.name, "ImapError");
  assert.equal(err.authFailed, true);
  assert.match(err.message, /^Cannot log in as the trusted server of mailbox "4021" on "fake": /);
  assert.doesNotMatch(err.message, /s3cret/);
});

/** A peer that logs the client in with the given capabilities, then plays `rest`. */
function loggedIn(caps: string, rest: (io: PeerIo) => Promise<void>) {
  return fakePeer(async (io) => {
    await io.send(`* OK [CAPABILITY IMAP4rev1 SASL-IR ${caps}] fake ready\r\n`);
    assert.match(await io.line(), /^S1 AUTHENTICATE PLAIN /);
    await io.send(`S1 OK [CAPABILITY IMAP4rev1 ${caps}] Logged in\r\n`);
    await rest(io);
  });
}

Deno.test("an 8-bit search value goes as a synchronizing literal under CHARSET UTF-8", async () => {
  const id = new TextEncoder().encode("<grüße@x>");
  const peer = loggedIn("", async (io) => {
    assert.equal(
      await io.line(),
      `S2 UID SEARCH CHARSET UTF-8 HEADER Message-ID {${id.length}}`,
    );
    await io.send("+ go ahead\r\n");
    assert.deepEqual(await io.bytes(id.length), id);
    assert.equal(await io.line(), "");
    await io.send("* SEARCH 7 3\r\nS2 OK Search completed\r\n");
    assert.equal(await io.line(), 'S3 UID SEARCH HEADER Message-ID "<plain@x>"');
    await io.send("* SEARCH\r\nS3 OK Search completed\r\n");
  });
  const s = await ImapSession.open(endpoint(peer.port), "4021");
  assert.deepEqual(await s.searchMessageId(latin1.decode(id)), [3, 7]);
  assert.deepEqual(await s.searchMessageId("<plain@x>"), []);
  await peer.done;
  s.close();
});

Deno.test("APPEND: LITERAL+ sends at once; EXISTS meanwhile is counted; APPENDUID read", async () => {
  const peer = loggedIn("LITERAL+ UIDPLUS", async (io) => {
    assert.equal(await io.line(), 'S2 SELECT "Gr&APwA3w-e"');
    await io.send("* 0 EXISTS\r\n* OK [UIDVALIDITY 9] ok\r\nS2 OK [READ-WRITE] done\r\n");
    assert.equal(
      await io.line(),
      'S3 APPEND "Gr&APwA3w-e" (\\Seen) "02-Mar-2026 07:08:09 +0000" {5+}',
    );
    assert.equal(latin1.decode(await io.bytes(5)), "hello");
    assert.equal(await io.line(), ' (\\Flagged) "02-Mar-2026 07:08:09 +0000" {2+}');
    assert.equal(latin1.decode(await io.bytes(2)), "hi");
    assert.equal(await io.line(), "");
    await io.send("* 2 EXISTS\r\nS3 OK [APPENDUID 9 4:5] Append completed\r\n");
  });
  const s = await ImapSession.open(endpoint(peer.port), "4021");
  const box = await s.select("Grüße");
  assert.deepEqual(box, { uidValidity: 9, exists: 0 });
  const date = new Date("2026-03-02T07:08:09Z");
  const res = await s.appendMany("Grüße", [
    { bytes: enc.encode("hello"), flags: ["\\Seen"], internalDate: date },
    { bytes: enc.encode("hi"), flags: ["\\Flagged"], internalDate: date },
  ]);
  assert.deepEqual(res, { uidValidity: 9, uids: [4, 5] });
  assert.equal(s.exists, 2);
  await peer.done;
  s.close();
});

Deno.test("APPEND: a refused synchronizing literal ends the command, the session goes on", async () => {
  const peer = loggedIn("", async (io) => {
    assert.equal(await io.line(), 'S2 APPEND "INBOX" () "02-Mar-2026 07:08:09 +0000" {5}');
    await io.send("S2 NO [OVERQUOTA] Quota exceeded\r\n");
    assert.equal(await io.line(), 'S3 CREATE "Old"');
    await io.send("S3 OK done\r\n");
  });
  const s = await ImapSession.open(endpoint(peer.port), "4021");
  await assert.rejects(
    s.append("INBOX", enc.encode("hello"), [], new Date("2026-03-02T07:08:09Z")),
    /^Error: APPEND failed: NO \[OVERQUOTA\] Quota exceeded$/,
  );
  await s.create("Old");
  await peer.done;
  s.close();
});

Deno.test("APPEND: over APPENDLIMIT the literal waits for the server, whose NO [TOOBIG] is a TooBigError", async () => {
  // Cyrus with maxmessagesize: APPENDLIMIT announced; LITERAL+ under it, synchronizing over it.
  const peer = loggedIn("LITERAL+ APPENDLIMIT=4", async (io) => {
    assert.equal(
      await io.line(),
      'S2 APPEND "INBOX" () "02-Mar-2026 07:08:09 +0000" {2+}',
    );
    assert.equal(latin1.decode(await io.bytes(2)), "hi");
    assert.equal(await io.line(), ' () "02-Mar-2026 07:08:09 +0000" {5}');
    await io.send("S2 NO [TOOBIG] Message size exceeds fixed limit\r\n");
    assert.equal(await io.line(), 'S3 APPEND "INBOX" () "02-Mar-2026 07:08:09 +0000" {4+}');
    assert.equal(latin1.decode(await io.bytes(4)), "four");
    assert.equal(await io.line(), "");
    await io.send("S3 OK [APPENDUID 9 7] done\r\n");
  });
  const s = await ImapSession.open(endpoint(peer.port), "4021");
  const date = new Date("2026-03-02T07:08:09Z");
  const e = await s.appendMany("INBOX", [
    { bytes: enc.encode("hi"), flags: [], internalDate: date },
    { bytes: enc.encode("hello"), flags: [], internalDate: date },
  ]).catch((e) => e);
  assert.ok(e instanceof TooBigError, String(e));
  assert.ok(isTooBig(e));
  assert.deepEqual(await s.append("INBOX", enc.encode("four"), [], date), {
    uidValidity: 9,
    uid: 7,
  });
  await peer.done;
  s.close();
});
