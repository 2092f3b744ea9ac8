import assert from "node:assert/strict";
import { sectionSummary, settingsView } from "./view.ts";

const fileRaw = {
  $schema: "./vmirror.schema.json",
  source: {
    host: "mss1.example",
    trustedUser: "vmirror",
    trustedPasswordFile: "/etc/vmirror/mss.pw",
    folders: ["INBOX", "Greetings"],
  },
};
const stored = {
  source: { host: "ignored.example", port: 993, tls: "tls" },
  smtp: { host: "relay.example", from: "vm@example.org", user: "vm", password: "s3cret-smtp" },
};

Deno.test("settingsView() merges stored settings under the file's and applies defaults", () => {
  const v = settingsView({ fileRaw, stored, file: "/etc/vmirror/config.jsonc" });
  const source = v.settings.source as Record<string, unknown>;
  assert.equal(source.host, "mss1.example");
  assert.equal(source.port, 993);
  assert.equal(source.impersonation, "authzid");
  assert.deepEqual(source.folders, ["INBOX", "Greetings"]);
  assert.equal((v.settings.portal as Record<string, unknown>).listen, "127.0.0.1:8080");
  assert.equal(v.settings.logLevel, "info");
  assert.equal(v.file, "/etc/vmirror/config.jsonc");
});

Deno.test("settingsView() never carries a secret, only whether it is set", () => {
  const v = settingsView({ fileRaw, stored, file: null });
  assert.ok(!JSON.stringify(v).includes("s3cret-smtp"));
  assert.deepEqual((v.settings.smtp as Record<string, unknown>).password, { set: true });
  // Given as a file on the server, the password is set too.
  assert.deepEqual((v.settings.source as Record<string, unknown>).trustedPassword, { set: true });
  const bare = settingsView({ fileRaw: {}, stored: { smtp: stored.smtp }, file: null });
  assert.ok(!("trustedPassword" in ((bare.settings.source ?? {}) as object)));
  const sealed = settingsView({
    fileRaw: {},
    stored: { smtp: { ...stored.smtp, password: { $sealed: "AAAA" } } },
    file: null,
  });
  assert.deepEqual((sealed.settings.smtp as Record<string, unknown>).password, { set: true });
  assert.ok(!JSON.stringify(sealed).includes("AAAA"));
});

Deno.test("settingsView() lists the file's leaf paths as fixed, arrays whole", () => {
  const v = settingsView({ fileRaw, stored, file: null });
  assert.deepEqual(v.fixed, [
    "source.folders",
    "source.host",
    "source.trustedPassword",
    "source.trustedPasswordFile",
    "source.trustedUser",
  ]);
});

Deno.test("settingsView() still shows settings that do not validate", () => {
  const v = settingsView({
    fileRaw: {},
    stored: { source: { host: "h", port: "nine", trustedPassword: "pw-x" } },
    file: null,
  });
  assert.equal((v.settings.source as Record<string, unknown>).port, "nine");
  assert.ok(!JSON.stringify(v).includes("pw-x"));
});

Deno.test("sectionSummary() says what each section does in one line", () => {
  const v = settingsView({ fileRaw, stored, file: null });
  assert.equal(sectionSummary("source", v.settings), 'IMAP mss1.example:993 as "vmirror"');
  assert.equal(sectionSummary("target", v.settings), "not set");
  assert.equal(sectionSummary("smtp", v.settings), "Relay relay.example:25, from vm@example.org");
  assert.equal(sectionSummary("rules", v.settings), "No broadcast rules");
  assert.equal(
    sectionSummary("portal", v.settings),
    "Listening on 127.0.0.1:8080, sessions of 30 min",
  );
  const files = settingsView({
    fileRaw: {},
    stored: { target: { type: "files", root: "/srv/mirror" } },
    file: null,
  });
  assert.equal(sectionSummary("target", files.settings), "Files in /srv/mirror");
  const imap = settingsView({
    fileRaw: {},
    stored: { target: { type: "imap", host: "10.0.0.5", tls: "tls", trustedUser: "t" } },
    file: null,
  });
  assert.equal(sectionSummary("target", imap.settings), "IMAP backup 10.0.0.5:993");
});
