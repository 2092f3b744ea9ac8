/**
 * Releases: what this build is (version, commit, date, target, signing key) and the integrity of
 * release files (SHA256SUMS and its Ed25519 signature).
 * @module
 */
export * from "./build_info.ts";
export * from "./signing.ts";
