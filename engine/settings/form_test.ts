import assert from "node:assert/strict";
import { boolMarker, clearMarker, formToPatch, rulesFromForm } from "./form.ts";

Deno.test("formToPatch() types values by the catalog", () => {
  const { patch, errors } = formToPatch("source", {
    _csrf: "t",
    "source.host": " mss1.example ",
    "source.port": "993",
    "source.tls": "tls",
    "source.caFile": "",
    "source.connectTimeoutSeconds": "",
    "source.folders": " INBOX \r\n\r\nGreetings\n",
    "source.trustedPassword": "",
  });
  assert.deepEqual(errors, []);
  assert.deepEqual(patch, {
    source: {
      host: "mss1.example",
      port: 993,
      tls: "tls",
      caFile: null,
      connectTimeoutSeconds: null,
      folders: ["INBOX", "Greetings"],
    },
  });
});

Deno.test("formToPatch() names a field that is not a number", () => {
  const { patch, errors } = formToPatch("limits", {
    "limits.concurrency": "four",
    "limits.retries": "1e1",
    "limits.maxMessageSeconds": "",
    "limits.deleteGuard.mailboxShare": "0.25",
  });
  assert.deepEqual(errors, [{ path: "limits.concurrency", message: "expected a number" }]);
  assert.deepEqual(patch, {
    limits: { retries: 10, maxMessageSeconds: null, deleteGuard: { mailboxShare: 0.25 } },
  });
});

Deno.test("formToPatch() reads a checkbox's absence as false only with its marker", () => {
  const { patch } = formToPatch("schedule", {
    [boolMarker("schedule.idle")]: "1",
    "schedule.syncSeconds": "30",
  });
  assert.deepEqual(patch, { schedule: { idle: false, syncSeconds: 30 } });
  const on = formToPatch("schedule", { [boolMarker("schedule.idle")]: "1", "schedule.idle": "on" });
  assert.deepEqual(on.patch, { schedule: { idle: true } });
  // Disabled (file-fixed) fields post nothing: they are left as they are.
  assert.deepEqual(formToPatch("schedule", {}).patch, {});
});

Deno.test("formToPatch() keeps an empty secret and clears an optional one on request", () => {
  const base = { "smtp.host": "relay", "smtp.from": "vm@example.org" };
  assert.deepEqual(formToPatch("smtp", { ...base, "smtp.password": "" }).patch, {
    smtp: { host: "relay", from: "vm@example.org" },
  });
  assert.deepEqual(formToPatch("smtp", { ...base, "smtp.password": " p w " }).patch, {
    smtp: { host: "relay", from: "vm@example.org", password: " p w " },
  });
  assert.deepEqual(formToPatch("smtp", { ...base, [clearMarker("smtp.password")]: "on" }).patch, {
    smtp: { host: "relay", from: "vm@example.org", password: null },
  });
  // A required secret cannot be cleared from the form.
  assert.deepEqual(
    formToPatch("source", { [clearMarker("source.trustedPassword")]: "on" }).patch,
    {},
  );
});

Deno.test("formToPatch() takes only the section's own fields", () => {
  const { patch } = formToPatch("general", {
    timeZone: "Europe/Berlin",
    logLevel: "debug",
    "source.host": "evil",
    "portal.listen": "0.0.0.0:1",
  });
  assert.deepEqual(patch, { timeZone: "Europe/Berlin", logLevel: "debug" });
  assert.deepEqual(formToPatch("nope", {}).errors, [
    { path: "", message: 'no settings section "nope"' },
  ]);
});

Deno.test("formToPatch() takes the chosen target type's fields only", () => {
  const form = {
    "target.type": "files",
    "target.name": "",
    "target.host": "mss2",
    "target.trustedUser": "vm",
    "target.root": "/srv/mirror",
    "target.onDelete": "move",
    [boolMarker("target.createRoot")]: "1",
  };
  assert.deepEqual(formToPatch("target", form).patch, {
    target: { type: "files", name: null, root: "/srv/mirror", onDelete: "move", createRoot: false },
  });
  assert.deepEqual(formToPatch("target", { ...form, "target.type": "imap" }).patch, {
    target: { type: "imap", name: null, host: "mss2", trustedUser: "vm" },
  });
});

Deno.test("formToPatch() turns an optional part off when its required fields are empty", () => {
  assert.deepEqual(
    formToPatch("smtp", { "smtp.host": "", "smtp.from": " ", "smtp.port": "25" }).patch,
    { smtp: null },
  );
  const ldap = formToPatch("ldap", {
    "ldap.source.url": "ldap://127.0.0.1:389",
    "ldap.source.bindDn": "cn=vm",
    "ldap.source.baseDn": "ou=people",
    "ldap.target.url": "",
    "ldap.target.bindDn": "",
    "ldap.target.baseDn": "",
    "ldap.target.filter": "(objectClass=*)",
  });
  assert.deepEqual(ldap.patch, {
    ldap: {
      source: { url: "ldap://127.0.0.1:389", bindDn: "cn=vm", baseDn: "ou=people" },
      target: null,
    },
  });
  // A part whose fields the form did not post (fixed by the file) is not turned off.
  assert.deepEqual(formToPatch("smtp", { "smtp.port": "587" }).patch, { smtp: { port: 587 } });
});

Deno.test("formToPatch() reads broadcast rule rows in order, dropping empty ones", () => {
  const form = {
    "rules.broadcast.10.header": "X-Bulletin",
    "rules.broadcast.10.pattern": "yes",
    "rules.broadcast.2.header": " Subject ",
    "rules.broadcast.2.pattern": "^Broadcast",
    "rules.broadcast.3.header": "",
    "rules.broadcast.3.pattern": "",
  };
  assert.deepEqual(rulesFromForm(form), [
    { header: "Subject", pattern: "^Broadcast" },
    { header: "X-Bulletin", pattern: "yes" },
  ]);
  assert.deepEqual(formToPatch("rules", form).patch, {
    rules: { broadcast: rulesFromForm(form) },
  });
  assert.deepEqual(
    formToPatch("rules", { "rules.broadcast.0.header": "", "rules.broadcast.0.pattern": "" })
      .patch,
    { rules: { broadcast: [] } },
  );
  assert.deepEqual(formToPatch("rules", {}).patch, {});
});
