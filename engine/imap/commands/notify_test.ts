import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { statusPush } from "./notify.ts";

const enc = new TextEncoder();

Deno.test("statusPush reads atom, quoted and literal folder names", () => {
  assertEquals(
    statusPush({ text: "* STATUS Greetings (MESSAGES 3 UIDNEXT 4 HIGHESTMODSEQ 4)", literals: [] }),
    { folder: "Greetings", items: { MESSAGES: "3", UIDNEXT: "4", HIGHESTMODSEQ: "4" } },
  );
  assertEquals(
    statusPush({ text: '* STATUS "My \\"box\\"" (MESSAGES 1)', literals: [] })?.folder,
    'My "box"',
  );
  assertEquals(
    statusPush({ text: "* STATUS {5}\u0000 (UIDNEXT 9)", literals: [enc.encode("Inbox")] }),
    { folder: "Inbox", items: { UIDNEXT: "9" } },
  );
});

Deno.test("statusPush ignores other responses", () => {
  assertEquals(statusPush({ text: "* 3 EXISTS", literals: [] }), null);
  assertEquals(statusPush({ text: "* OK Still here", literals: [] }), null);
});
