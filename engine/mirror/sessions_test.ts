import assert from "node:assert/strict";
import { changedSince } from "./sessions.ts";

const names = new Map([["INBOX", "INBOX"], ["INBOX.Greetings", "Greetings"]]);
const seen = new Map([
  ["INBOX", { uidValidity: 7, uidNext: 12, messages: 9, highestModseq: "40" }],
  ["Greetings", { uidValidity: 8, uidNext: 3, messages: 2, highestModseq: "5" }],
]);
const push = (folder: string, items: Record<string, string>) => ({ folder, items });

Deno.test("changedSince: the same STATUS as the pass saw is no change", () => {
  assert.equal(
    changedSince(
      [
        push("INBOX", { MESSAGES: "9", UIDNEXT: "12", UIDVALIDITY: "7", HIGHESTMODSEQ: "40" }),
        push("INBOX.Greetings", { MESSAGES: "2", UIDNEXT: "3", UIDVALIDITY: "8" }),
        push("Trash", { MESSAGES: "100" }), // not a mirrored folder
      ],
      names,
      seen,
    ),
    false,
  );
});

Deno.test("changedSince: a new message, a flag change or a rebuilt folder is a change", () => {
  assert.equal(changedSince([push("INBOX", { UIDNEXT: "13" })], names, seen), true);
  assert.equal(changedSince([push("INBOX", { HIGHESTMODSEQ: "41" })], names, seen), true);
  assert.equal(changedSince([push("INBOX.Greetings", { UIDVALIDITY: "9" })], names, seen), true);
  assert.equal(changedSince([push("INBOX", { MESSAGES: "8" })], names, seen), true);
});

Deno.test("changedSince: a folder the pass did not see (created meanwhile) is a change", () => {
  const partial = new Map([["INBOX", seen.get("INBOX")!], ["Greetings", null]]);
  assert.equal(changedSince([push("INBOX.Greetings", { MESSAGES: "1" })], names, partial), true);
});
