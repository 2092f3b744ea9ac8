/**
 * The console's long work — sync now, directory sync, restore — as jobs: started with their
 * requests checked, one of a kind per target at a time, progress lines that several watchers
 * can follow, the outcome kept in the state store and the audit log.
 * @module
 */
export * from "./compact.ts";
export * from "./params.ts";
export * from "./registry.ts";
export * from "./start.ts";
