/**
 * The configuration: the file's zod schema, loading and validation, sealed secrets.
 * @module
 */
export * from "./config.ts";
export * from "./jsonc.ts";
export * from "./secrets.ts";
