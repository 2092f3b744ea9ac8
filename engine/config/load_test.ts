import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import {
  type Config,
  ConfigError,
  loadConfig,
  mergeSettings,
  redactConfig,
  requireSections,
  resolvePaths,
  validateConfig,
} from "./mod.ts";

const SOURCE = { host: "mss1", trustedUser: "vmirror", trustedPassword: "src-s3cret" };
const TARGET = {
  type: "imap",
  host: "mss2",
  trustedUser: "vmirror",
  trustedPassword: "tgt-s3cret",
};
const WHERE = { file: "/etc/vmirror/config.jsonc", dataDir: "/var/lib/vmirror" };

// Calls `fn` with a fresh temporary directory, removed afterwards.
async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "vmirror-config-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// Validates `raw` expecting a ConfigError and returns it.
async function configError(
  raw: unknown,
  where: { file: string | null; dataDir: string } = WHERE,
): Promise<ConfigError> {
  try {
    await validateConfig(raw, where);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e;
  }
  assert.fail(`expected ${JSON.stringify(raw)} to be refused`);
}

// Asserts that `raw` is refused with exactly one problem, for `key`, matching `detail`.
async function assertProblem(raw: unknown, key: string, detail?: RegExp): Promise<string> {
  const e = await configError(raw);
  assert.equal(e.problems.length, 1, `one problem expected, got ${JSON.stringify(e.problems)}`);
  const [problem] = e.problems;
  assert.ok(problem.startsWith(`${key}: `), `"${problem}" should name "${key}"`);
  if (detail) assert.match(problem, detail);
  assert.ok(e.message.includes(problem), "the message lists the problem");
  return problem;
}

Deno.test("validateConfig() resolves the defaults of a minimal source + target file", async () => {
  const c = await validateConfig({ source: SOURCE, target: TARGET }, WHERE);
  assert.equal(c.file, WHERE.file);
  assert.equal(c.dataDir, WHERE.dataDir);
  assert.ok(c.source && c.target?.type === "imap");
  assert.equal(c.source.port, 143);
  assert.equal(c.source.tls, "starttls");
  assert.equal(c.source.name, "mss1:143");
  assert.deepEqual(c.source.folders, ["INBOX"]);
  assert.equal(c.source.greetingsFolder, undefined);
  assert.equal(c.source.impersonation, "authzid");
  assert.equal(c.source.separator, "*");
  assert.equal(c.source.connectTimeoutSeconds, 30);
  assert.equal(c.source.trustedPassword, "src-s3cret");
  assert.equal(c.source.caFile, undefined);
  assert.equal(c.target.port, 143);
  assert.equal(c.target.trustedPassword, "tgt-s3cret");
  assert.equal(c.portal.listen, "127.0.0.1:8080");
  assert.equal(c.portal.sessionMinutes, 30);
  assert.equal(c.portal.pinCheck, "imap");
  assert.equal(c.portal.adminUser, "admin");
  assert.equal(c.schedule.directoryHours, 6);
  assert.equal(c.schedule.syncSeconds, 60);
  assert.equal(c.schedule.idle, true);
  assert.deepEqual(c.limits, {
    maxMessageSeconds: null,
    maxMessageBytes: null,
    concurrency: 4,
    retries: 3,
    persistentSessions: 200,
    deleteGuard: {
      enabled: true,
      mailboxShare: 0.5,
      mailboxMinMessages: 10,
      totalShare: 0.05,
      totalMinMessages: 10,
      holdHours: 24,
    },
  });
  assert.equal(c.source.commandTimeoutSeconds, 60);
  assert.deepEqual(c.rules, { broadcast: [], compiled: [] });
  assert.equal(c.ldap, undefined);
  assert.equal(c.smtp, undefined);
});

Deno.test("validateConfig() defaults the port by TLS mode", async () => {
  const port = async (tls: string) =>
    (await validateConfig({ source: { ...SOURCE, tls } }, WHERE)).source?.port;
  assert.equal(await port("tls"), 993);
  assert.equal(await port("starttls"), 143);
  assert.equal(await port("none"), 143);
  const c = await validateConfig({ source: { ...SOURCE, tls: "tls", port: 1993 } }, WHERE);
  assert.equal(c.source?.port, 1993);
  assert.equal(c.source?.name, "mss1:1993");
  const named = await validateConfig({ source: { ...SOURCE, name: "production" } }, WHERE);
  assert.equal(named.source?.name, "production");
});

Deno.test("validateConfig() appends the greetings folder to the folders", async () => {
  const c = await validateConfig(
    { source: { ...SOURCE, folders: ["INBOX", "Saved"], greetingsFolder: "Greetings" } },
    WHERE,
  );
  assert.deepEqual(c.source?.folders, ["INBOX", "Saved", "Greetings"]);
  assert.equal(c.source?.greetingsFolder, "Greetings");
  const listed = await validateConfig(
    { source: { ...SOURCE, folders: ["Greetings", "INBOX"], greetingsFolder: "Greetings" } },
    WHERE,
  );
  assert.deepEqual(listed.source?.folders, ["Greetings", "INBOX"]);
});

Deno.test("validateConfig() accepts an empty object: every section optional or defaulted", async () => {
  const c = await validateConfig({}, { file: null, dataDir: "/d" });
  assert.equal(c.file, null);
  assert.equal(c.source, undefined);
  assert.equal(c.target, undefined);
  assert.equal(c.portal.listen, "127.0.0.1:8080");
});

Deno.test("validateConfig() names the key of a port of the wrong type", async () => {
  const p = await assertProblem({ source: { ...SOURCE, port: "993" } }, "source.port");
  assert.match(p, /expected a port number, got a string/);
});

Deno.test("validateConfig() names the key of a port out of range", async () => {
  await assertProblem({ source: { ...SOURCE, port: 70000 } }, "source.port", /1 to 65535/);
  await assertProblem({ source: { ...SOURCE, port: 0 } }, "source.port", /1 to 65535/);
  await assertProblem({ target: { ...TARGET, port: -1 } }, "target.port", /1 to 65535/);
  await assertProblem({ source: { ...SOURCE, port: 14.3 } }, "source.port", /whole number/);
  await assertProblem(
    { smtp: { host: "smtp", from: "vm@example.com", port: 65536 } },
    "smtp.port",
    /1 to 65535/,
  );
});

Deno.test("validateConfig() names unknown keys, at the top level and in a section", async () => {
  await assertProblem({ sourc: SOURCE }, "(top level)", /unknown key "sourc"/);
  await assertProblem({ source: { ...SOURCE, hots: "x" } }, "source", /unknown key "hots"/);
  await assertProblem({ portal: { lisen: "x:1" } }, "portal", /unknown key "lisen"/);
  await assertProblem(
    { target: { ...TARGET, user: "a", pass: "b" } },
    "target",
    /unknown keys "user", "pass"/,
  );
});

Deno.test("validateConfig() names the key of a bad TLS mode", async () => {
  await assertProblem({ source: { ...SOURCE, tls: "ssl" } }, "source.tls", /"starttls"/);
  await assertProblem({ target: { ...TARGET, tls: true } }, "target.tls");
});

Deno.test("validateConfig() names the key of a bad impersonation mode", async () => {
  await assertProblem(
    { source: { ...SOURCE, impersonation: "proxy" } },
    "source.impersonation",
    /"authzid" or "separator"/,
  );
});

Deno.test("validateConfig() says a missing key is required", async () => {
  await assertProblem(
    { source: { trustedUser: "v", trustedPassword: "p" } },
    "source.host",
    /required/,
  );
  await assertProblem(
    { source: { host: "mss1", trustedPassword: "p" } },
    "source.trustedUser",
    /required/,
  );
  await assertProblem({ source: { ...SOURCE, host: "" } }, "source.host", /must not be empty/);
});

Deno.test("validateConfig() requires trustedPassword or trustedPasswordFile", async () => {
  const { trustedPassword: _, ...noPassword } = SOURCE;
  await assertProblem(
    { source: noPassword },
    "source.trustedPassword",
    /required \(or "trustedPasswordFile"\)/,
  );
  const { trustedPassword: __, ...targetNoPassword } = TARGET;
  await assertProblem({ target: targetNoPassword }, "target.trustedPassword", /required/);
});

Deno.test("validateConfig() refuses both trustedPassword and trustedPasswordFile", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "pw"), "x\n");
    await assertProblem(
      { source: { ...SOURCE, trustedPasswordFile: join(dir, "pw") } },
      "source.trustedPassword",
      /either "trustedPassword" or "trustedPasswordFile", not both/,
    );
  });
});

Deno.test("validateConfig() names an unreadable password file and its path", async () => {
  await withTempDir(async (dir) => {
    const { trustedPassword: _, ...noPassword } = SOURCE;
    const missing = join(dir, "nope");
    const p = await assertProblem(
      { source: { ...noPassword, trustedPasswordFile: missing } },
      "source.trustedPasswordFile",
      /cannot read/,
    );
    assert.ok(p.includes(`"${missing}"`));
    // A directory is not a readable file either.
    await assertProblem(
      { source: { ...noPassword, trustedPasswordFile: dir } },
      "source.trustedPasswordFile",
      /cannot read/,
    );
  });
});

Deno.test("validateConfig() refuses an empty password file", async () => {
  await withTempDir(async (dir) => {
    const { trustedPassword: _, ...noPassword } = SOURCE;
    for (const content of ["", "\n", "\r\n"]) {
      await Deno.writeTextFile(join(dir, "pw"), content);
      await assertProblem(
        { source: { ...noPassword, trustedPasswordFile: join(dir, "pw") } },
        "source.trustedPasswordFile",
        /is empty/,
      );
    }
  });
});

Deno.test("validateConfig() reads a password file, dropping one final newline", async () => {
  await withTempDir(async (dir) => {
    const { trustedPassword: _, ...noPassword } = SOURCE;
    for (const [content, want] of [["pw1\n", "pw1"], ["pw2\r\n", "pw2"], ["pw3", "pw3"]]) {
      await Deno.writeTextFile(join(dir, "pw"), content);
      const c = await validateConfig(
        { source: { ...noPassword, trustedPasswordFile: join(dir, "pw") } },
        WHERE,
      );
      assert.equal(c.source?.trustedPassword, want);
    }
  });
});

Deno.test("validateConfig() names a caFile that does not exist", async () => {
  await withTempDir(async (dir) => {
    const ca = join(dir, "ca.pem");
    await assertProblem({ source: { ...SOURCE, caFile: ca } }, "source.caFile", /not found/);
    await Deno.writeTextFile(ca, "-----BEGIN CERTIFICATE-----\n");
    const c = await validateConfig({ source: { ...SOURCE, caFile: ca } }, WHERE);
    assert.equal(c.source?.caFile, ca);
    await assertProblem(
      { source: { ...SOURCE, tls: "none", caFile: ca } },
      "source.caFile",
      /"tls" is "none"/,
    );
  });
});

Deno.test("validateConfig() requires root for a files target", async () => {
  await assertProblem({ target: { type: "files" } }, "target.root", /required/);
  const c = await validateConfig({ target: { type: "files", root: "/srv/mirror" } }, WHERE);
  assert.deepEqual(c.target, {
    type: "files",
    name: "files",
    root: "/srv/mirror",
    onDelete: "remove",
    retentionDays: 30,
    createRoot: true,
  });
});

Deno.test("validateConfig() names a bad or missing target type", async () => {
  await assertProblem({ target: { type: "s3", root: "/x" } }, "target.type", /"imap".*"files"/);
  await assertProblem({ target: { host: "mss2" } }, "target.type");
});

Deno.test("validateConfig() names a broadcast rule's bad regular expression", async () => {
  await assertProblem(
    { rules: { broadcast: [{ header: "X-Ok", pattern: "a" }, { header: "X-B", pattern: "(" }] } },
    "rules.broadcast.1.pattern",
    /not a valid regular expression/,
  );
  await assertProblem(
    { rules: { broadcast: [{ header: "Bad Header:", pattern: "x" }] } },
    "rules.broadcast.0.header",
    /header field name/,
  );
});

Deno.test("validateConfig() names a bad portal listen address", async () => {
  for (const listen of ["8080", "localhost", "host:99999", "a b:80", ":80"]) {
    await assertProblem({ portal: { listen } }, "portal.listen", /host:port/);
  }
  for (const listen of ["0.0.0.0:80", "[::1]:8443", "vmirror.example:8080"]) {
    const c = await validateConfig({ portal: { listen } }, WHERE);
    assert.equal(c.portal.listen, listen);
  }
});

Deno.test("validateConfig() requires an SMTP user with a password", async () => {
  const smtp = { host: "smtp", from: "vmirror@example.com" };
  await assertProblem(
    { smtp: { ...smtp, password: "p" } },
    "smtp.user",
    /required with a password/,
  );
  const c = await validateConfig({ smtp: { ...smtp, user: "u", password: "p" } }, WHERE);
  assert.equal(c.smtp?.password, "p");
  assert.equal(c.smtp?.port, 25);
  const anonymous = await validateConfig({ smtp }, WHERE);
  assert.equal(anonymous.smtp?.password, undefined);
  await assertProblem({ smtp: { ...smtp, from: "not an address" } }, "smtp.from", /e-mail/);
});

Deno.test("validateConfig() names a bad LDAP URL", async () => {
  const side = { url: "ldap://dir:389", bindDn: "cn=vm", bindPassword: "p", baseDn: "o=x" };
  for (const url of ["http://dir", "dir:389", "ldap://dir/o=x"]) {
    await assertProblem({ ldap: { source: { ...side, url } } }, "ldap.source.url", /ldap:\/\//);
  }
  await assertProblem(
    { ldap: { source: side, target: { ...side, url: "ldapx://dir" } } },
    "ldap.target.url",
  );
  const c = await validateConfig({ ldap: { source: { ...side, url: "LDAPS://dir:636/" } } }, WHERE);
  assert.equal(c.ldap?.source.url, "LDAPS://dir:636/");
  assert.equal(c.ldap?.attributes.mailbox, "vmMailboxNumber");
  const { bindPassword: _, ...noPassword } = side;
  await assertProblem({ ldap: { source: noPassword } }, "ldap.source.bindPassword", /required/);
});

Deno.test("validateConfig() reports every bad key at once", async () => {
  const e = await configError({
    source: { ...SOURCE, port: "x", tls: "ssl" },
    portal: { listen: "nope" },
  });
  const keys = e.problems.map((p) => p.split(":")[0]).sort();
  assert.deepEqual(keys, ["portal.listen", "source.port", "source.tls"]);
  assert.match(e.message, /^Invalid configuration in "\/etc\/vmirror\/config.jsonc":\n {2}/);
});

Deno.test("validateConfig() refuses a folder listed twice", async () => {
  await assertProblem({ source: { ...SOURCE, folders: ["INBOX", "INBOX"] } }, "source.folders");
  await assertProblem({ source: { ...SOURCE, folders: [] } }, "source.folders", /at least one/);
  await assertProblem({ source: { ...SOURCE, folders: ["a\r\nb"] } }, "source.folders.0");
});

Deno.test("validateConfig() requires the portal's TLS certificate and key together", async () => {
  await assertProblem({ portal: { tlsCertFile: "cert.pem" } }, "portal", /go together/);
});

Deno.test("loadConfig() resolves trustedPasswordFile relative to the config file", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "etc", "secrets"), { recursive: true });
    await Deno.writeTextFile(join(dir, "etc", "secrets", "source.pw"), "from-file\n");
    await Deno.writeTextFile(join(dir, "etc", "ca.pem"), "pem");
    const file = join(dir, "etc", "config.jsonc");
    await Deno.writeTextFile(
      file,
      `{
        // the production MSS
        "source": {
          "host": "mss1",
          "trustedUser": "vmirror",
          "trustedPasswordFile": "secrets/source.pw",
          "tls": "tls",
          "caFile": "ca.pem",
        },
        "target": { "type": "files", "root": "../mirror" },
      }`,
    );
    const c = await loadConfig({ file, dataDir: join(dir, "data"), env: {} });
    assert.equal(c.file, file);
    assert.equal(c.source?.trustedPassword, "from-file");
    assert.equal(c.source?.caFile, join(dir, "etc", "ca.pem"));
    assert.equal(c.source?.port, 993);
    assert.equal(c.target?.type === "files" && c.target.root, join(dir, "mirror"));
  });
});

Deno.test("loadConfig() names the path of a missing config file", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "missing.jsonc");
    await assert.rejects(
      loadConfig({ file, env: {} }),
      (e: unknown) =>
        e instanceof ConfigError && e.message.includes(`"${file}"`) &&
        /Cannot read/.test(e.message),
    );
  });
});

Deno.test("loadConfig() names the path and position of a syntax error", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "config.jsonc");
    await Deno.writeTextFile(file, '{\n  "source": {\n    "host": "mss1"\n    "port": 993\n  }\n}');
    await assert.rejects(
      loadConfig({ file, env: {} }),
      (e: unknown) =>
        e instanceof ConfigError && e.message.includes(`"${file}"`) &&
        /line 4, column 5/.test(e.message) && e.cause instanceof Error,
    );
  });
});

Deno.test("loadConfig() refuses a file that is not a JSON object", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "config.json");
    await Deno.writeTextFile(file, "[1, 2]");
    await assert.rejects(
      loadConfig({ file, env: {} }),
      (e: unknown) => e instanceof ConfigError && /must hold a JSON object/.test(e.message),
    );
  });
});

Deno.test("loadConfig() names the key of a bad port in the file", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "config.jsonc");
    await Deno.writeTextFile(file, JSON.stringify({ source: { ...SOURCE, port: "imaps" } }));
    await assert.rejects(
      loadConfig({ file, env: {} }),
      (e: unknown) =>
        e instanceof ConfigError && e.message.includes(`"${file}"`) &&
        e.problems.length === 1 && e.problems[0].startsWith("source.port: "),
    );
  });
});

Deno.test("loadConfig() reads VMIRROR_CONFIG and VMIRROR_DATA from opts.env", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "config.jsonc");
    await Deno.writeTextFile(file, JSON.stringify({ schedule: { syncSeconds: 5 } }));
    const c = await loadConfig({ env: { VMIRROR_CONFIG: file, VMIRROR_DATA: join(dir, "d") } });
    assert.equal(c.file, file);
    assert.equal(c.dataDir, join(dir, "d"));
    assert.equal(c.schedule.syncSeconds, 5);
  });
});

Deno.test("loadConfig() prefers flags over the environment", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "flag.jsonc");
    await Deno.writeTextFile(file, "{}");
    const c = await loadConfig({
      file,
      dataDir: join(dir, "flag-data"),
      env: { VMIRROR_CONFIG: join(dir, "env.jsonc"), VMIRROR_DATA: join(dir, "env-data") },
    });
    assert.equal(c.file, file);
    assert.equal(c.dataDir, join(dir, "flag-data"));
  });
});

Deno.test("loadConfig() without a file or environment uses the embedded defaults", async () => {
  const c = await loadConfig({ env: {} });
  assert.equal(c.file, null);
  assert.equal(c.dataDir, resolve("vmirror-data"));
  assert.equal(c.source, undefined);
  assert.equal(c.portal.listen, "127.0.0.1:8080");
});

Deno.test("resolvePaths() makes relative paths absolute and ignores an empty variable", () => {
  const p = resolvePaths({ env: { VMIRROR_CONFIG: "", VMIRROR_DATA: "rel/data" } });
  assert.equal(p.file, null);
  assert.equal(p.dataDir, resolve("rel/data"));
  assert.equal(resolvePaths({ file: "c.jsonc", env: {} }).file, resolve("c.jsonc"));
});

Deno.test("loadConfig() lets stored settings fill the file's gaps", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "config.jsonc");
    await Deno.writeTextFile(file, JSON.stringify({ portal: { listen: "0.0.0.0:9000" } }));
    const c = await loadConfig({
      file,
      env: {},
      stored: { portal: { listen: "127.0.0.1:1", sessionMinutes: 5 }, source: SOURCE },
    });
    assert.equal(c.portal.listen, "0.0.0.0:9000");
    assert.equal(c.portal.sessionMinutes, 5);
    assert.equal(c.source?.host, "mss1");
    // The file's value replaces a bad stored one; a bad stored value the file leaves alone is
    // still refused, by key.
    const fixed = await loadConfig({ file, env: {}, stored: { portal: { listen: "bad" } } });
    assert.equal(fixed.portal.listen, "0.0.0.0:9000");
    await assert.rejects(
      loadConfig({ file, env: {}, stored: { schedule: { syncSeconds: "often" } } }),
      (e: unknown) =>
        e instanceof ConfigError && e.problems.some((p) => p.startsWith("schedule.syncSeconds: ")),
    );
  });
});

Deno.test("mergeSettings() lets the file win key by key and the stored fill gaps", () => {
  const stored = {
    portal: { listen: "0.0.0.0:80", sessionMinutes: 10 },
    schedule: { syncSeconds: 30 },
    source: { host: "old", folders: ["INBOX", "Old"], trustedUser: "u" },
  };
  const file = {
    portal: { listen: "127.0.0.1:9000" },
    source: { host: "mss1", folders: ["INBOX"] },
    limits: { retries: 1 },
  };
  const storedCopy = structuredClone(stored);
  const fileCopy = structuredClone(file);
  assert.deepEqual(mergeSettings(stored, file), {
    portal: { listen: "127.0.0.1:9000", sessionMinutes: 10 },
    schedule: { syncSeconds: 30 },
    source: { host: "mss1", folders: ["INBOX"], trustedUser: "u" },
    limits: { retries: 1 },
  });
  assert.deepEqual(stored, storedCopy, "stored is not modified");
  assert.deepEqual(file, fileCopy, "file is not modified");
});

Deno.test("mergeSettings() replaces a stored target of another type whole", () => {
  const stored = { target: { type: "imap", host: "mss2", trustedUser: "u" } };
  const file = { target: { type: "files", root: "/srv" } };
  assert.deepEqual(mergeSettings(stored, file), { target: { type: "files", root: "/srv" } });
  const same = mergeSettings({ target: { type: "files", root: "/a", retentionDays: 9 } }, {
    target: { type: "files", root: "/b" },
  });
  assert.deepEqual(same, { target: { type: "files", root: "/b", retentionDays: 9 } });
});

Deno.test("mergeSettings() lets a file scalar or array replace a stored object", () => {
  assert.deepEqual(mergeSettings({ a: { b: 1 } }, { a: 2 }), { a: 2 });
  assert.deepEqual(mergeSettings({ a: { b: 1 } }, { a: [1] }), { a: [1] });
  assert.deepEqual(mergeSettings({ a: 1 }, { a: { b: 2 } }), { a: { b: 2 } });
  assert.deepEqual(mergeSettings({ a: 1 }, {}), { a: 1 });
  assert.deepEqual(mergeSettings({}, { a: null }), { a: null });
});

Deno.test("requireSections() names the verb and the missing section", async () => {
  const c = await validateConfig({ target: TARGET }, WHERE);
  assert.throws(
    () => requireSections(c, "sync", ["source", "target"]),
    (e: unknown) =>
      e instanceof ConfigError && /"sync" needs the "source" section/.test(e.message) &&
      !/"target"/.test(e.message) && e.message.includes(`"${WHERE.file}"`),
  );
  const none = await validateConfig({}, { file: null, dataDir: "/d" });
  assert.throws(
    () => requireSections(none, "directory-sync", ["ldap"]),
    (e: unknown) =>
      e instanceof ConfigError && /"directory-sync" needs the "ldap" section/.test(e.message) &&
      /--config FILE/.test(e.message),
  );
  assert.throws(
    () => requireSections(none, "sync", ["source", "target"]),
    /"sync" needs the "source" and "target" sections/,
  );
  const full = await validateConfig({ source: SOURCE, target: TARGET }, WHERE);
  assert.equal(requireSections(full, "sync", ["source", "target"]).source.host, "mss1");
});

Deno.test("redactConfig() hides every password and keeps the rest", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "admin.pw"), "admin-s3cret");
    const side = { url: "ldap://dir:389", bindDn: "cn=vm", baseDn: "o=x" };
    const c: Config = await validateConfig({
      source: SOURCE,
      target: TARGET,
      ldap: {
        source: { ...side, bindPassword: "ldap-src-s3cret" },
        target: { ...side, bindPassword: "ldap-tgt-s3cret" },
      },
      smtp: { host: "smtp", from: "vm@example.com", user: "u", password: "smtp-s3cret" },
      portal: { adminPasswordFile: join(dir, "admin.pw") },
    }, WHERE);
    const before = JSON.stringify(c);
    const text = JSON.stringify(redactConfig(c));
    for (const secret of ["src-s3cret", "tgt-s3cret", "ldap-src-s3cret", "ldap-tgt-s3cret"]) {
      assert.ok(!text.includes(secret), `"${secret}" is hidden`);
    }
    assert.ok(!text.includes("smtp-s3cret"));
    const r = redactConfig(c) as Config;
    assert.equal(r.source?.trustedPassword, "********");
    assert.equal((r.target as { trustedPassword: string }).trustedPassword, "********");
    assert.equal(r.ldap?.source.bindPassword, "********");
    assert.equal(r.ldap?.target?.bindPassword, "********");
    assert.equal(r.smtp?.password, "********");
    assert.equal(r.source?.host, "mss1");
    assert.equal(r.smtp?.user, "u");
    assert.equal(JSON.stringify(c), before, "the config itself is untouched");
  });
});

Deno.test("ConfigError sets its name and lists one problem per line", () => {
  const e = new ConfigError("Invalid configuration", ["a: x", "b: y"]);
  assert.equal(e.name, "ConfigError");
  assert.equal(e.message, "Invalid configuration:\n  a: x\n  b: y");
  assert.deepEqual(e.problems, ["a: x", "b: y"]);
  assert.equal(new ConfigError("Plain").message, "Plain");
});

Deno.test("validateConfig() does not echo a password of the wrong type", async () => {
  const e = await configError({ source: { ...SOURCE, trustedPassword: 12345678 } });
  assert.ok(e.problems[0].startsWith("source.trustedPassword: "), e.problems[0]);
  assert.ok(!e.message.includes("12345678"), `password echoed: ${e.message}`);
  const smtp = await configError({
    smtp: { host: "smtp", from: "vm@example.com", user: "u", password: ["hunter2"] },
  });
  assert.ok(!smtp.message.includes("hunter2"), `password echoed: ${smtp.message}`);
});

Deno.test("loadConfig() does not echo a password next to a syntax error", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "config.jsonc");
    // The operator forgot the quotes around the password.
    await Deno.writeTextFile(
      file,
      '{\n  "source": {\n    "host": "mss1",\n    "trustedPassword": hunter2,\n  }\n}',
    );
    await assert.rejects(loadConfig({ file, env: {} }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.ok(!e.message.includes("hunter2"), `password echoed: ${e.message}`);
      assert.match(e.message, /line 4, column 24/);
      return true;
    });
  });
});

// Writes `text` as a config file and loads it.
async function loadText(text: string, env: Record<string, string> = {}): Promise<Config> {
  return await withTempDir(async (dir) => {
    const file = join(dir, "config.jsonc");
    await Deno.writeTextFile(file, text);
    return await loadConfig({ file, env });
  });
}

// Loads `text` expecting a syntax error; returns its message.
async function syntaxError(text: string): Promise<string> {
  try {
    await loadText(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    assert.match(e.message, /^Cannot parse config file ".*": Invalid JSON: /);
    return e.message;
  }
  assert.fail(`expected ${JSON.stringify(text)} not to parse`);
}

Deno.test("loadConfig() reads JSONC: line and block comments, not inside strings", async () => {
  const c = await loadText(`// leading
{
  /* a block
     over lines */
  "portal": { "listen": "127.0.0.1:9000", /* inline */ "adminUser": "a//b/*c*/d" }, // after
  "rules": { "broadcast": [{ "header": "X-Url", "pattern": "http://x /* not a comment */" }] }
}
// trailing`);
  assert.equal(c.portal.listen, "127.0.0.1:9000");
  assert.equal(c.portal.adminUser, "a//b/*c*/d");
  assert.equal(c.rules.broadcast[0].pattern, "http://x /* not a comment */");
  // Compiled once at load: the pattern is ready to match.
  assert.equal(c.rules.compiled[0].header, "x-url");
  assert.equal(c.rules.compiled[0].regex.flags, "i");
});

Deno.test("loadConfig() accepts trailing commas, also before a comment", async () => {
  const c = await loadText(
    '{"source": {"host": "mss1", "trustedUser": "u", "trustedPassword": "p",\n' +
      '"folders": ["INBOX", "Greetings",],}, // last one\n}',
  );
  assert.deepEqual(c.source?.folders, ["INBOX", "Greetings"]);
});

Deno.test("loadConfig() still refuses a doubled comma", async () => {
  assert.match(await syntaxError('{"portal": {},,}'), /line 1, column 15$/);
  assert.match(await syntaxError('{"a": [1,,]}'), /value expected at line 1, column 10$/);
});

Deno.test("loadConfig() names the line and column of a fault, true to the file", async () => {
  // After comments, of a missing comma, of an unterminated array, of text after the end,
  // and of a bare word.
  assert.match(
    await syntaxError('/* one\n two */ {\n "a": 1 // note\n "b": 2 }'),
    /comma expected at line 4, column 2$/,
  );
  assert.match(await syntaxError('// header\n{"a" 1}'), /colon expected at line 2, column 6$/);
  assert.match(await syntaxError('{"a": [1, 2'), /at line 1, column 12$/);
  assert.match(await syntaxError('{"a": 1}\n}'), /end of file expected at line 2, column 1$/);
  assert.match(await syntaxError('{\n  "a": 1,\n  "b": }'), /at line 3, column 8$/);
  assert.match(
    await syntaxError('{\n  "source": {\n    "tls": tls\n  }\n}'),
    /at line 3, column 12$/,
  );
});

Deno.test("loadConfig() names a syntax error's position once and quotes none of the text", async () => {
  const message = await syntaxError('{"portal": {"adminUser": "x" "sessionMinutes": s3cr3t}}');
  assert.doesNotMatch(message, /position \d+/);
  assert.ok(!message.includes("s3cr3t") && !message.includes("sessionMinutes"), message);
});

Deno.test("loadConfig() reads the CA files and the portal's TLS files once, keeping the paths", async () => {
  await withTempDir(async (dir) => {
    for (const f of ["ca.pem", "ldap-ca.pem", "smtp-ca.pem", "cert.pem", "key.pem"]) {
      await Deno.writeTextFile(join(dir, f), `pem of ${f}`);
    }
    const file = join(dir, "config.jsonc");
    const side = { url: "ldaps://dir:636", bindDn: "cn=vm", bindPassword: "x", baseDn: "o=x" };
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        source: { ...SOURCE, tls: "tls", caFile: "ca.pem" },
        target: { ...TARGET, caFile: "ca.pem" },
        ldap: { source: { ...side, caFile: "ldap-ca.pem" } },
        smtp: { host: "smtp", from: "vm@example.com", caFile: "smtp-ca.pem" },
        portal: { tlsCertFile: "cert.pem", tlsKeyFile: "key.pem" },
      }),
    );
    const c = await loadConfig({ file, env: {} });
    assert.equal(c.source?.caFile, join(dir, "ca.pem"));
    assert.equal(c.source?.ca, "pem of ca.pem");
    assert.equal(c.target?.type === "imap" && c.target.ca, "pem of ca.pem");
    assert.equal(c.ldap?.source.ca, "pem of ldap-ca.pem");
    assert.equal(c.smtp?.ca, "pem of smtp-ca.pem");
    assert.equal(c.portal.tlsCertFile, join(dir, "cert.pem"));
    assert.deepEqual(c.portal.tls, { cert: "pem of cert.pem", key: "pem of key.pem" });
    // Printing the config shows the paths, never the files' contents (a private key).
    const shown = JSON.stringify(redactConfig(c));
    assert.ok(!shown.includes("pem of"), shown);
    assert.ok(shown.includes(join(dir, "key.pem")));
    await Deno.remove(join(dir, "smtp-ca.pem"));
    await Deno.remove(join(dir, "key.pem"));
    await assert.rejects(loadConfig({ file, env: {} }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.problems.map((p) => p.split(":")[0]), [
        "smtp.caFile",
        "portal.tlsKeyFile",
      ]);
      return true;
    });
  });
});

Deno.test("loadConfig() takes the log level from the file, VMIRROR_LOG_LEVEL overriding it", async () => {
  assert.equal((await loadText("{}")).logLevel, "info");
  assert.equal((await loadText('{"logLevel": "warn"}')).logLevel, "warn");
  assert.equal(
    (await loadText('{"logLevel": "warn"}', { VMIRROR_LOG_LEVEL: "debug" })).logLevel,
    "debug",
  );
  assert.equal((await loadText("{}", { VMIRROR_LOG_LEVEL: "" })).logLevel, "info");
  await assert.rejects(
    loadText('{"logLevel": "loud"}'),
    (e: unknown) => e instanceof ConfigError && e.problems[0].startsWith("logLevel: expected"),
  );
  await assert.rejects(
    loadText("{}", { VMIRROR_LOG_LEVEL: "verbose" }),
    (e: unknown) =>
      e instanceof ConfigError && e.problems[0].startsWith("VMIRROR_LOG_LEVEL: expected") &&
      !e.message.includes("verbose"),
  );
});
