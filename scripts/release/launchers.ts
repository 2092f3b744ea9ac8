/**
 * The release targets and the launchers of the portable package: what starts the bundled
 * appliance on the Deno runtime shipped beside it, so that `vmirror …` behaves like the compiled
 * executable. Pure text, unit-tested.
 * @module
 */

/** One platform a release is built for. */
export interface ReleaseTarget {
  name: "linux-x64" | "windows-x64";
  /** The Rust target triple `deno compile --target` takes. */
  triple: string;
  /** The npm package holding this platform's Deno runtime. */
  runtimePackage: string;
  /** The runtime's file name inside that package and in the portable package. */
  runtimeFile: string;
  /** The compiled executable's (or the launcher's) file name. */
  executable: string;
  launcher: string;
  archive: "tar.gz" | "zip";
}

/** Every target `deno task release --target` knows. */
export const TARGETS: Record<ReleaseTarget["name"], ReleaseTarget> = {
  "linux-x64": {
    name: "linux-x64",
    triple: "x86_64-unknown-linux-gnu",
    runtimePackage: "@deno/linux-x64-glibc",
    runtimeFile: "deno",
    executable: "vmirror",
    launcher: "vmirror",
    archive: "tar.gz",
  },
  "windows-x64": {
    name: "windows-x64",
    triple: "x86_64-pc-windows-msvc",
    runtimePackage: "@deno/win32-x64",
    runtimeFile: "deno.exe",
    executable: "vmirror.exe",
    launcher: "vmirror.cmd",
    archive: "zip",
  },
};

/** The target this machine runs, or null when no release target matches it. */
export function hostTarget(): ReleaseTarget | null {
  if (Deno.build.arch !== "x86_64") return null;
  if (Deno.build.os === "linux") return TARGETS["linux-x64"];
  if (Deno.build.os === "windows") return TARGETS["windows-x64"];
  return null;
}

/**
 * V8's heap limits for the appliance, passed by the launchers and baked into the executable
 * (`deno compile --v8-flags`). Measured (README, "Performance"): V8's defaults let a copy's
 * garbage — message bodies and the buffers that read them — pile up to ~180 MB of RSS for the
 * 200 × 25 initial copy; a young generation of 2 MB per semi-space and an old-space cap collect
 * it early (~120 MB) for a few percent more CPU. The old-space cap sits above the whole process's
 * 300 MB budget at 10,000 mailboxes (issue #17), so it only ever makes V8 collect sooner.
 */
export const V8_FLAGS = "--v8-flags=--max-semi-space-size=2,--max-old-space-size=512";

// The runtime flags both launchers pass: everything the appliance needs, nothing from the
// directory it is started in (no deno.json, no lock file), no update check, no chatter.
const RUN_FLAGS = `run --allow-all --unstable-kv --no-config --no-lock --quiet ${V8_FLAGS}`;

/** The POSIX shell launcher (`vmirror`) of the Linux portable package. */
export function shellLauncher(): string {
  return `#!/bin/sh
# vmirror (portable package): runs the bundled appliance (vmirror.js) on the Deno runtime shipped
# beside this script, so it behaves like the compiled executable.
self=$(readlink -f -- "$0" 2>/dev/null || printf '%s' "$0")
here=$(dirname -- "$self")
DENO_NO_UPDATE_CHECK=1
export DENO_NO_UPDATE_CHECK
# The runtime caches compiled code; keep that out of the program directory, which a service
# may see read-only.
if [ -z "\${DENO_DIR:-}" ]; then
  DENO_DIR="\${TMPDIR:-/tmp}/vmirror-deno-$(id -u)"
  export DENO_DIR
fi
exec "$here/deno" ${RUN_FLAGS} "$here/vmirror.js" "$@"
`;
}

/** The Windows launcher (`vmirror.cmd`) of the Windows portable package, CRLF line ends. */
export function cmdLauncher(): string {
  return [
    "@echo off",
    "rem vmirror (portable package): runs the bundled appliance (vmirror.js) on the Deno runtime",
    "rem shipped beside this file, so it behaves like the compiled executable.",
    "setlocal",
    "set DENO_NO_UPDATE_CHECK=1",
    'if not defined DENO_DIR set "DENO_DIR=%LOCALAPPDATA%\\vmirror\\deno"',
    `"%~dp0deno.exe" ${RUN_FLAGS} "%~dp0vmirror.js" %*`,
    "exit /b %ERRORLEVEL%",
    "",
  ].join("\r\n");
}

/** The package's base name: `vmirror-<version>-<target>`. */
export function packageName(version: string, target: ReleaseTarget): string {
  return `vmirror-${version}-${target.name}`;
}
