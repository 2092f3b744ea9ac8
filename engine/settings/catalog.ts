/**
 * Every setting the admin console can change, grouped in the sections of its pages: label,
 * one-line help, the kind of input, and the default read from the config schema (so the two
 * cannot drift apart).
 * @module
 */
import { configSchema } from "../config/mod.ts";

/** How a setting is entered. */
export type FieldKind =
  | "text"
  | "number"
  | "boolean"
  | "select"
  | "secret"
  | "list"
  | "rules"
  | "nullable-number";

/** One value of a select. */
export interface FieldOption {
  value: string;
  label: string;
}

/** One setting the browser can set. */
export interface SettingsField {
  /** Dotted path in the file's shape, e.g. "source.port". */
  path: string;
  label: string;
  help: string;
  kind: FieldKind;
  options?: FieldOption[];
  /** Empty is allowed: the key is removed and its default (if any) applies. */
  optional?: boolean;
  /** For the target: the target type the field belongs to. */
  variant?: TargetType;
  /** The schema's default, when it has one. */
  default?: unknown;
}

/** A fieldset of a section's page. */
export interface SettingsGroup {
  title: string;
  help?: string;
  /** For the target: the target type the whole group belongs to. */
  variant?: TargetType;
  fields: SettingsField[];
}

/**
 * An optional part of the settings that a form turns off: when every one of `when` is posted
 * empty, `path` is removed instead of saving empty required values.
 */
export interface SettingsRemoval {
  path: string;
  when: string[];
}

/** The ids of the sections, as used in URLs. */
export type SectionId =
  | "source"
  | "target"
  | "ldap"
  | "smtp"
  | "schedule"
  | "limits"
  | "rules"
  | "portal"
  | "alerts"
  | "general";

/** The target types a form can choose. */
export type TargetType = "imap" | "files";

/** One page of settings. */
export interface SettingsSection {
  id: SectionId;
  title: string;
  help: string;
  groups: SettingsGroup[];
  removals?: SettingsRemoval[];
}

/** Schema keys deliberately not offered in the browser, and why. */
export const EXCLUDED_PATHS: Record<string, string> = {
  "$schema": "editor hint only",
  "source.trustedPasswordFile": "a file on the server: set it in the configuration file",
  "target.trustedPasswordFile": "a file on the server: set it in the configuration file",
  "ldap.source.bindPasswordFile": "a file on the server: set it in the configuration file",
  "ldap.target.bindPasswordFile": "a file on the server: set it in the configuration file",
  "smtp.passwordFile": "a file on the server: set it in the configuration file",
  // The admin's own password: changing it from a session that could be stolen is not offered.
  "portal.adminPasswordFile": "the administrator's password file",
};

/** Whether a key holds a secret (the *File twins hold paths, not secrets). */
export function isSecretKey(key: string): boolean {
  return /password/i.test(key) && !/File$/.test(key);
}

type Spec = Omit<SettingsField, "path" | "default"> & { key: string };

const TLS_OPTIONS: FieldOption[] = [
  { value: "tls", label: "TLS (port 993)" },
  { value: "starttls", label: "STARTTLS (port 143)" },
  { value: "none", label: "None (unencrypted)" },
];

function imapServerSpecs(side: "production" | "backup"): Spec[] {
  return [
    {
      key: "name",
      label: "Display name",
      help: `How the ${side} server is named in logs and pages; default: host:port.`,
      kind: "text",
      optional: true,
    },
    {
      key: "host",
      label: "Host",
      help: `Host name or address of the ${side} MSS.`,
      kind: "text",
    },
    {
      key: "port",
      label: "Port",
      help: "Empty: 993 with TLS, 143 otherwise.",
      kind: "number",
      optional: true,
    },
    { key: "tls", label: "Encryption", help: "How the connection is protected.", kind: "select" },
    {
      key: "caFile",
      label: "CA certificate file",
      help: "PEM file on this server that signs the MSS's certificate; empty: the system's CAs.",
      kind: "text",
      optional: true,
    },
  ];
}

const TRUSTED_LOGIN: Spec[] = [
  {
    key: "trustedUser",
    label: "Trusted server name",
    help: "The trusted server's login name on the MSS (case-sensitive).",
    kind: "text",
  },
  {
    key: "trustedPassword",
    label: "Trusted server password",
    help: "The trusted server's password; leave empty to keep the current one.",
    kind: "secret",
  },
  {
    key: "impersonation",
    label: "Impersonation",
    help: "How the trusted server logs in as a mailbox.",
    kind: "select",
    options: [
      { value: "authzid", label: "SASL PLAIN, authorization id" },
      { value: "separator", label: "LOGIN with a separator" },
    ],
  },
  {
    key: "separator",
    label: "Separator",
    help: 'Between mailbox and trusted name for the separator login, e.g. "*".',
    kind: "text",
    optional: true,
  },
];

const TIMEOUTS: Spec[] = [
  {
    key: "connectTimeoutSeconds",
    label: "Connect timeout (seconds)",
    help: "How long to wait for the connection and greeting.",
    kind: "number",
    optional: true,
  },
  {
    key: "commandTimeoutSeconds",
    label: "Command timeout (seconds)",
    help: "How long to wait for one command's answer.",
    kind: "number",
    optional: true,
  },
];

function ldapEndpointSpecs(side: "production" | "backup"): Spec[] {
  return [
    {
      key: "url",
      label: "URL",
      help: `ldap://host:port or ldaps://host:port of the ${side} directory.`,
      kind: "text",
    },
    {
      key: "bindDn",
      label: "Bind DN",
      help: "The DN the trusted server binds as.",
      kind: "text",
    },
    {
      key: "bindPassword",
      label: "Bind password",
      help: "Leave empty to keep the current one.",
      kind: "secret",
    },
    {
      key: "baseDn",
      label: "Base DN",
      help: "Where subscribers' entries are searched.",
      kind: "text",
    },
    {
      key: "filter",
      label: "Filter",
      help: "LDAP filter that selects subscribers' entries.",
      kind: "text",
      optional: true,
    },
    {
      key: "startTls",
      label: "Use STARTTLS",
      help: "Upgrade an ldap:// connection to TLS.",
      kind: "boolean",
    },
    {
      key: "caFile",
      label: "CA certificate file",
      help: "PEM file on this server that signs the directory's certificate.",
      kind: "text",
      optional: true,
    },
    {
      key: "pageSize",
      label: "Page size",
      help: "Entries per paged search result (1 to 10000).",
      kind: "number",
      optional: true,
    },
    {
      key: "timeoutSeconds",
      label: "Timeout (seconds)",
      help: "How long to wait for one directory operation.",
      kind: "number",
      optional: true,
    },
  ];
}

interface GroupSpec {
  title: string;
  help?: string;
  variant?: TargetType;
  prefix: string;
  specs: Spec[];
}

interface SectionSpec {
  id: SectionId;
  title: string;
  help: string;
  groups: GroupSpec[];
  removals?: SettingsRemoval[];
}

const SPECS: SectionSpec[] = [
  {
    id: "source",
    title: "Production MSS",
    help: "The voicemail server mirrored from; it is only read, never changed.",
    groups: [
      { title: "Server", prefix: "source", specs: imapServerSpecs("production") },
      { title: "Trusted server login", prefix: "source", specs: TRUSTED_LOGIN },
      {
        title: "Folders",
        prefix: "source",
        specs: [
          {
            key: "folders",
            label: "Folders to mirror",
            help: "One IMAP folder per line; empty: INBOX.",
            kind: "list",
            optional: true,
          },
          {
            key: "greetingsFolder",
            label: "Greetings folder",
            help: "The folder holding greetings, if the MSS exposes one; mirrored too.",
            kind: "text",
            optional: true,
          },
        ],
      },
      { title: "Timeouts", prefix: "source", specs: TIMEOUTS },
    ],
  },
  {
    id: "target",
    title: "Backup",
    help: "Where the mirror is kept: a backup MSS over IMAP, or files on a disk or share.",
    groups: [
      {
        title: "Kind of backup",
        prefix: "target",
        specs: [
          {
            key: "type",
            label: "Backup type",
            help: "Only the fields of the chosen type are saved.",
            kind: "select",
            options: [
              { value: "imap", label: "Backup MSS (IMAP)" },
              { value: "files", label: "Files on a disk or share" },
            ],
          },
          {
            key: "name",
            label: "Display name",
            help: "How the backup is named in logs and pages.",
            kind: "text",
            optional: true,
          },
        ],
      },
      {
        title: "Backup MSS (IMAP)",
        help: "Used when the backup type is IMAP.",
        variant: "imap",
        prefix: "target",
        specs: [
          ...imapServerSpecs("backup").filter((s) => s.key !== "name"),
          ...TRUSTED_LOGIN,
          ...TIMEOUTS,
        ],
      },
      {
        title: "File store",
        help: "Used when the backup type is files.",
        variant: "files",
        prefix: "target",
        specs: [
          {
            key: "root",
            label: "Folder",
            help: "The folder the mirror is written to (relative: to the configuration file).",
            kind: "text",
          },
          {
            key: "onDelete",
            label: "When a message is deleted",
            help: "What happens to its file when production deletes a message.",
            kind: "select",
            options: [
              { value: "remove", label: "Remove the file" },
              { value: "move", label: "Move it to the deleted folder" },
            ],
          },
          {
            key: "retentionDays",
            label: "Keep deleted files (days)",
            help: "How long moved files are kept before they are removed.",
            kind: "number",
            optional: true,
          },
          {
            key: "createRoot",
            label: "Create the folder if missing",
            help: "Off: a missing folder (an unmounted share) stops the mirror.",
            kind: "boolean",
          },
        ],
      },
    ],
  },
  {
    id: "ldap",
    title: "Directory",
    help: "Subscribers, names and PINs read from the production directory.",
    groups: [
      {
        title: "Production directory",
        help: "Leave URL, bind DN and base DN empty to turn directory sync off.",
        prefix: "ldap.source",
        specs: ldapEndpointSpecs("production"),
      },
      {
        title: "Backup directory",
        help: "Optional; leave URL, bind DN and base DN empty for none.",
        prefix: "ldap.target",
        specs: ldapEndpointSpecs("backup"),
      },
      {
        title: "Attributes",
        help: "The names of the directory attributes that hold each value.",
        prefix: "ldap.attributes",
        specs: [
          { key: "mailbox", label: "Mailbox number", help: "Attribute name.", kind: "text" },
          { key: "name", label: "Name", help: "Attribute name.", kind: "text" },
          { key: "email", label: "E-mail", help: "Attribute name.", kind: "text" },
          {
            key: "classOfService",
            label: "Class of service",
            help: "Attribute name.",
            kind: "text",
          },
          {
            key: "recordedName",
            label: "Recorded name",
            help: "Attribute name (binary audio).",
            kind: "text",
          },
          { key: "pin", label: "PIN", help: "Attribute name.", kind: "text" },
        ].map((s) => ({ ...s, kind: "text" as const, optional: true })),
      },
      {
        title: "Subscribers",
        prefix: "ldap",
        specs: [
          {
            key: "classesOfService",
            label: "Classes of service to mirror",
            help: "One per line; empty: every subscriber.",
            kind: "list",
            optional: true,
          },
          {
            key: "orphanGraceDays",
            label: "Grace for removed subscribers (days)",
            help: "How long a mailbox gone from the directory keeps its mirror.",
            kind: "number",
            optional: true,
          },
          {
            key: "provisionMissing",
            label: "Create missing backup entries",
            help: "Add subscribers missing from the backup directory.",
            kind: "boolean",
          },
        ],
      },
    ],
    removals: [
      { path: "ldap", when: ["ldap.source.url", "ldap.source.bindDn", "ldap.source.baseDn"] },
      {
        path: "ldap.target",
        when: ["ldap.target.url", "ldap.target.bindDn", "ldap.target.baseDn"],
      },
    ],
  },
  {
    id: "smtp",
    title: "Mail relay",
    help: "The SMTP relay that sends forwarded voicemail and alerts.",
    groups: [
      {
        title: "Relay",
        help: "Leave host and sender empty to send no mail.",
        prefix: "smtp",
        specs: [
          { key: "host", label: "Host", help: "Host name or address of the relay.", kind: "text" },
          { key: "port", label: "Port", help: "Usually 25, 587 or 465.", kind: "number" },
          {
            key: "secure",
            label: "TLS from the start",
            help: "On for port 465; off for STARTTLS or plain.",
            kind: "boolean",
          },
          {
            key: "requireTls",
            label: "Require STARTTLS",
            help: "Refuse to send when the relay does not offer STARTTLS.",
            kind: "boolean",
          },
          {
            key: "caFile",
            label: "CA certificate file",
            help: "PEM file on this server that signs the relay's certificate.",
            kind: "text",
            optional: true,
          },
          {
            key: "user",
            label: "User name",
            help: "Empty: send without logging in.",
            kind: "text",
            optional: true,
          },
          {
            key: "password",
            label: "Password",
            help: "Leave empty to keep the current one.",
            kind: "secret",
            optional: true,
          },
          {
            key: "from",
            label: "Sender address",
            help: "The From address of what the appliance sends.",
            kind: "text",
          },
          {
            key: "timeoutSeconds",
            label: "Timeout (seconds)",
            help: "How long to wait for the relay.",
            kind: "number",
            optional: true,
          },
        ],
      },
    ],
    removals: [{ path: "smtp", when: ["smtp.host", "smtp.from"] }],
  },
  {
    id: "schedule",
    title: "Schedule",
    help: "How often the mirror looks for changes.",
    groups: [
      {
        title: "Schedule",
        prefix: "schedule",
        specs: [
          {
            key: "syncSeconds",
            label: "Sync every (seconds)",
            help: "Pause between passes over all mailboxes.",
            kind: "number",
            optional: true,
          },
          {
            key: "directoryHours",
            label: "Directory sync every (hours)",
            help: "Pause between directory syncs.",
            kind: "number",
            optional: true,
          },
          {
            key: "idle",
            label: "Watch busy mailboxes (IDLE)",
            help: "Copy new voicemail of busy mailboxes within seconds.",
            kind: "boolean",
          },
          {
            key: "idleMailboxes",
            label: "Mailboxes watched",
            help: "How many of the busiest mailboxes are watched with IDLE.",
            kind: "number",
            optional: true,
          },
        ],
      },
    ],
  },
  {
    id: "limits",
    title: "Limits",
    help: "Message size caps, parallelism, retries and the mass-deletion guard.",
    groups: [
      {
        title: "Limits",
        prefix: "limits",
        specs: [
          {
            key: "maxMessageSeconds",
            label: "Longest message (seconds)",
            help: "Longer messages get a placeholder; empty: no limit.",
            kind: "nullable-number",
            optional: true,
          },
          {
            key: "maxMessageBytes",
            label: "Largest message (bytes)",
            help: "Larger messages get a placeholder; empty: no limit.",
            kind: "nullable-number",
            optional: true,
          },
          {
            key: "concurrency",
            label: "Mailboxes at a time",
            help: "How many mailboxes are mirrored in parallel (1 to 64).",
            kind: "number",
            optional: true,
          },
          {
            key: "retries",
            label: "Retries",
            help: "How often a failed mailbox is tried again in one pass.",
            kind: "number",
            optional: true,
          },
          {
            key: "persistentSessions",
            label: "Sessions kept open",
            help:
              "Production sessions kept open between passes: no login per pass, and changes reported at once where the server offers NOTIFY. Keep it below the message store's session limit; 0: a login per mailbox and pass.",
            kind: "number",
            optional: true,
          },
        ],
      },
      {
        title: "Mass-deletion guard",
        help: "Holds back deletions that look like a production accident.",
        prefix: "limits.deleteGuard",
        specs: [
          {
            key: "enabled",
            label: "Guard on",
            help: "Hold deletions beyond the shares below.",
            kind: "boolean",
          },
          {
            key: "mailboxShare",
            label: "Share of one mailbox",
            help: "0 to 1: a pass deleting more of a mailbox's mirror is held.",
            kind: "number",
            optional: true,
          },
          {
            key: "mailboxMinMessages",
            label: "Minimum messages in one mailbox",
            help: "Fewer deletions than this are never held.",
            kind: "number",
            optional: true,
          },
          {
            key: "totalShare",
            label: "Share of the whole mirror",
            help: "0 to 1: a pass deleting more of the whole mirror is held.",
            kind: "number",
            optional: true,
          },
          {
            key: "totalMinMessages",
            label: "Minimum messages in the whole mirror",
            help: "Fewer deletions than this are never held.",
            kind: "number",
            optional: true,
          },
          {
            key: "holdHours",
            label: "Hold for (hours)",
            help: "Held deletions are applied after this long.",
            kind: "number",
            optional: true,
          },
        ],
      },
    ],
  },
  {
    id: "rules",
    title: "Broadcast rules",
    help: "Messages matching a rule (header and pattern) are not mirrored.",
    groups: [
      {
        title: "Broadcast rules",
        prefix: "rules",
        specs: [
          {
            key: "broadcast",
            label: "Rules",
            help: "A header name and a regular expression (case-insensitive) per rule; " +
              "empty both to remove a rule.",
            kind: "rules",
            optional: true,
          },
        ],
      },
    ],
  },
  {
    id: "portal",
    title: "Portal",
    help: "This web portal: address, sessions, subscriber sign-in.",
    groups: [
      {
        title: "Portal",
        prefix: "portal",
        specs: [
          {
            key: "listen",
            label: "Listen address",
            help: 'host:port, e.g. "0.0.0.0:8443"; takes effect after a restart.',
            kind: "text",
            optional: true,
          },
          {
            key: "sessionMinutes",
            label: "Session length (minutes)",
            help: "Idle sign-ins end after this long.",
            kind: "number",
            optional: true,
          },
          {
            key: "pinCheck",
            label: "Subscriber PIN check",
            help: "Where a subscriber's PIN is checked.",
            kind: "select",
            options: [
              { value: "imap", label: "Log in to the production MSS" },
              { value: "ldap", label: "Compare with the directory" },
            ],
          },
          {
            key: "tlsCertFile",
            label: "TLS certificate file",
            help: "PEM certificate for HTTPS; takes effect after a restart.",
            kind: "text",
            optional: true,
          },
          {
            key: "tlsKeyFile",
            label: "TLS key file",
            help: "PEM private key for HTTPS; takes effect after a restart.",
            kind: "text",
            optional: true,
          },
          {
            key: "trustedProxies",
            label: "Trusted reverse proxies",
            help: "One address or CIDR block per line whose X-Forwarded-For is believed.",
            kind: "list",
            optional: true,
          },
          {
            key: "adminUser",
            label: "Administrator user name",
            help: "The name the administrator signs in with.",
            kind: "text",
            optional: true,
          },
          {
            key: "publicUrl",
            label: "Public address",
            help: 'The address subscribers open, e.g. "https://voicemail.example.com".',
            kind: "text",
            optional: true,
          },
          {
            key: "allowedHosts",
            label: "Allowed host names",
            help: "One per line; other Host headers are refused. Empty: any host.",
            kind: "list",
            optional: true,
          },
          {
            key: "privateDownload",
            label: "Allow downloading private messages",
            help: "Off: private messages play in the browser but cannot be downloaded.",
            kind: "boolean",
          },
        ],
      },
    ],
  },
  {
    id: "alerts",
    title: "Alerts",
    help: "Who is told by e-mail when the mirror stops working, and when.",
    groups: [
      {
        title: "Alert mails",
        prefix: "alerts",
        specs: [
          {
            key: "to",
            label: "Send alerts to",
            help:
              "One e-mail address per line (sent through the mail relay); empty: dashboard only.",
            kind: "list",
            optional: true,
          },
          {
            key: "failedPasses",
            label: "Failed passes in a row",
            help: "A mailbox failing this many passes in a row raises an alert.",
            kind: "number",
            optional: true,
          },
          {
            key: "unreachableMinutes",
            label: "Server unreachable for (minutes)",
            help: "A server down this long raises an alert.",
            kind: "number",
            optional: true,
          },
          {
            key: "diskFreePercent",
            label: "Free disk under (%)",
            help: "For the file store and the data directory.",
            kind: "number",
            optional: true,
          },
          {
            key: "certificateDays",
            label: "Certificate expiring within (days)",
            help: "For the TLS certificates of the configured servers.",
            kind: "number",
            optional: true,
          },
          {
            key: "checkSeconds",
            label: "Check servers every (seconds)",
            help: "For the dashboard, /readyz and the alerts.",
            kind: "number",
            optional: true,
          },
        ],
      },
      {
        title: "Audit log",
        prefix: "audit",
        specs: [
          {
            key: "retentionDays",
            label: "Keep audit entries for (days)",
            help: "Older entries are removed.",
            kind: "number",
            optional: true,
          },
        ],
      },
    ],
  },
  {
    id: "general",
    title: "General",
    help: "Time zone of the pages and the log level.",
    groups: [
      {
        title: "General",
        prefix: "",
        specs: [
          {
            key: "timeZone",
            label: "Time zone",
            help: 'IANA name, e.g. "Europe/Berlin"; empty: the server\'s own.',
            kind: "text",
            optional: true,
          },
          {
            key: "shard",
            label: "Shard of the site",
            help:
              'On a site split between several appliances, "i/n": this is the i-th of n and mirrors the mailboxes whose number hashes to it (each appliance with its own data directory). Empty: the whole site.',
            kind: "text",
            optional: true,
          },
          {
            key: "logLevel",
            label: "Log level",
            help: "The lowest level written to the log.",
            kind: "select",
            options: ["debug", "info", "warn", "error"].map((v) => ({ value: v, label: v })),
          },
        ],
      },
    ],
  },
];

/** The section with this id, or undefined. */
export function findSection(id: string): SettingsSection | undefined {
  return SETTINGS_SECTIONS.find((s) => s.id === id);
}

/** Every field of a section, in page order. */
export function sectionFields(section: SettingsSection): SettingsField[] {
  return section.groups.flatMap((g) => g.fields);
}

/** The field with this path (any section), or undefined. */
export function findField(
  path: string,
): { section: SettingsSection; field: SettingsField } | undefined {
  for (const section of SETTINGS_SECTIONS) {
    const field = sectionFields(section).find((f) => f.path === path);
    if (field) return { section, field };
  }
  return undefined;
}

function buildSection(spec: SectionSpec): SettingsSection {
  return {
    id: spec.id,
    title: spec.title,
    help: spec.help,
    removals: spec.removals,
    groups: spec.groups.map((g) => ({
      title: g.title,
      help: g.help,
      variant: g.variant,
      fields: g.specs.map(({ key, ...rest }) => {
        const path = g.prefix ? `${g.prefix}.${key}` : key;
        const leaf = schemaLeaf(path, g.variant);
        const field: SettingsField = { ...rest, path };
        if (g.variant) field.variant = g.variant;
        if (leaf?.hasDefault) field.default = leaf.default;
        if (field.kind === "select" && !field.options) {
          field.options = path.endsWith(".tls") ? TLS_OPTIONS : undefined;
        }
        return field;
      }),
    })),
  };
}

// --- Walking the zod schema (its internals are typed loosely here on purpose). ---

interface ZodNode {
  _zod: {
    def: {
      type: string;
      innerType?: ZodNode;
      options?: ZodNode[];
      shape?: Record<string, ZodNode>;
      defaultValue?: unknown;
      entries?: Record<string, string>;
      values?: unknown[];
    };
  };
}

/** What the schema says about one leaf key. */
export interface SchemaLeaf {
  path: string;
  /** For keys of the target: the type that has it. */
  variants: TargetType[];
  /** The unwrapped zod type name ("string", "number", "boolean", "enum", "array", …). */
  type: string;
  hasDefault: boolean;
  default?: unknown;
  /** Values of an enum or literal. */
  values?: string[];
}

/** Every leaf key of the config schema (arrays count as leaves), walked from its shape. */
export function schemaLeaves(): SchemaLeaf[] {
  const out: SchemaLeaf[] = [];
  walkSchema(configSchema as unknown as ZodNode, "", undefined, out);
  return out;
}

let leafCache: Map<string, SchemaLeaf> | undefined;

function schemaLeaf(path: string, variant?: TargetType): SchemaLeaf | undefined {
  leafCache ??= new Map();
  if (!leafCache.size) {
    for (const l of schemaLeaves()) {
      for (const v of l.variants.length ? l.variants : [undefined]) {
        leafCache.set(`${v ?? ""}|${l.path}`, l);
      }
    }
  }
  return leafCache.get(`${variant ?? ""}|${path}`) ?? leafCache.get(`imap|${path}`) ??
    leafCache.get(`|${path}`);
}

function walkSchema(
  node: ZodNode,
  path: string,
  variant: TargetType | undefined,
  out: SchemaLeaf[],
): void {
  let n = node;
  let hasDefault = false;
  let dflt: unknown;
  for (;;) {
    const def = n._zod.def;
    if (def.type === "default" && !hasDefault) {
      hasDefault = true;
      dflt = def.defaultValue;
    }
    if (!["default", "optional", "nullable", "prefault"].includes(def.type)) break;
    n = def.innerType!;
  }
  const def = n._zod.def;
  if (def.type === "object") {
    for (const [k, child] of Object.entries(def.shape!)) {
      walkSchema(child, path ? `${path}.${k}` : k, variant, out);
    }
    return;
  }
  if (def.type === "union") {
    for (const option of def.options!) {
      const type = option._zod.def.shape?.type?._zod.def.values?.[0] as TargetType | undefined;
      walkSchema(option, path, type, out);
    }
    return;
  }
  const values = def.type === "enum"
    ? Object.values(def.entries!)
    : def.type === "literal"
    ? def.values!.map(String)
    : undefined;
  const seen = out.find((l) => l.path === path);
  if (seen) {
    if (variant && !seen.variants.includes(variant)) seen.variants.push(variant);
    if (seen.type === "literal" && values) seen.values = [...(seen.values ?? []), ...values];
    return;
  }
  out.push({
    path,
    variants: variant ? [variant] : [],
    type: def.type,
    hasDefault,
    default: dflt,
    values,
  });
}

/** The paths of every secret the schema has (e.g. "smtp.password"). */
export const SECRET_PATHS: readonly string[] = schemaLeaves()
  .map((l) => l.path)
  .filter((p) => isSecretKey(p.split(".").pop()!));

/** The sections, in the order the console lists them. */
export const SETTINGS_SECTIONS: readonly SettingsSection[] = SPECS.map(buildSection);

/** The section ids, in the order the console lists them. */
export const SECTION_IDS: readonly SectionId[] = SETTINGS_SECTIONS.map((s) => s.id);
