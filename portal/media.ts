/**
 * A message's recordings: a voice part as 16-bit PCM WAV, decoded on the fly with Range for
 * seeking (Hono's serveStatic answers no Range), and as downloads — 16-bit PCM WAV, which plays
 * everywhere, or the stored original. Private messages are not downloaded unless
 * `portal.privateDownload` allows it: refused here, not only left off the page. Playing a
 * message (its first byte asked for) or downloading it marks it heard, in the portal's own state.
 * @module
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { parseWav, pcmWavSize, pcmWavStream, WavError } from "../engine/audio/mod.ts";
import { audioExtension } from "../engine/files/mod.ts";
import { actorOf, auditEvent, type Ctx, type PortalDeps, type PortalEnv } from "./context.ts";
import { markHeard } from "./heard_marks.ts";
import { attachmentDisposition, parseRange } from "./http.ts";
import type { MessageRef } from "./mailbox_reader.ts";
import {
  downloadType,
  mayDownload,
  messageParams,
  partDownloadName,
  partIndex,
  withReader,
} from "./message_ref.ts";
import { requireRole } from "./middleware.ts";
import type { Session } from "./sessions.ts";
import { messagePage } from "./subscriber.tsx";
import { portalPlays } from "./metrics.ts";

/**
 * The recordings sub-app (mounted at "/m"): `/:f/:id/audio/:n` (the player's),
 * `/:f/:id/download/:n` (PCM WAV) and `/:f/:id/original/:n` (the stored recording).
 */
export function mediaRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  const auditPlay = playAuditor(deps);

  app.get("/:f/:id/audio/:n", requireRole("subscriber", "error"), async (c) => {
    const s = c.get("user");
    const { f, uidValidity, uid } = messageParams(c, deps);
    const n = partIndex(c.req.param("n"));
    const ref = { folder: deps.folders[f].name, uidValidity, uid };
    // A request from the first byte is a play: the message is then described too (to mark it
    // heard); a seek's later ranges only need the audio.
    const fromStart = c.req.method === "GET" &&
      /^\s*(?:bytes=0-[^,]*)?\s*$/.test(c.req.header("range") ?? "");
    const found = await withReader(deps, s, async (r) => {
      const voice = await r.voice(ref, n);
      return voice ? { voice, m: fromStart ? await r.get(ref) : null } : null;
    });
    if (!found) throw new HTTPException(404, { message: "no such recording" });
    const { voice } = found;
    const size = pcmWavSize(parseWav(voice.bytes));
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
    if (start === 0 && c.req.method === "GET") {
      await auditPlay(c, s, { ...ref, part: n });
      // The message itself, not the caller's spoken name, is what makes it heard.
      const own = found.m?.voices[n]?.role === "Voice-Message";
      if (own && !deps.folders[f].greetings) await markHeard(deps, s.subject, [found.m!], true);
    }
    const body = pcmWavStream(chunks(voice.bytes), { totalSize: voice.bytes.length, start, end });
    headers["Content-Length"] = String(end - start);
    if (range) headers["Content-Range"] = `bytes ${start}-${end - 1}/${size}`;
    return new Response(body, { status: range ? 206 : 200, headers });
  });

  for (const format of ["wav", "original"] as const) {
    const path = format === "wav" ? "/:f/:id/download/:n" : "/:f/:id/original/:n";
    app.get(path, requireRole("subscriber", "error"), async (c) => {
      const s = c.get("user");
      const { f, uidValidity, uid } = messageParams(c, deps);
      const n = partIndex(c.req.param("n"));
      const ref = { folder: deps.folders[f].name, uidValidity, uid };
      const detail = { ...ref, part: n, format };
      const found = await withReader(deps, s, async (r) => {
        const m = await r.get(ref);
        if (!m || !m.voices[n]) return null;
        // Refused before a byte of the recording is read.
        if (!mayDownload(m, deps)) return { m, v: null };
        const v = await r.voice(ref, n);
        return v ? { m, v } : null;
      });
      if (!found) throw new HTTPException(404, { message: "no such recording" });
      const { m, v } = found;
      if (!v) {
        await auditEvent(c, deps, { actor: actorOf(s), action: "download-refused", detail });
        const text = "This message is private: it can be played here, but not downloaded.";
        return c.html(messagePage(deps, { s, f, m }, { notice: { kind: "error", text } }), 403);
      }
      const name = partDownloadName(m, m.voices[n]);
      const headers = { "Cache-Control": "private, no-store" };
      if (format === "wav") {
        let size: number | null = null;
        try {
          size = pcmWavSize(parseWav(v.bytes));
        } catch (e) {
          // Undecodable: the stored recording is all there is to give.
          if (!(e instanceof WavError)) throw e;
        }
        if (size !== null) {
          await auditEvent(c, deps, { actor: actorOf(s), action: "download", detail });
          if (!deps.folders[f].greetings) await markHeard(deps, s.subject, [m], true);
          const body = pcmWavStream(chunks(v.bytes), { totalSize: v.bytes.length });
          return new Response(body, {
            headers: {
              ...headers,
              "Content-Type": "audio/wav",
              "Content-Length": String(size),
              "Content-Disposition": attachmentDisposition(`${name}.wav`),
            },
          });
        }
      }
      await auditEvent(c, deps, {
        actor: actorOf(s),
        action: "download",
        detail: { ...detail, format: "original" },
      });
      if (!deps.folders[f].greetings) await markHeard(deps, s.subject, [m], true);
      const ext = audioExtension(v.contentType, v.bytes.subarray(0, 4));
      return new Response(v.bytes as Uint8Array<ArrayBuffer>, {
        headers: {
          ...headers,
          "Content-Type": downloadType(v.contentType),
          "Content-Length": String(v.bytes.length),
          "Content-Disposition": attachmentDisposition(`${name}.${ext}`),
        },
      });
    });
  }
  return app;
}

/**
 * Audits plays: a player asks for byte 0 once per play and for other ranges while seeking, so
 * a play is audited once, and not again for the same recording within a few minutes.
 */
function playAuditor(deps: PortalDeps) {
  const plays = new Map<string, number>();
  return async <E extends PortalEnv>(
    c: Ctx<E>,
    s: Session,
    part: MessageRef & { part: number },
  ) => {
    const key =
      `${s.subject}\u0000${part.folder}\u0000${part.uidValidity}\u0000${part.uid}\u0000${part.part}`;
    const now = Date.now();
    if ((plays.get(key) ?? 0) >= now - 5 * 60_000) return;
    plays.set(key, now);
    if (plays.size > 10_000) plays.clear();
    portalPlays.inc();
    await auditEvent(c, deps, { actor: actorOf(s), action: "play", detail: { ...part } });
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
