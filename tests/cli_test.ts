import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXIT, main, noArgumentAction } from "../main.ts";
import { VERSION } from "../engine/version.ts";
import { shardOf } from "../engine/config/mod.ts";
import { type Run, runCli, tempDir } from "./test_utils/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const VERBS = [
  "serve",
  "sync",
  "subscribe",
  "unsubscribe",
  "subscriptions",
  "status",
  "directory-sync",
  "restore",
  "install",
  "uninstall",
  "backup-state",
  "restore-state",
  "release-deletions",
  "version",
  "help",
];
const SOURCE = { host: "mss1", trustedUser: "vmirror", trustedPassword: "src-s3cret" };

// The real CLI in a child process from the repo root; a child that hangs is killed after 30 s.
function vmirror(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runCli(args, { env, timeoutMs: 30_000 });
}

// Calls `fn` with a fresh temporary directory, removed afterwards.
async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  await using tmp = await tempDir("cli");
  await fn(tmp.path);
}

function assertCode(r: Run, code: number): void {
  assert.equal(
    r.code,
    code,
    `exit ${r.code}, expected ${code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
  );
}

function assertListsVerbs(text: string): void {
  for (const verb of VERBS) {
    assert.match(text, new RegExp(`^  ${verb}\\s`, "m"), `the help lists "${verb}"`);
  }
}

Deno.test("vmirror --help, -h and help exit 0 and list every verb", async () => {
  for (const args of [["--help"], ["-h"], ["help"]]) {
    const r = await vmirror(args);
    assertCode(r, EXIT.ok);
    assertListsVerbs(r.stdout);
    assert.match(r.stdout, /Usage: vmirror <verb>/);
    assert.match(r.stdout, /Exit codes: 0 ok, 1 failed, 2 usage error, 3 configuration error/);
  }
});

Deno.test("vmirror VERB --help exits 0 with the verb's usage, for every verb", async () => {
  for (const verb of VERBS.filter((v) => v !== "help")) {
    for (const args of [[verb, "--help"], [verb, "-h"], ["help", verb]]) {
      const r = await vmirror(args);
      assertCode(r, EXIT.ok);
      assert.match(r.stdout, new RegExp(`^vmirror ${verb} — `), args.join(" "));
      assert.match(r.stdout, new RegExp(`Usage: vmirror ${verb}`), args.join(" "));
      assert.match(r.stdout, /--config FILE/);
    }
  }
});

Deno.test("vmirror VERB --help does not need a usable config", async () => {
  await withTempDir(async (dir) => {
    const r = await vmirror(["sync", "--help", "--config", join(dir, "missing.jsonc")]);
    assertCode(r, EXIT.ok);
  });
});

Deno.test("vmirror without a verb prints the usage and exits 2", async () => {
  const r = await vmirror([]);
  assertCode(r, EXIT.usage);
  assert.match(r.stdout + r.stderr, /Usage: vmirror <verb>/);
});

Deno.test("vmirror with an unknown verb exits 2 with the usage on stderr", async () => {
  const r = await vmirror(["frobnicate"]);
  assertCode(r, EXIT.usage);
  assert.match(r.stderr, /Unknown verb "frobnicate"/);
  assert.match(r.stderr, /Usage: vmirror <verb>/);
  assertListsVerbs(r.stderr);
  assert.equal(r.stdout, "");
  const help = await vmirror(["help", "frobnicate"]);
  assertCode(help, EXIT.usage);
  assert.match(help.stderr, /Unknown verb "frobnicate"/);
});

Deno.test("vmirror treats names of Object.prototype members as unknown verbs", async () => {
  for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
    const r = await vmirror([name]);
    assertCode(r, EXIT.usage);
    assert.match(r.stderr, new RegExp(`Unknown verb "${name}"`));
    const help = await vmirror(["help", name]);
    assertCode(help, EXIT.usage);
  }
});

Deno.test("vmirror sync --once --bogus exits 2 naming the flag", async () => {
  await withTempDir(async (dir) => {
    const r = await vmirror(["sync", "--once", "--bogus", "--data", dir]);
    assertCode(r, EXIT.usage);
    assert.match(r.stderr, /--bogus/);
    assert.match(r.stderr, /Usage: vmirror sync --once/);
  });
});

Deno.test("vmirror sync without --once exits 2", async () => {
  await withTempDir(async (dir) => {
    const r = await vmirror(["sync", "--data", dir]);
    assertCode(r, EXIT.usage);
    assert.match(r.stderr, /sync needs --once/);
  });
});

Deno.test("vmirror subscribe and unsubscribe without mailboxes exit 2", async () => {
  await withTempDir(async (dir) => {
    for (const verb of ["subscribe", "unsubscribe"]) {
      const r = await vmirror([verb, "--data", dir]);
      assertCode(r, EXIT.usage);
      assert.match(r.stderr, new RegExp(`${verb} needs at least one mailbox`));
      assert.match(r.stderr, new RegExp(`Usage: vmirror ${verb} ID`));
    }
  });
});

Deno.test("vmirror refuses an invalid mailbox id with exit 2", async () => {
  await withTempDir(async (dir) => {
    for (const args of [["subscribe", "a/b"], ["unsubscribe", "4021", "x y"]]) {
      const r = await vmirror([...args, "--data", dir]);
      assertCode(r, EXIT.usage);
      assert.match(r.stderr, new RegExp(`Invalid mailbox "${args[args.length - 1]}"`));
    }
    const sync = await vmirror(["sync", "--once", "--mailbox", "../etc", "--data", dir]);
    assertCode(sync, EXIT.usage);
    assert.match(sync.stderr, /Invalid mailbox "..\/etc"/);
    const long = await vmirror(["subscribe", "1".repeat(65), "--data", dir]);
    assertCode(long, EXIT.usage);
    // Nothing was stored by the refused commands.
    const list = await vmirror(["subscriptions", "--json", "--data", dir]);
    assertCode(list, EXIT.ok);
    assert.deepEqual(JSON.parse(list.stdout), []);
  });
});

Deno.test("vmirror refuses unexpected arguments and missing flag values with exit 2", async () => {
  await withTempDir(async (dir) => {
    const extra = await vmirror(["status", "extra", "--data", dir]);
    assertCode(extra, EXIT.usage);
    assert.match(extra.stderr, /Unexpected argument "extra"/);
    const noValue = await vmirror(["status", "--data"]);
    assertCode(noValue, EXIT.usage);
    const restore = await vmirror(["restore", "--data", dir]);
    assertCode(restore, EXIT.usage);
    assert.match(restore.stderr, /restore needs --mailbox ID/);
    const listen = await vmirror(["serve", "--listen", "nope", "--data", dir]);
    assertCode(listen, EXIT.usage);
    assert.match(listen.stderr, /--listen/);
  });
});

Deno.test("vmirror with a bad config file exits 3 naming the key", async () => {
  await withTempDir(async (dir) => {
    const config = join(dir, "config.jsonc");
    await Deno.writeTextFile(
      config,
      JSON.stringify({ source: { ...SOURCE, port: "imaps" }, portal: { listen: "nowhere" } }),
    );
    const r = await vmirror(["status", "--config", config, "--data", join(dir, "data")]);
    assertCode(r, EXIT.config);
    assert.match(r.stderr, /source\.port: expected a port number, got a string/);
    assert.match(r.stderr, /portal\.listen/);
    assert.ok(r.stderr.includes(config), "the message names the file");
    assert.ok(!r.stderr.includes("src-s3cret"), "the password stays out of the message");
  });
});

Deno.test("vmirror reads the config file from VMIRROR_CONFIG", async () => {
  await withTempDir(async (dir) => {
    const config = join(dir, "config.jsonc");
    await Deno.writeTextFile(config, '{ "portal": { "lisen": "x" } }');
    const r = await vmirror(["status"], { VMIRROR_CONFIG: config, VMIRROR_DATA: dir });
    assertCode(r, EXIT.config);
    assert.match(r.stderr, /portal: unknown key "lisen"/);
  });
});

Deno.test("vmirror with a config syntax error exits 3 naming the file and line", async () => {
  await withTempDir(async (dir) => {
    const config = join(dir, "config.jsonc");
    await Deno.writeTextFile(
      config,
      '{\n  // comment\n  "source": {\n    "host": "mss1"\n    "x": 1 }\n}',
    );
    const r = await vmirror(["subscriptions", "--config", config, "--data", dir]);
    assertCode(r, EXIT.config);
    assert.ok(r.stderr.includes(config));
    assert.match(r.stderr, /line 5, column 5/);
  });
});

Deno.test("vmirror with a missing config file exits 3", async () => {
  await withTempDir(async (dir) => {
    const config = join(dir, "nope.jsonc");
    const r = await vmirror(["status", "--config", config, "--data", dir]);
    assertCode(r, EXIT.config);
    assert.match(r.stderr, /Cannot read config file/);
    assert.ok(r.stderr.includes(config));
  });
});

Deno.test("vmirror sync --once without a source section exits 3 naming it", async () => {
  await withTempDir(async (dir) => {
    const config = join(dir, "config.jsonc");
    await Deno.writeTextFile(config, '{ "target": { "type": "files", "root": "mirror" } }');
    const r = await vmirror(["sync", "--once", "--config", config, "--data", join(dir, "data")]);
    assertCode(r, EXIT.config);
    assert.match(r.stderr, /"sync" needs the "source" section/);
    assert.ok(!/"target"/.test(r.stderr), "the target is there, so it is not named");
    const none = await vmirror(["sync", "--once", "--data", join(dir, "data")]);
    assertCode(none, EXIT.config);
    assert.match(none.stderr, /"source" and "target" sections/);
    assert.match(none.stderr, /--config FILE/);
  });
});

Deno.test("vmirror directory-sync and restore name their missing sections with exit 3", async () => {
  await withTempDir(async (dir) => {
    const ds = await vmirror(["directory-sync", "--once", "--data", dir]);
    assertCode(ds, EXIT.config);
    assert.match(ds.stderr, /"directory-sync" needs the "ldap" section/);
    const restore = await vmirror(["restore", "--mailbox", "4021", "--data", dir]);
    assertCode(restore, EXIT.config);
    assert.match(restore.stderr, /"restore" needs the "source" and "target" sections/);
  });
});

Deno.test("vmirror exits 4 when the state store cannot be opened", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "not-a-dir");
    await Deno.writeTextFile(file, "");
    const r = await vmirror(["status", "--data", file]);
    assertCode(r, EXIT.fatal);
    assert.match(r.stderr, /vmirror status failed/);
  });
});

Deno.test("vmirror subscribe, unsubscribe and subscriptions round-trip through --data", async (t) => {
  await withTempDir(async (dir) => {
    const data = ["--data", join(dir, "data")];

    await t.step("an empty store lists nothing", async () => {
      const r = await vmirror(["subscriptions", ...data]);
      assertCode(r, EXIT.ok);
      assert.equal(r.stdout.trim(), "No subscribed mailboxes");
      const json = await vmirror(["subscriptions", "--json", ...data]);
      assert.deepEqual(JSON.parse(json.stdout), []);
    });

    await t.step("subscribe adds, and again says already subscribed", async () => {
      const r = await vmirror(["subscribe", "4022", "4021", ...data]);
      assertCode(r, EXIT.ok);
      assert.equal(r.stdout, "4022: subscribed\n4021: subscribed\n");
      const again = await vmirror(["subscribe", "4021", "4023", ...data]);
      assertCode(again, EXIT.ok);
      assert.equal(again.stdout, "4021: already subscribed\n4023: subscribed\n");
    });

    await t.step("subscriptions lists them, ordered, as text and JSON", async () => {
      const r = await vmirror(["subscriptions", ...data]);
      assertCode(r, EXIT.ok);
      const rows = r.stdout.trim().split("\n").map((l) => l.split("\t"));
      assert.deepEqual(rows.map((c) => c.slice(0, 2)), [
        ["4021", "manual"],
        ["4022", "manual"],
        ["4023", "manual"],
      ]);
      const json = await vmirror(["subscriptions", "--json", ...data]);
      assertCode(json, EXIT.ok);
      const subs = JSON.parse(json.stdout) as {
        mailbox: string;
        origin: string;
        addedAt: string;
      }[];
      assert.deepEqual(subs.map((s) => s.mailbox), ["4021", "4022", "4023"]);
      for (const s of subs) {
        assert.equal(s.origin, "manual");
        assert.ok(!Number.isNaN(Date.parse(s.addedAt)));
      }
    });

    await t.step("unsubscribe removes, and says which were not subscribed", async () => {
      const r = await vmirror(["unsubscribe", "4021", "9999", ...data]);
      assertCode(r, EXIT.ok);
      assert.equal(r.stdout, "4021: unsubscribed\n9999: was not subscribed\n");
      const json = await vmirror(["subscriptions", "--json", ...data]);
      assert.deepEqual(
        (JSON.parse(json.stdout) as { mailbox: string }[]).map((s) => s.mailbox),
        ["4022", "4023"],
      );
    });

    await t.step("VMIRROR_DATA points at the same store", async () => {
      const r = await vmirror(["subscriptions", "--json"], { VMIRROR_DATA: join(dir, "data") });
      assertCode(r, EXIT.ok);
      assert.equal((JSON.parse(r.stdout) as unknown[]).length, 2);
    });
  });
});

Deno.test("vmirror status --json prints JSON with subscriptions, mailboxes and runs", async () => {
  await withTempDir(async (dir) => {
    const empty = await vmirror(["status", "--json", "--data", dir]);
    assertCode(empty, EXIT.ok);
    const parsed = JSON.parse(empty.stdout);
    assert.deepEqual({ ...parsed, totals: undefined }, {
      subscriptions: [],
      mailboxes: [],
      runs: [],
      directoryRuns: [],
      heldDeletions: [],
      totals: undefined,
    });
    assert.equal(parsed.totals.copied, 0);
    const plain = await vmirror(["status", "--data", dir]);
    assertCode(plain, EXIT.ok);
    assert.match(plain.stdout, /No mailboxes yet/);

    assertCode(await vmirror(["subscribe", "4021", "--data", dir]), EXIT.ok);
    const r = await vmirror(["status", "--json", "--data", dir]);
    assertCode(r, EXIT.ok);
    const status = JSON.parse(r.stdout);
    assert.deepEqual(status.subscriptions.map((s: { mailbox: string }) => s.mailbox), ["4021"]);
    assert.deepEqual(status.mailboxes, []);
    assert.deepEqual(status.runs, []);
    const text = await vmirror(["status", "--data", dir]);
    assert.equal(text.stdout, "4021\tnever synced\n");
  });
});

Deno.test("vmirror version prints the version", async () => {
  for (const args of [["version"], ["--version"]]) {
    const r = await vmirror(args);
    assertCode(r, EXIT.ok);
    assert.match(
      r.stdout,
      new RegExp(`^vmirror ${VERSION.replaceAll(".", "\\.")} \\(commit source, deno `),
    );
  }
  const j = await vmirror(["version", "--json"]);
  assertCode(j, EXIT.ok);
  assert.deepEqual(Object.keys(JSON.parse(j.stdout)), [
    "version",
    "commit",
    "buildDate",
    "target",
    "deno",
    "releaseKey",
    "stateSchema",
  ]);
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  assert.equal(VERSION, config.version, "deno.json and engine/version.ts agree");
});

// In-process: main() returns the exit code instead of exiting.
Deno.test("main() returns exit codes without exiting", async () => {
  const out: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => out.push(a.join(" "));
  try {
    assert.equal(await main(["help"]), EXIT.ok);
    assert.equal(await main(["version"]), EXIT.ok);
    assert.equal(await main(["nope"]), EXIT.usage);
    assert.equal(await main(["sync"]), EXIT.usage);
    assert.equal(await main(["subscribe", "a/b"]), EXIT.usage);
  } finally {
    console.log = log;
    console.error = error;
  }
  assert.ok(out.some((l) => l.includes(`vmirror ${VERSION}`)));
});

Deno.test("vmirror backup-state and restore-state carry the state store to a new data directory", async () => {
  await using tmp = await tempDir("cli-backup");
  const a = join(tmp.path, "a");
  const b = join(tmp.path, "b");
  const file = join(tmp.path, "state.backup");
  assertCode(await vmirror(["subscribe", "4001", "4002", "--data", a]), EXIT.ok);
  const made = await vmirror(["backup-state", file, "--data", a]);
  assertCode(made, EXIT.ok);
  assert.match(made.stdout, /^Backed up \d+ record\(s\) \(schema 1\)/);
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  assertCode(await vmirror(["restore-state", file, "--data", b]), EXIT.ok);
  const subs = await vmirror(["subscriptions", "--json", "--data", b]);
  assert.deepEqual(JSON.parse(subs.stdout).map((s: { mailbox: string }) => s.mailbox), [
    "4001",
    "4002",
  ]);
  const again = await vmirror(["restore-state", file, "--data", b]);
  assertCode(again, EXIT.failed);
  assert.match(again.stderr, /not empty/);
  assertCode(await vmirror(["restore-state", join(tmp.path, "none"), "--data", b]), EXIT.usage);
  assertCode(await vmirror(["backup-state", "--data", a]), EXIT.usage);
});

Deno.test("vmirror install --dry-run --target windows-x64 prints the Windows plan", async () => {
  const r = await vmirror(["install", "--dry-run", "--target", "windows-x64"]);
  assertCode(r, EXIT.ok);
  assert.match(r.stdout, /^link C:\\Program Files\\vmirror\\current -> /m);
  assert.match(r.stdout, /Register-ScheduledTask -TaskName '\\''vmirror'\\''/);
  assertCode(await vmirror(["install", "--target", "windows-x64"]), EXIT.usage);
  assertCode(await vmirror(["install", "--dry-run", "--target", "mac"]), EXIT.usage);
});

Deno.test("vmirror with no arguments offers to install only when double-clicked on Windows", () => {
  assert.equal(noArgumentAction("windows", true), "install");
  // Piped or scheduled (no console of its own): never an interactive install.
  assert.equal(noArgumentAction("windows", false), "usage");
  assert.equal(noArgumentAction("linux", true), "usage");
  assert.equal(noArgumentAction("darwin", true), "usage");
});

Deno.test("vmirror subscribe on a shard takes its own mailboxes and names the others' shard", async () => {
  await withTempDir(async (dir) => {
    const config = join(dir, "config.json");
    const data = join(dir, "data");
    await Deno.writeTextFile(config, JSON.stringify({ shard: "1/2" }));
    const ours = ["4001", "4002", "4003", "4004", "4005", "4006"].filter((m) =>
      shardOf(m, 2) === 1
    );
    const theirs = ["4001", "4002", "4003", "4004", "4005", "4006"].filter((m) =>
      shardOf(m, 2) === 2
    );
    assert.ok(ours.length && theirs.length, "the sample spans both shards");
    const ok = await vmirror(["subscribe", ...ours, "--config", config, "--data", data]);
    assertCode(ok, EXIT.ok);
    const refused = await vmirror(["subscribe", theirs[0], "--config", config, "--data", data]);
    assertCode(refused, EXIT.failed);
    assert.match(
      refused.stderr,
      new RegExp(`${theirs[0]}: belongs to shard 2/2, this appliance is shard 1/2`),
    );
    const bad = join(dir, "bad.json");
    await Deno.writeTextFile(bad, JSON.stringify({ shard: "3/2" }));
    const r = await vmirror(["status", "--config", bad, "--data", data]);
    assertCode(r, EXIT.config);
    assert.match(r.stderr, /shard: expected "i\/n"/);
  });
});
