import assert from "node:assert/strict";
import { isMailboxId } from "./mailbox_id.ts";

Deno.test("isMailboxId() accepts MSS numbers and address-like names", () => {
  for (const id of ["4021", "0", "a", "jane.doe+vm@example.com", "x".repeat(64)]) {
    assert.ok(isMailboxId(id), id);
  }
});

Deno.test("isMailboxId() refuses what could be a path, IMAP or KV metacharacter", () => {
  const bad = ["", ".", "..", ".hidden", "-x", "_x", "+x", "a b", 'a"b', "a/b", "a\\b", "a*", "a%"];
  for (const id of [...bad, "a\r\nb", "a\0", "x".repeat(65), "４０２１"]) {
    assert.ok(!isMailboxId(id), JSON.stringify(id));
  }
});
