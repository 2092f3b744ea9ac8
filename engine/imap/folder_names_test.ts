import assert from "node:assert/strict";
import { configuredFolder, flowFolder, flowNamespace, serverFolder } from "./folder_names.ts";

const cyrus = { prefix: "INBOX.", delimiter: "." };
const dovecot = { prefix: "", delimiter: "/" };

Deno.test("configuredFolder() inverts serverFolder() for Cyrus's and Dovecot's namespaces", () => {
  for (const name of ["INBOX", "Greetings", "Archive/2024", "Grüße/Alt"]) {
    for (const ns of [cyrus, dovecot, { prefix: "", delimiter: "." }, null]) {
      assert.equal(configuredFolder(serverFolder(name, ns), ns), name, `${name} ${ns?.prefix}`);
    }
  }
  assert.equal(configuredFolder("INBOX.Archive.2024", cyrus), "Archive/2024");
  assert.equal(configuredFolder("inbox.Greetings", cyrus), "Greetings");
  assert.equal(configuredFolder("Archive/2024", dovecot), "Archive/2024");
  // A flat server: no levels to map.
  assert.equal(configuredFolder("Greetings", { prefix: "", delimiter: null }), "Greetings");
});

Deno.test("flowFolder() maps through the namespace an imapflow client read at login", () => {
  // Cyrus: imapflow would add "INBOX." itself but keep "/" ("INBOX.Archive/2024").
  assert.equal(flowFolder({ namespace: cyrus }, "Archive/2024"), "INBOX.Archive.2024");
  assert.equal(flowFolder({ namespace: cyrus }, "Greetings"), "INBOX.Greetings");
  assert.equal(flowFolder({ namespace: cyrus }, "INBOX"), "INBOX");
  assert.equal(flowFolder({ namespace: dovecot }, "Archive/2024"), "Archive/2024");
  // Not logged in yet, or a delimiter imapflow could not learn: the name as configured.
  assert.equal(flowFolder({ namespace: undefined }, "Archive/2024"), "Archive/2024");
  assert.deepEqual(flowNamespace({ namespace: { prefix: "INBOX.", delimiter: undefined } }), {
    prefix: "INBOX.",
    delimiter: null,
  });
});
