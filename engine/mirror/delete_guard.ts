/**
 * The mass-deletion guard's rules: when does a pass that would delete copies from the mirror look
 * like a production accident rather than subscribers deleting voicemail? Pure logic, no I/O; the
 * mirror applies the verdicts and the state store keeps what is held.
 * @module
 */

/** The guard's settings (`limits.deleteGuard`). */
export interface DeleteGuardSettings {
  enabled: boolean;
  /** Hold when a mailbox would lose more than this share of its mirror… */
  mailboxShare: number;
  /** …and more than this many messages. */
  mailboxMinMessages: number;
  /** Hold when one pass would delete more than this share of the whole mirror… */
  totalShare: number;
  /** …and more than this many messages. */
  totalMinMessages: number;
  /** Held deletions are applied once production has stayed so for this long. */
  holdHours: number;
}

/** What the guard remembers about one mailbox whose deletions it holds. */
export interface HeldState {
  /** When the deletions were first held. */
  since: string;
  /** Set by `release-deletions`: the next pass applies them whatever their size. */
  released?: { at: string; by: string };
}

/** Why deletions are held. */
export type HoldReason = "mailbox" | "total";

/** Whether one mailbox's planned deletions are too large a share of its own mirror. */
export function overMailboxShare(
  planned: number,
  mirrored: number,
  g: DeleteGuardSettings,
): boolean {
  return g.enabled && planned > g.mailboxMinMessages && planned > g.mailboxShare * mirrored;
}

/** Whether one pass's planned deletions are too large a share of the whole mirror. */
export function overTotalShare(
  planned: number,
  mirroredTotal: number,
  g: DeleteGuardSettings,
): boolean {
  return g.enabled && planned > g.totalMinMessages && planned > g.totalShare * mirroredTotal;
}

/**
 * Whether held deletions may go ahead now: an operator released them, or production has stayed
 * in the same state for `holdHours` since they were first held.
 */
export function releaseDue(
  held: HeldState | null,
  now: Date,
  g: DeleteGuardSettings,
): "released" | "expired" | null {
  if (!held) return null;
  if (held.released) return "released";
  const since = Date.parse(held.since);
  if (Number.isFinite(since) && now.getTime() - since >= g.holdHours * 3_600_000) {
    return "expired";
  }
  return null;
}

/** The sentence that tells an operator why deletions wait and how to let them go. */
export function holdMessage(
  mailbox: string,
  planned: number,
  of: { mirrored: number; reason: HoldReason; since: string; holdHours: number },
): string {
  const why = of.reason === "mailbox"
    ? `${planned} of the mailbox's ${of.mirrored} mirrored message(s)`
    : `${planned} message(s) in a pass that would delete more than the guard's share of the whole mirror (${of.mirrored} message(s))`;
  const until = new Date(Date.parse(of.since) + of.holdHours * 3_600_000).toISOString();
  return `deletions held: production no longer has ${why}; the mirror keeps them until ` +
    `\`vmirror release-deletions --mailbox ${mailbox}\` or ${until} if production stays so`;
}
