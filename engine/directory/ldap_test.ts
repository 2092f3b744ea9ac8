import assert from "node:assert/strict";
import {
  InvalidCredentialsError,
  NoSuchObjectError,
  ObjectClassViolationError,
  UndefinedTypeError,
} from "ldapts";
import { describeLdapError, LdapError } from "./ldap.ts";

Deno.test("describeLdapError() names the result code when the server gives no detail", () => {
  // What ldapts builds from a response with an empty diagnostic message.
  assert.equal(describeLdapError(new InvalidCredentialsError("")), "invalid credentials");
  assert.equal(describeLdapError(new InvalidCredentialsError()), "invalid credentials");
  assert.equal(describeLdapError(new NoSuchObjectError()), "no such object");
});

Deno.test("describeLdapError() adds the server's diagnostic after the code's name", () => {
  assert.equal(
    describeLdapError(new ObjectClassViolationError("attribute 'vmPin' not allowed")),
    "object class violation: attribute 'vmPin' not allowed",
  );
  assert.equal(
    describeLdapError(new UndefinedTypeError("vmNoSuch: attribute type undefined")),
    "undefined attribute type: vmNoSuch: attribute type undefined",
  );
});

Deno.test("describeLdapError() keeps a network error's code and masks secrets", () => {
  const e = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
  assert.equal(describeLdapError(e), "connect ECONNREFUSED 127.0.0.1:1");
  const t = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
  assert.equal(describeLdapError(t), "ECONNRESET: socket hang up");
  assert.equal(describeLdapError(new Error("bad password=hunter2")), "bad password=********");
});

Deno.test("LdapError carries server, operation, DN and code, and masks secrets", () => {
  const e = new LdapError(
    'Cannot bind to "ldap://x" as "cn=a": password=s3cret',
    "ldap://x",
    "bind",
    {
      dn: "cn=a",
      code: 49,
    },
  );
  assert.equal(e.name, "LdapError");
  assert.equal(e.server, "ldap://x");
  assert.equal(e.operation, "bind");
  assert.equal(e.code, 49);
  assert.equal(e.opts.dn, "cn=a");
  assert.ok(!e.message.includes("s3cret"));
  assert.ok(e instanceof Error);
});
