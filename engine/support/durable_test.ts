import assert from "node:assert/strict";
import { join } from "node:path";
import { isUnsupported, syncDir, writeFileAtomic, writeNewFile } from "./durable.ts";

Deno.test("writeFileAtomic() replaces a file whole and leaves no temp file behind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "state.json");
    await writeFileAtomic(path, new TextEncoder().encode("old"));
    await writeFileAtomic(path, new TextEncoder().encode("new"));
    assert.equal(await Deno.readTextFile(path), "new");
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), [
      "state.json",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic() keeps the old file and drops its temp file when the rename fails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A directory where the file should go: the rename fails after the temp file is written.
    const path = join(dir, "taken");
    await Deno.mkdir(join(path, "inside"), { recursive: true });
    const temp = join(dir, ".tmp-1");
    await assert.rejects(() => writeFileAtomic(path, new Uint8Array([1]), { temp }));
    await assert.rejects(() => Deno.lstat(temp), Deno.errors.NotFound);
    assert.ok((await Deno.lstat(join(path, "inside"))).isDirectory);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeNewFile() refuses to overwrite; syncDir() syncs a directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "once");
    await writeNewFile(path, new Uint8Array([1, 2]));
    await assert.rejects(() => writeNewFile(path, new Uint8Array([3])), Deno.errors.AlreadyExists);
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([1, 2]));
    await syncDir(dir);
    assert.ok(isUnsupported(Object.assign(new Error("x"), { code: "ENOTSUP" })));
    assert.ok(!isUnsupported(new Deno.errors.NotFound("x")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
