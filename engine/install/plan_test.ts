import assert from "node:assert/strict";
import {
  defaultLayout,
  describeStep,
  initialConfig,
  planInstall,
  planUninstall,
  type Step,
  systemdUnit,
  upgradePathUnit,
  upgradeServiceUnit,
} from "./plan.ts";

const WIN = defaultLayout("windows", {
  programFiles: "C:\\Program Files",
  programData: "C:\\ProgramData",
});
const WIN_PROGRAM = { version: "1.2.3", files: ["D:\\Downloads\\vmirror.exe"] };

function commands(steps: Step[]): string[] {
  return steps.filter((s) => s.kind === "run").map((s) =>
    s.kind === "run" ? [s.cmd, ...s.args].join(" ") : ""
  );
}

Deno.test("the Windows install plan: program, ACL, config, start-up task, firewall, browser", () => {
  const steps = planInstall(WIN, WIN_PROGRAM, { start: true, userExists: true });
  const lines = steps.map(describeStep);
  assert.deepEqual(lines.slice(0, 4), [
    "create directory C:\\Program Files\\vmirror\\releases\\1.2.3",
    "copy D:\\Downloads\\vmirror.exe -> C:\\Program Files\\vmirror\\releases\\1.2.3\\vmirror.exe",
    "link C:\\Program Files\\vmirror\\current -> C:\\Program Files\\vmirror\\releases\\1.2.3",
    "create directory C:\\ProgramData\\vmirror\\data",
  ]);
  const cmds = commands(steps);
  assert.equal(
    cmds[0],
    "icacls C:\\ProgramData\\vmirror /inheritance:r /grant:r SYSTEM:(OI)(CI)F /grant:r Administrators:(OI)(CI)F /T",
  );
  assert.match(cmds[1], /^powershell\.exe -NoProfile -ExecutionPolicy Bypass -Command /);
  assert.match(
    cmds[1],
    /New-ScheduledTaskAction -Execute 'C:\\Program Files\\vmirror\\current\\vmirror\.exe' -Argument 'serve --config "C:\\ProgramData\\vmirror\\vmirror\.json" --data "C:\\ProgramData\\vmirror\\data"'/,
  );
  assert.match(cmds[1], /-UserId 'SYSTEM'/);
  assert.match(cmds[1], /-RestartCount 999 -RestartInterval \(New-TimeSpan -Minutes 1\)/);
  // The console's upgrades run in a task of their own: stopping the service's task cannot end it.
  assert.match(
    cmds[2],
    /New-ScheduledTaskAction -Execute 'C:\\Program Files\\vmirror\\current\\vmirror\.exe' -Argument 'upgrade --staged --prefix "C:\\Program Files\\vmirror" --data "C:\\ProgramData\\vmirror\\data" --config "C:\\ProgramData\\vmirror\\vmirror\.json"'/,
  );
  assert.match(cmds[2], /-UserId 'SYSTEM'/);
  assert.match(
    cmds[2],
    /Register-ScheduledTask -TaskName 'vmirror-upgrade' -Action \$a -Principal/,
  );
  assert.doesNotMatch(cmds[2], /-Trigger/, "started only on request");
  assert.match(cmds[3], /New-NetFirewallRule -DisplayName 'vmirror portal' .* -LocalPort 8080/);
  assert.match(cmds[4], /Start-ScheduledTask -TaskName 'vmirror'/);
  assert.equal(cmds[5], "cmd /c start  http://localhost:8080/admin");
  const config = steps.find((s) => s.kind === "write");
  assert.ok(config?.kind === "write" && config.keepExisting, "an existing config is kept");
  assert.equal(config.path, "C:\\ProgramData\\vmirror\\vmirror.json");
});

Deno.test("the Windows uninstall plan keeps data unless purged", () => {
  const cmds = commands(planUninstall(WIN, { purge: false }));
  assert.match(cmds[0], /Unregister-ScheduledTask -TaskName 'vmirror'/);
  assert.match(cmds[1], /Unregister-ScheduledTask -TaskName 'vmirror-upgrade'/);
  assert.match(cmds[2], /Remove-NetFirewallRule -DisplayName 'vmirror portal'/);
  const keep = planUninstall(WIN, { purge: false }).map(describeStep);
  assert.deepEqual(keep.slice(3), ["remove C:\\Program Files\\vmirror"]);
  const purge = planUninstall(WIN, { purge: true }).map(describeStep);
  assert.deepEqual(purge.slice(3), [
    "remove C:\\Program Files\\vmirror",
    "remove C:\\ProgramData\\vmirror\\data",
    "remove C:\\ProgramData\\vmirror",
  ]);
});

Deno.test("the Linux install plan creates the user only when missing and starts only when asked", () => {
  const layout = defaultLayout("linux");
  const program = {
    version: "1.2.3",
    files: ["/tmp/p/vmirror", "/tmp/p/deno", "/tmp/p/vmirror.js"],
  };
  const fresh = planInstall(layout, program, { start: true, userExists: false });
  assert.match(describeStep(fresh[0]), /^run useradd --system --user-group .* vmirror /);
  const copies = fresh.filter((s) => s.kind === "copy");
  assert.deepEqual(copies.map((s) => s.kind === "copy" && [s.to, s.mode?.toString(8)]), [
    ["/opt/vmirror/releases/1.2.3/vmirror", "755"],
    ["/opt/vmirror/releases/1.2.3/deno", "755"],
    ["/opt/vmirror/releases/1.2.3/vmirror.js", "644"],
  ]);
  assert.deepEqual(commands(fresh).slice(-3), [
    "systemctl daemon-reload",
    "systemctl enable --now vmirror-upgrade.path",
    "systemctl enable --now vmirror",
  ]);
  const units = fresh.filter((s) => s.kind === "write" && s.path.startsWith("/etc/systemd/"));
  assert.deepEqual(units.map((s) => s.kind === "write" && s.path), [
    "/etc/systemd/system/vmirror.service",
    "/etc/systemd/system/vmirror-upgrade.service",
    "/etc/systemd/system/vmirror-upgrade.path",
  ]);
  const data = fresh.find((s) => s.kind === "mkdir" && s.path === "/var/lib/vmirror");
  assert.deepEqual(data, {
    kind: "mkdir",
    path: "/var/lib/vmirror",
    mode: 0o700,
    owner: "vmirror",
  });
  const quiet = planInstall(layout, program, { start: false, userExists: true });
  assert.deepEqual(commands(quiet), []);
});

Deno.test("the systemd unit restarts on failure and writes only to the data directory", () => {
  const unit = systemdUnit({ ...defaultLayout("linux"), prefix: "/srv/vm" });
  for (
    const line of [
      "ExecStart=/srv/vm/current/vmirror serve --config /etc/vmirror/vmirror.json --data /var/lib/vmirror",
      "User=vmirror",
      "Restart=on-failure",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "PrivateTmp=yes",
      "ReadWritePaths=/var/lib/vmirror",
      "WantedBy=multi-user.target",
    ]
  ) assert.match(unit, new RegExp(`^${line.replaceAll(".", "\\.")}$`, "m"), line);
  assert.deepEqual(JSON.parse(initialConfig(defaultLayout("linux"))), {
    portal: { listen: "0.0.0.0:8080" },
  });
});

Deno.test("the console's upgrades: a root oneshot started by a path unit watching the request", () => {
  const layout = { ...defaultLayout("linux"), prefix: "/srv/vm", dataDir: "/data/vm" };
  const path = upgradePathUnit(layout);
  assert.match(path, /^PathExists=\/data\/vm\/upgrade\/request\.json$/m);
  assert.match(path, /^Unit=vmirror-upgrade\.service$/m);
  assert.match(path, /^WantedBy=paths\.target$/m);
  const service = upgradeServiceUnit(layout);
  assert.match(
    service,
    /^ExecStart=\/srv\/vm\/current\/vmirror upgrade --staged --prefix \/srv\/vm --data \/data\/vm --config \/etc\/vmirror\/vmirror\.json$/m,
  );
  assert.match(service, /^Type=oneshot$/m);
  // Root, unconfined: it writes the program directory and stops the service it is not part of.
  for (const absent of [/^User=/m, /^NoNewPrivileges/m, /^ProtectSystem/m, /^PartOf=/m]) {
    assert.doesNotMatch(service, absent);
  }
});

Deno.test("the Linux uninstall plan stops the upgrade watch and removes its units", () => {
  const lines = planUninstall(defaultLayout("linux"), { purge: false }).map(describeStep);
  assert.match(lines[0], /^run systemctl disable --now vmirror-upgrade\.path /);
  for (const unit of ["vmirror.service", "vmirror-upgrade.path", "vmirror-upgrade.service"]) {
    assert.ok(lines.includes(`remove /etc/systemd/system/${unit}`), unit);
  }
});
