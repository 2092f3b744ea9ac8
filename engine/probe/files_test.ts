import assert from "node:assert/strict";
import { humanBytes, writeWords } from "./files.ts";

Deno.test("humanBytes() uses binary units with one decimal below ten", () => {
  assert.equal(humanBytes(512), "512 bytes");
  assert.equal(humanBytes(1536), "1.5 KiB");
  assert.equal(humanBytes(80 * 1024 ** 3), "80 GiB");
});

Deno.test("writeWords() names the folder and the reason", () => {
  assert.match(
    writeWords("/srv/b", new Deno.errors.PermissionDenied("x")),
    /cannot write in "\/srv\/b": permission denied/,
  );
  assert.match(writeWords("/srv/b", Object.assign(new Error("x"), { code: "EROFS" })), /read-only/);
  assert.match(writeWords("/srv/b", new Error("No space left on device")), /disk is full/);
});
