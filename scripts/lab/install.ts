/**
 * Installs the lab's Debian packages and system users, idempotently: a fresh CI machine has none.
 * @module
 */

import { exists, hasBinary, LabError, lookupUser, run } from "./util.ts";

/** Debian packages the lab needs. */
const PACKAGES = [
  "dovecot-core",
  "dovecot-imapd",
  "slapd",
  "ldap-utils",
  "espeak-ng",
  "sox",
  "libsox-fmt-all",
  "openssl",
  // The portal's browser tests drive Debian's Chromium; the benchmark compares against mbsync.
  "chromium",
  "isync",
  // `systemd-analyze verify` checks the unit `vmirror install` writes.
  "systemd",
  // The second IMAP implementation (issue 16): Cyrus's master and libraries, its admin tools,
  // sasldb for its logins. Not cyrus-imapd itself: it Conflicts with dovecot-imapd (both
  // provide imap-server), so apt would remove Dovecot; cyrus.ts unpacks its imapd instead.
  "cyrus-common",
  "cyrus-admin",
  "sasl2-bin",
  "libsasl2-modules",
];

/** Packages dpkg does not report as installed (file checks would fail on images without docs). */
export async function missingPackages(): Promise<string[]> {
  const res = await run("dpkg-query", ["-W", "-f=${Package} ${Status}\\n", ...PACKAGES], {
    allowFail: true,
  });
  const ok = new Set(
    res.stdout.split("\n").filter((l) => l.endsWith(" install ok installed")).map((l) =>
      l.split(" ")[0]
    ),
  );
  return PACKAGES.filter((p) => !ok.has(p));
}

/** Installs missing packages with apt (no-op when all are present); returns what it installed. */
export async function installPackages(log: (s: string) => void): Promise<string[]> {
  const missing = await missingPackages();
  if (missing.length === 0) return [];
  if (Deno.uid() !== 0) {
    throw new LabError(`Cannot install ${missing.join(", ")}: the lab must run as root for apt`);
  }
  if (!hasBinary("apt-get")) {
    throw new LabError(`Cannot install ${missing.join(", ")}: apt-get not found (Debian needed)`);
  }
  log(`lab: installing ${missing.join(" ")} (apt)`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  // Without this preseed slapd's postinst builds a default directory we never use.
  await run("debconf-set-selections", [], {
    stdin: "slapd slapd/no_configuration boolean true\n",
  });
  // Keep apt from starting the system-wide dovecot/slapd services on 0.0.0.0 (Docker's trick);
  // only when no policy exists, and removed afterwards.
  const policy = "/usr/sbin/policy-rc.d";
  const ownPolicy = !exists(policy);
  if (ownPolicy) Deno.writeTextFileSync(policy, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
  try {
    await run("apt-get", ["update", "-q"], { env });
    await run("apt-get", [
      "install",
      "-y",
      "-q",
      "-o",
      "Dpkg::Options::=--force-confold",
      ...missing,
    ], {
      env,
    });
  } finally {
    if (ownPolicy) Deno.removeSync(policy);
  }
  const still = await missingPackages();
  if (still.length) throw new LabError(`apt did not install: ${still.join(", ")}`);
  return missing;
}

/** Creates the system users Dovecot needs when the packages did not (vmail always). */
export async function ensureUsers(): Promise<void> {
  for (const name of ["dovecot", "dovenull", "vmail"]) {
    if (await lookupUser(name)) continue;
    await run("useradd", [
      "--system",
      "--user-group",
      "--no-create-home",
      "--home-dir",
      "/nonexistent",
      "--shell",
      "/usr/sbin/nologin",
      name,
    ]);
  }
}
