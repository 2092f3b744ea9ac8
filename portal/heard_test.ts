import assert from "node:assert/strict";
import { arrivedSince, type IdentityFacts, isHeard, messageIdentity, nextVisit } from "./heard.ts";

const base: IdentityFacts = {
  folder: "INBOX",
  messageId: "<a.1@mss.lab>",
  date: "2026-11-20T10:00:00.000Z",
  internalDate: "2026-11-20T10:00:05.000Z",
  sender: "Alice Anderson",
  subject: "Voice message from Alice Anderson",
};

Deno.test("messageIdentity() is the folder and Message-ID: UIDs and bytes do not matter", () => {
  const id = messageIdentity(base);
  assert.match(id, /^[0-9a-f]{32}$/);
  // Mirrored again: another arrival stamp on a new backup, the same message.
  assert.equal(messageIdentity({ ...base, internalDate: "2026-11-21T00:00:00.000Z" }), id);
  assert.notEqual(messageIdentity({ ...base, messageId: "<a.2@mss.lab>" }), id);
  assert.notEqual(messageIdentity({ ...base, folder: "Greetings" }), id);
});

Deno.test("messageIdentity() without a Message-ID: dates, caller and subject", () => {
  const none = { ...base, messageId: null };
  const id = messageIdentity(none);
  assert.equal(messageIdentity({ ...none }), id);
  assert.notEqual(messageIdentity({ ...none, internalDate: "2026-11-20T10:00:06.000Z" }), id);
  assert.notEqual(messageIdentity({ ...none, sender: "Bruno Barros" }), id);
  assert.notEqual(messageIdentity({ ...none, subject: null }), id);
  assert.notEqual(messageIdentity(base), id);
});

Deno.test("isHeard(): the portal's mark wins; without one, production's read state", () => {
  const seen = { flags: ["\\Seen"] };
  const unseen = { flags: ["\\Answered"] };
  assert.equal(isHeard(seen, null), true);
  assert.equal(isHeard(unseen, undefined), false);
  assert.equal(isHeard(seen, { heard: false, at: "2026-11-20T10:00:00Z" }), false);
  assert.equal(isHeard(unseen, { heard: true, at: "2026-11-20T10:00:00Z" }), true);
});

Deno.test("nextVisit(): a session keeps its 'since'; a new one starts from the last look", () => {
  const t = (iso: string) => new Date(iso);
  const first = nextVisit(null, "s1", t("2026-11-20T08:00:00Z"));
  assert.deepEqual(first, { session: "s1", since: null, seenAt: "2026-11-20T08:00:00.000Z" });
  const again = nextVisit(first, "s1", t("2026-11-20T08:30:00Z"));
  assert.deepEqual(again, { session: "s1", since: null, seenAt: "2026-11-20T08:30:00.000Z" });
  const second = nextVisit(again, "s2", t("2026-11-21T09:00:00Z"));
  assert.deepEqual(second, {
    session: "s2",
    since: "2026-11-20T08:30:00.000Z",
    seenAt: "2026-11-21T09:00:00.000Z",
  });
  const reload = nextVisit(second, "s2", t("2026-11-21T09:05:00Z"));
  assert.equal(reload.since, "2026-11-20T08:30:00.000Z");
});

Deno.test("arrivedSince(): strictly after the previous visit; never on the first", () => {
  const m = { internalDate: "2026-11-20T10:00:00.000Z" };
  assert.equal(arrivedSince(m, null), false);
  assert.equal(arrivedSince(m, "2026-11-20T09:59:59.999Z"), true);
  assert.equal(arrivedSince(m, "2026-11-20T10:00:00.000Z"), false);
  assert.equal(arrivedSince({ internalDate: "junk" }, "2026-11-20T09:00:00Z"), false);
});
