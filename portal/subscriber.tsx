/**
 * The subscriber's routes: login and logout, the inbox, a message, its audio (PCM WAV decoded
 * on the fly, with Range for seeking), the original recording, and forward by e-mail.
 *
 * Isolation: no route takes a mailbox. The mailbox is the session's, and every identifier in a
 * URL (folder index, UIDVALIDITY-UID, voice part index) is looked up inside that mailbox only.
 * @module
 */
import type { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { pcmWavSize, pcmWavStream, toPcmWav } from "../engine/audio/mod.ts";
import { parseWav, WavError } from "../engine/audio/mod.ts";
import { audioExtension } from "../engine/files/mod.ts";
import {
  clearThrottle,
  lockedUntil,
  recordFailure,
  type ThrottleKey,
  withThrottleLock,
} from "./login_throttle.ts";
import { log } from "../engine/support/mod.ts";
import { headerText, isValidAddress, MailError, sendMail } from "../engine/mail/mod.ts";
import type { MailboxReader, MessageSummary, VoiceRef } from "./mailbox_reader.ts";
import { checkPin, MAILBOX_PATTERN } from "./pin_check.ts";
import { createSession, endSession, type Session } from "./sessions.ts";
import { VOICE_TYPES } from "../engine/voicemail/mod.ts";
import {
  auditEvent,
  clearSessionCookie,
  type Ctx,
  loginFormToken,
  type PortalDeps,
  type PortalEnv,
  readForm,
  readLoginForm,
  sessionToken,
  setSessionCookie,
} from "./context.ts";
import { attachmentDisposition, parseRange } from "./http.ts";
import type { Viewer } from "./layout.tsx";
import { renderPage } from "./layout.tsx";
import {
  formatDate,
  InboxPage,
  LoginPage,
  MessagePage,
  type MessagePageProps,
} from "./subscriber_pages.tsx";

/** Messages per inbox page: small enough to open at once, large enough to rarely page. */
export const PAGE_SIZE = 50;

// Forwarding is mail sent in the system's name: a cap per mailbox keeps a stolen session from
// turning the portal into a spam relay.
const FORWARDS_PER_HOUR = 30;
// A PCM attachment is ten times a GSM one; past this the original recording goes instead.
const MAX_PCM_ATTACHMENT = 10 * 1024 * 1024;

/** Registers the subscriber's routes on `app`. */
export function subscriberRoutes(app: Hono<PortalEnv>, deps: PortalDeps): void {
  const forwards = new Map<string, number[]>();
  const plays = new Map<string, number>();

  app.get("/login", (c) => {
    const s = c.get("session");
    if (s?.role === "subscriber") return c.redirect("/inbox", 303);
    return c.html(renderPage(<LoginPage csrf={loginFormToken(c, deps)} />));
  });

  app.post("/login", async (c) => {
    const form = await readLoginForm(c, deps);
    const mailbox = (form.mailbox ?? "").trim();
    const pin = form.pin ?? "";
    const from = c.get("from");
    const csrf = loginFormToken(c, deps);
    const page = (status: 401 | 429 | 503, error: string) =>
      c.html(renderPage(<LoginPage csrf={csrf} error={error} mailbox={mailbox} />), status);
    const valid = MAILBOX_PATTERN.test(mailbox);
    const keys: ThrottleKey[] = [{ kind: "address", id: from }];
    if (valid) keys.push({ kind: "mailbox", id: mailbox });
    const actor = valid ? `subscriber:${mailbox}` : "subscriber:?";
    return await withThrottleLock(keys, async () => {
      if (await lockedUntil(deps.state, keys)) {
        await auditEvent(c, deps, { actor, action: "login-locked" });
        return page(
          429,
          "Too many failed attempts. Try again later, or ask your administrator to unlock it.",
        );
      }
      const result = valid ? await checkPin(deps.config, { mailbox, pin }) : "bad";
      if (result === "unavailable") {
        await auditEvent(c, deps, {
          actor,
          action: "login-failed",
          detail: { reason: "unavailable" },
        });
        return page(503, "Your PIN cannot be checked right now. Please try again in a while.");
      }
      if (result === "bad") {
        await recordFailure(deps.state, keys, { limits: deps.limits });
        await auditEvent(c, deps, {
          actor,
          action: "login-failed",
          detail: { reason: "wrong mailbox or PIN" },
        });
        return page(401, "The mailbox number or PIN is not right.");
      }
      await clearThrottle(deps.state, { kind: "mailbox", id: mailbox });
      // A new token at every login: a token planted before login is never promoted.
      await endSession(deps.state, sessionToken(c, deps));
      const { token } = await createSession(
        deps.state,
        { role: "subscriber", subject: mailbox, from },
        { minutes: deps.sessionMinutes },
      );
      setSessionCookie(c, deps, token);
      await auditEvent(c, deps, {
        actor,
        action: "login",
        detail: { method: deps.config.portal.pinCheck },
      });
      return c.redirect("/inbox", 303);
    });
  });

  app.post("/logout", async (c) => {
    const s = c.get("session");
    if (!s) return c.redirect("/login", 303);
    await readForm(c, s.csrf);
    await endSession(deps.state, c.get("token") ?? undefined);
    clearSessionCookie(c, deps);
    await auditEvent(c, deps, { actor: actorOf(s), action: "logout" });
    return c.redirect(s.role === "admin" ? "/admin/login" : "/login", 303);
  });

  app.get("/inbox", async (c) => {
    const s = subscriber(c);
    if (!s) return c.redirect("/login", 303);
    const f = folderIndex(c.req.query("f") ?? "0", deps);
    const page = Math.max(1, Math.min(1_000_000, Number(c.req.query("page") ?? "1") | 0 || 1));
    const list = await withReader(
      deps,
      s,
      (r) => r.list(deps.folders[f].name, { offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE }),
    );
    return c.html(renderPage(
      <InboxPage
        viewer={viewer(s)}
        folders={deps.folders}
        folderIndex={f}
        items={list.items}
        total={list.total}
        page={page}
        pageSize={PAGE_SIZE}
      />,
    ));
  });

  app.get("/m/:f/:id", async (c) => {
    const s = subscriber(c);
    if (!s) return c.redirect("/login", 303);
    const { f, uidValidity, uid } = messageParams(c, deps);
    const m = await withReader(
      deps,
      s,
      (r) => r.get({ folder: deps.folders[f].name, uidValidity, uid }),
    );
    if (!m) throw new HTTPException(404, { message: "no such message" });
    const done = c.req.query("forwarded") === "1";
    return c.html(messagePage(s, f, m, {
      notice: done ? { kind: "ok", text: "The message was forwarded." } : undefined,
    }));
  });

  app.get("/m/:f/:id/audio/:n", async (c) => {
    const s = subscriber(c);
    if (!s) throw new HTTPException(401, { message: "not signed in" });
    const { f, uidValidity, uid } = messageParams(c, deps);
    const n = indexParam(c.req.param("n"));
    const folder = deps.folders[f].name;
    const voice = await withReader(deps, s, (r) => r.voice({ folder, uidValidity, uid }, n));
    if (!voice) throw new HTTPException(404, { message: "no such recording" });
    const info = parseWav(voice.bytes);
    const size = pcmWavSize(info);
    const etag = `"${uidValidity}-${uid}-${n}-${size}"`;
    const ifRange = c.req.header("if-range");
    const range = ifRange && ifRange !== etag ? null : parseRange(c.req.header("range"), size);
    const headers: Record<string, string> = {
      "Content-Type": "audio/wav",
      "Accept-Ranges": "bytes",
      "Cache-Control": "private, no-store",
      ETag: etag,
    };
    if (range === "unsatisfiable") {
      return new Response(null, {
        status: 416,
        headers: { ...headers, "Content-Range": `bytes */${size}` },
      });
    }
    const { start, end } = range ?? { start: 0, end: size };
    // A player asks for byte 0 once per play and for other ranges while seeking: audit the
    // play once, and not again for the same recording within a few minutes.
    if (start === 0 && c.req.method === "GET") {
      const key = `${s.subject}\u0000${folder}\u0000${uidValidity}\u0000${uid}\u0000${n}`;
      const now = Date.now();
      if ((plays.get(key) ?? 0) < now - 5 * 60_000) {
        plays.set(key, now);
        if (plays.size > 10_000) plays.clear();
        await auditEvent(c, deps, {
          actor: actorOf(s),
          action: "play",
          detail: { folder, uidValidity, uid, part: n },
        });
      }
    }
    const body = pcmWavStream(chunks(voice.bytes), {
      totalSize: voice.bytes.length,
      start,
      end,
    });
    headers["Content-Length"] = String(end - start);
    if (range) headers["Content-Range"] = `bytes ${start}-${end - 1}/${size}`;
    return new Response(body, { status: range ? 206 : 200, headers });
  });

  app.get("/m/:f/:id/original/:n", async (c) => {
    const s = subscriber(c);
    if (!s) throw new HTTPException(401, { message: "not signed in" });
    const { f, uidValidity, uid } = messageParams(c, deps);
    const n = indexParam(c.req.param("n"));
    const folder = deps.folders[f].name;
    const found = await withReader(deps, s, async (r) => {
      const ref = { folder, uidValidity, uid };
      const m = await r.get(ref);
      const v = m ? await r.voice(ref, n) : null;
      return m && v ? { m, v } : null;
    });
    if (!found) throw new HTTPException(404, { message: "no such recording" });
    const { m, v } = found;
    await auditEvent(c, deps, {
      actor: actorOf(s),
      action: "download",
      detail: { folder, uidValidity, uid, part: n },
    });
    const ext = audioExtension(v.contentType, v.bytes.subarray(0, 4));
    return new Response(v.bytes as Uint8Array<ArrayBuffer>, {
      headers: {
        "Content-Type": SAFE_AUDIO_TYPES.has(v.contentType)
          ? v.contentType
          : "application/octet-stream",
        "Content-Length": String(v.bytes.length),
        "Content-Disposition": attachmentDisposition(`${downloadName(m)}.${ext}`),
        "Cache-Control": "private, no-store",
      },
    });
  });

  app.post("/m/:f/:id/forward", async (c) => {
    const s = subscriber(c);
    if (!s) throw new HTTPException(401, { message: "not signed in" });
    const form = await readForm(c, s.csrf);
    const { f, uidValidity, uid } = messageParams(c, deps);
    const folder = deps.folders[f];
    const to = (form.to ?? "").trim();
    const actor = actorOf(s);
    const detail = { folder: folder.name, uidValidity, uid };
    return await withReader(deps, s, async (r) => {
      const ref = { folder: folder.name, uidValidity, uid };
      const m = await r.get(ref);
      if (!m) throw new HTTPException(404, { message: "no such message" });
      const page = (status: 400 | 403 | 429 | 502 | 503, text: string) =>
        c.html(
          messagePage(s, f, m, {
            notice: { kind: "error", text },
            to: status === 400 ? to.slice(0, 254) : undefined,
          }),
          status,
        );
      if (m.private || folder.greetings) {
        await auditEvent(c, deps, {
          actor,
          action: "forward-refused",
          detail: {
            ...detail,
            reason: m.private ? "private" : "greeting",
          },
        });
        return page(
          403,
          m.private
            ? "This message is private: it cannot be forwarded."
            : "Greetings cannot be forwarded.",
        );
      }
      const smtp = deps.config.smtp;
      if (!smtp) return page(503, "Forwarding by e-mail is not available on this system.");
      if (!isValidAddress(to)) {
        return page(400, "Enter one e-mail address, like name@example.com.");
      }
      const now = Date.now();
      const recent = (forwards.get(s.subject) ?? []).filter((t) => t > now - 3_600_000);
      if (recent.length >= FORWARDS_PER_HOUR) {
        await auditEvent(c, deps, {
          actor,
          action: "forward-refused",
          detail: { ...detail, to, reason: "rate" },
        });
        return page(429, "Too many messages forwarded in the last hour. Try again later.");
      }
      const main = mainVoice(m);
      const voice = main ? await r.voice(ref, main.index) : null;
      if (!main || !voice) return page(400, "This message has no recording to forward.");
      recent.push(now);
      forwards.set(s.subject, recent);
      const attachment = forwardAttachment(voice.bytes, voice.contentType, downloadName(m));
      const when = formatDate(m.date ?? m.internalDate);
      const caller = headerText(m.sender, 120);
      try {
        await sendMail(smtp, {
          to,
          subject: `Voice message from ${caller}, ${when}`,
          text: [
            `Voice message from ${caller}, received ${when}${
              m.durationSeconds !== null ? ` (${Math.round(m.durationSeconds)} seconds)` : ""
            }.`,
            ``,
            `Forwarded from voicemail box ${s.subject}. The recording is attached.`,
            ``,
          ].join("\r\n"),
          attachments: [attachment],
        });
      } catch (e) {
        if (!(e instanceof MailError)) throw e;
        log("error", e.message);
        await auditEvent(c, deps, {
          actor,
          action: "forward-failed",
          detail: { ...detail, to },
        });
        return page(502, "The message could not be sent. Please try again later.");
      }
      await auditEvent(c, deps, { actor, action: "forward", detail: { ...detail, to } });
      return c.redirect(`/m/${f}/${uidValidity}-${uid}?forwarded=1#notice`, 303);
    });
  });

  function messagePage(
    s: Session,
    f: number,
    m: MessageSummary,
    more: Pick<MessagePageProps, "notice" | "to">,
  ) {
    return renderPage(
      <MessagePage
        viewer={viewer(s)}
        folders={deps.folders}
        folderIndex={f}
        m={m}
        canMail={!!deps.config.smtp}
        {...more}
      />,
    );
  }

  function subscriber(c: Ctx): Session | null {
    const s = c.get("session");
    return s?.role === "subscriber" ? s : null;
  }
}

// Sent under their own type: only what a voice part can be, never something a browser would run.
const SAFE_AUDIO_TYPES = VOICE_TYPES;

/** The audit actor of a session. */
export function actorOf(s: Session): string {
  return `${s.role}:${s.subject}`;
}

function viewer(s: Session): Viewer {
  return { label: `Mailbox ${s.subject}`, csrf: s.csrf };
}

async function withReader<T>(
  deps: PortalDeps,
  s: Session,
  fn: (r: MailboxReader) => Promise<T>,
): Promise<T> {
  // The mailbox comes from the session, never from the request.
  const reader = deps.openReader(s.subject);
  try {
    return await fn(reader);
  } finally {
    await reader.close();
  }
}

function folderIndex(raw: string, deps: PortalDeps): number {
  const f = /^\d{1,3}$/.test(raw) ? Number(raw) : -1;
  if (f < 0 || f >= deps.folders.length) {
    throw new HTTPException(404, { message: "no such folder" });
  }
  return f;
}

function messageParams(c: Ctx, deps: PortalDeps) {
  const f = folderIndex(c.req.param("f") ?? "", deps);
  const m = /^(\d{1,10})-(\d{1,10})$/.exec(c.req.param("id") ?? "");
  if (!m) throw new HTTPException(404, { message: "no such message" });
  const uidValidity = Number(m[1]);
  const uid = Number(m[2]);
  if (uidValidity < 1 || uid < 1) throw new HTTPException(404, { message: "no such message" });
  return { f, uidValidity, uid };
}

function indexParam(raw: string | undefined): number {
  if (!raw || !/^\d{1,3}$/.test(raw)) throw new HTTPException(404, { message: "no such part" });
  return Number(raw);
}

/** The recording that stands for the message: its first own Voice-Message part. */
function mainVoice(m: MessageSummary): VoiceRef | null {
  const own = m.tree.voices.map((i) => m.voices[i]).filter((v) => v);
  return own.find((v) => v.role === "Voice-Message") ?? own[0] ?? null;
}

/** `voicemail-2026-11-20-1403-4004`: date and caller, only characters safe everywhere. */
function downloadName(m: MessageSummary): string {
  const d = new Date(m.date ?? m.internalDate);
  const stamp = Number.isNaN(d.getTime())
    ? "undated"
    : d.toISOString().slice(0, 16).replace("T", "-").replace(":", "");
  const who = m.sender.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
  return `voicemail-${stamp}${who ? `-${who}` : ""}`;
}

// Recipients' phones and mail programs play PCM WAV; many cannot play GSM 6.10. The original
// goes when it cannot be decoded or the PCM copy would be too large for a relay.
function forwardAttachment(bytes: Uint8Array, contentType: string, name: string) {
  try {
    const info = parseWav(bytes);
    if (pcmWavSize(info) <= MAX_PCM_ATTACHMENT) {
      return { filename: `${name}.wav`, contentType: "audio/wav", content: toPcmWav(bytes) };
    }
  } catch (e) {
    if (!(e instanceof WavError)) throw e;
  }
  const ext = audioExtension(contentType, bytes.subarray(0, 4));
  return {
    filename: `${name}.${ext}`,
    contentType: SAFE_AUDIO_TYPES.has(contentType) ? contentType : "application/octet-stream",
    content: bytes,
  };
}

// The decoder holds one input chunk's worth of audio at a time.
function chunks(bytes: Uint8Array, size = 32 * 1024): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (off >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.subarray(off, off + size));
      off += size;
    },
  });
}
