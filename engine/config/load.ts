/**
 * Loading the configuration: one JSON/JSONC file (and settings stored from the admin portal),
 * validated against the schema and resolved once — secrets, CA files and the portal's TLS files
 * read, relative paths made absolute — into a typed object. The only module that reads the
 * environment.
 * @module
 */
import type { z } from "zod";
import { parseShard } from "./shard.ts";
import { parse, type ParseError, printParseErrorCode } from "jsonc-parser";
import { compileBroadcastRules } from "../voicemail/mod.ts";
import { dirname, isAbsolute, resolve } from "node:path";
import {
  type Config,
  configSchema,
  type FilesTargetConfig,
  type ImapEndpoint,
  type LdapConfig,
  type LdapEndpoint,
  logLevelSchema,
  type ParsedConfig,
  type PortalConfig,
  type SmtpConfig,
  type SourceConfig,
} from "./schema.ts";

/** A configuration that cannot be used; the message names the key and what is wrong. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** Builds the error; `problems` lists one line per bad key. */
  constructor(message: string, readonly problems: string[] = [], options?: ErrorOptions) {
    super(problems.length ? `${message}:\n  ${problems.join("\n  ")}` : message, options);
  }
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

/**
 * Reads, validates and resolves the configuration (file, stored settings, defaults);
 * VMIRROR_LOG_LEVEL, when set, overrides the file's `logLevel`.
 */
export async function loadConfig(opts: LoadOptions = {}): Promise<Config> {
  const env = opts.env ?? Deno.env.toObject();
  const { file, dataDir } = resolvePaths({ ...opts, env });
  const raw = file ? await readConfigFile(file) : {};
  const merged = mergeSettings(opts.stored ?? {}, raw);
  const config = await validateConfig(merged, { file, dataDir });
  const level = env.VMIRROR_LOG_LEVEL;
  if (!level) return config;
  const parsed = logLevelSchema.safeParse(level);
  if (!parsed.success) {
    throw new ConfigError(`Invalid environment`, [
      `VMIRROR_LOG_LEVEL: ${parsed.error.issues[0].message}`,
    ]);
  }
  return { ...config, logLevel: parsed.data };
}

/** Validates an already-parsed config object and resolves secrets, files and relative paths. */
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
  const r = new Resolver(where.file ? dirname(where.file) : Deno.cwd());
  const source = p.source && await resolveSource(r, p.source);
  const target = p.target && await resolveTarget(r, p.target);
  const ldap = p.ldap && await resolveLdap(r, p.ldap);
  const smtp = p.smtp && await resolveSmtp(r, p.smtp);
  const portal = await resolvePortal(r, p.portal);
  if (r.problems.length) {
    throw new ConfigError(`Invalid configuration in ${label}`, r.problems);
  }
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
    // The schema has checked every pattern, so compiling cannot fail here.
    rules: { ...p.rules, compiled: compileBroadcastRules(p.rules.broadcast) },
    logLevel: p.logLevel,
    alerts: p.alerts,
    audit: p.audit,
    timeZone: p.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC",
    shard: p.shard ? parseShard(p.shard) : null,
  };
}

/** The config with every secret replaced and the files' contents left out, for printing. */
export function redactConfig(config: Config): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value) => {
      if (/password/i.test(key) && typeof value === "string") return "********";
      // The PEM texts read at load (a TLS private key among them): their paths are shown.
      if (key === "ca" || (key === "tls" && typeof value === "object")) return undefined;
      return value;
    }),
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

/** Reads and parses a JSON/JSONC config file into an object (ConfigError otherwise). */
export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new ConfigError(`Cannot read config file "${file}": ${(e as Error).message}`, [], {
      cause: e,
    });
  }
  let raw: unknown;
  try {
    raw = parseJsonc(text);
  } catch (e) {
    throw new ConfigError(`Cannot parse config file "${file}": ${(e as Error).message}`, [], {
      cause: e,
    });
  }
  if (!isPlainObject(raw)) {
    throw new ConfigError(`Config file "${file}" must hold a JSON object`);
  }
  return raw;
}

// JSONC: comments and trailing commas allowed. The error names the first fault by line and
// column and never quotes the text around it (it may be a password typed without quotes).
function parseJsonc(text: string): unknown {
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (!errors.length) return value;
  const fault = errors[0];
  const before = text.slice(0, fault.offset).split("\n");
  // "CommaExpected" → "comma expected"
  const what = printParseErrorCode(fault.error).replace(/(?<=[a-z])(?=[A-Z])/g, " ")
    .toLowerCase();
  throw new SyntaxError(
    `Invalid JSON: ${what} at line ${before.length}, column ${before.at(-1)!.length + 1}`,
  );
}

// Resolves paths against the config file's folder, reads the files the config names, and
// collects every problem so the operator sees them all at once.
class Resolver {
  readonly problems: string[] = [];
  constructor(readonly base: string) {}

  path(p: string): string;
  path(p: string | undefined): string | undefined;
  path(p: string | undefined): string | undefined {
    return p === undefined ? undefined : isAbsolute(p) ? p : resolve(this.base, p);
  }

  // One secret given inline or in a file (not both); a file's one final newline is dropped.
  async secret(
    key: string,
    given: { inline: string | undefined; fileKey: string; file: string | undefined },
    required: boolean,
  ): Promise<string | undefined> {
    const { inline, fileKey, file } = given;
    if (inline !== undefined && file !== undefined) {
      this.problems.push(
        `${key}: give either "${key.split(".").pop()}" or "${fileKey}", not both`,
      );
      return undefined;
    }
    if (file !== undefined) {
      const f = this.path(file);
      const at = `${parentKey(key)}.${fileKey}`;
      try {
        const v = (await Deno.readTextFile(f)).replace(/\r?\n$/, "");
        if (!v) this.problems.push(`${at}: file "${f}" is empty`);
        return v;
      } catch (e) {
        this.problems.push(`${at}: cannot read "${f}": ${(e as Error).message}`);
        return undefined;
      }
    }
    if (inline === undefined && required) this.problems.push(`${key}: required (or "${fileKey}")`);
    return inline;
  }

  // A PEM file (CA, certificate, key) read now, so no connection reads it again.
  async pem(key: string, file: string | undefined): Promise<string | undefined> {
    if (file === undefined) return undefined;
    try {
      return await Deno.readTextFile(file);
    } catch (e) {
      this.problems.push(
        e instanceof Deno.errors.NotFound
          ? `${key}: "${file}" not found`
          : `${key}: cannot read "${file}": ${(e as Error).message}`,
      );
      return undefined;
    }
  }
}

async function resolveEndpoint(
  r: Resolver,
  key: string,
  e: NonNullable<ParsedConfig["source"]> | Extract<ParsedConfig["target"], { type: "imap" }>,
): Promise<ImapEndpoint> {
  const trustedPassword = await r.secret(`${key}.trustedPassword`, {
    inline: e.trustedPassword,
    fileKey: "trustedPasswordFile",
    file: e.trustedPasswordFile,
  }, true);
  const caFile = r.path(e.caFile);
  if (e.tls === "none" && caFile) r.problems.push(`${key}.caFile: set but "tls" is "none"`);
  const port = e.port ?? (e.tls === "tls" ? 993 : 143);
  return {
    name: e.name ?? `${e.host}:${port}`,
    host: e.host,
    port,
    tls: e.tls,
    caFile,
    ca: await r.pem(`${key}.caFile`, caFile),
    trustedUser: e.trustedUser,
    trustedPassword: trustedPassword ?? "",
    impersonation: e.impersonation,
    separator: e.separator,
    connectTimeoutSeconds: e.connectTimeoutSeconds,
    commandTimeoutSeconds: e.commandTimeoutSeconds,
  };
}

async function resolveSource(
  r: Resolver,
  s: NonNullable<ParsedConfig["source"]>,
): Promise<SourceConfig> {
  const folders = [...s.folders];
  if (s.greetingsFolder && !folders.includes(s.greetingsFolder)) folders.push(s.greetingsFolder);
  if (new Set(folders).size !== folders.length) {
    r.problems.push(`source.folders: lists a folder twice`);
  }
  return {
    ...(await resolveEndpoint(r, "source", s)),
    folders,
    greetingsFolder: s.greetingsFolder,
  };
}

async function resolveTarget(
  r: Resolver,
  t: NonNullable<ParsedConfig["target"]>,
): Promise<Config["target"]> {
  if (t.type === "imap") return { type: "imap", ...(await resolveEndpoint(r, "target", t)) };
  const files: FilesTargetConfig = {
    type: "files",
    name: t.name ?? "files",
    root: r.path(t.root),
    onDelete: t.onDelete,
    retentionDays: t.retentionDays,
    createRoot: t.createRoot,
  };
  return files;
}

async function resolveLdap(
  r: Resolver,
  l: NonNullable<ParsedConfig["ldap"]>,
): Promise<LdapConfig> {
  const side = async (key: string, e: typeof l.source): Promise<LdapEndpoint> => {
    const { bindPasswordFile, ...rest } = e;
    const bindPassword = await r.secret(`${key}.bindPassword`, {
      inline: e.bindPassword,
      fileKey: "bindPasswordFile",
      file: bindPasswordFile,
    }, true);
    const caFile = r.path(e.caFile);
    const ca = await r.pem(`${key}.caFile`, caFile);
    return { ...rest, caFile, ca, bindPassword: bindPassword ?? "" };
  };
  return {
    ...l,
    source: await side("ldap.source", l.source),
    target: l.target ? await side("ldap.target", l.target) : undefined,
  };
}

async function resolveSmtp(
  r: Resolver,
  s: NonNullable<ParsedConfig["smtp"]>,
): Promise<SmtpConfig> {
  const { passwordFile, ...rest } = s;
  const password = await r.secret("smtp.password", {
    inline: s.password,
    fileKey: "passwordFile",
    file: passwordFile,
  }, false);
  if (password !== undefined && !s.user) r.problems.push(`smtp.user: required with a password`);
  const caFile = r.path(s.caFile);
  return { ...rest, caFile, ca: await r.pem("smtp.caFile", caFile), password };
}

async function resolvePortal(r: Resolver, p: ParsedConfig["portal"]): Promise<PortalConfig> {
  const portal: PortalConfig = {
    ...p,
    tlsCertFile: r.path(p.tlsCertFile),
    tlsKeyFile: r.path(p.tlsKeyFile),
    adminPasswordFile: r.path(p.adminPasswordFile),
  };
  if (!!portal.tlsCertFile !== !!portal.tlsKeyFile) {
    r.problems.push(`portal: "tlsCertFile" and "tlsKeyFile" go together`);
  } else if (portal.tlsCertFile && portal.tlsKeyFile) {
    const cert = await r.pem("portal.tlsCertFile", portal.tlsCertFile);
    const key = await r.pem("portal.tlsKeyFile", portal.tlsKeyFile);
    if (cert !== undefined && key !== undefined) portal.tls = { cert, key };
  }
  return portal;
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

function parentKey(key: string): string {
  return key.split(".").slice(0, -1).join(".");
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
