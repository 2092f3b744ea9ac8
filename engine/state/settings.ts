/**
 * Settings saved from the admin portal (secrets sealed by the caller, see
 * engine/config/secrets.ts); the config loader merges them under the file's values.
 * @module
 */
import { keys } from "./keys.ts";
import type { State } from "./kv.ts";

/** Settings saved from the admin portal (secrets still sealed). */
export async function getSettings(state: State): Promise<Record<string, unknown>> {
  return (await state.kv.get<Record<string, unknown>>(keys.settings())).value ?? {};
}

/** Replaces the saved settings; callers seal secrets first. */
export async function putSettings(state: State, settings: Record<string, unknown>): Promise<void> {
  await state.kv.set(keys.settings(), settings);
}
