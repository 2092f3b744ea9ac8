import assert from "node:assert/strict";
import { headerText, isValidAddress, MailError, sendMail } from "./mailer.ts";

Deno.test("isValidAddress() takes one plain address", () => {
  for (const ok of ["a@b.co", "first.last+tag@sub.example.org", "x_y-z@mail-1.example.com"]) {
    assert.ok(isValidAddress(ok), ok);
  }
});

Deno.test("isValidAddress() refuses anything that could add a header or a recipient", () => {
  for (
    const bad of [
      "",
      "a@b",
      "a@b.c\r\nBcc: x@y.z",
      "a@b.co\nBcc:x@y.z",
      "a@b.co, c@d.co",
      "a@b.co;c@d.co",
      "Name <a@b.co>",
      '"quoted"@b.co',
      "a@@b.co",
      "a@b@c.co",
      ".a@b.co",
      "a.@b.co",
      "a..b@c.co",
      "a@-b.co",
      "a@b-.co",
      "a@b.123",
      "a b@c.co",
      `${"a".repeat(65)}@b.co`,
      `a@${"b".repeat(250)}.co`,
      "a@[127.0.0.1]",
    ]
  ) {
    assert.ok(!isValidAddress(bad), JSON.stringify(bad));
  }
});

Deno.test("headerText() leaves no line break and caps the length", () => {
  assert.equal(headerText("Ann\r\nBcc: x@y.z"), "Ann Bcc: x@y.z");
  assert.equal(headerText("a\u0000b\tc"), "a b c");
  assert.equal(headerText("x".repeat(300), 10), `${"x".repeat(9)}…`);
});

Deno.test("sendMail() refuses an invalid recipient before connecting", async () => {
  await assert.rejects(
    sendMail({
      host: "127.0.0.1",
      port: 9,
      secure: false,
      requireTls: false,
      from: "a@b.co",
      timeoutSeconds: 5,
    }, {
      to: "x@y.z\r\nBcc: v@w.co",
      subject: "s",
      text: "t",
    }),
    (e) => e instanceof MailError && /invalid recipient/.test(e.message),
  );
});
