/**
 * The state store: the only owner of Deno KV (keys, records, migrations).
 * @module
 */
export * from "./portal_kv.ts";
export * from "./state.ts";
