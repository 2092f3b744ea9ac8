/**
 * The one rule for what a mailbox id may look like, for the CLI, the directory sync, restore
 * and the portal's sign-in.
 * @module
 */

// MSS mailboxes are numbers; other stores name them like addresses. Nothing that could be an
// IMAP or path metacharacter (space, quote, slash, *, %, separators, a leading dot) gets through,
// so an id is safe in IMAP commands, file store paths and KV keys alike.
const MAILBOX_ID = /^[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}$/;

/** What a valid mailbox id is, in words for error messages. */
export const MAILBOX_ID_RULE =
  "letters, digits, . _ + - @ (starting with a letter or digit, at most 64)";

/** Whether `id` is a valid mailbox id (1–64 of letters, digits, `._+@-`, first a letter or digit). */
export function isMailboxId(id: string): boolean {
  return MAILBOX_ID.test(id);
}
