import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUILD, buildInfo } from "./build_info.ts";
import {
  formatSha256Sums,
  importSigningKey,
  parseSha256Sums,
  publicKeyOf,
  ReleaseIntegrityError,
  sha256File,
  signSums,
  verifyReleaseFile,
  verifySums,
} from "./signing.ts";

const DEV_KEY = fileURLToPath(
  new URL("../../scripts/release/dev-signing-key.pem", import.meta.url),
);

Deno.test("the built-in public key is the development signing key's", async () => {
  const key = await importSigningKey(await Deno.readTextFile(DEV_KEY));
  assert.equal(await publicKeyOf(key), BUILD.releasePublicKey);
  assert.equal(buildInfo().deno, Deno.version.deno);
});

Deno.test("signSums() and verifySums() round-trip; any change breaks the signature", async () => {
  const key = await importSigningKey(await Deno.readTextFile(DEV_KEY));
  const sums = formatSha256Sums(new Map([["b.tar.gz", "b".repeat(64)], ["a.zip", "a".repeat(64)]]));
  assert.equal(sums, `${"a".repeat(64)}  a.zip\n${"b".repeat(64)}  b.tar.gz\n`);
  const sig = await signSums(sums, key);
  assert.equal(await verifySums(sums, sig), true);
  assert.equal(await verifySums(sums.replace("a.zip", "c.zip"), sig), false);
  assert.equal(await verifySums(sums, sig.replace(/^./, (c) => (c === "A" ? "B" : "A"))), false);
  assert.equal(await verifySums(sums, "not base64!"), false);
  const other = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  assert.equal(await verifySums(sums, sig, await publicKeyOf(other.privateKey)), false);
});

Deno.test("parseSha256Sums() reads coreutils lines and refuses anything else", () => {
  const h = "0123456789abcdef".repeat(4);
  assert.deepEqual([...parseSha256Sums(`${h}  x.tar.gz\n${h} *y.zip\n\n`)], [
    ["x.tar.gz", h],
    ["y.zip", h],
  ]);
  assert.throws(() => parseSha256Sums(`${h}  ../etc/passwd\n`), ReleaseIntegrityError);
  assert.throws(() => parseSha256Sums(`nothex  x\n`), /line 1/);
});

Deno.test("verifyReleaseFile() accepts a listed, signed file and names what is wrong", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "vmirror-1.0.0-linux-x64.tar.gz");
    await Deno.writeFile(file, new TextEncoder().encode("release bytes"));
    const key = await importSigningKey(await Deno.readTextFile(DEV_KEY));
    const sums = formatSha256Sums(
      new Map([["vmirror-1.0.0-linux-x64.tar.gz", await sha256File(file)]]),
    );
    const signature = await signSums(sums, key);
    await verifyReleaseFile(file, { sums, signature });
    await Deno.writeFile(file, new TextEncoder().encode("tampered bytes"));
    await assert.rejects(
      verifyReleaseFile(file, { sums, signature }),
      /does not match its SHA-256/,
    );
    await assert.rejects(
      verifyReleaseFile(file, { sums: sums + `${"0".repeat(64)}  extra\n`, signature }),
      /signature of SHA256SUMS/,
    );
    const renamed = join(dir, "other.tar.gz");
    await Deno.rename(file, renamed);
    await assert.rejects(verifyReleaseFile(renamed, { sums, signature }), /not listed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
