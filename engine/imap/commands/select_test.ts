import assert from "node:assert/strict";
import { fakeRunner } from "./fake_runner.ts";
import { openFolder } from "./select.ts";

Deno.test("openFolder() reads UIDVALIDITY, HIGHESTMODSEQ and PERMANENTFLAGS; NO is null", async () => {
  const f = fakeRunner([], [
    {
      untagged: [
        "* FLAGS (\\Seen \\Deleted)",
        "* OK [PERMANENTFLAGS (\\Seen \\Deleted \\*)] Flags permitted.",
        "* OK [UIDVALIDITY 1700000000] UIDs valid",
        "* OK [HIGHESTMODSEQ 12] Highest",
      ],
    },
    { answer: "NO [NONEXISTENT] Mailbox doesn't exist" },
    { answer: "BAD odd" },
  ], 4);
  assert.deepEqual(await openFolder(f.runner, "EXAMINE", "INBOX"), {
    uidValidity: 1700000000,
    exists: 4,
    highestModseq: "12",
    permanentFlags: new Set(["\\Seen", "\\Deleted", "\\*"]),
  });
  assert.equal(await openFolder(f.runner, "SELECT", "Old"), null);
  await assert.rejects(openFolder(f.runner, "SELECT", "Old"), /SELECT failed: BAD odd/);
  assert.deepEqual(f.sent, ['EXAMINE "INBOX"', 'SELECT "Old"', 'SELECT "Old"']);
});
