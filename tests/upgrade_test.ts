/**
 * Upgrading by replacing the release (`vmirror upgrade FILE`), the automatic rollback and
 * `vmirror rollback` by hand, with real processes throughout: two packages built by
 * `deno task release` (the second with a higher version), the first installed with
 * `vmirror install` under a scratch prefix and served by a small supervisor script that the
 * upgrade stops and starts (`--service-stop` / `--service-start`), mirroring a scratch mailbox
 * of the lab with the backup's password sealed in the stored settings. Two broken builds made
 * from the second package (a launcher whose self-test fails, one that starts but never serves)
 * are rolled back. Beside it: a state store of the previous release's schema (the committed
 * fixture) migrated by this build, and the Windows plan.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LiveConfig } from "../engine/config/mod.ts";
import { formatSha256Sums, importSigningKey, sha256File, signSums } from "../engine/release/mod.ts";
import {
  type AuditEntry,
  closeState,
  countMirrored,
  getCursor,
  getSettings,
  listAudit,
  listMap,
  listRuns,
  listSubscriptions,
  openState,
  SCHEMA_VERSION,
  schemaVersion,
  type State,
} from "../engine/state/mod.ts";
import { readSmtpInbox } from "../scripts/lab.ts";
import type { FixtureExpectations } from "./fixtures/make_state_fixture.ts";
import {
  appendRaw,
  fillScratch,
  freePort,
  lab,
  runCli,
  runCommand,
  snapshot,
  tempDir,
  variant,
} from "./test_utils/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEV_KEY = join(ROOT, "scripts/release/dev-signing-key.pem");
const OLD = "5.0.0-upgrade";
const NEW = "5.1.0-upgrade";
const MAILBOX = "7560";
const ALERTS_TO = "upgrade-alerts@lab.invalid";

function run(cmd: string, args: string[], cwd: string) {
  return runCommand(cmd, args, { cwd, timeoutMs: 300_000 });
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** Builds one linux-x64 portable package of this checkout with the development key. */
async function buildPackage(version: string, out: string): Promise<string> {
  const r = await run(Deno.execPath(), [
    "run",
    "-A",
    "scripts/release.ts",
    "--target",
    "linux-x64",
    "--version",
    version,
    "--out",
    out,
  ], ROOT);
  assert.equal(r.code, 0, r.stderr);
  return join(out, version, `vmirror-${version}-linux-x64.tar.gz`);
}

/**
 * A broken build made from a package: its launcher answers `first` itself (the rest of the
 * package is untouched), repacked and listed in its own signed SHA256SUMS.
 */
async function brokenBuild(pkg: string, version: string, dir: string, intercept: string) {
  const work = join(dir, "unpacked");
  await Deno.mkdir(work, { recursive: true });
  assert.equal((await run("tar", ["-xzf", pkg, "-C", work], dir)).code, 0);
  const name = `vmirror-${version}-linux-x64`;
  const launcher = join(work, name, "vmirror");
  const text = await Deno.readTextFile(launcher);
  await Deno.writeTextFile(launcher, text.replace(/^(#!.*\n)/, (line) => `${line}${intercept}\n`));
  const archive = join(dir, `${name}.tar.gz`);
  const tar = await run(
    "sh",
    ["-c", `tar -cf - -C '${work}' '${name}' | gzip -1 > '${archive}'`],
    dir,
  );
  assert.equal(tar.code, 0, tar.stderr);
  await Deno.remove(work, { recursive: true });
  const key = await importSigningKey(await Deno.readTextFile(DEV_KEY));
  const sums = formatSha256Sums(new Map([[`${name}.tar.gz`, await sha256File(archive)]]));
  await Deno.writeTextFile(join(dir, "SHA256SUMS"), sums);
  await Deno.writeTextFile(join(dir, "SHA256SUMS.sig"), (await signSums(sums, key)) + "\n");
  return archive;
}

// The test's service manager: one `vmirror serve` of PREFIX/current, started in the background
// and stopped with SIGTERM (waited for, as systemd does).
const SUPERVISOR = `#!/bin/sh
here=$(dirname "$0")
pidfile="$here/serve.pid"
alive() {
  [ -d "/proc/$1" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}
case "$1" in
start)
  if [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; then exit 0; fi
  "$PREFIX/current/vmirror" serve --config "$CONFIG" --data "$DATA" </dev/null >>"$here/serve.log" 2>&1 &
  echo $! >"$pidfile"
  ;;
stop)
  [ -f "$pidfile" ] || exit 0
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null
  i=0
  while alive "$pid"; do
    i=$((i + 1))
    if [ "$i" -gt 300 ]; then kill -KILL "$pid"; break; fi
    sleep 0.1
  done
  rm -f "$pidfile"
  ;;
esac
`;

async function health(port: number): Promise<string | null> {
  return await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })
    .then((r) => (r.ok ? r.json() : null), () => null)
    .then((j) => j?.version ?? null, () => null);
}

async function withState<T>(data: string, fn: (s: State) => Promise<T>): Promise<T> {
  const state = await openState(join(data, "state.kv"));
  try {
    return await fn(state);
  } finally {
    closeState(state);
  }
}

/** The upgrade's and rollback's own audit entries, newest first. */
async function auditOf(data: string): Promise<AuditEntry[]> {
  const all = await withState(data, (s) => listAudit(s, 100));
  return all.filter((e) => /^(upgrade|rollback)/.test(e.action));
}

Deno.test({
  name: "upgrade replaces the release while serving, rolls back broken builds, rollback goes back",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn(t) {
    await using dir = await tempDir("upgrade");
    const d = dir.path;
    const root = join(d, "root");
    const prefix = join(root, "opt/vmirror");
    const data = join(root, "var/lib/vmirror");
    const configDir = join(root, "etc/vmirror");
    const config = join(configDir, "vmirror.json");
    const port = freePort();
    const svc = join(d, "svc");
    await Deno.mkdir(svc);
    const supervisor = join(svc, "svc.sh");
    await Deno.writeTextFile(supervisor, SUPERVISOR, { mode: 0o755 });
    const env = { PREFIX: prefix, CONFIG: config, DATA: data };
    const control = (what: string) =>
      `PREFIX='${prefix}' CONFIG='${config}' DATA='${data}' '${supervisor}' ${what}`;
    const layoutArgs = ["--prefix", prefix, "--data-dir", data, "--config-dir", configDir];
    const switchArgs = [
      ...layoutArgs,
      "--service-stop",
      control("stop"),
      "--service-start",
      control("start"),
    ];
    const current = join(prefix, "current", "vmirror");
    const cli = (args: string[]) => run(current, args, d);
    const common = ["--config", config, "--data", data];
    const started = new Date().toISOString();

    let oldPkg = "", newPkg = "", failsSelfTest = "", neverHealthy = "";
    await t.step("two packages are built, the second with a higher version", async () => {
      oldPkg = await buildPackage(OLD, join(d, "dist"));
      newPkg = await buildPackage(NEW, join(d, "dist"));
      failsSelfTest = await brokenBuild(
        newPkg,
        NEW,
        join(d, "fails-self-test"),
        `if [ "$1" = self-test ]; then echo "self-test: this build cannot open the state store" >&2; exit 1; fi`,
      );
      neverHealthy = await brokenBuild(
        newPkg,
        NEW,
        join(d, "never-healthy"),
        `if [ "$1" = serve ]; then exec sleep 600; fi`,
      );
    });

    try {
      await t.step(
        "the first release is installed and serves, the backup's password sealed",
        async () => {
          const unpacked = join(d, "old");
          await Deno.mkdir(unpacked);
          assert.equal((await run("tar", ["-xzf", oldPkg, "-C", unpacked], d)).code, 0);
          const installer = join(unpacked, `vmirror-${OLD}-linux-x64`, "vmirror");
          const inst = await run(installer, [
            "install",
            ...layoutArgs,
            "--systemd-dir",
            join(root, "etc/systemd/system"),
            "--user",
            "root",
            "--listen",
            `127.0.0.1:${port}`,
            "--no-start",
          ], d);
          assert.equal(inst.code, 0, inst.stderr);
          // The lab's setup, but the backup MSS (with its password) as the console saves it:
          // sealed in the state store, not in the file.
          const raw = JSON.parse(await Deno.readTextFile(lab().configs.imap));
          const target = { ...raw.target, trustedPassword: lab().trusted.password };
          delete target.trustedPasswordFile;
          delete raw.target;
          delete raw.ldap;
          raw.portal = { listen: `127.0.0.1:${port}` };
          raw.schedule = { syncSeconds: 1 };
          raw.alerts = { to: [ALERTS_TO] };
          await Deno.writeTextFile(config, JSON.stringify(raw, null, 2));
          await withState(data, async (state) => {
            const live = await LiveConfig.open(state, { file: config, dataDir: data });
            const stored = { target };
            await live.save(stored, await live.resolve(stored));
          });
          await fillScratch(MAILBOX, 2);
          assert.equal((await cli(["subscribe", MAILBOX, ...common])).code, 0);
          const s = await runCommand(supervisor, ["start"], { cwd: d, env });
          assert.equal(s.code, 0, s.stderr);
          let copied = 0;
          for (let i = 0; i < 120 && copied < 2; i++) {
            await new Promise((r) => setTimeout(r, 500));
            if ((await health(port)) !== OLD) continue;
            copied = await withState(data, (st) => countMirrored(st, MAILBOX));
          }
          assert.equal(copied, 2, "the first release mirrored the mailbox");
        },
      );

      await t.step(
        "a build whose self-test fails is refused; the old release never stopped",
        async () => {
          const pid = await Deno.readTextFile(join(svc, "serve.pid"));
          const r = await cli(["upgrade", failsSelfTest, ...switchArgs, "--wait-seconds", "30"]);
          assert.equal(r.code, 1, r.stderr);
          assert.match(
            r.stderr,
            /self-test of vmirror 5\.1\.0-upgrade failed: .*cannot open the state store/,
          );
          assert.match(r.stderr, new RegExp(`Nothing was changed: vmirror ${OLD} kept serving`));
          assert.equal(await Deno.readTextFile(join(svc, "serve.pid")), pid, "not restarted");
          assert.equal(await health(port), OLD);
          assert.equal(
            await exists(join(prefix, "releases", NEW)),
            false,
            "the release is removed",
          );
          const [last] = await auditOf(data);
          assert.equal(last.action, "upgrade-rolled-back");
          assert.equal(last.actor, "cli");
          assert.equal(last.detail?.stage, "self-test");
          assert.match(String(last.detail?.reason), /cannot open the state store/);
        },
      );

      await t.step(
        "a build that never gets healthy is rolled back; the old release serves",
        async () => {
          const r = await cli(["upgrade", neverHealthy, ...switchArgs, "--wait-seconds", "12"]);
          assert.equal(r.code, 1, r.stderr);
          assert.match(r.stderr, /did not answer as vmirror 5\.1\.0-upgrade within 12 s/);
          assert.equal(await health(port), OLD);
          assert.equal(
            await Deno.realPath(join(prefix, "current")),
            await Deno.realPath(join(prefix, "releases", OLD)),
          );
          assert.equal(
            await exists(join(prefix, "vmirror.prev")),
            false,
            "no previous release yet",
          );
          const [rolledBack, upgrade] = await auditOf(data);
          assert.equal(rolledBack.action, "upgrade-rolled-back");
          assert.equal(rolledBack.detail?.stage, "wait");
          assert.equal(rolledBack.detail?.restored, true);
          assert.match(String(rolledBack.detail?.reason), /did not answer/);
          assert.equal(upgrade.action, "upgrade");
          assert.deepEqual(upgrade.detail, { from: OLD, to: NEW });
          assert.ok(String(rolledBack.detail?.backup).startsWith(join(data, "backups")));
          const mails = readSmtpInbox(lab().dir).filter((m) =>
            m.to.includes(ALERTS_TO) && m.receivedAt >= started
          );
          assert.equal(mails.length, 2, "one alert mail per failed upgrade");
          // Quoted-printable: soft line breaks joined first.
          assert.match(
            mails[1].raw.replaceAll("=\r\n", ""),
            /vmirror 5\.0\.0-upgrade was put back and is serving again/,
          );
          assert.match(mails[0].raw.replaceAll("=\r\n", ""), /Nothing was changed/);
        },
      );

      await t.step("the upgrade keeps the state; the new release answers and mirrors", async () => {
        const r = await cli(["upgrade", newPkg, ...switchArgs, "--wait-seconds", "60"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^Upgraded vmirror ${OLD} -> ${NEW}`));
        assert.match(r.stderr, /a mirror pass started .* succeeded/);
        assert.equal(await health(port), NEW);
        assert.equal(
          await Deno.realPath(join(prefix, "current")),
          await Deno.realPath(join(prefix, "releases", NEW)),
        );
        assert.equal(
          await Deno.realPath(join(prefix, "vmirror.prev")),
          await Deno.realPath(join(prefix, "releases", OLD)),
        );
        const page = await fetch(`http://127.0.0.1:${port}/`).then((res) => res.text());
        assert.match(page, new RegExp(`vmirror ${NEW.replaceAll(".", "\\.")}`), "the footer");
        // A message arriving now is copied once: the map of the first two came along.
        await appendRaw("prod", MAILBOX, "INBOX", [{
          bytes: variant(
            (await snapshot("prod", MAILBOX, ["INBOX"])).folders.INBOX.messages[0].bytes,
            99,
          ),
          flags: [],
          date: new Date(),
        }]);
        let mirrored = 0;
        for (let i = 0; i < 60 && mirrored < 3; i++) {
          await new Promise((res) => setTimeout(res, 500));
          mirrored = await withState(data, (s) => countMirrored(s, MAILBOX));
        }
        assert.equal(mirrored, 3);
        const backup = await snapshot("backup", MAILBOX, ["INBOX"]);
        const ids = backup.folders.INBOX.messages.map((m) => m.messageId);
        assert.equal(ids.length, 3, "nothing copied twice");
        assert.equal(new Set(ids).size, 3);
        await withState(data, async (state) => {
          assert.deepEqual((await listSubscriptions(state)).map((s) => s.mailbox), [MAILBOX]);
          const settings = await getSettings(state) as { target: { trustedPassword: unknown } };
          assert.ok(
            (settings.target.trustedPassword as { $sealed?: string }).$sealed,
            "the secret is still sealed",
          );
          const live = await LiveConfig.open(state, { file: config, dataDir: data });
          const opened = live.current.target as { trustedPassword?: string } | undefined;
          assert.equal(opened?.trustedPassword, lab().trusted.password);
          const audit = await listAudit(state, 50);
          assert.ok(audit.some((e) => e.action === "upgrade" && e.detail?.to === NEW));
        });
        const backups = [...Deno.readDirSync(join(data, "backups"))].map((e) => e.name);
        assert.ok(backups.some((n) => n.includes(`-${OLD}-schema${SCHEMA_VERSION}.vmkv`)));
        assert.deepEqual(
          [...Deno.readDirSync(join(prefix, "releases"))].map((e) => e.name).sort(),
          [OLD, NEW].sort(),
        );
      });

      await t.step("rollback by hand puts the previous release back", async () => {
        const r = await cli(["rollback", ...switchArgs, "--wait-seconds", "60"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^Rolled back vmirror ${NEW} -> ${OLD}`));
        assert.equal(await health(port), OLD);
        assert.equal(
          await Deno.realPath(join(prefix, "vmirror.prev")),
          await Deno.realPath(join(prefix, "releases", NEW)),
        );
        const entry = (await auditOf(data)).find((e) => e.action === "rollback");
        assert.deepEqual(entry?.detail, { from: NEW, to: OLD });
        const runs = await withState(data, (s) => listRuns(s, 1));
        assert.equal(runs[0].failed, 0);
      });
    } finally {
      const stop = await runCommand(supervisor, ["stop"], { cwd: d, env });
      assert.equal(stop.code, 0, stop.stderr);
    }
  },
});

Deno.test("a state store of the previous release's schema is migrated by this build", async () => {
  await using dir = await tempDir("upgrade-fixture");
  const fixture = fileURLToPath(new URL("./fixtures/state-schema1/", import.meta.url));
  const expected: FixtureExpectations = JSON.parse(
    await Deno.readTextFile(join(fixture, "expected.json")),
  );
  // A copy: the committed store stays as the older release wrote it.
  for (const f of ["state.kv", "secret.key"]) {
    await Deno.copyFile(join(fixture, f), join(dir.path, f));
  }
  const test = await runCli(["self-test", "--data", dir.path, "--json"]);
  assert.equal(test.code, 0, test.stdout + test.stderr);
  const report = JSON.parse(test.stdout);
  assert.equal(report.stateSchema, SCHEMA_VERSION);
  assert.match(report.checks[0].detail, new RegExp(`opened at schema ${SCHEMA_VERSION}$`));
  await withState(dir.path, async (state) => {
    assert.equal(await schemaVersion(state), SCHEMA_VERSION);
    assert.deepEqual(
      (await listSubscriptions(state)).map((s) => s.mailbox),
      expected.subscriptions,
    );
    assert.deepEqual(
      (await listMap(state, expected.folder)).map((e) => e.srcUid),
      expected.mapUids,
    );
    assert.equal((await getCursor(state, expected.folder))?.uidNext, expected.cursorUidNext);
    assert.equal((await listRuns(state, 1))[0].id, expected.runId);
    assert.equal((await listAudit(state, 1))[0].action, expected.auditAction);
    const live = await LiveConfig.open(state, { dataDir: dir.path, env: {} });
    const [section, key] = expected.sealed.path;
    assert.equal(
      (live.current as unknown as Record<string, Record<string, unknown>>)[section][key],
      expected.sealed.value,
    );
  });
});

Deno.test("upgrade and rollback plan the start-up task on Windows (--dry-run --target)", async () => {
  const r = await runCli([
    "upgrade",
    "D:\\Downloads\\vmirror-2.0.0-windows-x64.zip",
    "--dry-run",
    "--target",
    "windows-x64",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.deepEqual(lines.slice(0, 2), [
    "verify D:\\Downloads\\vmirror-2.0.0-windows-x64.zip against the signed SHA256SUMS beside it",
    "unpack D:\\Downloads\\vmirror-2.0.0-windows-x64.zip into C:\\Program Files\\vmirror\\releases\\2.0.0",
  ]);
  assert.match(r.stdout, /stop the service: powershell\.exe .*Stop-ScheduledTask -TaskName/);
  assert.match(r.stdout, /back up the state store into C:\\ProgramData\\vmirror\\data\\backups/);
  assert.match(
    r.stdout,
    /link C:\\Program Files\\vmirror\\current -> C:\\Program Files\\vmirror\\releases\\2\.0\.0 and C:\\Program Files\\vmirror\\vmirror\.prev -> /,
  );
  assert.match(r.stdout, /start the service: powershell\.exe .*Start-ScheduledTask -TaskName/);
  const back = await runCli(["rollback", "--dry-run", "--target", "windows-x64"]);
  assert.equal(back.code, 0, back.stderr);
  assert.match(
    back.stdout,
    /link C:\\Program Files\\vmirror\\current -> \(the release C:\\Program Files\\vmirror\\vmirror\.prev points at\)/,
  );
  const noDry = await runCli(["rollback", "--target", "windows-x64"]);
  assert.equal(noDry.code, 2, "another platform only plans");
});
