/**
 * CAPABILITY: what the server offers, asked for when neither the greeting nor the login's
 * tagged OK carried a `[CAPABILITY …]` code.
 * @module
 */
import type { Runner } from "../command.ts";
import { capabilityResponse } from "../parse.ts";

/** The server's capabilities, upper-cased; null when it listed none (keep what is known). */
export async function capability(runner: Runner): Promise<Set<string> | null> {
  let caps: Set<string> | null = null;
  await runner.run(["CAPABILITY"], (r) => {
    caps = capabilityResponse(r.text) ?? caps;
  });
  return caps;
}
