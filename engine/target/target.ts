/**
 * The mirror's side: what every target (backup MSS over IMAP, file store) offers the engine.
 * @module
 */
import { createHash, type Hash } from "node:crypto";

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

/** How {@link TargetFolder.find} narrows the candidates that share an identity. */
export interface FindOptions {
  /** SHA-256 (hex) the candidate's bytes must hash to. */
  digest?: string;
  /** UIDs that are someone else's already (the map's, another intent's). */
  exclude?: ReadonlySet<number>;
}

/** A message the target holds, with its identity. */
export interface TargetMessage extends MessageIdentity {
  uid: number;
}

/**
 * One folder of one mailbox on the target, opened for writing. The bytes handed to an append
 * are the caller's again once it has settled (the copy frees them at once): a target that needs
 * them later keeps a copy, never a reference.
 */
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
  /**
   * Finds a message by identity (Message-ID, date to the second, size), lowest UID first; with
   * `digest`, only one whose bytes hash to it, and never one of `exclude`.
   */
  find(identity: MessageIdentity, opts?: FindOptions): Promise<number | null>;
  /** SHA-256 (hex) of the bytes of each given message the folder still holds. */
  digests(uids: number[]): Promise<Map<number, string>>;
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

/** SHA-256 of bytes, hex: the exact identity of what was written to the target. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** An incremental SHA-256, for messages read in chunks (never whole in memory). */
export function sha256Stream(): Hash {
  return createHash("sha256");
}

/** SHA-256 (hex) of a file, read in chunks. */
export async function sha256File(path: string): Promise<string> {
  const hash = sha256Stream();
  const file = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(256 * 1024);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    file.close();
  }
  return hash.digest("hex");
}

/**
 * The first of `candidates` (lowest UID first) that is not excluded and, when a digest is
 * asked for, whose bytes hash to it; `digests` is asked only about the survivors.
 */
export async function pickCandidate(
  candidates: readonly TargetMessage[],
  opts: FindOptions & { digests: (uids: number[]) => Promise<Map<number, string>> },
): Promise<number | null> {
  const open = candidates.filter((m) => !opts.exclude?.has(m.uid)).sort((a, b) => a.uid - b.uid);
  if (!open.length) return null;
  if (opts.digest === undefined) return open[0].uid;
  const hashes = await opts.digests(open.map((m) => m.uid));
  return open.find((m) => hashes.get(m.uid) === opts.digest)?.uid ?? null;
}
