import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { zipSync } from "fflate";
import { formatSha256Sums, importSigningKey, sha256File, signSums } from "../release/mod.ts";
import { programIn, unpackRelease, UpgradeError, verifyUpgradeFile } from "./package.ts";

const DEV_KEY = fileURLToPath(
  new URL("../../scripts/release/dev-signing-key.pem", import.meta.url),
);

async function scratch(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vmirror-upgrade-package-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("verifyUpgradeFile() trusts the signed SHA256SUMS beside FILE, or a SHA-256 given", async () => {
  await scratch(async (dir) => {
    const file = join(dir, "vmirror-1.0.0-linux-x64.tar.gz");
    await Deno.writeTextFile(file, "package bytes");
    await assert.rejects(verifyUpgradeFile(file), /No "SHA256SUMS" beside .*give --sha256/);
    const key = await importSigningKey(await Deno.readTextFile(DEV_KEY));
    const sums = formatSha256Sums(new Map([[file.split("/").pop()!, await sha256File(file)]]));
    await Deno.writeTextFile(join(dir, "SHA256SUMS"), sums);
    await Deno.writeTextFile(join(dir, "SHA256SUMS.sig"), await signSums(sums, key));
    assert.equal(await verifyUpgradeFile(file), "signature");
    await Deno.writeTextFile(file, "tampered bytes");
    const e = await verifyUpgradeFile(file).catch((x) => x);
    assert.ok(e instanceof UpgradeError);
    assert.equal(e.stage, "verify");
    assert.match(e.message, /is not trusted: .*does not match its SHA-256/);
    const digest = await sha256File(file);
    assert.equal(await verifyUpgradeFile(file, { sha256: digest.toUpperCase() }), "sha256");
    await assert.rejects(
      verifyUpgradeFile(file, { sha256: "0".repeat(64) }),
      /does not match the SHA-256 given/,
    );
  });
});

Deno.test("unpackRelease() turns a package's top folder, or an executable, into a release", async () => {
  await scratch(async (dir) => {
    // A .tar.gz as the release build makes it: one folder with the launcher, runtime, bundle.
    const pkg = join(dir, "pkg", "vmirror-1.0.0-linux-x64");
    await Deno.mkdir(pkg, { recursive: true });
    await Deno.writeTextFile(join(pkg, "vmirror"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
    await Deno.writeTextFile(join(pkg, "vmirror.js"), "// bundle\n");
    const tgz = join(dir, "vmirror-1.0.0-linux-x64.tar.gz");
    const tar = await new Deno.Command("tar", {
      args: ["-czf", tgz, "-C", join(dir, "pkg"), "vmirror-1.0.0-linux-x64"],
    }).output();
    assert.ok(tar.success);
    const fromTar = join(dir, "releases", "1.0.0");
    await Deno.mkdir(join(dir, "releases"));
    await unpackRelease(tgz, fromTar);
    assert.equal(await programIn(fromTar), join(fromTar, "vmirror"));
    assert.equal(await Deno.readTextFile(join(fromTar, "vmirror.js")), "// bundle\n");

    const zip = join(dir, "vmirror-1.0.0-linux-x64.zip");
    await Deno.writeFile(
      zip,
      zipSync({ "top/vmirror": new TextEncoder().encode("#!/bin/sh\n") }),
    );
    const fromZip = join(dir, "releases", "from-zip");
    await unpackRelease(zip, fromZip);
    assert.equal(await programIn(fromZip), join(fromZip, "vmirror"));

    const exe = join(dir, "downloaded-vmirror");
    await Deno.writeTextFile(exe, "#!/bin/sh\n");
    const fromExe = join(dir, "releases", "from-exe");
    await unpackRelease(exe, fromExe);
    assert.equal((await Deno.stat(join(fromExe, "vmirror"))).mode! & 0o111, 0o111);

    const evil = join(dir, "evil.zip");
    await Deno.writeFile(evil, zipSync({ "../escape": new Uint8Array([1]) }));
    await assert.rejects(unpackRelease(evil, join(dir, "releases", "evil")), /outside itself/);
    const empty = join(dir, "empty.zip");
    await Deno.writeFile(empty, zipSync({ "top/readme.txt": new Uint8Array([1]) }));
    await assert.rejects(unpackRelease(empty, join(dir, "releases", "e")), /holds no vmirror/);
    // Nothing half-unpacked is left behind.
    const left = [...Deno.readDirSync(join(dir, "releases"))].map((e) => e.name).sort();
    assert.deepEqual(left, ["1.0.0", "from-exe", "from-zip"]);
  });
});
