/**
 * Where the lab keeps things and which ports it uses: one place, so every module agrees.
 * @module
 */

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import type { LabSide } from "./types.ts";

/** The repository root (two levels above this file). */
export const REPO_DIR: string = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** Default ports before the offset is added. */
export const BASE_PORTS = {
  prodImap: 14143,
  prodImaps: 14993,
  backupImap: 15143,
  backupImaps: 15993,
  prodLdap: 14389,
  backupLdap: 15389,
  cyrusImap: 16143,
  cyrusImaps: 16993,
  // The second Cyrus (backup MSS of the Cyrus → Cyrus pairing): its last two digits are no
  // other port's, so no lab run at another multiple-of-100 offset lands on them.
  cyrusBackupImap: 16153,
  cyrusBackupImaps: 17003,
  smtp: 14025,
  portal: 8080,
} as const;

/** Port numbers after the offset. */
export type LabPorts = { [K in keyof typeof BASE_PORTS]: number };

/** Files and folders of one Dovecot instance. */
export interface DovecotLayout {
  dir: string;
  configFile: string;
  baseDir: string;
  pidFile: string;
  logFile: string;
  mailRoot: string;
  usersFile: string;
  masterFile: string;
  instanceName: string;
}

/** Files and folders of one slapd instance. */
export interface SlapdLayout {
  dir: string;
  configFile: string;
  dataDir: string;
  pidFile: string;
  argsFile: string;
  logFile: string;
  schemaFile: string;
  ldifFile: string;
  suffix: string;
}

/** Which Cyrus: the one seeded like production, or the empty backup MSS. */
export type CyrusRole = "prod" | "backup";

/** Files, folders and ports of one Cyrus instance. */
export interface CyrusLayout {
  role: CyrusRole;
  /** For logs and status rows: "cyrus" or "cyrus-backup". */
  name: string;
  dir: string;
  imapPort: number;
  imapsPort: number;
  /**
   * `maxmessagesize` of imapd.conf in bytes (0: none). The backup has one, as a backup MSS's
   * class of service caps what it stores: a message over it is refused at APPEND.
   */
  maxMessageSize: number;
  /** imapd.conf (`-C` of every Cyrus program). */
  configFile: string;
  /** cyrus.conf: master's services. */
  masterConfigFile: string;
  configDir: string;
  spoolDir: string;
  /** Debian's cyrus-imapd unpacked (its imapd; see cyrus.ts). */
  pkgDir: string;
  sasldb: string;
  certFile: string;
  keyFile: string;
  /** Sockets and locks (short paths: unix sockets). */
  runDir: string;
  pidFile: string;
  logFile: string;
}

/** Every path and port of one lab. */
export interface LabLayout {
  dir: string;
  offset: number;
  ports: LabPorts;
  labJson: string;
  vmirrorJson: string;
  vmirrorFilesJson: string;
  trustedSecret: string;
  secretsJson: string;
  tlsDir: string;
  caFile: string;
  caKeyFile: string;
  certFile: string;
  keyFile: string;
  audioDir: string;
  smtpDir: string;
  smtpPidFile: string;
  smtpLogFile: string;
  fileStore: string;
  seededJson: string;
  /** Outside the lab dir only when the lab dir's path is too long for unix sockets. */
  runRoot: string;
  dovecot: Record<LabSide, DovecotLayout>;
  slapd: Record<LabSide, SlapdLayout>;
  cyrus: CyrusLayout;
  cyrusBackup: CyrusLayout;
}

/**
 * The backup Cyrus's `maxmessagesize`: 1 MiB, above every message the lab seeds (≤ 0.4 MB) and
 * the benchmark's, below what the over-length tests send it.
 */
export const CYRUS_BACKUP_MAX_MESSAGE_SIZE = 1024 * 1024;

/** The lab directory: explicit, else env `VMIRROR_LAB_DIR`, else `<repo>/.lab`. */
export function labDir(dir?: string): string {
  return resolve(dir ?? Deno.env.get("VMIRROR_LAB_DIR") ?? `${REPO_DIR}/.lab`);
}

/** The port offset: explicit, else env `VMIRROR_LAB_PORT_OFFSET`, else 0. */
export function portOffset(offset?: number): number {
  if (offset !== undefined) return offset;
  const raw = Deno.env.get("VMIRROR_LAB_PORT_OFFSET");
  if (raw === undefined || raw.trim() === "") return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < -8000 || n > 40000) {
    throw new Error(`Invalid VMIRROR_LAB_PORT_OFFSET "${raw}": expected an integer`);
  }
  return n;
}

/** Computes the lab's layout for a directory and port offset. */
export function labLayout(dir?: string, offset?: number): LabLayout {
  const d = labDir(dir);
  const off = portOffset(offset);
  const ports = Object.fromEntries(
    Object.entries(BASE_PORTS).map(([k, v]) => [k, v + off]),
  ) as LabPorts;
  // Dovecot's sockets live in base_dir; unix socket paths are capped at 107 bytes, and the
  // longest socket name below base_dir is ~25 bytes, so a long lab path moves runtime dirs.
  const runRoot = `${d}/run`.length <= 70
    ? `${d}/run`
    : `/tmp/vmirror-lab-${createHash("sha256").update(d).digest("hex").slice(0, 10)}`;
  const dovecot = (side: LabSide): DovecotLayout => ({
    dir: `${d}/dovecot-${side}`,
    configFile: `${d}/dovecot-${side}/dovecot.conf`,
    baseDir: `${runRoot}/dovecot-${side}`,
    pidFile: `${runRoot}/dovecot-${side}/master.pid`,
    logFile: `${d}/dovecot-${side}/dovecot.log`,
    mailRoot: `${d}/dovecot-${side}/mail`,
    usersFile: `${d}/dovecot-${side}/users.passwd`,
    masterFile: `${d}/dovecot-${side}/master.passwd`,
    instanceName: `vmirror-lab-${side}-${ports.prodImap}`,
  });
  const slapd = (side: LabSide): SlapdLayout => ({
    dir: `${d}/ldap-${side}`,
    configFile: `${d}/ldap-${side}/slapd.conf`,
    dataDir: `${d}/ldap-${side}/data`,
    pidFile: `${d}/ldap-${side}/slapd.pid`,
    argsFile: `${d}/ldap-${side}/slapd.args`,
    logFile: `${d}/ldap-${side}/slapd.log`,
    schemaFile: `${d}/ldap-${side}/vmirror.schema`,
    ldifFile: `${d}/ldap-${side}/seed.ldif`,
    suffix: `dc=${side},dc=lab`,
  });
  const cyrus = (role: CyrusRole): CyrusLayout => {
    const name = role === "prod" ? "cyrus" : "cyrus-backup";
    return {
      role,
      name,
      dir: `${d}/${name}`,
      imapPort: role === "prod" ? ports.cyrusImap : ports.cyrusBackupImap,
      imapsPort: role === "prod" ? ports.cyrusImaps : ports.cyrusBackupImaps,
      maxMessageSize: role === "prod" ? 0 : CYRUS_BACKUP_MAX_MESSAGE_SIZE,
      configFile: `${d}/${name}/imapd.conf`,
      masterConfigFile: `${d}/${name}/cyrus.conf`,
      configDir: `${d}/${name}/config`,
      spoolDir: `${d}/${name}/spool`,
      // One unpacked imapd serves both instances.
      pkgDir: `${d}/cyrus/pkg`,
      sasldb: `${d}/${name}/sasldb2`,
      certFile: `${d}/${name}/server.pem`,
      keyFile: `${d}/${name}/server.key`,
      runDir: `${runRoot}/${name}`,
      pidFile: `${runRoot}/${name}/master.pid`,
      logFile: `${d}/${name}/master.log`,
    };
  };
  return {
    dir: d,
    offset: off,
    ports,
    labJson: `${d}/lab.json`,
    vmirrorJson: `${d}/vmirror.json`,
    vmirrorFilesJson: `${d}/vmirror-files.json`,
    trustedSecret: `${d}/trusted.secret`,
    secretsJson: `${d}/secrets.json`,
    tlsDir: `${d}/tls`,
    caFile: `${d}/tls/ca.pem`,
    caKeyFile: `${d}/tls/ca.key`,
    certFile: `${d}/tls/server.pem`,
    keyFile: `${d}/tls/server.key`,
    audioDir: `${d}/audio`,
    smtpDir: `${d}/smtp`,
    smtpPidFile: `${d}/smtp-recorder.pid`,
    smtpLogFile: `${d}/smtp-recorder.log`,
    fileStore: `${d}/filestore`,
    seededJson: `${d}/seeded.json`,
    runRoot,
    dovecot: { prod: dovecot("prod"), backup: dovecot("backup") },
    slapd: { prod: slapd("prod"), backup: slapd("backup") },
    cyrus: cyrus("prod"),
    cyrusBackup: cyrus("backup"),
  };
}
