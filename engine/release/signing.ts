/**
 * Release integrity: SHA256SUMS files and their Ed25519 signature (WebCrypto). The build signs
 * with a private key file; the appliance verifies with the public key built into it, so an
 * upgrade file is trusted only when it is listed in a SHA256SUMS that the vendor's key signed.
 * @module
 */
import { createHash } from "node:crypto";
import { BUILD } from "./build_info.ts";

/** A release file that cannot be trusted (bad checksum, bad signature, unreadable key). */
export class ReleaseIntegrityError extends Error {
  override name = "ReleaseIntegrityError";
}

/** Parses `<sha256>  <file>` lines (GNU coreutils format; `*` binary marker allowed). */
export function parseSha256Sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (!line.trim()) continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m || m[2].includes("/") || m[2].includes("\\")) {
      throw new ReleaseIntegrityError(`SHA256SUMS line ${i + 1} is not "<sha256>  <file name>"`);
    }
    out.set(m[2], m[1]);
  }
  return out;
}

/** Renders SHA256SUMS lines, sorted by file name. */
export function formatSha256Sums(sums: Map<string, string>): string {
  return [...sums].sort(([a], [b]) => (a < b ? -1 : 1)).map(([f, h]) => `${h}  ${f}\n`).join("");
}

/** SHA-256 of a file, read in chunks (release archives are tens of megabytes). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buf = new Uint8Array(1 << 20);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    hash.update(buf.subarray(0, n));
  }
  return hash.digest("hex");
}

/** Reads an Ed25519 private key from PKCS#8 PEM text. */
export async function importSigningKey(pem: string): Promise<CryptoKey> {
  const body = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(pem)?.[1];
  if (!body) throw new ReleaseIntegrityError("The signing key is not a PKCS#8 PEM private key");
  try {
    return await crypto.subtle.importKey(
      "pkcs8",
      Uint8Array.fromBase64(body.replace(/\s+/g, "")),
      { name: "Ed25519" },
      true,
      ["sign"],
    );
  } catch (e) {
    throw new ReleaseIntegrityError("The signing key is not an Ed25519 private key", { cause: e });
  }
}

/** The raw public half (base64) of a signing key, to build into the appliance. */
export async function publicKeyOf(key: CryptoKey): Promise<string> {
  const jwk = await crypto.subtle.exportKey("jwk", key);
  if (!jwk.x) throw new ReleaseIntegrityError("The signing key has no public half");
  return Uint8Array.fromBase64(jwk.x, { alphabet: "base64url" }).toBase64();
}

/** Signs SHA256SUMS text; the signature is returned as base64. */
export async function signSums(text: string, key: CryptoKey): Promise<string> {
  const sig = await crypto.subtle.sign("Ed25519", key, new TextEncoder().encode(text));
  return new Uint8Array(sig).toBase64();
}

/** Whether `signature` (base64) is the built-in (or given) key's signature of `text`. */
export async function verifySums(
  text: string,
  signature: string,
  publicKey: string = BUILD.releasePublicKey,
): Promise<boolean> {
  let key: CryptoKey;
  let sig: Uint8Array<ArrayBuffer>;
  try {
    key = await crypto.subtle.importKey(
      "raw",
      Uint8Array.fromBase64(publicKey),
      { name: "Ed25519" },
      false,
      ["verify"],
    );
    sig = Uint8Array.fromBase64(signature.trim());
  } catch {
    return false;
  }
  return await crypto.subtle.verify("Ed25519", key, sig, new TextEncoder().encode(text));
}

/**
 * Checks a release file against a signed SHA256SUMS beside it: the signature must be the
 * built-in key's and the file's digest the one listed. Throws with the reason otherwise.
 */
export async function verifyReleaseFile(
  file: string,
  opts: { sums: string; signature: string; publicKey?: string },
): Promise<void> {
  if (!(await verifySums(opts.sums, opts.signature, opts.publicKey))) {
    throw new ReleaseIntegrityError(
      `The signature of SHA256SUMS is not this appliance's release key's (${BUILD.releaseKeyName})`,
    );
  }
  const name = file.split(/[\\/]/).pop()!;
  const listed = parseSha256Sums(opts.sums).get(name);
  if (!listed) throw new ReleaseIntegrityError(`"${name}" is not listed in SHA256SUMS`);
  const actual = await sha256File(file);
  if (actual !== listed) {
    throw new ReleaseIntegrityError(`"${name}" does not match its SHA-256 in SHA256SUMS`);
  }
}
