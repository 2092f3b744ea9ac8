import assert from "node:assert/strict";
import { log, redact, setLogLevel, setLogSink } from "./log.ts";

// Captures the lines logged by `fn`, then restores the default sink and level.
function capture(fn: () => void): string[] {
  const lines: string[] = [];
  setLogSink((line) => lines.push(line));
  try {
    fn();
  } finally {
    setLogSink((line) => console.error(line));
    setLogLevel("info");
  }
  return lines;
}

Deno.test("redact() masks the password of an IMAP LOGIN", () => {
  assert.equal(redact("A1 LOGIN vmirror s3cret"), "A1 LOGIN vmirror ********");
  assert.equal(redact('A1 LOGIN "vmirror" "s3cret"'), 'A1 LOGIN "vmirror" ********');
  assert.equal(redact('a1 login 4021*vmirror "pa ss word"'), "a1 login 4021*vmirror ********");
  assert.equal(
    redact("Command failed: A1 LOGIN vmirror hunter2 NO [AUTHENTICATIONFAILED]"),
    "Command failed: A1 LOGIN vmirror ******** NO [AUTHENTICATIONFAILED]",
  );
});

Deno.test("redact() leaves prose that merely mentions a login alone", () => {
  assert.equal(
    redact("Admin login unavailable: BadResource"),
    "Admin login unavailable: BadResource",
  );
});

Deno.test("redact() masks the password of a LOGIN with a quoted user name holding a space", () => {
  const out = redact('A1 LOGIN "voice mail" "pa ss"');
  assert.ok(!out.includes("pa ss"), `password leaked: ${out}`);
  assert.ok(!/\bss\b/.test(out), `password leaked: ${out}`);
});

Deno.test("redact() masks an AUTHENTICATE PLAIN payload", () => {
  const payload = btoa("4021\0vmirror\0s3cret");
  assert.equal(redact(`A2 AUTHENTICATE PLAIN ${payload}`), "A2 AUTHENTICATE PLAIN ********");
  assert.equal(
    redact(`A2 authenticate plain ${payload} failed`),
    "A2 authenticate plain ******** failed",
  );
});

Deno.test("redact() masks passwords in URLs", () => {
  assert.equal(
    redact("imap://vmirror:s3cret@mss1:993/INBOX"),
    "imap://vmirror:********@mss1:993/INBOX",
  );
  assert.equal(
    redact("connect ldaps://cn=admin:hunter2@dir.example:636 failed"),
    "connect ldaps://cn=admin:********@dir.example:636 failed",
  );
  assert.equal(redact("http://example.com:8080/path"), "http://example.com:8080/path");
});

Deno.test("redact() masks password=… and other key=value secrets", () => {
  assert.equal(redact("password=hunter2 user=bob"), "password=******** user=bob");
  assert.equal(redact("pass=hunter2"), "pass=********");
  assert.equal(redact("bindPassword = abc,def"), "bindPassword = ********,def");
  assert.equal(redact("secret: shh"), "secret: ********");
  assert.equal(redact("token=abc.def"), "token=********");
  assert.equal(redact("pin='9876'"), "pin='********'");
});

Deno.test('redact() masks "pin": "1234" and other JSON secrets', () => {
  assert.equal(
    redact('{"pin": "1234", "mailbox": "4021"}'),
    '{"pin": "********", "mailbox": "4021"}',
  );
  assert.equal(redact('{"trustedPassword":"s3cret"}'), '{"trustedPassword":"********"}');
  assert.equal(redact('{"pin":1234}'), '{"pin":********}');
});

Deno.test("redact() masks the whole of a quoted secret that holds a space", () => {
  for (const text of ['{"password": "correct horse"}', 'pin: "12 34"']) {
    const out = redact(text);
    assert.ok(!/horse|34/.test(out), `secret leaked: ${out}`);
  }
});

Deno.test("redact() leaves ordinary text alone", () => {
  const text = 'Cannot select "INBOX" of mailbox "4021" on "mss1": NO [AUTHORIZATIONFAILED]';
  assert.equal(redact(text), text);
  assert.equal(redact(""), "");
});

Deno.test("log() masks fields named pass, pin, secret, token or cookie", () => {
  const lines = capture(() =>
    log("info", "connected", {
      trustedPassword: "s3cret",
      pass: "p1",
      pin: "1234",
      newPin: "5678",
      clientSecret: "abc",
      token: "t0k",
      cookie: "sid=1",
      user: "bob",
    })
  );
  assert.equal(lines.length, 1);
  const [line] = lines;
  for (const secret of ["s3cret", "p1", "1234", "5678", "abc", "t0k", "sid=1"]) {
    assert.ok(!line.includes(secret), `"${secret}" leaked: ${line}`);
  }
  assert.match(line, / trustedPassword=\*{8} /);
  assert.match(line, / pin=\*{8} /);
  assert.match(line, / clientSecret=\*{8} /);
  assert.match(line, / user=bob$/);
});

Deno.test("log() redacts the message and field values", () => {
  const [line] = capture(() =>
    log("error", "Command failed: A1 LOGIN vmirror hunter2", {
      detail: "imap://u:pw@mss1",
      mailbox: "4021",
    })
  );
  assert.ok(!line.includes("hunter2"));
  assert.ok(!line.includes(":pw@"));
  assert.match(line, /mailbox=4021/);
});

Deno.test("log() writes time, level, message and key=value fields", () => {
  const [line] = capture(() =>
    log("warn", "slow server", { server: "mss1", seconds: 12, note: "two words", gone: undefined })
  );
  assert.match(
    line,
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN slow server server=mss1 seconds=12 note="two words"$/,
  );
});

Deno.test("log() drops lines below the level", () => {
  const lines = capture(() => {
    log("debug", "hidden");
    log("info", "shown");
    setLogLevel("error");
    log("warn", "hidden too");
    log("error", "shown too");
    setLogLevel("debug");
    log("debug", "now shown");
  });
  assert.deepEqual(lines.map((l) => l.split(" ").slice(2).join(" ")), [
    "shown",
    "shown too",
    "now shown",
  ]);
});
