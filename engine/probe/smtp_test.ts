import assert from "node:assert/strict";
import { authWords, replyText } from "./smtp.ts";

Deno.test("authWords() tells wrong credentials from a login that needs encryption", () => {
  const ctx = { user: "relay", where: "h:587" };
  assert.equal(
    authWords({ code: 535, lines: ["5.7.8 Authentication failed"] }, ctx),
    'h:587 refused the login of "relay" (wrong user name or password)',
  );
  assert.match(
    authWords({ code: 538, lines: ["Encryption required"] }, ctx),
    /wants a stronger or encrypted login/,
  );
});

Deno.test("replyText() joins a multi-line reply and masks secrets", () => {
  assert.equal(replyText({ code: 250, lines: ["a", "b"] }), "250 a b");
  assert.equal(replyText({ code: 500, lines: ["password=x"] }), "500 password=********");
});
