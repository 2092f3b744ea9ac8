import assert from "node:assert/strict";
import { ImapError } from "../imap/mod.ts";
import { classifyLogin, judgeCapabilities, judgeFolders, loginWords } from "./imap.ts";

// What imapflow throws (wrapped by engine/imap's connectAs) when Dovecot refuses.
function flowError(code: string, text: string) {
  const cause = Object.assign(new Error("Command failed"), {
    responseStatus: "NO",
    serverResponseCode: code,
    responseText: text,
    authenticationFailed: true,
  });
  return new ImapError("mss", "4001", "log in as the trusted server", cause);
}

Deno.test("classifyLogin() tells a refused password from a refused mailbox", () => {
  assert.equal(
    classifyLogin(flowError("AUTHENTICATIONFAILED", "Authentication failed.")).kind,
    "authn",
  );
  assert.equal(
    classifyLogin(flowError("AUTHORIZATIONFAILED", "Authorization failed")).kind,
    "authz",
  );
  // The lean session's wording: its own prefix, then the server's bracketed code.
  const lean = new ImapError(
    "mss",
    "9999",
    "log in",
    new Error("AUTHENTICATIONFAILED NO [AUTHORIZATIONFAILED] Authorization failed"),
  );
  assert.equal(classifyLogin(lean).kind, "authz");
  assert.equal(classifyLogin(flowError("UNAVAILABLE", "Try later")).kind, "refused");
  const t = Object.assign(new Error("Socket timeout"), { code: "ETIMEOUT" });
  assert.equal(classifyLogin(new ImapError("mss", "x", "log in", t)).kind, "timeout");
});

Deno.test("loginWords() names server and user, never a password", () => {
  const ctx = { where: '"mss" (h:143)', user: "vmirror", mailbox: "4001" };
  const text = loginWords(classifyLogin(flowError("AUTHENTICATIONFAILED", "x")), ctx);
  assert.equal(
    text,
    '"mss" (h:143) refused the trusted-server login of "vmirror": authentication failed (wrong password, or not a trusted/master user there)',
  );
});

Deno.test("judgeCapabilities() warns about each absence with its cost, still ok", () => {
  const all = judgeCapabilities([
    "IMAP4rev1",
    "CONDSTORE",
    "QRESYNC",
    "UIDPLUS",
    "MULTIAPPEND",
    "IDLE",
  ]);
  assert.equal(all.ok, true);
  assert.doesNotMatch(all.detail, /warning/);
  const none = judgeCapabilities(["IMAP4rev1", "LITERAL+"], "target");
  assert.equal(none.ok, true);
  assert.match(
    none.detail,
    /no UIDPLUS: deletions on the backup wait while other messages are marked deleted/,
  );
  assert.match(none.detail, /no IDLE \(not needed on the backup\)/);
  assert.deepEqual(none.info.extras, { "LITERAL+": true, "SASL-IR": false, ID: false });
  assert.equal((none.info.watched as Record<string, boolean>).UIDPLUS, false);
});

Deno.test("judgeFolders() fails on a missing greetings folder, warns on other folders", () => {
  const ctx = { mailbox: "4001", where: "w", side: "source" as const };
  const bad = judgeFolders(["INBOX"], { ...ctx, folders: ["INBOX"], greetingsFolder: "Greetings" });
  assert.equal(bad.ok, false);
  assert.match(bad.detail, /no greetings folder "Greetings" \(it has: INBOX\)/);
  const warn = judgeFolders(["inbox", "Greetings"], {
    ...ctx,
    folders: ["INBOX", "Saved"],
    greetingsFolder: "Greetings",
  });
  assert.equal(warn.ok, true);
  assert.match(warn.detail, /warning: "Saved" not found/);
  const target = judgeFolders(["INBOX", "Greetings"], {
    mailbox: "4001",
    where: "w",
    side: "target",
  });
  assert.match(target.detail, /2 folders: INBOX, Greetings/);
});
