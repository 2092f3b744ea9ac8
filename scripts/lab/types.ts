/**
 * Types of the lab: what `lab.json` holds and what the lab's API takes.
 * @module
 */

/** Which of the two mail stores / directories: production MSS or backup MSS. */
export type LabSide = "prod" | "backup";

/** A subscriber as the lab knows it. */
export interface LabSubscriber {
  /** Mailbox number: also the IMAP user name. */
  mailbox: string;
  /** Voicemail PIN: also the subscriber's own IMAP password. */
  pin: string;
  /** Display name. */
  name: string;
  /** E-mail address. */
  email: string;
  /** Class of service. */
  cos: string;
  /** Extension (telephoneNumber). */
  extension: string;
}

/** One Dovecot instance. */
export interface LabImapServer {
  name: string;
  host: string;
  /** Plain IMAP with STARTTLS offered. */
  port: number;
  /** Implicit TLS. */
  imapsPort: number;
  /** Pass to `doveadm -c` / `dovecot -c`. */
  configFile: string;
  baseDir: string;
  pidFile: string;
  logFile: string;
  /** Per-user homes live below this directory (`<mailRoot>/<mailbox>/Maildir`). */
  mailRoot: string;
  /** passwd-file of subscribers (passdb + userdb). */
  usersFile: string;
  /** Mailbox hierarchy separator. */
  separator: string;
}

/**
 * The Cyrus IMAP instance: a second implementation, usable as production or as backup. Same
 * trusted user and password as the Dovecots (SASL PLAIN with an authorization id), same
 * subscriber logins (PIN), and a copy of the Dovecot production's seeded voicemail.
 */
export interface LabCyrusServer {
  name: string;
  host: string;
  /** Plain IMAP (STARTTLS offered). */
  port: number;
  /** Implicit TLS with the lab's certificate. */
  imapsPort: number;
  /** imapd.conf (`-C` of every Cyrus program). */
  configFile: string;
  /** cyrus.conf (master's services). */
  masterConfigFile: string;
  pidFile: string;
  /** cyrus master's stdout/stderr; Cyrus itself logs to syslog. */
  logFile: string;
  /** Mailbox hierarchy separator (`.`: `unixhierarchysep: no`). */
  separator: string;
  /** Prefix of personal folders (`INBOX.`: `altnamespace: no`). */
  personalPrefix: string;
  /** The lab's greetings folder as Cyrus names it. */
  greetingsFolder: string;
  /** imapd.conf's `maxmessagesize` in bytes (0: none): larger APPENDs are refused. */
  maxMessageSize: number;
  /** Messages per mailbox and folder (Dovecot names) copied from the Dovecot production. */
  seeded: Record<string, Record<string, number>>;
}

/** One slapd instance. */
export interface LabLdapServer {
  name: string;
  url: string;
  host: string;
  port: number;
  /** Database suffix, e.g. `dc=prod,dc=lab`. */
  suffix: string;
  /** Where subscriber entries live. */
  baseDn: string;
  /** The trusted server's bind DN (password = trusted password). */
  bindDn: string;
  /** The lab's own root DN. */
  adminDn: string;
  adminPassword: string;
  configFile: string;
  pidFile: string;
  logFile: string;
  /** Subscribers loaded into this directory (backup: stale copies of 4001..4006). */
  subscribers: LabSubscriber[];
}

/** The SMTP recorder. */
export interface LabSmtpServer {
  host: string;
  port: number;
  relayUser: string;
  relayPassword: string;
  /** Received messages are stored here as `<ts>-<n>.eml` + `.json`. */
  inboxDir: string;
  pidFile: string;
  logFile: string;
}

/** What kind of voicemail a seeded message is. */
export type VoicemailKind = "voice" | "forwardChain" | "replyChain" | "broadcast" | "greeting";

/** Audio encoding of a WAV part. */
export type AudioEncoding = "gsm" | "mulaw" | "alaw";

/** A message the lab appended. */
export interface SeededMessage {
  folder: string;
  messageId: string;
  subject: string;
  from: string;
  kind: VoicemailKind;
  encoding: AudioEncoding;
  /** Top-level Content-Type (without parameters). */
  contentType: string;
  /** IMAP flags / keywords set at APPEND. */
  flags: string[];
  /** Content-Duration of the main voice part. */
  seconds: number;
  internalDate: string;
  /** RFC 822 size in bytes. */
  size: number;
  urgent: boolean;
  private: boolean;
  broadcast: boolean;
  /** UID on the server after APPEND (APPENDUID). */
  uid?: number;
}

/** What was seeded into one mailbox. */
export interface SeededMailbox {
  /** Message count per folder. */
  folders: Record<string, number>;
  messages: SeededMessage[];
}

/** Contents of `<lab>/lab.json`. */
export interface LabInfo {
  version: 1;
  dir: string;
  repo: string;
  portOffset: number;
  createdAt: string;
  trusted: {
    user: string;
    password: string;
    /** File holding only the password (mode 0600). */
    passwordFile: string;
    /** `LOGIN <mailbox><separator><trusted user>` impersonates. */
    separator: string;
  };
  tls: { caFile: string; certFile: string; keyFile: string; serverName: string };
  imap: Record<LabSide, LabImapServer>;
  /** Cyrus IMAP, seeded like production (issue 16). */
  cyrus: LabCyrusServer;
  /** A second, empty Cyrus as backup MSS (Cyrus → Cyrus), with a `maxmessagesize`. */
  cyrusBackup: LabCyrusServer;
  ldap: Record<LabSide, LabLdapServer>;
  smtp: LabSmtpServer;
  /** The 12 production subscribers (Dovecot logins exist on both sides). */
  mailboxes: LabSubscriber[];
  /** Folders seeded on production; the greetings folder is one of them. */
  folders: string[];
  greetingsFolder: string;
  /** Header of broadcast messages (value matches exactly). */
  broadcast: { header: string; value: string };
  /** The over-length message (for limits.maxMessageSeconds). */
  longMessage: { mailbox: string; folder: string; seconds: number; messageId: string };
  /** What production holds after seeding, per mailbox number. */
  seeded: Record<string, SeededMailbox>;
  /** Generated audio files (absolute paths). */
  audio: { gsm: string; mulaw: string; alaw: string; long: string };
  /** vmirror config files for the lab. */
  configs: { imap: string; files: string };
  /** Root of the file-store target used by `vmirror-files.json`. */
  fileStoreRoot: string;
}

/** Options shared by the lab's lifecycle functions. */
export interface LabOptions {
  /** Lab directory; default env `VMIRROR_LAB_DIR` or `<repo>/.lab`. */
  dir?: string;
  /** Port offset; default env `VMIRROR_LAB_PORT_OFFSET` or 0. */
  portOffset?: number;
  /** Progress lines go here; default: stderr. Pass `() => {}` to silence. */
  log?: (line: string) => void;
}

/** Up/down of one lab server. */
export interface LabServerStatus {
  name: string;
  port: number;
  pid?: number;
  up: boolean;
}
