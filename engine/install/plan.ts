/**
 * Installing the appliance as a service, as a plan: the list of directories, files, links and
 * commands that `vmirror install` / `uninstall` carry out (or print with `--dry-run`). Pure: the
 * plan for either platform can be made and checked on any machine.
 * @module
 */

/** Where things go and who runs the service. */
export interface InstallLayout {
  os: "linux" | "windows";
  /** Program directory: `releases/<version>/` and the `current` link to the running one. */
  prefix: string;
  dataDir: string;
  configDir: string;
  /** Linux: where the unit file goes. */
  systemdDir: string;
  /** Linux: the system user the service runs as (created when missing). */
  user: string;
  /** The portal's address written into a new config file. */
  listen: string;
}

/** The files of the running release that make up the program. */
export interface ProgramFiles {
  version: string;
  /** Absolute paths; the first is what the service starts (executable or launcher). */
  files: string[];
}

/** One thing the installer does. */
export type Step =
  | { kind: "mkdir"; path: string; mode?: number; owner?: string }
  | { kind: "copy"; from: string; to: string; mode?: number }
  /** Points `path` at `target`, replacing what was there in one rename. */
  | { kind: "link"; path: string; target: string }
  | { kind: "write"; path: string; text: string; mode?: number; keepExisting?: boolean }
  | { kind: "remove"; path: string }
  | { kind: "run"; cmd: string; args: string[]; why: string; mayFail?: boolean };

/** The service's name everywhere (unit, task, firewall rule). */
export const SERVICE_NAME = "vmirror";

/**
 * The name of what carries out upgrades asked for in the admin console, outside the service:
 * `vmirror-upgrade.path` + `vmirror-upgrade.service` (systemd), the `vmirror-upgrade` task
 * (Windows).
 */
export const UPGRADE_NAME = "vmirror-upgrade";

/** Sensible defaults per platform. */
export function defaultLayout(
  os: "linux" | "windows",
  env: { programFiles?: string; programData?: string } = {},
): InstallLayout {
  if (os === "windows") {
    const pf = env.programFiles ?? "C:\\Program Files";
    const pd = env.programData ?? "C:\\ProgramData";
    return {
      os,
      prefix: `${pf}\\vmirror`,
      dataDir: `${pd}\\vmirror\\data`,
      configDir: `${pd}\\vmirror`,
      systemdDir: "",
      user: "SYSTEM",
      listen: "0.0.0.0:8080",
    };
  }
  return {
    os,
    prefix: "/opt/vmirror",
    dataDir: "/var/lib/vmirror",
    configDir: "/etc/vmirror",
    systemdDir: "/etc/systemd/system",
    user: "vmirror",
    listen: "0.0.0.0:8080",
  };
}

/** The plan of `vmirror install`. */
export function planInstall(
  layout: InstallLayout,
  program: ProgramFiles,
  opts: { start: boolean; userExists: boolean },
): Step[] {
  return layout.os === "linux"
    ? planLinux(layout, program, opts)
    : planWindows(layout, program, opts);
}

/** The plan of `vmirror uninstall`: service and program go; data and config only with purge. */
export function planUninstall(layout: InstallLayout, opts: { purge: boolean }): Step[] {
  const steps: Step[] = [];
  if (layout.os === "linux") {
    steps.push(
      run(
        "systemctl",
        ["disable", "--now", `${UPGRADE_NAME}.path`],
        "stop watching for console upgrades",
        true,
      ),
      run("systemctl", ["disable", "--now", SERVICE_NAME], "stop and disable the service", true),
      { kind: "remove", path: join(layout, layout.systemdDir, `${SERVICE_NAME}.service`) },
      { kind: "remove", path: join(layout, layout.systemdDir, `${UPGRADE_NAME}.path`) },
      { kind: "remove", path: join(layout, layout.systemdDir, `${UPGRADE_NAME}.service`) },
      run("systemctl", ["daemon-reload"], "forget the units", true),
    );
  } else {
    steps.push(
      powershell(
        `Stop-ScheduledTask -TaskName '${SERVICE_NAME}' -ErrorAction SilentlyContinue; ` +
          `Unregister-ScheduledTask -TaskName '${SERVICE_NAME}' -Confirm:$false`,
        "remove the start-up task",
        true,
      ),
      powershell(
        `Unregister-ScheduledTask -TaskName '${UPGRADE_NAME}' -Confirm:$false`,
        "remove the console upgrades' task",
        true,
      ),
      powershell(
        `Remove-NetFirewallRule -DisplayName 'vmirror portal' -ErrorAction SilentlyContinue`,
        "remove the firewall rule",
        true,
      ),
    );
  }
  steps.push({ kind: "remove", path: layout.prefix });
  if (opts.purge) {
    steps.push({ kind: "remove", path: layout.dataDir }, {
      kind: "remove",
      path: layout.configDir,
    });
  }
  return steps;
}

/** The systemd unit: restart on failure, hardened, writing only to the data directory. */
export function systemdUnit(layout: InstallLayout): string {
  const exe = join(layout, layout.prefix, "current", "vmirror");
  const config = join(layout, layout.configDir, "vmirror.json");
  return `# Written by \`vmirror install\`; \`vmirror uninstall\` removes it.
[Unit]
Description=vmirror voicemail mirroring appliance
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${layout.user}
Group=${layout.user}
ExecStart=${exe} serve --config ${config} --data ${layout.dataDir}
Restart=on-failure
RestartSec=5
# SIGTERM stops the portal and lets the pass in flight record what it did.
KillSignal=SIGTERM
TimeoutStopSec=60
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ReadWritePaths=${layout.dataDir}

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The path unit that watches for an upgrade or rollback asked for in the admin console: the
 * service writes `<data>/upgrade/request.json`, which starts {@link upgradeServiceUnit}.
 */
export function upgradePathUnit(layout: InstallLayout): string {
  return `# Written by \`vmirror install\`; \`vmirror uninstall\` removes it.
# The admin console's upgrades: the service (unprivileged, its program directory read-only to it)
# writes a request into its data directory; this starts ${UPGRADE_NAME}.service to carry it out.
[Unit]
Description=vmirror: watch for upgrades and rollbacks asked for in the admin console

[Path]
PathExists=${join(layout, layout.dataDir, "upgrade", "request.json")}
Unit=${UPGRADE_NAME}.service

[Install]
WantedBy=paths.target
`;
}

/**
 * The oneshot that carries a console request out, as root and outside the service's cgroup: it
 * stops the service, switches releases, starts it and waits for it (or puts the old one back).
 */
export function upgradeServiceUnit(layout: InstallLayout): string {
  const exe = join(layout, layout.prefix, "current", "vmirror");
  const config = join(layout, layout.configDir, "vmirror.json");
  return `# Written by \`vmirror install\`; \`vmirror uninstall\` removes it. Started by ${UPGRADE_NAME}.path.
[Unit]
Description=vmirror: carry out an upgrade or rollback asked for in the admin console
After=network-online.target

[Service]
Type=oneshot
# Not part of ${SERVICE_NAME}.service: it stops and starts that service itself.
ExecStart=${exe} upgrade --staged --prefix ${layout.prefix} --data ${layout.dataDir} --config ${config}
# The releases it unpacks must be readable by the service's user.
UMask=0022
TimeoutStartSec=1h
`;
}

/** The Windows task that carries a console request out, as SYSTEM, outside the service's task. */
export function upgradeTaskScript(layout: InstallLayout, program: string): string {
  const exe = join(layout, layout.prefix, "current", basename(program));
  const config = join(layout, layout.configDir, "vmirror.json");
  return [
    `$a = New-ScheduledTaskAction -Execute '${exe}' -Argument 'upgrade --staged --prefix "${layout.prefix}" --data "${layout.dataDir}" --config "${config}"'`,
    `$p = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest`,
    `$s = New-ScheduledTaskSettingsSet -ExecutionTimeLimit (New-TimeSpan -Hours 1) -MultipleInstances IgnoreNew`,
    `Register-ScheduledTask -TaskName '${UPGRADE_NAME}' -Action $a -Principal $p -Settings $s -Force | Out-Null`,
  ].join("; ");
}

/** The config file a new install starts with: the portal reachable for setup, all else unset. */
export function initialConfig(layout: InstallLayout): string {
  return JSON.stringify({ portal: { listen: layout.listen } }, null, 2) + "\n";
}

/** One line per step, as `--dry-run` prints them. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case "mkdir":
      return `create directory ${step.path}${step.mode ? ` (mode ${octal(step.mode)})` : ""}${
        step.owner ? ` owned by ${step.owner}` : ""
      }`;
    case "copy":
      return `copy ${step.from} -> ${step.to}`;
    case "link":
      return `link ${step.path} -> ${step.target}`;
    case "write":
      return `write ${step.path}${step.keepExisting ? " (unless it exists)" : ""}`;
    case "remove":
      return `remove ${step.path}`;
    case "run":
      return `run ${[step.cmd, ...step.args].map(shellQuote).join(" ")}   # ${step.why}`;
  }
}

function planLinux(
  layout: InstallLayout,
  program: ProgramFiles,
  opts: { start: boolean; userExists: boolean },
): Step[] {
  const release = join(layout, layout.prefix, "releases", program.version);
  const steps: Step[] = [];
  if (!opts.userExists) {
    steps.push(run("useradd", [
      "--system",
      "--user-group",
      "--home-dir",
      layout.dataDir,
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      layout.user,
    ], "the service's own system user"));
  }
  steps.push(
    { kind: "mkdir", path: release, mode: 0o755 },
    ...program.files.map((f): Step => ({
      kind: "copy",
      from: f,
      to: join(layout, release, basename(f)),
      mode: /\.js$/.test(f) ? 0o644 : 0o755,
    })),
    { kind: "link", path: join(layout, layout.prefix, "current"), target: release },
    { kind: "mkdir", path: layout.dataDir, mode: 0o700, owner: layout.user },
    { kind: "mkdir", path: layout.configDir, mode: 0o750, owner: `root:${layout.user}` },
    {
      kind: "write",
      path: join(layout, layout.configDir, "vmirror.json"),
      text: initialConfig(layout),
      mode: 0o640,
      keepExisting: true,
    },
    { kind: "mkdir", path: layout.systemdDir, mode: 0o755 },
    {
      kind: "write",
      path: join(layout, layout.systemdDir, `${SERVICE_NAME}.service`),
      text: systemdUnit(layout),
      mode: 0o644,
    },
    {
      kind: "write",
      path: join(layout, layout.systemdDir, `${UPGRADE_NAME}.service`),
      text: upgradeServiceUnit(layout),
      mode: 0o644,
    },
    {
      kind: "write",
      path: join(layout, layout.systemdDir, `${UPGRADE_NAME}.path`),
      text: upgradePathUnit(layout),
      mode: 0o644,
    },
  );
  if (opts.start) {
    steps.push(
      run("systemctl", ["daemon-reload"], "load the units"),
      run(
        "systemctl",
        ["enable", "--now", `${UPGRADE_NAME}.path`],
        "carry out upgrades asked for in the admin console",
      ),
      run("systemctl", ["enable", "--now", SERVICE_NAME], "start now and at every boot"),
    );
  }
  return steps;
}

function planWindows(
  layout: InstallLayout,
  program: ProgramFiles,
  opts: { start: boolean },
): Step[] {
  const release = join(layout, layout.prefix, "releases", program.version);
  const current = join(layout, layout.prefix, "current");
  const exe = join(layout, current, basename(program.files[0]));
  const config = join(layout, layout.configDir, "vmirror.json");
  const port = layout.listen.split(":").pop();
  const steps: Step[] = [
    { kind: "mkdir", path: release },
    ...program.files.map((f): Step => ({
      kind: "copy",
      from: f,
      to: join(layout, release, basename(f)),
    })),
    { kind: "link", path: current, target: release },
    { kind: "mkdir", path: layout.dataDir },
    // Only SYSTEM and Administrators may read the state store and the key that seals secrets.
    run("icacls", [
      join(layout, layout.configDir),
      "/inheritance:r",
      "/grant:r",
      "SYSTEM:(OI)(CI)F",
      "/grant:r",
      "Administrators:(OI)(CI)F",
      "/T",
    ], "data and config readable by SYSTEM and Administrators only"),
    { kind: "write", path: config, text: initialConfig(layout), keepExisting: true },
    // A plain executable cannot answer the service control manager (error 1053): a start-up
    // task running as SYSTEM, restarted on failure, does the service's job.
    powershell(
      [
        `$a = New-ScheduledTaskAction -Execute '${exe}' -Argument 'serve --config "${config}" --data "${layout.dataDir}"'`,
        `$t = New-ScheduledTaskTrigger -AtStartup`,
        `$p = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest`,
        `$s = New-ScheduledTaskSettingsSet -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -ExecutionTimeLimit ([TimeSpan]::Zero) -StartWhenAvailable`,
        `Register-ScheduledTask -TaskName '${SERVICE_NAME}' -Action $a -Trigger $t -Principal $p -Settings $s -Force | Out-Null`,
      ].join("; "),
      "a start-up task running as SYSTEM, restarted on failure",
    ),
    powershell(
      upgradeTaskScript(layout, program.files[0]),
      "a task, as SYSTEM, that carries out upgrades asked for in the admin console",
    ),
    powershell(
      `New-NetFirewallRule -DisplayName 'vmirror portal' -Direction Inbound -Action Allow -Protocol TCP -LocalPort ${port} | Out-Null`,
      `let browsers reach the portal on port ${port}`,
    ),
  ];
  if (opts.start) {
    steps.push(
      powershell(`Start-ScheduledTask -TaskName '${SERVICE_NAME}'`, "start it now"),
      run("cmd", ["/c", "start", "", `http://localhost:${port}/admin`], "open setup", true),
    );
  }
  return steps;
}

function run(cmd: string, args: string[], why: string, mayFail = false): Step {
  return { kind: "run", cmd, args, why, mayFail };
}

function powershell(script: string, why: string, mayFail = false): Step {
  return run(
    "powershell.exe",
    ["-NoProfile", "-ExecutionPolicy", "Bypass", "-Command", script],
    why,
    mayFail,
  );
}

// Paths of the plan's own platform, whatever the machine making the plan.
function join(layout: InstallLayout, ...parts: string[]): string {
  const sep = layout.os === "windows" ? "\\" : "/";
  return parts.map((p, i) => (i === 0 ? p.replace(/[\\/]+$/, "") : p.replace(/^[\\/]+/, "")))
    .join(sep);
}

function basename(p: string): string {
  return p.split(/[\\/]/).pop()!;
}

function octal(mode: number): string {
  return `0${mode.toString(8)}`;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./\\-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
