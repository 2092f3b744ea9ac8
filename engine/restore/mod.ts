/**
 * The rescue: planning and putting messages back into production.
 * @module
 */
export * from "./plan.ts";
export * from "./restore.ts";
