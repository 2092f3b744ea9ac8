/**
 * Small shared tools: the log, timing, the data directory's one-writer lock.
 * @module
 */
export * from "./data_lock.ts";
export * from "./log.ts";
export * from "./timing.ts";
