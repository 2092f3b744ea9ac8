/**
 * The state store: the only owner of Deno KV. Every key is built in keys.ts; each table has
 * its own module of typed functions, and no generic get/put leaves this folder.
 * @module
 */
export type { FolderKey, FolderRef } from "./keys.ts";
export {
  closeState,
  migrate,
  type Migration,
  openState,
  SCHEMA_VERSION,
  schemaVersion,
  type State,
  StateError,
} from "./kv.ts";
export * from "./subscriptions.ts";
export * from "./mirror_map.ts";
export * from "./guard.ts";
export * from "./results.ts";
export * from "./settings.ts";
export * from "./portal.ts";
export * from "./backup.ts";
export * from "./audit.ts";
export * from "./health.ts";
export * from "./history.ts";
export * from "./stats.ts";
export * from "./alerts.ts";
export * from "./jobs.ts";
export * from "./heard.ts";
