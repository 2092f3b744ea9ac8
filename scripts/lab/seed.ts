/**
 * Appends generated voicemail into a Dovecot mailbox over IMAP, logged in as the trusted server
 * with SASL PLAIN and the mailbox as authorization id (so every seed also proves the master login).
 * @module
 */

import { ImapFlow } from "imapflow";
import { clipPath, type ClipRequest, ensureClips } from "./audio.ts";
import type { SeededMessage } from "./types.ts";
import { clipsFor, renderVoicemail, type VoicemailSpec } from "./voicemail.ts";
import { LabError } from "./util.ts";

/** Where and as whom to log in: the trusted server, acting for a mailbox. */
export interface TrustedLogin {
  host: string;
  port: number;
  trustedUser: string;
  trustedPassword: string;
}

/** An imapflow session as the trusted server acting for `mailbox` (SASL PLAIN, authzid). */
export async function trustedClient(login: TrustedLogin, mailbox: string): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: login.host,
    port: login.port,
    secure: false,
    doSTARTTLS: false,
    disableCompression: true,
    disableAutoIdle: true,
    logger: false,
    auth: {
      user: login.trustedUser,
      pass: login.trustedPassword,
      authzid: mailbox,
      loginMethod: "AUTH=PLAIN",
    },
  });
  // A connection-level error after connect() would otherwise be an unhandled 'error' event.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (e) {
    client.close();
    throw new LabError(
      `Cannot log in to "${login.host}:${login.port}" as "${login.trustedUser}" for mailbox "${mailbox}"`,
      { cause: e },
    );
  }
  return client;
}

/** Where and as whom to append. */
export type ImapSeedTarget = TrustedLogin;

/** Options of {@linkcode appendVoicemails}. */
export interface AppendOptions {
  /** Where generated audio is cached. */
  audioDir: string;
}

/** Renders specs (generating their audio) and appends them to one mailbox. */
export async function appendVoicemails(
  target: ImapSeedTarget,
  mailbox: string,
  specs: VoicemailSpec[],
  opts: AppendOptions,
): Promise<SeededMessage[]> {
  await ensureClips(opts.audioDir, specs.flatMap(clipsFor));
  const cache = new Map<string, Uint8Array>();
  const audio = (req: ClipRequest) => {
    const path = clipPath(opts.audioDir, req);
    let bytes = cache.get(path);
    if (!bytes) {
      bytes = Deno.readFileSync(path);
      cache.set(path, bytes);
    }
    return bytes;
  };
  const client = await trustedClient(target, mailbox);
  const out: SeededMessage[] = [];
  try {
    const folders = [...new Set(specs.map((s) => s.folder))].filter((f) => f !== "INBOX");
    const existing = new Set((await client.list()).map((m) => m.path));
    for (const f of folders) if (!existing.has(f)) await client.mailboxCreate(f);
    for (const spec of specs) {
      const r = renderVoicemail(spec, audio);
      const res = await client.append(spec.folder, r.raw, spec.flags, spec.date);
      if (!res) throw new LabError(`APPEND to "${spec.folder}" of mailbox "${mailbox}" failed`);
      out.push({
        folder: spec.folder,
        messageId: spec.messageId,
        subject: spec.subject,
        from: spec.from.address,
        kind: spec.kind,
        encoding: spec.encoding,
        contentType: r.contentType,
        flags: spec.flags,
        seconds: r.seconds,
        internalDate: spec.date.toISOString(),
        size: new TextEncoder().encode(r.raw).length,
        urgent: spec.urgent !== undefined,
        private: spec.private === true,
        broadcast: spec.broadcast === true,
        uid: res.uid,
      });
    }
  } catch (e) {
    throw new LabError(`Cannot seed mailbox "${mailbox}" on port ${target.port}`, { cause: e });
  } finally {
    await client.logout().catch(() => client.close());
  }
  return out;
}
