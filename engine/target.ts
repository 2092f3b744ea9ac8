/**
 * The mirror's side: what every target (backup MSS over IMAP, file store) offers the engine.
 * @module
 */

/** How a copy is found again after a crash or a UIDVALIDITY change. */
export interface MessageIdentity {
  messageId: string | null;
  internalDate: Date;
  size: number;
}

/** Where a copied message comes from on production (file stores name and describe it by this). */
export interface MessageOrigin {
  mailbox: string;
  folder: string;
  uid: number;
  uidValidity: number;
  kind: "copy" | "placeholder";
}

/** A message the target holds, with its identity. */
export interface TargetMessage extends MessageIdentity {
  uid: number;
}

/** One folder of one mailbox on the target, opened for writing. */
export interface TargetFolder {
  /** The target's UIDVALIDITY for this folder (file stores keep their own). */
  readonly uidValidity: number;
  /** Whether the target keeps a flag or keyword. */
  allowFlag(flag: string): boolean;
  /** Every UID the folder holds. */
  listUids(): Promise<Set<number>>;
  /** Stores a message; returns its UID, or null when the target cannot tell (no UIDPLUS). */
  append(
    bytes: Uint8Array,
    flags: string[],
    internalDate: Date,
    origin?: MessageOrigin,
  ): Promise<number | null>;
  /**
   * Stores a message read from a file, streamed (optional: targets without it get the bytes
   * through {@link TargetFolder.append}).
   */
  appendFile?(
    path: string,
    size: number,
    flags: string[],
    internalDate: Date,
    origin?: MessageOrigin,
  ): Promise<number | null>;
  /**
   * Stores several messages in one go (optional; an IMAP target with MULTIAPPEND). Returns the
   * UIDs in order, null where the target cannot tell.
   */
  appendMany?(
    items: { bytes: Uint8Array; flags: string[]; internalDate: Date }[],
  ): Promise<(number | null)[]>;
  /**
   * Makes everything appended so far durable (optional: targets whose append is already
   * durable, like an IMAP server's, leave it out). Called before the map records a batch.
   */
  flush?(): Promise<void>;
  /** Finds a message by identity (Message-ID, date to the second, size). */
  find(identity: MessageIdentity): Promise<number | null>;
  /** Every message with its identity, for re-pairing after a UIDVALIDITY change. */
  listAll(): Promise<TargetMessage[]>;
  /** Replaces a message's flags. */
  setFlags(uid: number, flags: string[]): Promise<void>;
  /**
   * Removes exactly these messages, never others. A target that cannot do so safely right now
   * leaves them in place and returns why (the deletion is tried again next pass).
   */
  remove(uids: number[]): Promise<void | { deferred: string }>;
}

/** One mailbox on the target. */
export interface MirrorTarget {
  readonly name: string;
  /** Whether over-length messages become placeholders (a backup MSS's class of service). */
  readonly placeholders: boolean;
  /** Opens (creating when missing) a folder. */
  openFolder(folder: string): Promise<TargetFolder>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** Same message? Dates compare to the second (INTERNALDATE has no finer grain). */
export function sameIdentity(a: MessageIdentity, b: MessageIdentity): boolean {
  return a.size === b.size &&
    Math.floor(a.internalDate.getTime() / 1000) === Math.floor(b.internalDate.getTime() / 1000) &&
    (a.messageId === null || b.messageId === null || a.messageId === b.messageId);
}
