/**
 * What a subscriber's URL names, looked up inside the session's own mailbox only: the folder
 * index, the message (UIDVALIDITY-UID) and a voice part's index; and the names of downloads.
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { PortalDeps } from "./context.ts";
import type { MailboxReader, MessageSummary, ThreadNode, VoiceRef } from "./mailbox_reader.ts";
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

/** `voicemail-2026-11-20-1403-4004`: date and caller, only characters safe everywhere. */
export function downloadName(
  m: { date: string | null; internalDate?: string; sender: string },
): string {
  const d = new Date(m.date ?? m.internalDate ?? "");
  const stamp = Number.isNaN(d.getTime())
    ? "undated"
    : d.toISOString().slice(0, 16).replace("T", "-").replace(":", "");
  const who = m.sender.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
  return `voicemail-${stamp}${who ? `-${who}` : ""}`;
}

/** The message of the thread that voice part `index` belongs to (the message itself if none). */
export function voiceOwner(m: MessageSummary, index: number): ThreadNode {
  const find = (n: ThreadNode): ThreadNode | null =>
    n.voices.includes(index) ? n : n.children.reduce<ThreadNode | null>(
      (hit, c) => hit ?? find(c),
      null,
    );
  return find(m.tree) ?? m.tree;
}

/** The file name (no extension) of voice part `v` of `m`: its own message's date and caller. */
export function partDownloadName(m: MessageSummary, v: VoiceRef): string {
  const owner = voiceOwner(m, v.index);
  const base = downloadName(owner === m.tree ? m : { ...owner, internalDate: m.internalDate });
  return v.role === "Originator-Spoken-Name"
    ? `${base}-name`
    : v.role === "Spoken-Subject"
    ? `${base}-subject`
    : base;
}

/** `name`, or `name-2`, `name-3`… the first not in `used` (which it is added to). */
export function uniqueName(name: string, used: Set<string>): string {
  let out = name;
  for (let n = 2; used.has(out); n++) out = `${name}-${n}`;
  used.add(out);
  return out;
}

/** What a voice part is, as a page or a mail names it. */
export function voiceLabel(role: VoiceRef["role"]): string {
  return role === "Originator-Spoken-Name"
    ? "Caller's name"
    : role === "Spoken-Subject"
    ? "Spoken subject"
    : "Recording";
}

/** Whether `m`'s recordings may leave the portal as files: private ones only when allowed. */
export function mayDownload(m: MessageSummary, deps: PortalDeps): boolean {
  return !m.private || deps.config.portal.privateDownload;
}

/**
 * The type a recording is sent under: its own when it is one a voice part can be, never one a
 * browser would run.
 */
export function downloadType(contentType: string): string {
  return VOICE_TYPES.has(contentType) ? contentType : "application/octet-stream";
}
