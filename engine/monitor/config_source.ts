/**
 * The monitor reads the live configuration anew every round (settings change at run time);
 * tests and one-off callers hand in a plain configuration instead.
 * @module
 */
import { type Config, LiveConfig } from "../config/mod.ts";

/** A configuration, or the live one to read per use. */
export type ConfigSource = Config | LiveConfig;

/** The configuration in force now. */
export function configOf(source: ConfigSource): Config {
  return source instanceof LiveConfig ? source.current : source;
}
