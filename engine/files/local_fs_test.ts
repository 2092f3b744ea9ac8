import assert from "node:assert/strict";
import { fileSystemTypeOf, isLocalFileSystem, isLocalType } from "./local_fs.ts";

const MOUNTINFO = [
  "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard",
  "30 22 0:26 / /proc rw,nosuid - proc proc rw",
  "41 22 0:35 / /mnt/vm\\040share rw,relatime shared:20 - cifs //nas/voice rw,vers=3.1.1",
  "42 22 0:36 / /srv/nfs rw,relatime - nfs4 nas:/export rw",
  "43 42 254:1 / /srv/nfs/local rw,relatime - xfs /dev/vdb rw",
  "44 22 0:40 / /home/u/sshfs rw - fuse.sshfs u@host: rw",
  "",
].join("\n");

Deno.test("fileSystemTypeOf() takes the longest mount point holding the path", () => {
  assert.equal(fileSystemTypeOf(MOUNTINFO, "/var/lib/vmirror/files"), "ext4");
  assert.equal(fileSystemTypeOf(MOUNTINFO, "/mnt/vm share/mirror"), "cifs");
  assert.equal(fileSystemTypeOf(MOUNTINFO, "/mnt/vm shared"), "ext4", "a prefix is not a parent");
  assert.equal(fileSystemTypeOf(MOUNTINFO, "/srv/nfs"), "nfs4");
  assert.equal(fileSystemTypeOf(MOUNTINFO, "/srv/nfs/local/x"), "xfs");
  assert.equal(fileSystemTypeOf("garbage\n", "/x"), null);
});

Deno.test("isLocalType(): disks are local; shares, FUSE and the unknown are not", () => {
  for (const t of ["ext4", "xfs", "btrfs", "tmpfs", "zfs"]) assert.ok(isLocalType(t), t);
  for (const t of ["cifs", "smb3", "nfs", "nfs4", "fuse.sshfs", "fuseblk", "9p", null]) {
    assert.ok(!isLocalType(t), String(t));
  }
});

Deno.test("isLocalFileSystem() answers for a real directory, and false where it cannot tell", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const local = await isLocalFileSystem(dir);
    assert.equal(
      local,
      Deno.build.os === "linux" && isLocalType(
        fileSystemTypeOf(Deno.readTextFileSync("/proc/self/mountinfo"), await Deno.realPath(dir)),
      ),
    );
    assert.equal(await isLocalFileSystem(`${dir}/missing/below`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
