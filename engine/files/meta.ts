/**
 * What a message directory's meta.json holds: the one description of a stored message that the
 * store writes and the readers (restore, the portal) read.
 * @module
 */
import type { Address } from "../mime/mod.ts";
import type { MessageOrigin } from "../target/mod.ts";
import type { VoicePart } from "../voicemail/mod.ts";

/** One stored voice part, as meta.json describes it. */
export interface StoredVoicePart {
  /** The file in the message directory holding the part's decoded bytes. */
  file: string;
  role: VoicePart["role"];
  contentType: string;
  /** The sender's file name for the part (sanitised), if any. */
  filename: string | null;
  partPath: string;
  bytes: number;
  seconds: number | null;
  claimedSeconds: number | null;
  computedSeconds: number | null;
  durationSource: VoicePart["durationSource"];
}

/** One message of the forward/reply chain tree in meta.json. */
export interface StoredChainNode {
  messageId: string | null;
  from: Address | null;
  date: string | null;
  subject: string | null;
  /** "" for the stored message itself, else the IMAP section of the embedded message. */
  partPath: string;
  durationSeconds: number | null;
  /** Files of this message's own voice parts. */
  voiceFiles: string[];
  children: StoredChainNode[];
}

/** The contents of a message directory's meta.json. */
export interface StoredMessageMeta {
  vmirror: 1;
  /** The target UID (what the engine's map holds). */
  uid: number;
  /** The folder's target UIDVALIDITY when the message was stored. */
  uidValidity: number;
  /** Where the message came from on production. */
  source: MessageOrigin | null;
  flags: string[];
  internalDate: string;
  /** Size of message.eml in bytes. */
  size: number;
  /** The Message-ID as the engine compares it (first `<…>` of the header). */
  messageId: string | null;
  /** The Date header. */
  date: string | null;
  /** The sender as a person reads it. */
  sender: string;
  from: Address | null;
  to: Address[];
  subject: string | null;
  urgent: boolean;
  private: boolean;
  broadcast: boolean;
  /** Seconds of the Voice-Message parts of the message itself. */
  durationSeconds: number | null;
  voiceParts: StoredVoicePart[];
  /** The message and the messages embedded in it (forwarded, replied to), as a tree. */
  chain: StoredChainNode | null;
  inReplyTo: string | null;
  references: string[];
  storedAt: string;
  flagsChangedAt?: string;
  /** Set when the message was moved to the deleted area; retention counts from it. */
  deletedAt?: string;
  /** Why the message could not be parsed (it is stored whole all the same). */
  parseError?: string;
}
