/**
 * The configuration file's zod schema — the one place that says which key does what — and the
 * resolved types derived from it.
 * @module
 */
import { z } from "zod";
import { parseShard, type Shard } from "./shard.ts";
import type { CompiledBroadcastRule } from "../voicemail/mod.ts";

// A missing key and a wrong type get different messages: "required" tells the operator more.
function expected(what: string) {
  return (iss: { input?: unknown }) =>
    // The value itself is never echoed: it may be a password typed into the wrong key.
    iss.input === undefined ? "required" : `expected ${what}, got ${kindOf(iss.input)}`;
}

const port = z.number({ error: expected("a port number") }).int("expected a whole number")
  .min(1, "expected a port from 1 to 65535").max(65535, "expected a port from 1 to 65535");
const nonEmpty = z.string({ error: expected("a string") }).min(1, "must not be empty");
/** The log levels, lowest first. */
export const logLevelSchema = z.enum(["debug", "info", "warn", "error"], {
  error: 'expected "debug", "info", "warn" or "error"',
});
const tlsMode = z.enum(["none", "starttls", "tls"], {
  error: 'expected "none", "starttls" or "tls"',
});

const imapEndpoint = {
  name: nonEmpty.optional(),
  host: nonEmpty,
  port: port.optional(),
  tls: tlsMode.default("starttls"),
  caFile: nonEmpty.optional(),
  trustedUser: z.string({ error: expected("a string") }).min(1, "must not be empty").max(
    64,
    "must be at most 64 characters",
  ),
  trustedPassword: nonEmpty.optional(),
  trustedPasswordFile: nonEmpty.optional(),
  impersonation: z.enum(["authzid", "separator"], {
    error: 'expected "authzid" or "separator"',
  }).default("authzid"),
  separator: nonEmpty.default("*"),
  connectTimeoutSeconds: z.number().positive().default(30),
  /** Deadline for one command's answer (and for each chunk of a literal, scaled by its size). */
  commandTimeoutSeconds: z.number().positive().default(60),
};

const folderName = nonEmpty.refine(
  (f) => !/[\r\n\0]/.test(f),
  "must not contain control characters",
);

const sourceSchema = z.strictObject({
  ...imapEndpoint,
  folders: z.array(folderName).min(1, "must list at least one folder").default(["INBOX"]),
  greetingsFolder: folderName.optional(),
});

const imapTargetSchema = z.strictObject({ type: z.literal("imap"), ...imapEndpoint });

const filesTargetSchema = z.strictObject({
  type: z.literal("files"),
  name: nonEmpty.optional(),
  root: nonEmpty,
  onDelete: z.enum(["remove", "move"], { error: 'expected "remove" or "move"' }).default(
    "remove",
  ),
  retentionDays: z.number().int().min(0).default(30),
  createRoot: z.boolean().default(true),
});

const targetSchema = z.discriminatedUnion("type", [imapTargetSchema, filesTargetSchema], {
  error: 'expected "type": "imap" or "type": "files"',
});

const ldapEndpoint = z.strictObject({
  url: nonEmpty.refine(
    (u) => /^ldaps?:\/\/[^/]+\/?$/i.test(u),
    "expected ldap://host:port or ldaps://host:port",
  ),
  bindDn: nonEmpty,
  bindPassword: nonEmpty.optional(),
  bindPasswordFile: nonEmpty.optional(),
  baseDn: nonEmpty,
  filter: nonEmpty.default("(objectClass=*)"),
  startTls: z.boolean().default(false),
  caFile: nonEmpty.optional(),
  pageSize: z.number().int().min(1).max(10000).default(500),
  timeoutSeconds: z.number().positive().default(30),
});

const attributesSchema = z.strictObject({
  mailbox: nonEmpty.default("vmMailboxNumber"),
  name: nonEmpty.default("displayName"),
  email: nonEmpty.default("mail"),
  classOfService: nonEmpty.default("vmClassOfService"),
  recordedName: nonEmpty.default("vmRecordedName"),
  pin: nonEmpty.default("vmPin"),
});

const ldapSchema = z.strictObject({
  source: ldapEndpoint,
  target: ldapEndpoint.optional(),
  attributes: attributesSchema.default(attributesSchema.parse({})),
  classesOfService: z.array(nonEmpty).optional(),
  orphanGraceDays: z.number().min(0).default(7),
  provisionMissing: z.boolean().default(false),
});

const smtpSchema = z.strictObject({
  host: nonEmpty,
  port: port.default(25),
  secure: z.boolean().default(false),
  requireTls: z.boolean().default(false),
  caFile: nonEmpty.optional(),
  user: nonEmpty.optional(),
  password: nonEmpty.optional(),
  passwordFile: nonEmpty.optional(),
  from: nonEmpty.refine((a) => /^[^\s@<>]+@[^\s@<>]+$/.test(a), "expected an e-mail address"),
  /** Deadline for the connection, the greeting and each quiet spell of the exchange. */
  timeoutSeconds: z.number().positive().default(30),
});

const listen = nonEmpty.refine(
  (v) => /^(\[[0-9a-f:.]+\]|[^:\s]+):\d{1,5}$/i.test(v) && Number(v.split(":").pop()) <= 65535,
  'expected "host:port", e.g. "127.0.0.1:8080"',
);

const portalSchema = z.strictObject({
  listen: listen.default("127.0.0.1:8080"),
  sessionMinutes: z.number().int().min(1).max(24 * 60).default(30),
  pinCheck: z.enum(["imap", "ldap"], { error: 'expected "imap" or "ldap"' }).default("imap"),
  tlsCertFile: nonEmpty.optional(),
  tlsKeyFile: nonEmpty.optional(),
  adminUser: nonEmpty.default("admin"),
  adminPasswordFile: nonEmpty.optional(),
  /**
   * Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR blocks); from any
   * other peer the header is ignored, since anyone can send it.
   */
  trustedProxies: z.array(
    nonEmpty.refine(isAddressOrCidr, "expected an IP address or CIDR block, e.g. 10.0.0.0/8"),
  ).default([]),
  /** Whether private messages may be downloaded (never forwarded); off: refused server-side. */
  privateDownload: z.boolean().default(false),
  /** Host headers the portal answers (DNS-rebinding guard); empty: any. */
  allowedHosts: z.array(nonEmpty).default([]),
  /** The portal's address as users reach it; its host is allowed too. */
  publicUrl: nonEmpty.refine(
    (u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol),
    'expected an http(s) URL, e.g. "https://voicemail.example.com"',
  ).optional(),
});

const scheduleSchema = z.strictObject({
  syncSeconds: z.number().min(1).default(60),
  directoryHours: z.number().positive().default(6),
  idle: z.boolean().default(true),
  idleMailboxes: z.number().int().min(0).max(1000).default(20),
});

// The defaults hold a pass that would empty most of a mailbox's mirror (> 50 % and > 10
// messages) or take more than 5 % (and > 10 messages) of the whole mirror at once: a production
// accident looks like that, a subscriber deleting old voicemail does not.
const deleteGuardSchema = z.strictObject({
  enabled: z.boolean().default(true),
  mailboxShare: z.number().min(0).max(1).default(0.5),
  mailboxMinMessages: z.number().int().min(0).default(10),
  totalShare: z.number().min(0).max(1).default(0.05),
  totalMinMessages: z.number().int().min(0).default(10),
  holdHours: z.number().min(0).default(24),
});

const limitsSchema = z.strictObject({
  maxMessageSeconds: z.number().positive().nullable().default(null),
  maxMessageBytes: z.number().int().positive().nullable().default(null),
  concurrency: z.number().int().min(1).max(64).default(4),
  retries: z.number().int().min(0).max(20).default(3),
  // Sessions kept open between passes (logins saved, NOTIFY pushes): a message store caps the
  // concurrent sessions it takes, so this stays well below its limit by default.
  persistentSessions: z.number().int().min(0).max(100000).default(200),
  deleteGuard: deleteGuardSchema.default(deleteGuardSchema.parse({})),
});

const broadcastRule = z.strictObject({
  header: nonEmpty.refine((h) => /^[!-9;-~]+$/.test(h), "expected a header field name"),
  pattern: z.string().refine((p) => {
    try {
      new RegExp(p, "i");
      return true;
    } catch {
      return false;
    }
  }, "is not a valid regular expression"),
});

const rulesSchema = z.strictObject({ broadcast: z.array(broadcastRule).default([]) });

const emailAddress = nonEmpty.refine(
  (a) => /^[^\s@<>]+@[^\s@<>]+$/.test(a),
  "expected an e-mail address",
);

// Alert mails: one when a condition starts, one when it clears (see engine/alerts).
const alertsSchema = z.strictObject({
  /** Who gets alert mails (through `smtp`); none: alerts show on the dashboard only. */
  to: z.array(emailAddress).default([]),
  /** A mailbox failing this many passes in a row raises an alert. */
  failedPasses: z.number().int().min(1).default(3),
  /** A server unreachable this long raises an alert. */
  unreachableMinutes: z.number().positive().default(10),
  /** Free space under this share of the file store's or the data directory's disk. */
  diskFreePercent: z.number().min(0).max(100).default(10),
  /** A configured server's TLS certificate expiring within this many days. */
  certificateDays: z.number().int().min(1).default(30),
  /** How often servers are checked for the dashboard, /readyz and alerts. */
  checkSeconds: z.number().int().min(10).default(60),
});

const auditSchema = z.strictObject({
  /** Audit entries older than this are removed. */
  retentionDays: z.number().int().min(1).default(365),
});

/** The file's schema; every section but source and target has defaults. */
export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  source: sourceSchema.optional(),
  target: targetSchema.optional(),
  ldap: ldapSchema.optional(),
  smtp: smtpSchema.optional(),
  portal: portalSchema.default(portalSchema.parse({})),
  schedule: scheduleSchema.default(scheduleSchema.parse({})),
  limits: limitsSchema.default(limitsSchema.parse({})),
  rules: rulesSchema.default(rulesSchema.parse({})),
  alerts: alertsSchema.default(alertsSchema.parse({})),
  audit: auditSchema.default(auditSchema.parse({})),
  /** The lowest log level written; VMIRROR_LOG_LEVEL overrides it. */
  logLevel: logLevelSchema.default("info"),
  /** The time zone every page shows dates in (IANA name); default: the server's own. */
  timeZone: nonEmpty.refine(isTimeZone, 'expected an IANA time zone, e.g. "Europe/Berlin"')
    .optional(),
  /** This appliance's share of a site split between several ("i/n"); default the whole site. */
  shard: z.string().refine(
    (s) => parseShard(s) !== null,
    'expected "i/n" with 1 ≤ i ≤ n, e.g. "2/3"',
  )
    .optional(),
});

/** The file's content after validation, defaults applied (paths and secrets not resolved). */
export type ParsedConfig = z.output<typeof configSchema>;

/** How vmirror reaches one IMAP server as the trusted server (password and CA resolved). */
export type ImapEndpoint =
  & Omit<
    z.output<typeof imapTargetSchema>,
    "type" | "name" | "port" | "trustedPassword" | "trustedPasswordFile"
  >
  & {
    name: string;
    port: number;
    trustedPassword: string;
    /** The PEM text of `caFile`, read once at load. */
    ca?: string;
  };

/** The production side. */
export type SourceConfig =
  & ImapEndpoint
  & Pick<z.output<typeof sourceSchema>, "folders" | "greetingsFolder">;

/** A backup MSS reached over IMAP. */
export type ImapTargetConfig = ImapEndpoint & { type: "imap" };

/** A file store on a local disk or a mounted share (root resolved). */
export type FilesTargetConfig = Omit<z.output<typeof filesTargetSchema>, "name"> & {
  name: string;
};

/** One LDAP directory (password and CA resolved). */
export type LdapEndpoint =
  & Omit<z.output<typeof ldapEndpoint>, "bindPassword" | "bindPasswordFile">
  & {
    bindPassword: string;
    /** The PEM text of `caFile`, read once at load. */
    ca?: string;
  };

/** Directory sync settings. */
export type LdapConfig = Omit<z.output<typeof ldapSchema>, "source" | "target"> & {
  source: LdapEndpoint;
  target?: LdapEndpoint;
};

/** The SMTP relay (password and CA resolved). */
export type SmtpConfig = Omit<z.output<typeof smtpSchema>, "passwordFile"> & {
  /** The PEM text of `caFile`, read once at load. */
  ca?: string;
};

/** The portal's settings (paths resolved, the TLS certificate and key read once at load). */
export type PortalConfig = ParsedConfig["portal"] & {
  tls?: { cert: string; key: string };
};

/** The resolved configuration every part of the appliance reads. */
export type Config =
  & Pick<ParsedConfig, "schedule" | "limits" | "logLevel" | "alerts" | "audit">
  & {
    /** The time zone of every date shown (the configured one, else the server's). */
    timeZone: string;
    /** This appliance's shard of the site, or null when it mirrors the whole site. */
    shard: Shard | null;
    /** The broadcast rules as written, and compiled once at load. */
    rules: ParsedConfig["rules"] & { compiled: CompiledBroadcastRule[] };
    /** The file it came from, or null for the embedded defaults. */
    file: string | null;
    dataDir: string;
    source?: SourceConfig;
    target?: ImapTargetConfig | FilesTargetConfig;
    ldap?: LdapConfig;
    smtp?: SmtpConfig;
    portal: PortalConfig;
  };

/** Whether `name` is a time zone this runtime knows. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Whether `text` is an IPv4/IPv6 address or a CIDR block of one. */
export function isAddressOrCidr(text: string): boolean {
  const [addr, bits, extra] = text.split("/");
  if (extra !== undefined) return false;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  const max = v4 ? 32 : 128;
  if (v4) {
    if (v4.slice(1).some((o) => Number(o) > 255)) return false;
  } else if (!/^[0-9a-f:.]+$/i.test(addr) || !addr.includes(":")) {
    return false;
  }
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max);
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}
