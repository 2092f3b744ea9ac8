/**
 * IMAP clients: the mirror's lean session, the imapflow builder (IDLE, restore, portal), errors with context.
 * @module
 */
export * from "./flow.ts";
export * from "./reader.ts";
export * from "./session.ts";
