import assert from "node:assert/strict";
import {
  compareVersions,
  describeRunner,
  finishedStatus,
  formatRequest,
  launchPlan,
  parseRequest,
  parseStatus,
  platformProblem,
  refusedStatus,
  runnerMode,
  stagedCommand,
  stagedPaths,
  type StagedStatus,
  type UpgradeRequest,
  uploadKind,
  versionProblem,
} from "./staged.ts";

const REQ: UpgradeRequest = {
  id: "0123456789abcdef",
  action: "upgrade",
  file: "vmirror-2.0.0-linux-x64.tar.gz",
  version: "2.0.0",
  requestedAt: "2026-12-02T10:00:00.000Z",
  requestedBy: "admin:admin",
};

Deno.test("a request file reads back as written", () => {
  assert.deepEqual(parseRequest(formatRequest(REQ)), REQ);
  const sha = { ...REQ, sha256: "a".repeat(64) };
  assert.deepEqual(parseRequest(formatRequest(sha)), sha);
  const back: UpgradeRequest = { ...REQ, action: "rollback", file: undefined };
  delete back.file;
  assert.deepEqual(parseRequest(formatRequest(back)), back);
});

Deno.test("a request file naming a path, a command or junk is refused", () => {
  const bad = (patch: Record<string, unknown>, why: RegExp) =>
    assert.throws(() => parseRequest(JSON.stringify({ ...REQ, ...patch })), why);
  bad({ file: "../../etc/shadow" }, /"file"/);
  bad({ file: "/tmp/vmirror" }, /"file"/);
  bad({ file: ".hidden" }, /"file"/);
  bad({ action: "exec" }, /"action"/);
  bad({ id: "../x" }, /"id"/);
  bad({ sha256: "abc" }, /"sha256"/);
  bad({ version: "1.0; rm -rf /" }, /"version"/);
  bad({ requestedBy: "a\nb" }, /"requestedBy"/);
  bad({ requestedAt: "yesterday" }, /"requestedAt"/);
  assert.throws(() => parseRequest("not json"), /not JSON/);
  assert.throws(() => parseRequest("[1]"), /not a JSON object/);
  // What was in the file is never echoed (a link to a secret file would otherwise leak it).
  assert.throws(() => parseRequest("root:x:0:0"), (e: Error) => !e.message.includes("root:x"));
});

Deno.test("the upgrade area sits in the data directory on either platform", () => {
  assert.deepEqual(stagedPaths("linux", "/var/lib/vmirror"), {
    dir: "/var/lib/vmirror/upgrade",
    request: "/var/lib/vmirror/upgrade/request.json",
    status: "/var/lib/vmirror/upgrade/status.json",
    progress: "/var/lib/vmirror/upgrade/progress.log",
  });
  assert.equal(
    stagedPaths("windows", "C:\\ProgramData\\vmirror\\data").request,
    "C:\\ProgramData\\vmirror\\data\\upgrade\\request.json",
  );
});

Deno.test("who carries a request out: service commands, Windows task, systemd, else the operator", () => {
  assert.equal(runnerMode({ os: "linux", underSystemd: true, serviceCommands: false }), "systemd");
  assert.equal(runnerMode({ os: "linux", underSystemd: false, serviceCommands: false }), "manual");
  assert.equal(runnerMode({ os: "linux", underSystemd: true, serviceCommands: true }), "spawn");
  assert.equal(runnerMode({ os: "windows", underSystemd: false, serviceCommands: false }), "task");
  assert.equal(runnerMode({ os: "windows", underSystemd: false, serviceCommands: true }), "spawn");
});

Deno.test("the Windows plan starts the upgrade task; a plain process spawns the runner detached", () => {
  const win = {
    os: "windows" as const,
    prefix: "C:\\Program Files\\vmirror",
    dataDir: "C:\\ProgramData\\vmirror\\data",
    configFile: "C:\\ProgramData\\vmirror\\vmirror.json",
  };
  assert.deepEqual(launchPlan("task", win), {
    command: { cmd: "schtasks.exe", args: ["/Run", "/TN", "vmirror-upgrade"] },
    detached: false,
  });
  assert.match(
    describeRunner("task", win),
    /"vmirror-upgrade" scheduled task \(as SYSTEM\) runs C:\\Program Files\\vmirror\\current\\vmirror\.exe upgrade --staged/,
  );
  // A portable Windows package's launcher goes through cmd.exe, detached with its commands.
  const spawn = launchPlan("spawn", win, {
    program: "C:\\Program Files\\vmirror\\current\\vmirror.cmd",
    stop: "net stop vm",
    start: "net start vm",
  });
  assert.deepEqual(spawn, {
    command: {
      cmd: "cmd.exe",
      args: [
        "/d",
        "/c",
        "C:\\Program Files\\vmirror\\current\\vmirror.cmd",
        "upgrade",
        "--staged",
        "--prefix",
        "C:\\Program Files\\vmirror",
        "--data",
        "C:\\ProgramData\\vmirror\\data",
        "--config",
        "C:\\ProgramData\\vmirror\\vmirror.json",
        "--service-stop",
        "net stop vm",
        "--service-start",
        "net start vm",
      ],
    },
    detached: true,
  });
  const linux = { os: "linux" as const, prefix: "/opt/vmirror", dataDir: "/var/lib/vmirror" };
  assert.equal(launchPlan("systemd", linux), null, "the path unit starts it");
  assert.equal(launchPlan("manual", linux), null);
  assert.deepEqual(stagedCommand(linux), {
    cmd: "/opt/vmirror/current/vmirror",
    args: ["upgrade", "--staged", "--prefix", "/opt/vmirror", "--data", "/var/lib/vmirror"],
  });
});

Deno.test("an upload is a package by its name and magic, or an executable by its magic", () => {
  const gz = Uint8Array.of(0x1f, 0x8b, 8, 0);
  const zip = Uint8Array.of(0x50, 0x4b, 3, 4);
  const elf = Uint8Array.of(0x7f, 0x45, 0x4c, 0x46);
  const pe = Uint8Array.of(0x4d, 0x5a, 0x90, 0);
  assert.deepEqual(uploadKind("vmirror-1.2.3-linux-x64.tar.gz", gz), {
    kind: "package",
    version: "1.2.3",
    target: "linux-x64",
    archive: "tar.gz",
  });
  assert.equal(
    (uploadKind("vmirror-1.2.3-rc.1-windows-x64.zip", zip) as { version: string }).version,
    "1.2.3-rc.1",
  );
  assert.throws(() => uploadKind("vmirror-1.2.3-linux-x64.tar.gz", zip), /not a tar\.gz archive/);
  assert.throws(() => uploadKind("release.tar.gz", gz), /not named like a release package/);
  assert.deepEqual(uploadKind("vmirror", elf), { kind: "executable", format: "elf" });
  assert.deepEqual(uploadKind("vmirror.exe", pe), { kind: "executable", format: "pe" });
  assert.throws(() => uploadKind("notes.txt", new TextEncoder().encode("hello")), /neither/);
  assert.equal(platformProblem(uploadKind("vmirror", elf), "linux"), null);
  assert.match(platformProblem(uploadKind("vmirror.exe", pe), "linux")!, /Windows executable/);
  assert.match(
    platformProblem(uploadKind("vmirror-1.2.3-windows-x64.zip", zip), "linux")!,
    /windows-x64 package; this server needs linux-x64/,
  );
});

Deno.test("versions compare by number, a pre-release before its release", () => {
  assert.ok(compareVersions("1.10.0", "1.9.9") > 0);
  assert.ok(compareVersions("2.0.0-rc.1", "2.0.0") < 0);
  assert.ok(compareVersions("2.0.0-rc.2", "2.0.0-rc.10") < 0);
  assert.ok(compareVersions("5.1.0-upgrade", "5.0.0-upgrade") > 0);
  assert.equal(compareVersions("1.2.3", "1.2.3"), 0);
  assert.equal(versionProblem("1.3.0", "1.2.0"), null);
  assert.match(versionProblem("1.2.0", "1.2.0")!, /running release already/);
  assert.match(versionProblem("1.1.0", "1.2.0")!, /older than the running 1\.2\.0/);
});

Deno.test("a run's status says how it ended", () => {
  const running: StagedStatus = {
    id: REQ.id,
    action: "upgrade",
    state: "running",
    requestedBy: "admin:admin",
    requestedAt: REQ.requestedAt,
    startedAt: "2026-12-02T10:00:01.000Z",
    pid: 42,
    to: "2.0.0",
  };
  assert.deepEqual(parseStatus(JSON.stringify(running)), running);
  assert.equal(parseStatus("{}"), null);
  const at = new Date("2026-12-02T10:01:00.000Z");
  const ok = finishedStatus(running, {
    ok: true,
    from: "1.0.0",
    to: "2.0.0",
    healthy: { pass: { startedAt: "t", mailboxes: 3, failed: 0 } },
  }, at);
  assert.equal(ok.state, "succeeded");
  assert.equal(ok.pid, undefined, "a finished run names no process");
  assert.deepEqual(ok.pass, { startedAt: "t", mailboxes: 3, failed: 0 });
  const back = finishedStatus(running, {
    ok: false,
    from: "1.0.0",
    to: "2.0.0",
    failure: { stage: "wait", reason: "no answer", restored: true },
  }, at);
  assert.deepEqual([back.state, back.stage, back.reason], ["rolled-back", "wait", "no answer"]);
  const lost = finishedStatus(running, {
    ok: false,
    from: "1.0.0",
    to: "2.0.0",
    failure: { stage: "start", reason: "x", restored: false },
  }, at);
  assert.equal(lost.state, "failed");
  assert.equal(refusedStatus(running, "busy", at).state, "refused");
});
