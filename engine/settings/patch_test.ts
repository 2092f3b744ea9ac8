import assert from "node:assert/strict";
import { applySettingsPatch, FIXED_MESSAGE, type PatchInput, problemsToErrors } from "./patch.ts";
import { settingsView } from "./view.ts";

const base = {
  source: { host: "mss1", trustedUser: "vmirror", trustedPassword: "src-pw-1" },
  target: { type: "imap", host: "mss2", trustedUser: "vmirror", trustedPassword: "tgt-pw-1" },
};

function input(patch: unknown, more: Partial<PatchInput> = {}): PatchInput {
  return {
    fileRaw: {},
    stored: structuredClone(base),
    patch,
    file: null,
    dataDir: "/tmp/vm",
    ...more,
  };
}

async function ok(i: PatchInput) {
  const out = await applySettingsPatch(i);
  if (!out.ok) assert.fail(`expected ok, got ${JSON.stringify(out.errors)}`);
  return out;
}

async function failed(i: PatchInput) {
  const out = await applySettingsPatch(i);
  if (out.ok) assert.fail(`expected errors, got ${JSON.stringify(out)}`);
  return out.errors;
}

Deno.test("applySettingsPatch() merges objects, replaces arrays and scalars, removes on null", async () => {
  const stored = {
    ...structuredClone(base),
    source: { ...base.source, folders: ["INBOX", "Old"] },
  };
  const out = await ok(input(
    {
      source: { port: 993, tls: "tls", folders: ["INBOX"] },
      smtp: null,
      schedule: { idle: false },
    },
    { stored },
  ));
  // ["INBOX"] is the default: not stored, so a future default would apply.
  assert.deepEqual(out.stored.source, { ...base.source, port: 993, tls: "tls" });
  assert.deepEqual(out.stored.schedule, { idle: false });
  const removed = await ok(input({ source: { port: null } }, { stored: out.stored }));
  assert.ok(!("port" in (removed.stored.source as object)));
  assert.deepEqual(
    removed.changes.find((c) => c.path === "source.port"),
    { path: "source.port", from: 993, to: null },
  );
});

Deno.test("applySettingsPatch() stores no value equal to its default", async () => {
  const out = await ok(input({
    source: { tls: "starttls", separator: "*", connectTimeoutSeconds: 30, port: 1143 },
    schedule: { syncSeconds: 60, idleMailboxes: 7 },
  }));
  const source = out.stored.source as Record<string, unknown>;
  assert.equal(source.port, 1143);
  for (const k of ["tls", "separator", "connectTimeoutSeconds"]) assert.ok(!(k in source), k);
  assert.deepEqual(out.stored.schedule, { idleMailboxes: 7 });
});

Deno.test("applySettingsPatch() takes a GET answer back unchanged", async () => {
  const fileRaw = { source: { host: "mss1" }, limits: { concurrency: 8 } };
  const stored = structuredClone(base);
  const view = settingsView({ fileRaw, stored, file: "/etc/vm.jsonc" });
  const out = await ok(input(
    { ...view.settings, $fixed: view.fixed, file: view.file },
    { fileRaw, stored, file: "/etc/vm.jsonc" },
  ));
  assert.deepEqual(out.changes, []);
  assert.equal(out.restartNeeded, false);
  assert.equal((out.stored.source as Record<string, unknown>).trustedPassword, "src-pw-1");
});

Deno.test("applySettingsPatch() keeps, sets and removes secrets, masking them in changes", async () => {
  const kept = await ok(input({ source: { trustedPassword: { set: true }, port: 1143 } }));
  assert.equal((kept.stored.source as Record<string, unknown>).trustedPassword, "src-pw-1");
  assert.deepEqual(kept.changes, [{ path: "source.port", from: null, to: 1143 }]);

  const changed = await ok(input({ source: { trustedPassword: "src-pw-2" } }));
  assert.equal((changed.stored.source as Record<string, unknown>).trustedPassword, "src-pw-2");
  assert.deepEqual(changed.changes, [
    { path: "source.trustedPassword", from: "(set)", to: "(changed)" },
  ]);
  assert.ok(!JSON.stringify(changed.changes).includes("pw"));

  const smtp = { host: "relay", from: "vm@example.org", user: "vm" };
  const set = await ok(input({ smtp: { ...smtp, password: "smtp-pw" } }));
  assert.deepEqual(
    set.changes.find((c) => c.path === "smtp.password"),
    { path: "smtp.password", from: "(unset)", to: "(set)" },
  );
  const unset = await ok(input({ smtp: { password: null } }, { stored: set.stored }));
  assert.deepEqual(unset.changes, [{ path: "smtp.password", from: "(set)", to: "(unset)" }]);
});

Deno.test("applySettingsPatch() keeps a sealed stored secret it cannot open", async () => {
  const stored = structuredClone(base) as Record<string, Record<string, unknown>>;
  stored.source.trustedPassword = { $sealed: "c2VhbGVk" };
  const out = await ok(input({ source: { port: 993 } }, { stored }));
  assert.deepEqual((out.stored.source as Record<string, unknown>).trustedPassword, {
    $sealed: "c2VhbGVk",
  });
});

Deno.test("applySettingsPatch() refuses to change what the file sets", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pwFile = `${dir}/mss.pw`;
    await Deno.writeTextFile(pwFile, "file-pw\n");
    const fileRaw = {
      source: { host: "mss1", trustedPasswordFile: pwFile },
      portal: { trustedProxies: ["10.0.0.1"] },
    };
    const errors = await failed(input(
      { source: { host: "other", trustedPassword: "x" }, portal: { trustedProxies: [] } },
      { fileRaw },
    ));
    assert.deepEqual(errors, [
      { path: "source.host", message: FIXED_MESSAGE },
      { path: "source.trustedPassword", message: FIXED_MESSAGE },
      { path: "portal.trustedProxies", message: FIXED_MESSAGE },
    ]);
    const stored = { ...structuredClone(base), source: { trustedUser: "vmirror" } };
    const same = await ok(input(
      {
        source: { host: "mss1", trustedPassword: { set: true } },
        portal: { trustedProxies: ["10.0.0.1"] },
      },
      { fileRaw, stored },
    ));
    assert.deepEqual(same.changes, []);
    const section = await failed(input({ portal: null }, { fileRaw, stored }));
    assert.equal(section[0].path, "portal");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("applySettingsPatch() lets a password typed in replace a stored password file", async () => {
  const stored = structuredClone(base) as Record<string, Record<string, unknown>>;
  delete stored.source.trustedPassword;
  stored.source.trustedPasswordFile = "/nonexistent/pw";
  const out = await ok(input({ source: { trustedPassword: "typed-pw" } }, { stored }));
  assert.equal((out.stored.source as Record<string, unknown>).trustedPassword, "typed-pw");
  assert.ok(!("trustedPasswordFile" in (out.stored.source as object)));
  assert.deepEqual(out.changes.find((c) => c.path === "source.trustedPassword"), {
    path: "source.trustedPassword",
    from: "(set)",
    to: "(changed)",
  });
});

Deno.test("applySettingsPatch() replaces the target when its type changes", async () => {
  const out = await ok(input({ target: { type: "files", root: "/srv/mirror" } }));
  assert.deepEqual(out.stored.target, { type: "files", root: "/srv/mirror" });
  assert.ok(out.changes.some((c) => c.path === "target.trustedPassword" && c.to === "(unset)"));
  assert.ok(!JSON.stringify(out).includes("tgt-pw-1"));
});

Deno.test("applySettingsPatch() reports what does not validate by field path", async () => {
  const errors = await failed(input({
    source: { port: "x", bogus: 1, trustedPassword: null },
    portal: { listen: "nowhere" },
  }));
  const paths = errors.map((e) => e.path).sort();
  assert.deepEqual(paths, ["portal.listen", "source.bogus", "source.port"]);
  const pw = await failed(input({ source: { trustedPassword: null } }));
  assert.deepEqual(pw, [{
    path: "source.trustedPassword",
    message: 'required (or "trustedPasswordFile")',
  }]);
  assert.deepEqual(await failed(input([1, 2])), [
    { path: "", message: "expected an object of settings" },
  ]);
  assert.deepEqual(await failed(input("x")), [
    { path: "", message: "expected an object of settings" },
  ]);
  const secret = await failed(input({ source: { trustedPassword: { $sealed: "AAAA" } } }));
  assert.equal(secret[0].path, "source.trustedPassword");
});

Deno.test("applySettingsPatch() says when a change needs a restart", async () => {
  const listen = await ok(input({ portal: { listen: "0.0.0.0:8443" } }));
  assert.equal(listen.restartNeeded, true);
  const other = await ok(input({ portal: { sessionMinutes: 10 } }));
  assert.equal(other.restartNeeded, false);
  assert.deepEqual(other.changes, [{ path: "portal.sessionMinutes", from: 30, to: 10 }]);
  const none = await ok(input({ portal: { listen: "127.0.0.1:8080" } }));
  assert.deepEqual(none.changes, []);
  assert.equal(none.restartNeeded, false);
});

Deno.test("problemsToErrors() splits at the first colon and names unknown keys", () => {
  assert.deepEqual(
    problemsToErrors([
      'source.trustedPassword: required (or "trustedPasswordFile")',
      '(top level): unknown key "foo"',
      'portal: "tlsCertFile" and "tlsKeyFile" go together',
      "something odd",
    ]),
    [
      { path: "source.trustedPassword", message: 'required (or "trustedPasswordFile")' },
      { path: "foo", message: 'unknown key "foo"' },
      { path: "portal", message: '"tlsCertFile" and "tlsKeyFile" go together' },
      { path: "", message: "something odd" },
    ],
  );
});
