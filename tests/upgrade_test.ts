/**
 * Upgrading by replacing the release (`vmirror upgrade FILE`), the automatic rollback and
 * `vmirror rollback` by hand, with real processes throughout: two packages built by
 * `deno task release` (the second with a higher version), the first installed with
 * `vmirror install` under a scratch prefix and served by a small supervisor script that the
 * upgrade stops and starts (`--service-stop` / `--service-start`), mirroring a scratch mailbox
 * of the lab with the backup's password sealed in the stored settings. Two broken builds made
 * from the second package (a launcher whose self-test fails, one that starts but never serves)
 * are rolled back. The same from the admin console: uploads through the JSON API (bad ones
 * refused at once, nothing staged; a build whose self-test fails rolled back; the good one
 * switched to by `vmirror upgrade --staged`, which `serve` starts in a session of its own with
 * its supervisor's commands), a rollback asked for, and the page in Chromium uploading and
 * showing the outcome once the new release serves. Beside it: a state store of the previous
 * release's schema (the committed fixture) migrated by this build, and the Windows plan.
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
import { chromium } from "playwright-core";
import { readSmtpInbox } from "../scripts/lab.ts";
import type { FixtureExpectations } from "./fixtures/make_state_fixture.ts";
import {
  appendRaw,
  CHROMIUM_ARGS,
  chromiumPath,
  fillScratch,
  freePort,
  lab,
  press,
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

/**
 * An install's places under `d` (as `vmirror install --prefix …` lays them out), a free port,
 * and the test's supervisor script written there (it stands in for the service manager).
 */
async function installLayout(d: string, supervisorScript: string) {
  const root = join(d, "root");
  const prefix = join(root, "opt/vmirror");
  const data = join(root, "var/lib/vmirror");
  const configDir = join(root, "etc/vmirror");
  const config = join(configDir, "vmirror.json");
  const svc = join(d, "svc");
  await Deno.mkdir(svc);
  const supervisor = join(svc, "svc.sh");
  await Deno.writeTextFile(supervisor, supervisorScript, { mode: 0o755 });
  const env = { PREFIX: prefix, CONFIG: config, DATA: data };
  return { root, prefix, data, configDir, config, port: freePort(), svc, supervisor, env };
}

Deno.test({
  name: "upgrade replaces the release while serving, rolls back broken builds, rollback goes back",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn(t) {
    await using dir = await tempDir("upgrade");
    const d = dir.path;
    const { root, prefix, data, configDir, config, port, svc, supervisor, env } =
      await installLayout(
        d,
        SUPERVISOR,
      );
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

// The console's upgrades: `serve` is told its supervisor's commands, so a request made in the
// console is carried out by `vmirror upgrade --staged`, started by serve in a session of its own.
const CONSOLE_SUPERVISOR = SUPERVISOR.replace(
  `"$PREFIX/current/vmirror" serve --config "$CONFIG" --data "$DATA" <`,
  `self=$(readlink -f "$0")
  "$PREFIX/current/vmirror" serve --config "$CONFIG" --data "$DATA" --service-stop "'$self' stop" --service-start "'$self' start" <`,
);

/** The console's upgrade API as a script sees it. */
function consoleApi(port: number, token: string) {
  const url = `http://127.0.0.1:${port}/api/admin`;
  const auth = { Authorization: `Bearer ${token}` };
  return {
    /** POSTs a release file with its SHA256SUMS and signature, or a SHA-256. */
    async upload(
      file: string,
      opts: { sumsDir?: string; sha256?: string; bytes?: Uint8Array; auth?: boolean } = {},
    ) {
      const form = new FormData();
      if (opts.sumsDir) {
        form.append("sums", await Deno.readTextFile(join(opts.sumsDir, "SHA256SUMS")));
        form.append("sig", await Deno.readTextFile(join(opts.sumsDir, "SHA256SUMS.sig")));
      }
      if (opts.sha256) form.append("sha256", opts.sha256);
      const bytes = opts.bytes ?? await Deno.readFile(file);
      form.append("file", new Blob([bytes as Uint8Array<ArrayBuffer>]), file.split("/").pop()!);
      const res = await fetch(`${url}/upgrade`, {
        method: "POST",
        headers: opts.auth === false ? {} : auth,
        body: form,
      });
      return { status: res.status, body: await res.json() };
    },
    async rollback() {
      const res = await fetch(`${url}/rollback`, { method: "POST", headers: auth });
      return { status: res.status, body: await res.json() };
    },
    /** The state of upgrades (null while the service restarts). */
    async view() {
      return await fetch(`${url}/upgrade`, { headers: auth, signal: AbortSignal.timeout(3000) })
        .then((r) => (r.ok ? r.json() : null), () => null);
    },
    /** Waits until run `id` has ended, as the console (of whichever release serves) reports it. */
    async outcome(id: string, seconds = 240) {
      for (let i = 0; i < seconds * 2; i++) {
        const v = await this.view();
        if (v && !v.staged && v.upgrade?.id === id && v.upgrade.state !== "running") return v;
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error(`the console's ${id} did not end within ${seconds} s`);
    },
  };
}

/** What the upgrade area holds besides the last run's status and progress. */
async function leftovers(data: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(join(data, "upgrade"))) names.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.filter((n) => !["status.json", "progress.log"].includes(n)).sort();
}

Deno.test({
  name: "an upgrade uploaded to the console is verified, then carried out outside the service",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn(t) {
    const OLD2 = "6.0.0-console";
    const NEW2 = "6.1.0-console";
    const mailbox = "7561";
    await using dir = await tempDir("upgrade-console");
    const d = dir.path;
    const { root, prefix, data, configDir, config, port, supervisor, env } = await installLayout(
      d,
      CONSOLE_SUPERVISOR,
    );
    const current = join(prefix, "current", "vmirror");
    const common = ["--config", config, "--data", data];
    let api!: ReturnType<typeof consoleApi>;

    let oldPkg = "", newPkg = "", failsSelfTest = "";
    await t.step("two packages are built, and a broken build of the second", async () => {
      oldPkg = await buildPackage(OLD2, join(d, "dist"));
      newPkg = await buildPackage(NEW2, join(d, "dist"));
      failsSelfTest = await brokenBuild(
        newPkg,
        NEW2,
        join(d, "fails-self-test"),
        `if [ "$1" = self-test ]; then echo "self-test: this build cannot open the state store" >&2; exit 1; fi`,
      );
    });

    try {
      await t.step("the first release is installed and serves under its supervisor", async () => {
        const unpacked = join(d, "old");
        await Deno.mkdir(unpacked);
        assert.equal((await run("tar", ["-xzf", oldPkg, "-C", unpacked], d)).code, 0);
        const inst = await run(join(unpacked, `vmirror-${OLD2}-linux-x64`, "vmirror"), [
          "install",
          "--prefix",
          prefix,
          "--data-dir",
          data,
          "--config-dir",
          configDir,
          "--systemd-dir",
          join(root, "etc/systemd/system"),
          "--user",
          "root",
          "--listen",
          `127.0.0.1:${port}`,
          "--no-start",
        ], d);
        assert.equal(inst.code, 0, inst.stderr);
        const raw = JSON.parse(await Deno.readTextFile(lab().configs.imap));
        delete raw.ldap;
        raw.portal = { listen: `127.0.0.1:${port}` };
        raw.schedule = { syncSeconds: 1 };
        await Deno.writeTextFile(config, JSON.stringify(raw, null, 2));
        await fillScratch(mailbox, 2);
        assert.equal((await run(current, ["subscribe", mailbox, ...common], d)).code, 0);
        const made = await run(
          current,
          ["admin", "token", "create", "--name", "deploy", ...common],
          d,
        );
        assert.equal(made.code, 0, made.stderr);
        api = consoleApi(port, made.stdout.trim().split("\n").pop()!.trim());
        const s = await runCommand(supervisor, ["start"], { cwd: d, env });
        assert.equal(s.code, 0, s.stderr);
        let copied = 0;
        for (let i = 0; i < 120 && copied < 2; i++) {
          await new Promise((r) => setTimeout(r, 500));
          if ((await health(port)) !== OLD2) continue;
          copied = await withState(data, (st) => countMirrored(st, mailbox));
        }
        assert.equal(copied, 2, "the first release mirrored the mailbox");
        const v = await api.view();
        assert.equal(v.running.version, OLD2);
        assert.equal(v.installed.mode, "spawn");
        assert.equal(await Deno.realPath(v.installed.prefix), await Deno.realPath(prefix));
        assert.equal(v.previous, null);
      });

      await t.step(
        "bad uploads are refused at once with the reason; nothing is staged",
        async () => {
          const sums = join(d, "dist", NEW2);
          const tampered = await Deno.readFile(newPkg);
          tampered[tampered.length - 100] ^= 0xff;
          const bad = await api.upload(newPkg, { sumsDir: sums, bytes: tampered });
          assert.equal(bad.status, 400, JSON.stringify(bad.body));
          assert.match(bad.body.error, /does not match its SHA-256 in SHA256SUMS/);
          const unchecked = await api.upload(newPkg);
          assert.equal(unchecked.status, 400);
          assert.match(
            unchecked.body.error,
            /SHA256SUMS and SHA256SUMS\.sig, or the file's SHA-256/,
          );
          const wrongSum = await api.upload(newPkg, { sha256: "0".repeat(64) });
          assert.equal(wrongSum.status, 400);
          assert.match(wrongSum.body.error, /does not match the SHA-256 given/);
          const same = await api.upload(oldPkg, { sumsDir: join(d, "dist", OLD2) });
          assert.equal(same.status, 400);
          assert.match(same.body.error, /is the running release already/);
          const anonymous = await api.upload(newPkg, { sumsDir: sums, auth: false });
          assert.equal(anonymous.status, 401);
          assert.deepEqual(await leftovers(data), [], "no upload is kept, no request written");
          assert.equal(await health(port), OLD2);
          const refused = (await auditOf(data)).filter((e) => e.action === "upgrade-refused");
          assert.equal(refused.length, 4);
          assert.equal(refused[0].actor, "admin:token:deploy");
        },
      );

      await t.step(
        "a build whose self-test fails is rolled back; the old release serves on",
        async () => {
          const sha256 = await sha256File(failsSelfTest);
          const r = await api.upload(failsSelfTest, { sha256 });
          assert.equal(r.status, 202, JSON.stringify(r.body));
          assert.deepEqual([r.body.from, r.body.to, r.body.verifiedBy], [OLD2, NEW2, "sha256"]);
          const v = await api.outcome(r.body.id);
          assert.equal(v.upgrade.state, "rolled-back", JSON.stringify(v.upgrade));
          assert.equal(v.upgrade.stage, "self-test");
          assert.match(v.upgrade.reason, /cannot open the state store/);
          assert.equal(v.running.version, OLD2);
          assert.ok(v.progress.some((l: string) => /self-test/.test(l)), v.progress.join("\n"));
          const [last] = await auditOf(data);
          assert.equal(last.action, "upgrade-rolled-back");
          assert.equal(last.actor, "admin:token:deploy");
          assert.deepEqual(await leftovers(data), [], "the staged upload is removed");
          assert.equal(await exists(join(prefix, "releases", NEW2)), false);
        },
      );

      await t.step("the uploaded release takes over: state kept, a pass succeeded", async () => {
        const r = await api.upload(newPkg, { sumsDir: join(d, "dist", NEW2) });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        assert.equal(r.body.verifiedBy, "signature");
        assert.equal(r.body.url, "/api/admin/upgrade");
        const v = await api.outcome(r.body.id);
        assert.equal(
          v.upgrade.state,
          "succeeded",
          JSON.stringify(v.upgrade) + v.progress.join("\n"),
        );
        // Answered by the new release: its own version, the old one kept as the previous.
        assert.equal(v.running.version, NEW2);
        assert.equal(v.previous.version, OLD2);
        assert.equal(v.upgrade.pass.failed, 0);
        assert.ok(v.upgrade.pass.mailboxes >= 1);
        assert.equal(await health(port), NEW2);
        const actions = v.history.map((e: AuditEntry) => e.action);
        assert.deepEqual(actions.slice(0, 3), ["upgrade-done", "upgrade", "upgrade-requested"]);
        assert.ok(v.history.slice(0, 3).every((e: AuditEntry) => e.actor === "admin:token:deploy"));
        await appendRaw("prod", mailbox, "INBOX", [{
          bytes: variant(
            (await snapshot("prod", mailbox, ["INBOX"])).folders.INBOX.messages[0].bytes,
            98,
          ),
          flags: [],
          date: new Date(),
        }]);
        let mirrored = 0;
        for (let i = 0; i < 60 && mirrored < 3; i++) {
          await new Promise((res) => setTimeout(res, 500));
          mirrored = await withState(data, (s) => countMirrored(s, mailbox));
        }
        assert.equal(mirrored, 3, "the map came along: only the new message is copied");
        const ids = (await snapshot("backup", mailbox, ["INBOX"])).folders.INBOX.messages
          .map((m) => m.messageId);
        assert.equal(new Set(ids).size, 3);
        assert.deepEqual(await leftovers(data), []);
      });

      await t.step("Roll back from the API puts the previous release back", async () => {
        const r = await api.rollback();
        assert.equal(r.status, 202, JSON.stringify(r.body));
        assert.deepEqual([r.body.from, r.body.to], [NEW2, OLD2]);
        const v = await api.outcome(r.body.id);
        assert.equal(
          v.upgrade.state,
          "succeeded",
          JSON.stringify(v.upgrade) + v.progress.join("\n"),
        );
        assert.equal(v.running.version, OLD2);
        assert.equal(v.previous.version, NEW2);
        assert.equal(v.history[0].action, "rollback-done");
        assert.equal(await health(port), OLD2);
      });

      await t.step(
        "in the browser: the page uploads, and the new release's page shows the outcome",
        async () => {
          const passwordFile = join(d, "admin-password");
          await Deno.writeTextFile(passwordFile, "console upgrade admin password\n");
          const set = await run(current, [
            "admin",
            "reset-password",
            "--password-file",
            passwordFile,
            ...common,
          ], d);
          assert.equal(set.code, 0, set.stderr);
          const browser = await chromium.launch({
            executablePath: await chromiumPath(),
            headless: true,
            args: CHROMIUM_ARGS,
          });
          try {
            const page = await browser.newPage();
            const base = `http://127.0.0.1:${port}`;
            await page.goto(`${base}/admin/login`);
            await page.getByLabel("User name").fill("admin");
            await page.getByLabel("Password").fill("console upgrade admin password");
            await press(page, "Log in");
            await page.getByRole("link", { name: "Upgrade", exact: true }).click();
            assert.match(page.url(), /\/admin\/upgrade$/);
            assert.equal(await page.locator("#running-version").textContent(), OLD2);
            assert.match(
              await page.locator("#previous-version").textContent() ?? "",
              new RegExp(NEW2),
            );
            assert.match(
              await page.locator("main").textContent() ?? "",
              /Rollback 6\.1\.0-console → 6\.0\.0-console\s*succeeded/,
            );
            // The release again, this time through the form, with its signed SHA256SUMS as files.
            const sums = join(d, "dist", NEW2);
            await page.getByLabel("Release file").setInputFiles(newPkg);
            await page.getByLabel("SHA256SUMS", { exact: true }).setInputFiles(
              join(sums, "SHA256SUMS"),
            );
            await page.getByLabel("SHA256SUMS.sig").setInputFiles(join(sums, "SHA256SUMS.sig"));
            await press(page, "Upload and upgrade");
            assert.match(await page.locator("main").textContent() ?? "", /verified and staged/);
            // The service restarts on the way: reload until the new release answers with the outcome.
            let state = "";
            for (let i = 0; i < 240 && !/succeeded|failed|not done/.test(state); i++) {
              await new Promise((r) => setTimeout(r, 1000));
              const res = await page.goto(`${base}/admin/upgrade`).catch(() => null);
              if (!res?.ok()) continue;
              state = await page.locator("#upgrade-state").textContent().catch(() => "") ?? "";
            }
            assert.match(state, /Upgrade 6\.0\.0-console → 6\.1\.0-console .*succeeded/);
            assert.equal(await page.locator("#running-version").textContent(), NEW2);
            assert.match(
              await page.locator("footer").textContent() ?? "",
              new RegExp(`vmirror ${NEW2.replaceAll(".", "\\.")}`),
            );
            const [done] = (await auditOf(data)).filter((e) => e.action === "upgrade-done");
            assert.equal(done.actor, "admin:admin");
          } finally {
            await browser.close();
          }
        },
      );
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
