/**
 * Small shared tools: the log, timing, a keyed lock and a pool, durable file writes, the mailbox id rule, the data directory's one-writer lock.
 * @module
 */
export * from "./concurrency.ts";
export * from "./data_lock.ts";
export * from "./durable.ts";
export * from "./log.ts";
export * from "./mailbox_id.ts";
export * from "./timing.ts";
export * from "./zone.ts";
