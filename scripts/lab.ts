/**
 * The lab: real servers on 127.0.0.1 for tests and the demo — two Dovecot instances (production
 * and backup MSS, a master user as trusted server), two Cyrus IMAP instances (a second server
 * implementation: one holding a copy of production's voicemail, one an empty backup MSS with a
 * message size limit), two OpenLDAP directories, an SMTP recorder — with production seeded with
 * generated voicemail.
 *
 * CLI: `deno task lab install|start|stop|reset|status`. The same operations are exported for
 * tests and the test runner, plus per-mailbox helpers (`resetMailbox`, `seedMailbox`,
 * `addLabUser`) and `readSmtpInbox`.
 * @module
 */

import { clipPath, ensureClips } from "./lab/audio.ts";
import {
  copyMailboxToCyrus,
  CYRUS_PERSONAL_PREFIX,
  CYRUS_SEPARATOR,
  cyrusFolder,
  cyrusPid,
  prepareCyrus,
  setCyrusUser,
  startCyrus,
  stopCyrus,
  trustedClient,
  wipeCyrusMailbox,
} from "./lab/cyrus.ts";
import {
  MASTER_SEPARATOR,
  prepareDovecot,
  resetDovecotMailbox,
  setDovecotUser,
  startDovecot,
  stopDovecot,
  TRUSTED_USER,
} from "./lab/dovecot.ts";
import { ensureUsers, installPackages } from "./lab/install.ts";
import { type CyrusLayout, labDir, type LabLayout, labLayout, REPO_DIR } from "./lab/paths.ts";
import { appendVoicemails } from "./lab/seed.ts";
import { ldapDns, prepareSlapd, startSlapd, stopSlapd } from "./lab/slapd.ts";
import type { SmtpRecorderConfig } from "./lab/smtp_recorder.ts";
import { STALE_BACKUP_SUBSCRIBERS, SUBSCRIBERS } from "./lab/subscribers.ts";
import { ensureTls } from "./lab/tls.ts";
import type {
  AudioEncoding,
  LabCyrusServer,
  LabInfo,
  LabOptions,
  LabServerStatus,
  LabSide,
  LabSubscriber,
  SeededMailbox,
  SeededMessage,
} from "./lab/types.ts";
import {
  cmdline,
  exists,
  killAndWait,
  LabError,
  listenerPids,
  livePid,
  parentPid,
  pool,
  portOpen,
  randomSecret,
  sleep,
  spawnDetached,
  stopPid,
  waitForPort,
  writeText,
} from "./lab/util.ts";
import {
  BROADCAST_HEADER,
  clipsFor,
  GREETINGS_FOLDER,
  planMailbox,
  planVoiceMessages,
  type VoicemailSpec,
} from "./lab/voicemail.ts";

export type {
  AudioEncoding,
  LabCyrusServer,
  LabImapServer,
  LabInfo,
  LabLdapServer,
  LabOptions,
  LabServerStatus,
  LabSide,
  LabSmtpServer,
  LabSubscriber,
  SeededMailbox,
  SeededMessage,
  VoicemailKind,
} from "./lab/types.ts";
export type { VoicemailSpec } from "./lab/voicemail.ts";
export { clearSmtpInbox, readSmtpInbox } from "./lab/smtp_recorder.ts";
export type { SmtpRecord } from "./lab/smtp_recorder.ts";
export { wavInfo } from "./lab/audio.ts";
export type { WavInfo } from "./lab/audio.ts";
export { LabError } from "./lab/util.ts";

/** Secrets generated once per lab dir. */
interface LabSecrets {
  trustedPassword: string;
  relayPassword: string;
  ldapAdminPassword: string;
}

/** What seeding recorded (kept in `seeded.json` so a restart does not re-seed). */
interface SeedRecord {
  seeded: Record<string, SeededMailbox>;
  longMessage: LabInfo["longMessage"];
  audio: LabInfo["audio"];
}

const RELAY_USER = "relay";

/** stderr logger, the default. */
function defaultLog(line: string): void {
  console.error(line);
}

/** Loads the lab's secrets, creating them on first use. */
function ensureSecrets(layout: LabLayout): LabSecrets {
  let secrets: LabSecrets;
  if (exists(layout.secretsJson)) {
    secrets = JSON.parse(Deno.readTextFileSync(layout.secretsJson));
  } else {
    secrets = {
      trustedPassword: randomSecret(),
      relayPassword: randomSecret(),
      ldapAdminPassword: randomSecret(),
    };
    writeText(layout.secretsJson, JSON.stringify(secrets, null, 2) + "\n", 0o600);
  }
  // No trailing newline: consumers may read the file as-is.
  writeText(layout.trustedSecret, secrets.trustedPassword, 0o600);
  return secrets;
}

/**
 * The master process of a lab server left running by an earlier lab on the same ports whose
 * directory is gone or different (a wiped work tree, a fresh clone), or undefined.
 */
function staleLabServer(port: number): { pid: number; what: string } | undefined {
  for (const pid of listenerPids(port)) {
    // Dovecot's children hold the listener too; their parent is the master.
    for (const p of [pid, parentPid(pid)]) {
      const cmd = cmdline(p);
      if (/(^|\/)dovecot -c \S+\/dovecot-(prod|backup)\/dovecot\.conf$/.test(cmd)) {
        return { pid: p, what: cmd };
      }
      if (/(^|\/)slapd .*-n slapd-vmirror-lab-(prod|backup)$/.test(cmd)) {
        return { pid: p, what: cmd };
      }
      if (/(^|\/)cyrus\/bin\/master -C \S+\/cyrus(-backup)?\/imapd\.conf /.test(cmd)) {
        return { pid: p, what: cmd };
      }
      if (/scripts\/lab\/smtp_recorder\.ts --config \S+\/smtp-recorder\.json$/.test(cmd)) {
        return { pid: p, what: cmd };
      }
    }
  }
  return undefined;
}

/**
 * Makes sure a port the lab wants is free: a server of an earlier lab (found by its command line)
 * is stopped; anything else is an error.
 */
async function ensurePortFree(name: string, port: number, log: (s: string) => void): Promise<void> {
  if (!(await portOpen(port))) return;
  const stale = staleLabServer(port);
  if (stale) {
    log(`lab: stopping a leftover lab server on port ${port} (pid ${stale.pid}: ${stale.what})`);
    await killAndWait(stale.pid);
    const deadline = Date.now() + 5000;
    while (await portOpen(port) && Date.now() < deadline) await sleep(50);
    if (!(await portOpen(port))) return;
  }
  throw new LabError(
    `Port ${port} for "${name}" is in use by another process; stop it or set VMIRROR_LAB_PORT_OFFSET`,
  );
}

/** Starts the SMTP recorder as a detached process unless it runs already. */
async function startSmtpRecorder(
  layout: LabLayout,
  secrets: LabSecrets,
  log: (s: string) => void,
): Promise<void> {
  if (livePid(layout.smtpPidFile, "smtp_recorder") !== undefined) {
    await waitForPort("smtp-recorder", layout.ports.smtp);
    return;
  }
  await ensurePortFree("smtp-recorder", layout.ports.smtp, log);
  const cfg: SmtpRecorderConfig = {
    host: "127.0.0.1",
    port: layout.ports.smtp,
    inboxDir: layout.smtpDir,
    pidFile: layout.smtpPidFile,
    relayUser: RELAY_USER,
    relayPassword: secrets.relayPassword,
  };
  const cfgFile = `${layout.dir}/smtp-recorder.json`;
  writeText(cfgFile, JSON.stringify(cfg, null, 2) + "\n", 0o600);
  Deno.mkdirSync(layout.smtpDir, { recursive: true });
  await spawnDetached(Deno.execPath(), [
    "run",
    "-A",
    "--config",
    `${REPO_DIR}/deno.json`,
    `${REPO_DIR}/scripts/lab/smtp_recorder.ts`,
    "--config",
    cfgFile,
  ], layout.smtpLogFile);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (livePid(layout.smtpPidFile, "smtp_recorder") !== undefined) {
      await waitForPort("smtp-recorder", layout.ports.smtp);
      return;
    }
    await sleep(50);
  }
  throw new LabError(`SMTP recorder did not start within 60 s; see "${layout.smtpLogFile}"`);
}

/** Generates and seeds production voicemail for every subscriber. */
async function seedProduction(
  layout: LabLayout,
  secrets: LabSecrets,
  log: (s: string) => void,
): Promise<SeedRecord> {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const nonce = `${now.getTime().toString(36)}.${crypto.randomUUID().slice(0, 6)}`;
  const plans = SUBSCRIBERS.map((s) => ({
    mailbox: s.mailbox,
    specs: planMailbox(s.mailbox, { now, nonce, long: s.mailbox === "4001" }),
  }));
  // Generate every clip up front, in parallel, so the IMAP phase only reads files.
  const sample = plans[0].specs[0].text;
  const samples = (["gsm", "mulaw", "alaw"] as const).map((encoding) => ({
    text: sample,
    encoding,
  }));
  await ensureClips(layout.audioDir, [
    ...samples,
    ...plans.flatMap((p) => p.specs.flatMap(clipsFor)),
  ]);
  const target = {
    host: "127.0.0.1",
    port: layout.ports.prodImap,
    trustedUser: TRUSTED_USER,
    trustedPassword: secrets.trustedPassword,
  };
  const results = await pool(plans, 4, async (p) => {
    // A seed interrupted earlier may have left messages: start each mailbox empty.
    await resetDovecotMailbox(layout.dovecot.prod, p.mailbox);
    return await appendVoicemails(target, p.mailbox, p.specs, { audioDir: layout.audioDir });
  });
  const seeded: Record<string, SeededMailbox> = {};
  plans.forEach((p, i) => {
    const folders: Record<string, number> = {};
    for (const m of results[i]) folders[m.folder] = (folders[m.folder] ?? 0) + 1;
    seeded[p.mailbox] = { folders, messages: results[i] };
  });
  const longSpec = plans[0].specs.find((s) => s.seconds !== undefined);
  if (!longSpec) throw new LabError("Seed plan of mailbox 4001 lacks the over-length message");
  const total = results.reduce((n, r) => n + r.length, 0);
  log(`lab: seeded ${total} messages into ${plans.length} production mailboxes`);
  return {
    seeded,
    longMessage: {
      mailbox: "4001",
      folder: longSpec.folder,
      seconds: longSpec.seconds ?? 0,
      messageId: longSpec.messageId,
    },
    audio: {
      gsm: clipPath(layout.audioDir, { text: sample, encoding: "gsm" }),
      mulaw: clipPath(layout.audioDir, { text: sample, encoding: "mulaw" }),
      alaw: clipPath(layout.audioDir, { text: sample, encoding: "alaw" }),
      long: clipPath(layout.audioDir, {
        text: longSpec.text,
        encoding: longSpec.encoding,
        seconds: longSpec.seconds,
      }),
    },
  };
}

/**
 * Copies production's voicemail (every subscriber, INBOX and greetings) into Cyrus once, byte for
 * byte with flags and dates; the record in `cyrus/seeded.json` keeps a restart from copying again.
 */
async function seedCyrus(
  layout: LabLayout,
  secrets: LabSecrets,
  log: (s: string) => void,
): Promise<Record<string, Record<string, number>>> {
  const record = `${layout.cyrus.dir}/seeded.json`;
  if (exists(record)) return JSON.parse(Deno.readTextFileSync(record));
  const login = (port: number) => ({
    host: "127.0.0.1",
    port,
    trustedUser: TRUSTED_USER,
    trustedPassword: secrets.trustedPassword,
  });
  const counts = await pool(SUBSCRIBERS, 4, (s) =>
    copyMailboxToCyrus(
      login(layout.ports.prodImap),
      login(layout.ports.cyrusImap),
      s.mailbox,
      ["INBOX", GREETINGS_FOLDER],
    ));
  const seeded = Object.fromEntries(SUBSCRIBERS.map((s, i) => [s.mailbox, counts[i]]));
  writeText(record, JSON.stringify(seeded, null, 2) + "\n");
  const total = counts.reduce((n, c) => n + Object.values(c).reduce((a, b) => a + b, 0), 0);
  log(`lab: copied ${total} production messages into Cyrus`);
  return seeded;
}

/** lab.json's description of one Cyrus instance. */
function cyrusInfo(
  c: CyrusLayout,
  name: string,
  seeded: Record<string, Record<string, number>>,
): LabCyrusServer {
  return {
    name,
    host: "127.0.0.1",
    port: c.imapPort,
    imapsPort: c.imapsPort,
    configFile: c.configFile,
    masterConfigFile: c.masterConfigFile,
    pidFile: c.pidFile,
    logFile: c.logFile,
    separator: CYRUS_SEPARATOR,
    personalPrefix: CYRUS_PERSONAL_PREFIX,
    greetingsFolder: cyrusFolder(GREETINGS_FOLDER),
    maxMessageSize: c.maxMessageSize,
    seeded,
  };
}

/** Builds lab.json's content. */
function labInfo(
  layout: LabLayout,
  secrets: LabSecrets,
  seed: SeedRecord,
  cyrusSeeded: Record<string, Record<string, number>>,
): LabInfo {
  const imap = (side: LabSide) => {
    const d = layout.dovecot[side];
    return {
      name: side === "prod" ? "mss-prod" : "mss-backup",
      host: "127.0.0.1",
      port: side === "prod" ? layout.ports.prodImap : layout.ports.backupImap,
      imapsPort: side === "prod" ? layout.ports.prodImaps : layout.ports.backupImaps,
      configFile: d.configFile,
      baseDir: d.baseDir,
      pidFile: d.pidFile,
      logFile: d.logFile,
      mailRoot: d.mailRoot,
      usersFile: d.usersFile,
      separator: "/",
    };
  };
  const ldap = (side: LabSide) => {
    const s = layout.slapd[side];
    const port = side === "prod" ? layout.ports.prodLdap : layout.ports.backupLdap;
    return {
      name: side === "prod" ? "ldap-prod" : "ldap-backup",
      url: `ldap://127.0.0.1:${port}`,
      host: "127.0.0.1",
      port,
      ...ldapDns(side),
      adminPassword: secrets.ldapAdminPassword,
      configFile: s.configFile,
      pidFile: s.pidFile,
      logFile: s.logFile,
      subscribers: side === "prod" ? SUBSCRIBERS : STALE_BACKUP_SUBSCRIBERS,
    };
  };
  return {
    version: 1,
    dir: layout.dir,
    repo: REPO_DIR,
    portOffset: layout.offset,
    createdAt: new Date().toISOString(),
    trusted: {
      user: TRUSTED_USER,
      password: secrets.trustedPassword,
      passwordFile: layout.trustedSecret,
      separator: MASTER_SEPARATOR,
    },
    tls: {
      caFile: layout.caFile,
      certFile: layout.certFile,
      keyFile: layout.keyFile,
      serverName: "localhost",
    },
    imap: { prod: imap("prod"), backup: imap("backup") },
    cyrus: cyrusInfo(layout.cyrus, "mss-cyrus", cyrusSeeded),
    cyrusBackup: cyrusInfo(layout.cyrusBackup, "mss-cyrus-backup", {}),
    ldap: { prod: ldap("prod"), backup: ldap("backup") },
    smtp: {
      host: "127.0.0.1",
      port: layout.ports.smtp,
      relayUser: RELAY_USER,
      relayPassword: secrets.relayPassword,
      inboxDir: layout.smtpDir,
      pidFile: layout.smtpPidFile,
      logFile: layout.smtpLogFile,
    },
    mailboxes: SUBSCRIBERS,
    folders: ["INBOX", GREETINGS_FOLDER],
    greetingsFolder: GREETINGS_FOLDER,
    broadcast: { header: BROADCAST_HEADER.header, value: BROADCAST_HEADER.value },
    longMessage: seed.longMessage,
    seeded: seed.seeded,
    audio: seed.audio,
    configs: { imap: layout.vmirrorJson, files: layout.vmirrorFilesJson },
    fileStoreRoot: layout.fileStore,
  };
}

/** The vmirror config for the lab; `files` targets the file store instead of the backup IMAP. */
function vmirrorConfig(layout: LabLayout, target: "imap" | "files"): unknown {
  const secret = layout.trustedSecret;
  const ldap = (side: LabSide) => ldapDns(side);
  return {
    source: {
      name: "mss-prod",
      host: "127.0.0.1",
      port: layout.ports.prodImap,
      tls: "none",
      trustedUser: TRUSTED_USER,
      trustedPasswordFile: secret,
      impersonation: "authzid",
      folders: ["INBOX", GREETINGS_FOLDER],
      greetingsFolder: GREETINGS_FOLDER,
    },
    target: target === "imap"
      ? {
        type: "imap",
        name: "mss-backup",
        host: "127.0.0.1",
        port: layout.ports.backupImap,
        tls: "none",
        trustedUser: TRUSTED_USER,
        trustedPasswordFile: secret,
        impersonation: "authzid",
      }
      : { type: "files", root: layout.fileStore },
    ldap: {
      source: {
        url: `ldap://127.0.0.1:${layout.ports.prodLdap}`,
        bindDn: ldap("prod").bindDn,
        bindPasswordFile: secret,
        baseDn: ldap("prod").baseDn,
        filter: "(objectClass=vmSubscriber)",
      },
      target: {
        url: `ldap://127.0.0.1:${layout.ports.backupLdap}`,
        bindDn: ldap("backup").bindDn,
        bindPasswordFile: secret,
        baseDn: ldap("backup").baseDn,
      },
      attributes: {
        mailbox: "vmMailboxNumber",
        name: "displayName",
        email: "mail",
        classOfService: "vmClassOfService",
        recordedName: "vmRecordedName",
        pin: "vmPin",
      },
    },
    smtp: {
      host: "127.0.0.1",
      port: layout.ports.smtp,
      secure: false,
      from: "vmirror@lab.invalid",
    },
    portal: { listen: `127.0.0.1:${layout.ports.portal}` },
    rules: {
      broadcast: [{ header: BROADCAST_HEADER.header, pattern: `^${BROADCAST_HEADER.value}$` }],
    },
    limits: { maxMessageSeconds: 120 },
  };
}

/** Installs the lab's Debian packages and system users (skips apt when all are present). */
export async function installLab(opts: LabOptions = {}): Promise<void> {
  const log = opts.log ?? defaultLog;
  const installed = await installPackages(log);
  await ensureUsers();
  log(installed.length ? `lab: installed ${installed.join(" ")}` : "lab: packages present");
}

/** Starts every lab server (installing and seeding as needed) and writes lab.json. Idempotent. */
export async function startLab(opts: LabOptions = {}): Promise<LabInfo> {
  const log = opts.log ?? defaultLog;
  const t0 = performance.now();
  const layout = labLayout(opts.dir, opts.portOffset);
  await installPackages(log);
  await ensureUsers();
  Deno.mkdirSync(layout.dir, { recursive: true, mode: 0o755 });
  const secrets = ensureSecrets(layout);
  await ensureTls(layout);

  // Directories: recorded names are µ-law WAVs of the subscriber's (possibly stale) name.
  const nameClips = [...SUBSCRIBERS, ...STALE_BACKUP_SUBSCRIBERS].map((s) => ({
    text: s.name,
    encoding: "mulaw" as const,
  }));
  await ensureClips(layout.audioDir, nameClips);
  const recorded = (s: LabSubscriber) =>
    Deno.readFileSync(clipPath(layout.audioDir, { text: s.name, encoding: "mulaw" }));
  const slapdSubs: Record<LabSide, { sub: LabSubscriber; recordedName?: Uint8Array }[]> = {
    prod: SUBSCRIBERS.map((s) => ({ sub: s, recordedName: recorded(s) })),
    // Stale copies: the first three have no recorded name yet, the others an old one.
    backup: STALE_BACKUP_SUBSCRIBERS.map((s, i) => ({
      sub: s,
      recordedName: i < 3 ? undefined : recorded(s),
    })),
  };
  const sides: LabSide[] = ["prod", "backup"];
  await Promise.all(sides.map(async (side) => {
    const running = livePid(layout.slapd[side].pidFile, "slapd") !== undefined;
    if (!running) {
      const port = side === "prod" ? layout.ports.prodLdap : layout.ports.backupLdap;
      await ensurePortFree(`slapd-${side}`, port, log);
    }
    await prepareSlapd(layout, side, {
      adminPassword: secrets.ldapAdminPassword,
      trustedPassword: secrets.trustedPassword,
      subscribers: slapdSubs[side],
    });
    await startSlapd(layout, side);
  }));

  await Promise.all(sides.map(async (side) => {
    const d = layout.dovecot[side];
    if (livePid(d.pidFile, "dovecot") === undefined) {
      const ports = side === "prod"
        ? [layout.ports.prodImap, layout.ports.prodImaps]
        : [layout.ports.backupImap, layout.ports.backupImaps];
      for (const p of ports) await ensurePortFree(`dovecot-${side}`, p, log);
    }
    await prepareDovecot(layout, side, {
      subscribers: SUBSCRIBERS,
      trustedPassword: secrets.trustedPassword,
      log,
    });
    await startDovecot(layout, side);
  }));

  // One after the other: both instances run the imapd the first one unpacks.
  const cyrusStart = (async () => {
    for (const c of [layout.cyrus, layout.cyrusBackup]) {
      if (cyrusPid(c) === undefined) {
        for (const p of [c.imapPort, c.imapsPort]) await ensurePortFree(c.name, p, log);
      }
      await prepareCyrus(layout, c, {
        subscribers: SUBSCRIBERS,
        trustedPassword: secrets.trustedPassword,
        log,
      });
      await startCyrus(c);
    }
  })();
  await startSmtpRecorder(layout, secrets, log);
  await cyrusStart;

  let seed: SeedRecord;
  if (exists(layout.seededJson)) {
    seed = JSON.parse(Deno.readTextFileSync(layout.seededJson));
  } else {
    seed = await seedProduction(layout, secrets, log);
    writeText(layout.seededJson, JSON.stringify(seed, null, 2) + "\n");
  }
  const cyrusSeeded = await seedCyrus(layout, secrets, log);
  Deno.mkdirSync(layout.fileStore, { recursive: true });
  const info = labInfo(layout, secrets, seed, cyrusSeeded);
  writeText(layout.labJson, JSON.stringify(info, null, 2) + "\n", 0o600);
  writeText(layout.vmirrorJson, JSON.stringify(vmirrorConfig(layout, "imap"), null, 2) + "\n");
  writeText(
    layout.vmirrorFilesJson,
    JSON.stringify(vmirrorConfig(layout, "files"), null, 2) + "\n",
  );
  log(`lab: up in ${((performance.now() - t0) / 1000).toFixed(1)} s, see "${layout.labJson}"`);
  return info;
}

/** Stops every server the lab started (by pid file); no error when none runs. */
export async function stopLab(opts: LabOptions = {}): Promise<void> {
  const log = opts.log ?? defaultLog;
  const layout = labLayout(opts.dir, opts.portOffset);
  const sides: LabSide[] = ["prod", "backup"];
  const stopped = await Promise.all([
    stopPid(layout.smtpPidFile, "smtp_recorder").then((s) => s ? "smtp-recorder" : ""),
    ...sides.map((side) =>
      stopDovecot(layout.dovecot[side]).then((s) => s ? `dovecot-${side}` : "")
    ),
    ...sides.map((side) => stopSlapd(layout.slapd[side]).then((s) => s ? `slapd-${side}` : "")),
    stopCyrus(layout.cyrus).then((s) => s ? "cyrus" : ""),
    stopCyrus(layout.cyrusBackup).then((s) => s ? "cyrus-backup" : ""),
  ]);
  const names = stopped.filter(Boolean);
  log(names.length ? `lab: stopped ${names.join(", ")}` : "lab: nothing was running");
}

/** Refuses to wipe a directory that is obviously not a lab dir. */
function assertWipeable(dir: string): void {
  const home = Deno.env.get("HOME");
  if (dir === "/" || dir === REPO_DIR || dir === home || exists(`${dir}/.git`)) {
    throw new LabError(`Refusing to wipe "${dir}": not a lab directory`);
  }
  if (!exists(dir)) return;
  const entries = [...Deno.readDirSync(dir)].map((e) => e.name);
  if (entries.length > 0 && !entries.includes("secrets.json") && !entries.includes("lab.json")) {
    throw new LabError(`Refusing to wipe "${dir}": it holds files but no lab.json or secrets.json`);
  }
}

/** Stops the lab, wipes its directory and starts it fresh (new secrets, new seed). */
export async function resetLab(opts: LabOptions = {}): Promise<LabInfo> {
  const layout = labLayout(opts.dir, opts.portOffset);
  assertWipeable(layout.dir);
  await stopLab(opts);
  await Deno.remove(layout.dir, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  if (!layout.runRoot.startsWith(`${layout.dir}/`)) {
    await Deno.remove(layout.runRoot, { recursive: true }).catch(() => {});
  }
  return await startLab(opts);
}

/** Up/down of each server: pid file alive and port answering. */
export async function labStatus(opts: LabOptions = {}): Promise<LabServerStatus[]> {
  const l = labLayout(opts.dir, opts.portOffset);
  const rows: { name: string; port: number; pidFile: string; expect: string }[] = [
    {
      name: "dovecot-prod imap",
      port: l.ports.prodImap,
      pidFile: l.dovecot.prod.pidFile,
      expect: "dovecot",
    },
    {
      name: "dovecot-prod imaps",
      port: l.ports.prodImaps,
      pidFile: l.dovecot.prod.pidFile,
      expect: "dovecot",
    },
    {
      name: "dovecot-backup imap",
      port: l.ports.backupImap,
      pidFile: l.dovecot.backup.pidFile,
      expect: "dovecot",
    },
    {
      name: "dovecot-backup imaps",
      port: l.ports.backupImaps,
      pidFile: l.dovecot.backup.pidFile,
      expect: "dovecot",
    },
    { name: "slapd-prod", port: l.ports.prodLdap, pidFile: l.slapd.prod.pidFile, expect: "slapd" },
    {
      name: "slapd-backup",
      port: l.ports.backupLdap,
      pidFile: l.slapd.backup.pidFile,
      expect: "slapd",
    },
    { name: "smtp-recorder", port: l.ports.smtp, pidFile: l.smtpPidFile, expect: "smtp_recorder" },
    {
      name: "cyrus imap",
      port: l.ports.cyrusImap,
      pidFile: l.cyrus.pidFile,
      expect: "cyrus/bin/master",
    },
    {
      name: "cyrus imaps",
      port: l.ports.cyrusImaps,
      pidFile: l.cyrus.pidFile,
      expect: "cyrus/bin/master",
    },
    {
      name: "cyrus-backup imap",
      port: l.ports.cyrusBackupImap,
      pidFile: l.cyrusBackup.pidFile,
      expect: "cyrus/bin/master",
    },
    {
      name: "cyrus-backup imaps",
      port: l.ports.cyrusBackupImaps,
      pidFile: l.cyrusBackup.pidFile,
      expect: "cyrus/bin/master",
    },
  ];
  return await Promise.all(rows.map(async (r) => {
    const pid = livePid(r.pidFile, r.expect);
    return { name: r.name, port: r.port, pid, up: pid !== undefined && await portOpen(r.port) };
  }));
}

/** Reads `<lab>/lab.json` (default lab dir); throws when the lab was never started. */
export function readLab(dir?: string): LabInfo {
  const file = `${labDir(dir)}/lab.json`;
  try {
    return JSON.parse(Deno.readTextFileSync(file)) as LabInfo;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new LabError(`Lab not started: "${file}" not found; run "deno task lab start"`);
    }
    throw new LabError(`Cannot read "${file}"`, { cause: e });
  }
}

/** Options of {@linkcode resetMailbox}. */
export interface ResetMailboxOptions {
  /** Lab directory (default: as {@linkcode readLab}). */
  dir?: string;
  /** Only expunge messages; keep folders such as Greetings (and their UIDVALIDITY). */
  keepFolders?: boolean;
}

/** Empties one mailbox on a running Dovecot: every message expunged, folders but INBOX deleted. */
export async function resetMailbox(
  side: LabSide,
  mailbox: string,
  opts: ResetMailboxOptions = {},
): Promise<void> {
  const info = readLab(opts.dir);
  await resetDovecotMailbox(labLayout(info.dir, info.portOffset).dovecot[side], mailbox, {
    keepFolders: opts.keepFolders,
  });
}

/** Options of {@linkcode seedMailbox}. */
export interface SeedMailboxOptions {
  /** Lab directory (default: as {@linkcode readLab}). */
  dir?: string;
  /** Exactly these messages (overrides everything below). */
  specs?: VoicemailSpec[];
  /** Append this many simple voice messages instead of the standard set. */
  count?: number;
  /** Folder for `count` messages (default INBOX; created when missing). */
  folder?: string;
  /** Encoding for `count` messages (default: rotate GSM, µ-law, A-law). */
  encoding?: AudioEncoding;
  /** Stretch each `count` message to this many seconds (µ-law: 8,000 B/s, for big messages). */
  seconds?: number;
  /** Flags for `count` messages (default: every other one \Seen). */
  flags?: string[];
  /** Add the 150 s message to the standard set. */
  long?: boolean;
}

/**
 * Appends generated voicemail to one mailbox on a running Dovecot as the trusted server: the
 * standard set the lab seeds (INBOX + Greetings), or `count` simple messages. lab.json is not
 * changed: it records the initial seed.
 */
export async function seedMailbox(
  side: LabSide,
  mailbox: string,
  opts: SeedMailboxOptions = {},
): Promise<SeededMessage[]> {
  const info = readLab(opts.dir);
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const nonce = `${now.getTime().toString(36)}.${crypto.randomUUID().slice(0, 6)}`;
  const specs = opts.specs ??
    (opts.count !== undefined
      ? planVoiceMessages(mailbox, opts.count, {
        now,
        nonce,
        folder: opts.folder,
        encoding: opts.encoding,
        seconds: opts.seconds,
        flags: opts.flags,
      })
      : planMailbox(mailbox, { now, nonce, long: opts.long }));
  return await appendVoicemails(
    {
      host: info.imap[side].host,
      port: info.imap[side].port,
      trustedUser: info.trusted.user,
      trustedPassword: info.trusted.password,
    },
    mailbox,
    specs,
    { audioDir: `${info.dir}/audio` },
  );
}

/** Adds (or changes the PIN of) a subscriber login on one Dovecot; effective immediately. */
export async function addLabUser(
  side: LabSide,
  mailbox: string,
  pin: string,
  opts: { dir?: string } = {},
): Promise<void> {
  const info = readLab(opts.dir);
  await setDovecotUser(labLayout(info.dir, info.portOffset).dovecot[side], mailbox, pin);
}

/** Which Cyrus instance: "cyrus" (the seeded one, default) or "cyrus-backup". */
export type CyrusInstance = "cyrus" | "cyrus-backup";

/** Adds (or changes the PIN of) a subscriber login on a Cyrus; effective immediately. */
export async function addCyrusUser(
  mailbox: string,
  pin: string,
  opts: { dir?: string; instance?: CyrusInstance } = {},
): Promise<void> {
  const info = readLab(opts.dir);
  const l = labLayout(info.dir, info.portOffset);
  await setCyrusUser(opts.instance === "cyrus-backup" ? l.cyrusBackup : l.cyrus, mailbox, pin);
}

/**
 * Empties one mailbox on a Cyrus (created at this first login when new): every message expunged,
 * folders but INBOX deleted (with `keepFolders`, only emptied).
 */
export async function resetCyrusMailbox(
  mailbox: string,
  opts: ResetMailboxOptions & { instance?: CyrusInstance } = {},
): Promise<void> {
  const info = readLab(opts.dir);
  const server = opts.instance === "cyrus-backup" ? info.cyrusBackup : info.cyrus;
  const client = await trustedClient({
    host: server.host,
    port: server.port,
    trustedUser: info.trusted.user,
    trustedPassword: info.trusted.password,
  }, mailbox);
  try {
    await wipeCyrusMailbox(client, { keepFolders: opts.keepFolders });
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/** Prints the status table; returns whether every server is up. */
async function printStatus(opts: LabOptions): Promise<boolean> {
  const rows = await labStatus(opts);
  for (const r of rows) {
    const pid = r.pid ? `pid ${r.pid}` : "no pid";
    console.log(
      `${r.name.padEnd(22)} ${String(r.port).padEnd(6)} ${r.up ? "up  " : "down"} ${pid}`,
    );
  }
  return rows.every((r) => r.up);
}

/** CLI entry. */
async function main(args: string[]): Promise<number> {
  const verb = args[0];
  switch (verb) {
    case "install":
      await installLab();
      return 0;
    case "start":
      await startLab();
      return (await printStatus({})) ? 0 : 1;
    case "stop":
      await stopLab();
      return 0;
    case "reset":
      await resetLab();
      return (await printStatus({})) ? 0 : 1;
    case "status":
      return (await printStatus({})) ? 0 : 1;
    default:
      console.error("usage: deno task lab install|start|stop|reset|status");
      console.error(
        "env: VMIRROR_LAB_DIR (default <repo>/.lab), VMIRROR_LAB_PORT_OFFSET (default 0)",
      );
      return 2;
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    const err = e as Error;
    console.error(`lab: ${err.message}`);
    for (let c = err.cause as Error | undefined; c; c = c.cause as Error | undefined) {
      console.error(`  caused by: ${c.message ?? String(c)}`);
    }
    Deno.exit(1);
  }
}
