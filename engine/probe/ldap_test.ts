import assert from "node:assert/strict";
import { InvalidCredentialsError } from "ldapts";
import { LdapError } from "../directory/mod.ts";
import {
  bindWords,
  describeSample,
  extendedResult,
  sampleWords,
  searchWords,
  startTlsWords,
} from "./ldap.ts";

const ATTRS = {
  mailbox: "vmMailboxNumber",
  name: "displayName",
  email: "mail",
  classOfService: "vmClassOfService",
  recordedName: "vmRecordedName",
  pin: "vmPin",
};

Deno.test("extendedResult() reads slapd's refusal of StartTLS", () => {
  // Captured from the lab's slapd, which has no TLS set up.
  const hex = "30 2a 02 01 01 78 25 0a 01 02 04 00 04 1e" +
    Array.from(new TextEncoder().encode("unsupported extended operation"))
      .map((b) => " " + b.toString(16)).join("");
  const bytes = Uint8Array.from(hex.split(" ").map((h) => parseInt(h, 16)));
  assert.deepEqual(extendedResult(bytes), { code: 2, message: "unsupported extended operation" });
  assert.equal(extendedResult(Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x01])), null);
  assert.match(startTlsWords({ code: 2, message: "x" }, "h:389"), /h:389 does not offer StartTLS/);
});

Deno.test("describeSample() maps attributes and only notes whether a PIN exists", () => {
  const s = describeSample(
    "uid=4001,ou=s",
    {
      dn: "uid=4001,ou=s",
      vmmailboxnumber: "4001",
      displayName: ["Alice"],
      vmRecordedName: new Uint8Array(1234),
    },
    { vmPin: [] },
    ATTRS,
  );
  assert.deepEqual(s, {
    dn: "uid=4001,ou=s",
    mailbox: "4001",
    name: "Alice",
    email: null,
    classOfService: null,
    recordedNameBytes: 1234,
    pinPresent: true,
  });
  assert.equal(
    sampleWords(s),
    'entry "uid=4001,ou=s": mailbox "4001", name "Alice", e-mail none, class of service none, recorded name 1234 bytes, PIN attribute present: yes',
  );
  assert.equal(describeSample("x", {}, {}, ATTRS).pinPresent, false);
});

Deno.test("bindWords() and searchWords() speak of the refusal, not the password", () => {
  const e = new LdapError(
    'Cannot bind to "ldap://h" as "cn=a": invalid credentials',
    "ldap://h",
    "bind",
    {
      code: 49,
      cause: new InvalidCredentialsError(),
    },
  );
  assert.equal(
    bindWords(e, { where: "h:389", bindDn: "cn=a" }),
    'h:389 refused the bind as "cn=a" (wrong password, or no such entry)',
  );
  assert.match(
    searchWords(Object.assign(new Error("no such object"), { code: 32 }), {
      where: "h:389",
      baseDn: "ou=x",
      filter: "(a=b)",
    }),
    /the base DN "ou=x" does not exist on h:389/,
  );
});
