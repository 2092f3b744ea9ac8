import assert from "node:assert/strict";
import { checkPin, escapeFilterValue, imapEndpointForPins, mailboxFilter } from "./pin_check.ts";
import { validateConfig } from "../engine/config/mod.ts";
import { setLogSink } from "../engine/support/mod.ts";

Deno.test("escapeFilterValue() escapes every filter metacharacter (RFC 4515)", () => {
  assert.equal(escapeFilterValue("4001"), "4001");
  assert.equal(escapeFilterValue("*)(uid=*"), "\\2a\\29\\28uid=\\2a");
  assert.equal(escapeFilterValue("a\\b\u0000é"), "a\\5cb\\00\\c3\\a9");
});

Deno.test("mailboxFilter() ands the configured filter with the mailbox", () => {
  assert.equal(
    mailboxFilter("(objectClass=vmSubscriber)", { attribute: "vmMailboxNumber", mailbox: "4001" }),
    "(&(objectClass=vmSubscriber)(vmMailboxNumber=4001))",
  );
  assert.equal(
    mailboxFilter("objectClass=*", { attribute: "m", mailbox: "1" }),
    "(&(objectClass=*)(m=1))",
  );
});

Deno.test("checkPin() refuses malformed input without asking any server", async () => {
  // No source, no target: any server contact would be "unavailable", not "bad".
  const config = await validateConfig({}, { file: null, dataDir: "/tmp" });
  for (
    const [mailbox, pin] of [["", "1234"], ["4001*vmirror", "1"], ["4001", ""], ["4001", "12a4"]]
  ) {
    assert.equal(await checkPin(config, { mailbox, pin }), "bad", `${mailbox}/${pin}`);
  }
  const lines: string[] = [];
  setLogSink((l) => lines.push(l));
  try {
    assert.equal(await checkPin(config, { mailbox: "4001", pin: "1234" }), "unavailable");
  } finally {
    setLogSink((l) => console.error(l));
  }
  assert.match(lines.join("\n"), /neither an IMAP target nor a source/);
});

Deno.test("imapEndpointForPins() prefers the backup MSS, else production", async () => {
  const where = { file: null, dataDir: "/tmp" };
  const source = { host: "prod", trustedUser: "t", trustedPassword: "p" };
  const imap = await validateConfig({
    source,
    target: { type: "imap", host: "backup", trustedUser: "t", trustedPassword: "p" },
  }, where);
  assert.equal(imapEndpointForPins(imap)?.host, "backup");
  const files = await validateConfig({ source, target: { type: "files", root: "/x" } }, where);
  assert.equal(imapEndpointForPins(files)?.host, "prod");
});
