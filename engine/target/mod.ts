/**
 * Where the mirror writes: the target interface, message identity and digests, the backup MSS over IMAP.
 * @module
 */
export * from "./flags.ts";
export * from "./identity_index.ts";
export * from "./imap.ts";
export * from "./target.ts";
