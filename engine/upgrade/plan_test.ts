import assert from "node:assert/strict";
import { failureMail } from "./notify.ts";
import {
  backupName,
  describeUpgradeStep,
  downgradeDecision,
  goodPassSince,
  healthUrl,
  parseBackupName,
  planRollback,
  planUpgrade,
  type ReleaseRef,
  serviceControl,
  type UpgradeLayout,
  upgradePaths,
  versionFromName,
} from "./plan.ts";

const WIN: UpgradeLayout = {
  os: "windows",
  prefix: "C:\\Program Files\\vmirror",
  dataDir: "C:\\ProgramData\\vmirror\\data",
  configFile: "C:\\ProgramData\\vmirror\\vmirror.json",
};
const LINUX: UpgradeLayout = {
  os: "linux",
  prefix: "/opt/vmirror",
  dataDir: "/var/lib/vmirror",
  configFile: "/etc/vmirror/vmirror.json",
};

function ref(layout: UpgradeLayout, version: string, schema: number | null = 1): ReleaseRef {
  return {
    version,
    dir: upgradePaths(layout).releases + (layout.os === "windows" ? "\\" : "/") + version,
    schema,
  };
}

Deno.test("the Windows upgrade plan stops and starts the start-up task around the switch", () => {
  const steps = planUpgrade({
    layout: WIN,
    service: serviceControl("windows"),
    from: ref(WIN, "1.0.0"),
    to: ref(WIN, "1.1.0"),
    health: { url: healthUrl("0.0.0.0:8080", false), pass: true, seconds: 120 },
    file: "D:\\vmirror-1.1.0-windows-x64.zip",
    verifyBy: "signature",
  });
  assert.deepEqual(steps.map((s) => s.kind), [
    "verify",
    "unpack",
    "self-test",
    "stop",
    "backup",
    "switch",
    "start",
    "wait",
    "prune",
  ]);
  const lines = steps.map(describeUpgradeStep);
  assert.equal(
    lines[1],
    "unpack D:\\vmirror-1.1.0-windows-x64.zip into C:\\Program Files\\vmirror\\releases\\1.1.0",
  );
  assert.match(
    lines[3],
    /^stop the service: powershell\.exe -NoProfile -ExecutionPolicy Bypass -Command .*Stop-ScheduledTask -TaskName/,
  );
  assert.equal(lines[4], "back up the state store into C:\\ProgramData\\vmirror\\data\\backups");
  assert.equal(
    lines[5],
    "link C:\\Program Files\\vmirror\\current -> C:\\Program Files\\vmirror\\releases\\1.1.0 and " +
      "C:\\Program Files\\vmirror\\vmirror.prev -> C:\\Program Files\\vmirror\\releases\\1.0.0",
  );
  assert.match(lines[6], /Start-ScheduledTask -TaskName/);
  assert.equal(
    lines[7],
    "wait up to 120 s for http://127.0.0.1:8080/healthz to answer 1.1.0 and a mirror pass to succeed",
  );
});

Deno.test("a rollback plans the same switch back to vmirror.prev, with a downgrade's restore", () => {
  const steps = planRollback({
    layout: LINUX,
    service: serviceControl("linux"),
    from: ref(LINUX, "2.0.0", 2),
    to: ref(LINUX, "1.0.0", 1),
    health: { url: healthUrl("[::]:8443", true), pass: false, seconds: 60 },
    restoreFrom: "/var/lib/vmirror/backups/b.vmkv",
  });
  const lines = steps.map(describeUpgradeStep);
  assert.deepEqual(lines, [
    "run 1.0.0's self-test on a copy of the state store restored from /var/lib/vmirror/backups/b.vmkv and the configuration",
    "stop the service: systemctl stop vmirror",
    "back up the state store into /var/lib/vmirror/backups",
    "put the state backup /var/lib/vmirror/backups/b.vmkv back (the older release cannot read the newer schema)",
    "link /opt/vmirror/current -> /opt/vmirror/releases/1.0.0 and /opt/vmirror/vmirror.prev -> /opt/vmirror/releases/2.0.0",
    "start the service: systemctl start vmirror",
    "wait up to 60 s for https://[::1]:8443/healthz to answer 1.0.0",
  ]);
});

Deno.test("serviceControl() takes the operator's commands as a pair only", () => {
  const c = serviceControl("linux", { stop: "svc stop", start: "svc start" });
  assert.deepEqual(c, {
    kind: "custom",
    stop: { cmd: "sh", args: ["-c", "svc stop"] },
    start: { cmd: "sh", args: ["-c", "svc start"] },
  });
  assert.deepEqual(serviceControl("windows", { stop: "a", start: "b" }).stop, {
    cmd: "cmd.exe",
    args: ["/d", "/s", "/c", "a"],
  });
  assert.throws(() => serviceControl("linux", { stop: "x" }), RangeError);
});

Deno.test("downgradeDecision() refuses an older schema unless allowed, then picks a backup", () => {
  const backups = [
    { file: "a", at: "2026-01-01T00:00:00.000Z", schema: 1 },
    { file: "b", at: "2026-02-01T00:00:00.000Z", schema: 1 },
    { file: "c", at: "2026-03-01T00:00:00.000Z", schema: 2 },
  ];
  const to = (schema: number | null): ReleaseRef => ({ version: "1.0.0", dir: "/r", schema });
  assert.deepEqual(
    downgradeDecision({ storeSchema: 2, target: to(2), allow: false, backups }),
    { kind: "same-or-newer" },
  );
  assert.deepEqual(
    downgradeDecision({ storeSchema: 2, target: to(null), allow: false, backups }).kind,
    "same-or-newer",
  );
  const refused = downgradeDecision({ storeSchema: 2, target: to(1), allow: false, backups });
  assert.equal(refused.kind, "refused");
  assert.match(
    (refused as { message: string }).message,
    /^vmirror 1\.0\.0 reads state schema 1, older than the store's 2: refused\. With --allow-downgrade/,
  );
  assert.deepEqual(
    downgradeDecision({ storeSchema: 2, target: to(1), allow: true, backups }),
    { kind: "restore", from: "b" },
  );
  assert.equal(
    downgradeDecision({ storeSchema: 3, target: to(0), allow: true, backups }).kind,
    "no-backup",
  );
});

Deno.test("goodPassSince() wants a pass after the start, no worse than the one before", () => {
  const pass = (startedAt: string, failed: number, mailboxes = 3) => ({
    startedAt,
    finishedAt: startedAt,
    mailboxes,
    failed,
  });
  const since = "2026-01-01T10:00:00.000Z";
  const before = pass("2026-01-01T09:59:00.000Z", 0);
  assert.equal(goodPassSince([before], since, null), null);
  assert.equal(goodPassSince([pass("2026-01-01T10:00:01.000Z", 1)], since, before), null);
  const ok = pass("2026-01-01T10:00:05.000Z", 0);
  assert.equal(goodPassSince([ok, pass("2026-01-01T10:00:01.000Z", 1), before], since, before), ok);
  // A mailbox that already failed before the switch does not hold the upgrade back.
  const failing = pass("2026-01-01T10:00:02.000Z", 1);
  assert.equal(goodPassSince([failing], since, pass("2026-01-01T09:00:00.000Z", 1)), failing);
  assert.equal(goodPassSince([pass("2026-01-01T10:00:02.000Z", 0, 0)], since, null), null);
});

Deno.test("healthUrl(), versionFromName() and the backup names", () => {
  assert.equal(healthUrl("0.0.0.0:8080", false), "http://127.0.0.1:8080/healthz");
  assert.equal(healthUrl("10.1.2.3:443", true), "https://10.1.2.3:443/healthz");
  assert.equal(healthUrl("[fe80::1]:8080", false), "http://[fe80::1]:8080/healthz");
  assert.equal(versionFromName("/tmp/vmirror-1.2.3-linux-x64.tar.gz"), "1.2.3");
  assert.equal(versionFromName("C:\\x\\vmirror-1.2.3-rc.1-windows-x64.zip"), "1.2.3-rc.1");
  assert.equal(versionFromName("/tmp/vmirror"), null);
  const at = new Date("2026-12-02T11:34:06.822Z");
  const name = backupName(at, "5.0.0-upgrade", 1);
  assert.equal(name, "state-2026-12-02T11-34-06-822Z-5.0.0-upgrade-schema1.vmkv");
  assert.deepEqual(parseBackupName(name), {
    at: at.toISOString(),
    version: "5.0.0-upgrade",
    schema: 1,
  });
  assert.equal(parseBackupName("state-x.vmkv.key"), null);
});

Deno.test("the alert mail says what failed and where the appliance stands", () => {
  const base = {
    action: "upgrade" as const,
    from: "1.0.0",
    to: "1.1.0",
    stage: "wait",
    reason: "http://127.0.0.1:8080/healthz did not answer",
    backup: "/var/lib/vmirror/backups/b.vmkv",
  };
  const back = failureMail({ ...base, stopped: true, restored: true }, "vm1");
  assert.equal(back.subject, "vmirror on vm1: the upgrade to 1.1.0 failed; 1.0.0 is serving again");
  assert.match(
    back.text,
    /failed at "wait":\nhttp:\/\/127\.0\.0\.1:8080\/healthz did not answer\n/,
  );
  assert.match(
    back.text,
    /The state taken before the switch is in \/var\/lib\/vmirror\/backups\/b\.vmkv\./,
  );
  const down = failureMail(
    { ...base, stopped: true, restored: false, revertError: "start 1.0.0 again: exit 1" },
    "vm1",
  );
  assert.match(down.subject, /and 1\.0\.0 did not come back$/);
  assert.match(down.text, /put back but is not serving: start 1\.0\.0 again: exit 1/);
  const kept = failureMail({ ...base, stage: "self-test", stopped: false, restored: true }, "vm1");
  assert.match(kept.text, /Nothing was changed: vmirror 1\.0\.0 kept serving\./);
});
