/**
 * IMAP clients: the mirror's lean session (wire, parse, encode, session, commands/<verb>), the
 * imapflow builder (IDLE, restore, portal), errors with context.
 * @module
 */
export * from "./flow.ts";
export * from "./folder_names.ts";
export * from "./reader.ts";
export * from "./session.ts";
export { imapDate } from "./encode.ts";
export type { FetchedIdentity, FlagScan } from "./parse.ts";
export { FLOOR_BYTES_PER_SECOND } from "./wire.ts";
