import assert from "node:assert/strict";
import { fakeRunner } from "./fake_runner.ts";
import { namespace, parseNamespace, serverFolder } from "./namespace.ts";

Deno.test("parseNamespace() reads the first personal namespace (Dovecot's and Cyrus's answers)", () => {
  assert.deepEqual(parseNamespace('* NAMESPACE (("" "/")) NIL NIL'), {
    prefix: "",
    delimiter: "/",
  });
  // Cyrus, altnamespace: no, unixhierarchysep: no.
  assert.deepEqual(
    parseNamespace('* NAMESPACE (("INBOX." ".")) (("user." ".")) (("" "."))'),
    { prefix: "INBOX.", delimiter: "." },
  );
  assert.deepEqual(parseNamespace('* NAMESPACE (("" NIL)) NIL NIL'), {
    prefix: "",
    delimiter: null,
  });
  assert.deepEqual(parseNamespace('* NAMESPACE (("" "\\\\")) NIL NIL'), {
    prefix: "",
    delimiter: "\\",
  });
  assert.equal(parseNamespace("* NAMESPACE NIL NIL NIL"), null);
  assert.equal(parseNamespace("* OK hello"), null);
});

Deno.test("namespace() asks only when announced, and takes a NO for no mapping", async () => {
  const f = fakeRunner(["NAMESPACE"], [
    { untagged: ['* NAMESPACE (("INBOX." ".")) NIL NIL'] },
    { answer: "NO not now" },
  ]);
  assert.deepEqual(await namespace(f.runner), { prefix: "INBOX.", delimiter: "." });
  assert.equal(await namespace(f.runner), null);
  assert.deepEqual(f.sent, ["NAMESPACE", "NAMESPACE"]);
  const none = fakeRunner([], []);
  assert.equal(await namespace(none.runner), null);
  assert.deepEqual(none.sent, []);
});

Deno.test("serverFolder(): Cyrus's classic namespace prefixes INBOX. and uses '.'", () => {
  const cyrus = { prefix: "INBOX.", delimiter: "." };
  assert.equal(serverFolder("INBOX", cyrus), "INBOX");
  assert.equal(serverFolder("inbox", cyrus), "inbox");
  assert.equal(serverFolder("Greetings", cyrus), "INBOX.Greetings");
  assert.equal(serverFolder("Archive/2024", cyrus), "INBOX.Archive.2024");
  // Already in the server's terms: left alone.
  assert.equal(serverFolder("INBOX.Greetings", cyrus), "INBOX.Greetings");
  assert.equal(serverFolder("Inbox.Greetings", cyrus), "Inbox.Greetings");
});

Deno.test("serverFolder(): Dovecot-shaped and unknown namespaces leave names as configured", () => {
  assert.equal(serverFolder("Archive/2024", { prefix: "", delimiter: "/" }), "Archive/2024");
  assert.equal(serverFolder("Greetings", null), "Greetings");
  assert.equal(serverFolder("Archive", { prefix: "", delimiter: null }), "Archive");
  // Cyrus with altnamespace on and unixhierarchysep off, or a Dovecot with separator ".".
  assert.equal(serverFolder("Archive/2024", { prefix: "", delimiter: "." }), "Archive.2024");
});
