/**
 * What a subscriber's URL names, looked up inside the session's own mailbox only: the folder
 * index, the message (UIDVALIDITY-UID) and a voice part's index; and the names of downloads.
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { PortalDeps } from "./context.ts";
import type { MailboxReader, MessageSummary, VoiceRef } from "./mailbox_reader.ts";
import type { Session } from "./sessions.ts";
import { VOICE_TYPES } from "../engine/voicemail/mod.ts";

/** A message named by a URL: the folder's index in the portal's list, UIDVALIDITY and UID. */
export interface MessageParams {
  f: number;
  uidValidity: number;
  uid: number;
}

/** Runs `fn` on a reader of the session's mailbox (never one named by the request), then closes it. */
export async function withReader<T>(
  deps: PortalDeps,
  s: Session,
  fn: (r: MailboxReader) => Promise<T>,
): Promise<T> {
  const reader = deps.openReader(s.subject);
  try {
    return await fn(reader);
  } finally {
    await reader.close();
  }
}

/** A folder index of the portal's list; 404 for anything else. */
export function folderIndex(raw: string, deps: PortalDeps): number {
  const f = /^\d{1,3}$/.test(raw) ? Number(raw) : -1;
  if (f < 0 || f >= deps.folders.length) {
    throw new HTTPException(404, { message: "no such folder" });
  }
  return f;
}

/** The `:f` and `:id` (`<uidvalidity>-<uid>`) parameters; 404 when malformed. */
export function messageParams(c: Context, deps: PortalDeps): MessageParams {
  const f = folderIndex(c.req.param("f") ?? "", deps);
  const m = /^(\d{1,10})-(\d{1,10})$/.exec(c.req.param("id") ?? "");
  if (!m) throw new HTTPException(404, { message: "no such message" });
  const uidValidity = Number(m[1]);
  const uid = Number(m[2]);
  if (uidValidity < 1 || uid < 1) throw new HTTPException(404, { message: "no such message" });
  return { f, uidValidity, uid };
}

/** A voice part's index (`:n`); 404 when malformed. */
export function partIndex(raw: string | undefined): number {
  if (!raw || !/^\d{1,3}$/.test(raw)) throw new HTTPException(404, { message: "no such part" });
  return Number(raw);
}

/** The recording that stands for the message: its first own Voice-Message part. */
export function mainVoice(m: MessageSummary): VoiceRef | null {
  const own = m.tree.voices.map((i) => m.voices[i]).filter((v) => v);
  return own.find((v) => v.role === "Voice-Message") ?? own[0] ?? null;
}

/** `voicemail-2026-11-20-1403-4004`: date and caller, only characters safe everywhere. */
export function downloadName(m: MessageSummary): string {
  const d = new Date(m.date ?? m.internalDate);
  const stamp = Number.isNaN(d.getTime())
    ? "undated"
    : d.toISOString().slice(0, 16).replace("T", "-").replace(":", "");
  const who = m.sender.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
  return `voicemail-${stamp}${who ? `-${who}` : ""}`;
}

/**
 * The type a recording is sent under: its own when it is one a voice part can be, never one a
 * browser would run.
 */
export function downloadType(contentType: string): string {
  return VOICE_TYPES.has(contentType) ? contentType : "application/octet-stream";
}
