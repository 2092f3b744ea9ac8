/**
 * Outgoing mail through the SMTP relay.
 * @module
 */
export * from "./mailer.ts";
