import assert from "node:assert/strict";
import { join } from "node:path";
import { validateConfig } from "../engine/config/mod.ts";
import { closeState, listAudit, openState, type State } from "../engine/state/mod.ts";
import { setLogSink } from "../engine/support/mod.ts";
import { createApp } from "./app.tsx";
import { FORWARDS_PER_HOUR } from "./forward.tsx";
import { toPcmWav } from "../engine/audio/mod.ts";
import { forwardMail } from "./forward_mail.ts";
import type { MessageSummary, VoiceRef } from "./mailbox_reader.ts";
import { muLawWav } from "../tests/test_utils/mod.ts";
import { createSession } from "./sessions.ts";
import { oneMessageReader, PortalClient } from "./test_util.ts";

// A port nothing listens on: every send fails at once (and still counts as an attempt).
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function signedIn(state: State, dir: string, mailbox: string) {
  const config = await validateConfig({
    smtp: { host: "127.0.0.1", port: closedPort(), from: "vmirror@example.com", timeoutSeconds: 5 },
  }, { file: null, dataDir: dir });
  const app = createApp({ config, state, adminIterations: 1000, openReader: oneMessageReader });
  const client = new PortalClient(app);
  const { token, session } = await createSession(
    state,
    { role: "subscriber", subject: mailbox, from: client.from },
    { minutes: 30 },
  );
  client.cookies.set("vm_session", token);
  client.csrf = session.csrf;
  return client;
}

Deno.test("the forward limit survives a restart: a new app on the same store refuses", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vmirror-forward-limit-" });
  const lines: string[] = [];
  setLogSink((l) => lines.push(l));
  try {
    const path = join(dir, "state.kv");
    let state = await openState(path);
    try {
      const before = await signedIn(state, dir, "4001");
      for (let i = 0; i < FORWARDS_PER_HOUR; i++) {
        const res = await before.post("/m/0/7-1/forward", { to: "someone@example.com" });
        await res.body?.cancel();
        assert.equal(res.status, 502, `forward ${i + 1}: the relay is down`);
      }
    } finally {
      closeState(state);
    }
    state = await openState(path);
    try {
      const after = await signedIn(state, dir, "4001");
      const res = await after.post("/m/0/7-1/forward", { to: "someone@example.com" });
      assert.equal(res.status, 429);
      assert.match(await res.text(), /Too many messages forwarded in the last hour/);
      const [last] = await listAudit(state, 1);
      assert.equal(last.action, "forward-refused");
      assert.equal(last.detail?.reason, "rate");
      // Another mailbox has its own count.
      const other = await signedIn(state, dir, "4002");
      const ok = await other.post("/m/0/7-1/forward", { to: "someone@example.com" });
      await ok.body?.cancel();
      assert.equal(ok.status, 502);
    } finally {
      closeState(state);
    }
  } finally {
    setLogSink((l) => console.error(l));
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("forwardMail() attaches every recording of a chain as PCM WAV, each named", () => {
  const wav = muLawWav(1, { header: "plain" });
  const voice = (index: number, role: VoiceRef["role"] = "Voice-Message"): VoiceRef => ({
    index,
    role,
    contentType: "audio/wav",
    filename: null,
    seconds: 1,
  });
  const voices = [voice(0), voice(1, "Originator-Spoken-Name"), voice(2), voice(3)];
  const m: MessageSummary = {
    folder: "INBOX",
    uidValidity: 7,
    uid: 3,
    internalDate: "2026-01-02T03:04:05.000Z",
    date: "2026-01-02T03:04:00.000Z",
    from: { name: "Bruno Barros", address: "4002@mss.lab" },
    sender: "Bruno Barros 4002",
    subject: "Fwd: Voice message",
    durationSeconds: 1,
    urgent: false,
    private: false,
    broadcast: false,
    placeholder: false,
    size: 100,
    messageId: "<f@x>",
    inReplyTo: null,
    voices,
    tree: {
      from: null,
      sender: "Bruno Barros 4002",
      date: "2026-01-02T03:04:00.000Z",
      subject: null,
      durationSeconds: 1,
      voices: [0, 1],
      children: [{
        from: null,
        sender: "Luis Lozano 4012",
        date: "2025-12-30T10:00:00.000Z",
        subject: null,
        durationSeconds: 1,
        voices: [2],
        // The same caller and minute twice: the file names still differ.
        children: [{
          from: null,
          sender: "Luis Lozano 4012",
          date: "2025-12-30T10:00:30.000Z",
          subject: null,
          durationSeconds: 1,
          voices: [3],
          children: [],
        }],
      }],
    },
    flags: [],
  };
  const data = { bytes: wav, contentType: "audio/wav", filename: null };
  const mail = forwardMail(m, voices.map((ref) => ({ ref, data })), {
    to: "a@example.com",
    mailbox: "4006",
    timeZone: "Europe/Berlin",
  });
  const names = mail.attachments!.map((a) => a.filename);
  assert.deepEqual(names, [
    "voicemail-2026-01-02-0304-Bruno-Barros-4002.wav",
    "voicemail-2026-01-02-0304-Bruno-Barros-4002-name.wav",
    "voicemail-2025-12-30-1000-Luis-Lozano-4012.wav",
    "voicemail-2025-12-30-1000-Luis-Lozano-4012-2.wav",
  ]);
  for (const a of mail.attachments!) {
    assert.equal(a.contentType, "audio/wav");
    assert.deepEqual(a.content, toPcmWav(wav));
  }
  assert.match(mail.text!, /The 4 recordings are attached:/);
  assert.match(mail.text!, /1\. voicemail-[^:]+: from Bruno Barros 4002, 2026-01-02 04:04 CET/);
  assert.match(mail.text!, /2\. [^:]+: Caller's name, from Bruno Barros 4002/);
  assert.match(mail.text!, /3\. [^:]+: earlier message, from Luis Lozano 4012, 2025-12-30 11:00/);
  assert.match(mail.text!, /4\. [^:]+: earlier message, from Luis Lozano 4012, 2025-12-30 11:00/);
});
