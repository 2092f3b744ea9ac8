/**
 * The appliance's configuration: one JSON/JSONC file, validated once at start-up into a typed
 * object. This is the only module that reads the environment.
 * @module
 */
import { z } from "zod";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseJsonc } from "./jsonc.ts";

/** A configuration that cannot be used; the message names the key and what is wrong. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** Builds the error; `problems` lists one line per bad key. */
  constructor(message: string, readonly problems: string[] = [], options?: ErrorOptions) {
    super(problems.length ? `${message}:\n  ${problems.join("\n  ")}` : message, options);
  }
}

// A missing key and a wrong type get different messages: "required" tells the operator more.
function expected(what: string) {
  return (iss: { input?: unknown }) =>
    // The value itself is never echoed: it may be a password typed into the wrong key.
    iss.input === undefined ? "required" : `expected ${what}, got ${kindOf(iss.input)}`;
}

const port = z.number({ error: expected("a port number") }).int("expected a whole number")
  .min(1, "expected a port from 1 to 65535").max(65535, "expected a port from 1 to 65535");
const nonEmpty = z.string({ error: expected("a string") }).min(1, "must not be empty");
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
});

type Parsed = z.infer<typeof configSchema>;
type ParsedSource = NonNullable<Parsed["source"]>;
type ParsedImapTarget = z.infer<typeof imapTargetSchema>;

/** How vmirror reaches one IMAP server as the trusted server (passwords resolved). */
export interface ImapEndpoint {
  name: string;
  host: string;
  port: number;
  tls: "none" | "starttls" | "tls";
  caFile?: string;
  trustedUser: string;
  trustedPassword: string;
  impersonation: "authzid" | "separator";
  separator: string;
  connectTimeoutSeconds: number;
  commandTimeoutSeconds: number;
}

/** The production side. */
export interface SourceConfig extends ImapEndpoint {
  folders: string[];
  greetingsFolder?: string;
}

/** A backup MSS reached over IMAP. */
export interface ImapTargetConfig extends ImapEndpoint {
  type: "imap";
}

/** A file store on a local disk or a mounted share. */
export interface FilesTargetConfig {
  type: "files";
  name: string;
  root: string;
  onDelete: "remove" | "move";
  retentionDays: number;
  /** Create the root (one level) when missing; false for a share that must be mounted. */
  createRoot: boolean;
}

/** One LDAP directory (passwords resolved). */
export type LdapEndpoint = Omit<z.infer<typeof ldapEndpoint>, "bindPasswordFile"> & {
  bindPassword: string;
};

/** Directory sync settings. */
export type LdapConfig = Omit<z.infer<typeof ldapSchema>, "source" | "target"> & {
  source: LdapEndpoint;
  target?: LdapEndpoint;
};

/** The SMTP relay (password resolved). */
export type SmtpConfig = Omit<z.infer<typeof smtpSchema>, "passwordFile">;

/** The resolved configuration every part of the appliance reads. */
export interface Config {
  /** The file it came from, or null for the embedded defaults. */
  file: string | null;
  dataDir: string;
  source?: SourceConfig;
  target?: ImapTargetConfig | FilesTargetConfig;
  ldap?: LdapConfig;
  smtp?: SmtpConfig;
  portal: Parsed["portal"];
  schedule: Parsed["schedule"];
  limits: Parsed["limits"];
  rules: Parsed["rules"];
}

/** Where config comes from; tests pass these instead of touching the environment. */
export interface LoadOptions {
  /** `--config`; falls back to VMIRROR_CONFIG, then to no file (embedded defaults). */
  file?: string;
  /** `--data`; falls back to VMIRROR_DATA, then `./vmirror-data`. */
  dataDir?: string;
  /** Settings saved from the admin portal; a value in the file wins over a stored one. */
  stored?: Record<string, unknown>;
  /** The environment to read (defaults to Deno.env). */
  env?: Record<string, string | undefined>;
}

/** Resolves the config file and data dir paths from flags, then the environment. */
export function resolvePaths(opts: LoadOptions = {}): { file: string | null; dataDir: string } {
  const env = opts.env ?? Deno.env.toObject();
  const file = opts.file ?? env.VMIRROR_CONFIG ?? null;
  const dataDir = opts.dataDir ?? env.VMIRROR_DATA ?? "vmirror-data";
  return { file: file ? resolve(file) : null, dataDir: resolve(dataDir) };
}

/** Reads, validates and resolves the configuration (file, stored settings, defaults). */
export async function loadConfig(opts: LoadOptions = {}): Promise<Config> {
  const { file, dataDir } = resolvePaths(opts);
  let raw: unknown = {};
  if (file) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new ConfigError(`Cannot read config file "${file}": ${(e as Error).message}`, [], {
        cause: e,
      });
    }
    try {
      raw = parseJsonc(text);
    } catch (e) {
      throw new ConfigError(`Cannot parse config file "${file}": ${(e as Error).message}`, [], {
        cause: e,
      });
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new ConfigError(`Config file "${file}" must hold a JSON object`);
    }
  }
  const merged = mergeSettings(opts.stored ?? {}, raw as Record<string, unknown>);
  return await validateConfig(merged, { file, dataDir });
}

/** Validates an already-parsed config object and resolves secrets and relative paths. */
export async function validateConfig(
  raw: unknown,
  where: { file: string | null; dataDir: string },
): Promise<Config> {
  const label = where.file ? `"${where.file}"` : "the stored settings";
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      `Invalid configuration in ${label}`,
      result.error.issues.map(formatIssue),
    );
  }
  const p = result.data;
  const base = where.file ? dirname(where.file) : Deno.cwd();
  const problems: string[] = [];
  const path = (v: string | undefined) => (v === undefined ? undefined : resolveFrom(base, v));

  const secret = async (
    key: string,
    inline: string | undefined,
    fileKey: string,
    file: string | undefined,
    required: boolean,
  ): Promise<string | undefined> => {
    if (inline !== undefined && file !== undefined) {
      problems.push(`${key}: give either "${key.split(".").pop()}" or "${fileKey}", not both`);
      return undefined;
    }
    if (file !== undefined) {
      const f = resolveFrom(base, file);
      try {
        const v = (await Deno.readTextFile(f)).replace(/\r?\n$/, "");
        if (!v) problems.push(`${parentKey(key)}.${fileKey}: file "${f}" is empty`);
        return v;
      } catch (e) {
        problems.push(`${parentKey(key)}.${fileKey}: cannot read "${f}": ${(e as Error).message}`);
        return undefined;
      }
    }
    if (inline === undefined && required) {
      problems.push(`${key}: required (or "${fileKey}")`);
    }
    return inline;
  };

  const endpoint = async (
    key: string,
    e: ParsedSource | ParsedImapTarget,
  ): Promise<ImapEndpoint> => {
    const pass = await secret(
      `${key}.trustedPassword`,
      e.trustedPassword,
      "trustedPasswordFile",
      e.trustedPasswordFile,
      true,
    );
    const caFile = path(e.caFile);
    if (caFile && !(await exists(caFile))) problems.push(`${key}.caFile: "${caFile}" not found`);
    if (e.tls === "none" && caFile) problems.push(`${key}.caFile: set but "tls" is "none"`);
    return {
      name: e.name ?? `${e.host}:${e.port ?? (e.tls === "tls" ? 993 : 143)}`,
      host: e.host,
      port: e.port ?? (e.tls === "tls" ? 993 : 143),
      tls: e.tls,
      caFile,
      trustedUser: e.trustedUser,
      trustedPassword: pass ?? "",
      impersonation: e.impersonation,
      separator: e.separator,
      connectTimeoutSeconds: e.connectTimeoutSeconds,
      commandTimeoutSeconds: e.commandTimeoutSeconds,
    };
  };

  let source: SourceConfig | undefined;
  if (p.source) {
    const folders = [...p.source.folders];
    if (p.source.greetingsFolder && !folders.includes(p.source.greetingsFolder)) {
      folders.push(p.source.greetingsFolder);
    }
    if (new Set(folders).size !== folders.length) {
      problems.push(`source.folders: lists a folder twice`);
    }
    source = {
      ...(await endpoint("source", p.source)),
      folders,
      greetingsFolder: p.source.greetingsFolder,
    };
  }

  let target: Config["target"];
  if (p.target?.type === "imap") {
    target = { type: "imap", ...(await endpoint("target", p.target)) };
  } else if (p.target?.type === "files") {
    target = {
      type: "files",
      name: p.target.name ?? "files",
      root: resolveFrom(base, p.target.root),
      onDelete: p.target.onDelete,
      retentionDays: p.target.retentionDays,
      createRoot: p.target.createRoot,
    };
  }

  let ldap: LdapConfig | undefined;
  if (p.ldap) {
    const side = async (key: string, e: z.infer<typeof ldapEndpoint>): Promise<LdapEndpoint> => {
      const { bindPasswordFile, ...rest } = e;
      const bindPassword = await secret(
        `${key}.bindPassword`,
        e.bindPassword,
        "bindPasswordFile",
        bindPasswordFile,
        true,
      );
      return { ...rest, caFile: path(e.caFile), bindPassword: bindPassword ?? "" };
    };
    ldap = {
      ...p.ldap,
      source: await side("ldap.source", p.ldap.source),
      target: p.ldap.target ? await side("ldap.target", p.ldap.target) : undefined,
    };
  }

  let smtp: SmtpConfig | undefined;
  if (p.smtp) {
    const { passwordFile, ...rest } = p.smtp;
    const password = await secret(
      "smtp.password",
      p.smtp.password,
      "passwordFile",
      passwordFile,
      false,
    );
    if (password !== undefined && !p.smtp.user) {
      problems.push(`smtp.user: required with a password`);
    }
    smtp = { ...rest, caFile: path(p.smtp.caFile), password };
  }

  const portal = {
    ...p.portal,
    tlsCertFile: path(p.portal.tlsCertFile),
    tlsKeyFile: path(p.portal.tlsKeyFile),
    adminPasswordFile: path(p.portal.adminPasswordFile),
  };
  if (!!portal.tlsCertFile !== !!portal.tlsKeyFile) {
    problems.push(`portal: "tlsCertFile" and "tlsKeyFile" go together`);
  }

  if (problems.length) throw new ConfigError(`Invalid configuration in ${label}`, problems);
  return {
    file: where.file,
    dataDir: where.dataDir,
    source,
    target,
    ldap,
    smtp,
    portal,
    schedule: p.schedule,
    limits: p.limits,
    rules: p.rules,
  };
}

/** The config with every secret replaced, for printing and the admin page. */
export function redactConfig(config: Config): unknown {
  return JSON.parse(
    JSON.stringify(
      config,
      (key, value) => /password/i.test(key) && typeof value === "string" ? "********" : value,
    ),
  );
}

/** Deep-merges stored settings under the file's values: the file wins key by key. */
export function mergeSettings(
  stored: Record<string, unknown>,
  file: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...stored };
  // A secret given one way in the file replaces the stored one given the other way.
  for (const k of Object.keys(file)) {
    const twin = k.endsWith("File") ? k.slice(0, -4) : `${k}File`;
    if (/password/i.test(k) && !(twin in file)) delete out[twin];
  }
  for (const [k, v] of Object.entries(file)) {
    const s = out[k];
    out[k] = isPlainObject(v) && isPlainObject(s) && !("type" in v && v.type !== s.type)
      ? mergeSettings(s, v)
      : v;
  }
  return out;
}

/** Requires the sections a verb needs, with a message that says what to add. */
export function requireSections<K extends "source" | "target" | "ldap" | "smtp">(
  config: Config,
  verb: string,
  keys: K[],
): Config & { [P in K]-?: NonNullable<Config[P]> } {
  const missing = keys.filter((k) => !config[k]);
  if (missing.length) {
    const where = config.file ? `"${config.file}"` : "no config file (use --config FILE)";
    throw new ConfigError(
      `"${verb}" needs the ${missing.map((m) => `"${m}"`).join(" and ")} section${
        missing.length > 1 ? "s" : ""
      } of the configuration: ${where}`,
    );
  }
  return config as Config & { [P in K]-?: NonNullable<Config[P]> };
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.map(String).join(".") || "(top level)";
  if (issue.code === "unrecognized_keys") {
    return `${key}: unknown key${issue.keys.length > 1 ? "s" : ""} ${
      issue.keys.map((k) => `"${k}"`).join(", ")
    }`;
  }
  if (issue.code === "invalid_type" && issue.message.includes("received undefined")) {
    return `${key}: required`;
  }
  return `${key}: ${issue.message}`;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

function parentKey(key: string): string {
  return key.split(".").slice(0, -1).join(".");
}

function resolveFrom(base: string, p: string): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}
