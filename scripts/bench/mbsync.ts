/**
 * mbsync (isync) as the baseline: one-way Pull from production into separate, empty mailboxes on
 * the backup, keeping arrival dates, logging in as `<mailbox>*<trusted>` with IMAP LOGIN.
 * @module
 */

import { join } from "node:path";
import type { LabInfo } from "../lab/types.ts";
import { run } from "../lab/util.ts";
import { assertOk, measure, type Measured } from "./measure.ts";
import { aptInstall } from "./proc.ts";

/** The installed isync version, e.g. "1.4.4" (installs the package when mbsync is missing). */
export async function ensureMbsync(log: (s: string) => void): Promise<string> {
  const version = async () =>
    (await run("mbsync", ["--version"], { allowFail: true })).stdout.trim().replace(
      /^isync\s*/,
      "",
    );
  try {
    return await version();
  } catch {
    log("bench: installing isync (mbsync) with apt-get");
    await aptInstall("isync");
    return await version();
  }
}

/** Quotes a value for an mbsyncrc line. */
function q(s: string): string {
  return `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** Which servers an mbsyncrc points at, and how each mailbox logs in (default: the lab's Dovecots). */
export interface MbsyncServers {
  farPort: number;
  nearPort: number;
  /** User and password of a mailbox's login. */
  login: (mailbox: string) => { user: string; pass: string };
}

/** The lab's Dovecot pair, each mailbox logged in by the trusted user (`mailbox*vmirror`). */
function dovecotServers(lab: LabInfo): MbsyncServers {
  return {
    farPort: lab.imap.prod.port,
    nearPort: lab.imap.backup.port,
    login: (mailbox) => ({
      user: `${mailbox}${lab.trusted.separator}${lab.trusted.user}`,
      pass: lab.trusted.password,
    }),
  };
}

/** Renders an mbsyncrc with one channel per (production, near) mailbox pair. */
export function mbsyncRc(
  lab: LabInfo,
  pairs: { far: string; near: string }[],
  opts: { version: string; stateDir: string; servers?: MbsyncServers },
): string {
  const servers = opts.servers ?? dovecotServers(lab);
  // isync 1.5 renamed SSLType to TLSType; 1.4 knows only SSLType.
  const [major, minor] = opts.version.split(".").map(Number);
  const tlsKey = major > 1 || (major === 1 && minor >= 5) ? "TLSType" : "SSLType";
  const account = (name: string, port: number, mailbox: string) => {
    const { user, pass } = servers.login(mailbox);
    return [
      `IMAPAccount ${name}`,
      "Host 127.0.0.1",
      `Port ${port}`,
      `User ${q(user)}`,
      `Pass ${q(pass)}`,
      "AuthMechs LOGIN",
      `${tlsKey} None`,
      "",
      `IMAPStore ${name}`,
      `Account ${name}`,
      "",
    ].join("\n");
  };
  const blocks = pairs.map(({ far, near }) =>
    [
      account(`p${far}`, servers.farPort, far),
      account(`b${near}`, servers.nearPort, near),
      `Channel c${far}`,
      `Far :p${far}:`,
      `Near :b${near}:`,
      "Patterns INBOX",
      "Sync Pull",
      "Create Near",
      "Expunge None",
      "CopyArrivalDate yes",
      // A directory prefix alone names the state file after the box ("INBOX"): shared by every
      // channel. A per-channel prefix keeps them apart.
      `SyncState ${opts.stateDir}/${far}-`,
      "",
    ].join("\n")
  );
  return blocks.join("\n");
}

/** Writes an mbsyncrc (mode 0600: it holds the trusted password) and returns its path. */
export async function writeMbsyncRc(
  dir: string,
  name: string,
  rc: string,
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await Deno.writeTextFile(path, rc, { mode: 0o600 });
  return path;
}

/** Times `mbsync -c rc -a` (every channel, one process, one after another). */
export async function runMbsync(rc: string, servers: number[] = []): Promise<Measured> {
  return assertOk("mbsync", await measure("mbsync", ["-c", rc, "-a", "-q"], { servers }));
}
