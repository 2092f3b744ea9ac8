/**
 * The file store: naming, reading, storing messages and their metadata.
 * @module
 */
export * from "./layout.ts";
export * from "./meta.ts";
export * from "./read.ts";
export * from "./store.ts";
