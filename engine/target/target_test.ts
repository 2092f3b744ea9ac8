import assert from "node:assert/strict";
import { join } from "node:path";
import type { FilesTargetConfig } from "../config/mod.ts";
import {
  pickCandidate,
  sameIdentity,
  sha256File,
  sha256Hex,
  type TargetMessage,
} from "./target.ts";
import { openFileTarget } from "../files/mod.ts";

const AT = new Date("2026-03-03T09:15:42.000Z");
const enc = new TextEncoder();

function message(subject: string, id?: string): Uint8Array {
  return enc.encode(
    `${id ? `Message-ID: ${id}\r\n` : ""}Subject: ${subject}\r\nFrom: a@b\r\n\r\nbody\r\n`,
  );
}

Deno.test("pickCandidate() takes the lowest UID whose bytes hash to the digest, never an excluded one", async () => {
  const m = (uid: number): TargetMessage => ({ uid, messageId: null, internalDate: AT, size: 10 });
  const hashes = new Map([[3, "aa"], [5, "bb"], [7, "bb"]]);
  const asked: number[][] = [];
  const digests = (uids: number[]) => {
    asked.push(uids);
    return Promise.resolve(
      new Map(uids.filter((u) => hashes.has(u)).map((u) => [u, hashes.get(u)!])),
    );
  };
  const all = [m(7), m(3), m(5)];
  assert.equal(await pickCandidate(all, { digest: "bb", digests }), 5);
  assert.equal(await pickCandidate(all, { digest: "bb", exclude: new Set([5]), digests }), 7);
  assert.equal(await pickCandidate(all, { digest: "bb", exclude: new Set([5, 7]), digests }), null);
  assert.equal(await pickCandidate(all, { digest: "cc", digests }), null);
  // Excluded candidates are not even read.
  assert.deepEqual(asked[2], [3]);
  // Without a digest (an intent of an older build) the identity alone decides.
  assert.equal(await pickCandidate(all, { exclude: new Set([3]), digests }), 5);
});

Deno.test("sha256File() hashes a file in chunks exactly as the bytes hash whole", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vmirror-hash-" });
  try {
    const bytes = new Uint8Array(600_001).map((_, i) => (i * 13) & 0xff);
    await Deno.writeFile(join(dir, "m.eml"), bytes);
    assert.equal(await sha256File(join(dir, "m.eml")), sha256Hex(bytes));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file store's find() tells look-alikes apart by their bytes and skips excluded UIDs", async () => {
  const base = await Deno.makeTempDir({ prefix: "vmirror-find-" });
  const config: FilesTargetConfig = {
    type: "files",
    name: "disk",
    root: base,
    onDelete: "remove",
    retentionDays: 30,
    createRoot: false,
  };
  const target = await openFileTarget(config, "4001", { utc: true });
  try {
    const f = await target.openFolder("INBOX");
    // Two callers in one second, no Message-ID, the same size; and a message delivered twice.
    const a = message("caller A");
    const b = message("caller B");
    const twin = message("twice", "<t@x>");
    const origin = (uid: number) => ({
      mailbox: "4001",
      folder: "INBOX",
      uid,
      uidValidity: 9,
      kind: "copy" as const,
    });
    const ua = (await f.append(a, [], AT, origin(1)))!;
    const ub = (await f.append(b, [], AT, origin(2)))!;
    const t1 = (await f.append(twin, [], AT, origin(3)))!;
    const t2 = (await f.append(twin, [], AT, origin(4)))!;
    const id = { messageId: null, internalDate: AT, size: a.length };
    assert.ok(sameIdentity({ ...id, size: b.length }, id));
    assert.equal(await f.find(id, { digest: sha256Hex(b) }), ub);
    assert.equal(await f.find(id, { digest: sha256Hex(a) }), ua);
    assert.equal(await f.find(id, { digest: sha256Hex(a), exclude: new Set([ua]) }), null);
    const tid = { messageId: "<t@x>", internalDate: AT, size: twin.length };
    assert.equal(await f.find(tid, { digest: sha256Hex(twin), exclude: new Set([t1]) }), t2);
    assert.equal(await f.find(tid, { digest: sha256Hex(twin), exclude: new Set([t1, t2]) }), null);
    assert.deepEqual(
      await f.digests([ua, t2, 999]),
      new Map([[ua, sha256Hex(a)], [t2, sha256Hex(twin)]]),
    );
  } finally {
    await target.close();
    await Deno.remove(base, { recursive: true });
  }
});
