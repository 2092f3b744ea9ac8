/**
 * What a message directory's meta.json holds: the one description of a stored message that the
 * store writes and the readers (the store itself, restore, the portal) read — a zod schema, its
 * types, and the one rule for when a message directory is complete.
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { MESSAGE_FILE, META_FILE } from "./layout.ts";

// What every reader relies on is required and checked; descriptive fields fall back to an empty
// value when damaged, so a hand-edited description never hides a message that is stored whole.
const uid = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const text = z.string().nullable().catch(null);
const seconds = z.number().nonnegative().nullable().catch(null);
const address = z.object({ name: z.string(), address: z.string() });

/** One stored voice part, as meta.json describes it. */
export const storedVoicePartSchema = z.object({
  /** The file in the message directory holding the part's decoded bytes. */
  file: z.string(),
  role: z.enum(["Voice-Message", "Originator-Spoken-Name", "Spoken-Subject"]),
  contentType: z.string(),
  /** The sender's file name for the part (sanitised), if any. */
  filename: text,
  partPath: z.string(),
  bytes: z.number().int().nonnegative(),
  seconds,
  claimedSeconds: seconds,
  computedSeconds: seconds,
  durationSource: z.enum(["content-duration", "audio-header"]).nullable().catch(null),
});

/** One stored voice part, as meta.json describes it. */
export type StoredVoicePart = z.infer<typeof storedVoicePartSchema>;

/** One message of the forward/reply chain tree in meta.json. */
export interface StoredChainNode {
  messageId: string | null;
  from: z.infer<typeof address> | null;
  date: string | null;
  subject: string | null;
  /** "" for the stored message itself, else the IMAP section of the embedded message. */
  partPath: string;
  durationSeconds: number | null;
  /** Files of this message's own voice parts. */
  voiceFiles: string[];
  children: StoredChainNode[];
}

/** The schema of one chain node (recursive: embedded messages are its children). */
export const storedChainNodeSchema: z.ZodType<StoredChainNode> = z.object({
  messageId: text,
  from: address.nullable().catch(null),
  date: text,
  subject: text,
  partPath: z.string(),
  durationSeconds: seconds,
  voiceFiles: z.array(z.string()).catch([]),
  get children() {
    return z.array(storedChainNodeSchema).catch([]);
  },
});

/** The schema of a message directory's meta.json. */
export const storedMessageMetaSchema = z.object({
  vmirror: z.literal(1).catch(1),
  /** The target UID (what the engine's map holds). */
  uid,
  /** The folder's target UIDVALIDITY when the message was stored. */
  uidValidity: uid.catch(1),
  /** Where the message came from on production. */
  source: z.object({
    mailbox: z.string(),
    folder: z.string(),
    uid,
    uidValidity: uid,
    kind: z.enum(["copy", "placeholder"]),
  }).nullable().catch(null),
  /** Flags as IMAP keywords: strings only, as restore sends them back in an APPEND. */
  flags: z.array(z.string()),
  internalDate: z.string().refine((s) => !Number.isNaN(Date.parse(s)), "not a date"),
  /** Size of message.eml in bytes. */
  size: z.number().int().nonnegative(),
  /** The Message-ID as the engine compares it (first `<…>` of the header). */
  messageId: z.string().nullable(),
  /** The Date header. */
  date: text,
  /** The sender as a person reads it. */
  sender: z.string().catch(""),
  from: address.nullable().catch(null),
  to: z.array(address).catch([]),
  subject: text,
  urgent: z.boolean().catch(false),
  private: z.boolean().catch(false),
  broadcast: z.boolean().catch(false),
  /** Seconds of the Voice-Message parts of the message itself. */
  durationSeconds: seconds,
  voiceParts: z.array(storedVoicePartSchema).catch([]),
  /** The message and the messages embedded in it (forwarded, replied to), as a tree. */
  chain: storedChainNodeSchema.nullable().catch(null),
  inReplyTo: text,
  references: z.array(z.string()).catch([]),
  storedAt: z.string().catch(""),
  flagsChangedAt: z.string().optional().catch(undefined),
  /** Set when the message was moved to the deleted area; retention counts from it. */
  deletedAt: z.string().optional().catch(undefined),
  /** Why the message could not be parsed (it is stored whole all the same). */
  parseError: z.string().optional().catch(undefined),
});

/** The contents of a message directory's meta.json. */
export type StoredMessageMeta = z.infer<typeof storedMessageMetaSchema>;

/** A message directory's meta.json when it is valid, else null (missing, not JSON, invalid). */
export async function readMeta(msgDir: string): Promise<StoredMessageMeta | null> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(join(msgDir, META_FILE)));
  } catch {
    return null; // Missing or not JSON: not (yet) a message this store wrote.
  }
  const parsed = storedMessageMetaSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/**
 * The one rule for a complete message directory: a valid meta.json and a message.eml of the
 * size it records. Anything else is a message still being written, or damaged: not counted.
 */
export async function readCompleteMessage(msgDir: string): Promise<StoredMessageMeta | null> {
  const meta = await readMeta(msgDir);
  if (!meta) return null;
  try {
    const info = await Deno.stat(join(msgDir, MESSAGE_FILE));
    return info.isFile && info.size === meta.size ? meta : null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}
