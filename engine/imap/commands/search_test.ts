import assert from "node:assert/strict";
import { fakeRunner } from "./fake_runner.ts";
import { searchHeader, uidSearch } from "./search.ts";

const latin1 = new TextDecoder("latin1");

Deno.test("uidSearch() sorts what * SEARCH lists, over several responses", async () => {
  const f = fakeRunner([], [{ untagged: ["* SEARCH 9 2", "* SEARCH 4"] }, {
    answer: "BAD [BADCHARSET (US-ASCII)] no",
  }]);
  assert.deepEqual(await uidSearch(f.runner, "DELETED"), [2, 4, 9]);
  await assert.rejects(uidSearch(f.runner, "ALL"), /UID SEARCH failed: BAD \[BADCHARSET/);
  assert.deepEqual(f.sent, ["UID SEARCH DELETED", "UID SEARCH ALL"]);
});

Deno.test("searchHeader() quotes 7-bit values, sends 8-bit ones as UTF-8 literals", async () => {
  const f = fakeRunner([], [{ untagged: ["* SEARCH 1"] }, { untagged: ["* SEARCH 2"] }]);
  assert.deepEqual(await searchHeader(f.runner, "Message-ID", '<a"b@x>'), [1]);
  const wire = latin1.decode(new TextEncoder().encode("<ÿé@x>"));
  assert.deepEqual(await searchHeader(f.runner, "Message-ID", wire), [2]);
  assert.deepEqual(f.sent, [
    'UID SEARCH HEADER Message-ID "<a\\"b@x>"',
    `UID SEARCH CHARSET UTF-8 HEADER Message-ID {8}${wire}`,
  ]);
});
