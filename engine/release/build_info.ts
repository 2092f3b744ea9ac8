/**
 * What this build is. A checkout runs with these defaults; `deno task release` rewrites this file
 * in its staging copy with the commit, the build date, the target and the signing key's public
 * half, so every release carries its own facts.
 * @module
 */
import { VERSION } from "../version.ts";

/** The facts a release build stamps in (a checkout: "source", no date, no target). */
export const BUILD = {
  commit: "source",
  buildDate: null as string | null,
  target: null as string | null,
  /**
   * Ed25519 public key (raw, base64) that release checksums must be signed with. This default is
   * the development key (scripts/release/dev-signing-key.pem, test use only); a release built with
   * `--key` embeds the public half of that key instead.
   */
  releasePublicKey: "ZFywXvpjD9TYdfXbV/N4crjOprsI2Y9nTM9l4gXWlCM=",
  releaseKeyName: "development",
};

/** Everything `vmirror version --json` reports. */
export interface BuildInfo {
  version: string;
  commit: string;
  buildDate: string | null;
  target: string | null;
  deno: string;
  releaseKey: string;
}

/** This build's version, commit, date, target, Deno version and signing key name. */
export function buildInfo(): BuildInfo {
  return {
    version: VERSION,
    commit: BUILD.commit,
    buildDate: BUILD.buildDate,
    target: BUILD.target,
    deno: Deno.version.deno,
    releaseKey: BUILD.releaseKeyName,
  };
}
