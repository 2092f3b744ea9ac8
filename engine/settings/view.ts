/**
 * The effective settings as the admin console shows them: stored settings under the file's,
 * defaults applied, secrets reduced to whether they are set, and which keys the file fixes.
 * @module
 */
import { configSchema, isSealed, mergeSettings } from "../config/mod.ts";
import { isSecretKey, SECRET_PATHS, type SectionId } from "./catalog.ts";

/** One problem with one setting. */
export interface FieldError {
  /** Dotted path like "source.port"; "" for the settings as a whole. */
  path: string;
  message: string;
}

/** What the console shows: effective settings (secrets masked) and the file's fixed keys. */
export interface SettingsView {
  /** Effective settings in the file's shape, defaults applied; a set secret is `{ set: true }`. */
  settings: Record<string, unknown>;
  /** Dotted leaf paths whose value comes from the configuration file (an array is a leaf). */
  fixed: string[];
  file: string | null;
}

/** The settings the console shows, from the file's raw object and the stored settings. */
export function settingsView(
  input: { fileRaw: Record<string, unknown>; stored: Record<string, unknown>; file: string | null },
): SettingsView {
  const { settings } = effectiveSettings(input.stored, input.fileRaw);
  return { settings, fixed: fixedPaths(input.fileRaw), file: input.file };
}

/** Effective settings with secrets masked, plus each set secret's raw value by path. */
export interface Effective {
  settings: Record<string, unknown>;
  secrets: Map<string, unknown>;
}

// Stands in for a secret while the schema fills in defaults: the secret never goes through
// the schema (it may be sealed), and the schema only needs a non-empty string there.
const SECRET_STANDIN = "\u0000secret";

/** Merges stored settings under the file's, applies the schema's defaults, masks secrets. */
export function effectiveSettings(
  stored: Record<string, unknown>,
  fileRaw: Record<string, unknown>,
): Effective {
  const merged = mergeSettings(stored, fileRaw);
  const secrets = new Map<string, unknown>();
  const masked = mapTree(merged, (path, key, value) => {
    if (!isSecretKey(key) || value === undefined || value === null) return value;
    secrets.set(path, value);
    return SECRET_STANDIN;
  }) as Record<string, unknown>;
  const parsed = configSchema.safeParse(masked);
  // Settings that do not validate are still shown (without defaults) so they can be fixed.
  const base = parsed.success ? parsed.data as Record<string, unknown> : masked;
  const settings = mapTree(base, (_path, key, value) => {
    if (isSecretKey(key) && value === SECRET_STANDIN) return { set: true };
    return value;
  }) as Record<string, unknown>;
  markFileSecrets(settings);
  return { settings, secrets };
}

/** Dotted leaf paths of the file's object, with the twin of each secret the file gives. */
export function fixedPaths(fileRaw: Record<string, unknown>): string[] {
  const out = new Set<string>();
  for (const path of leafPaths(fileRaw)) {
    if (path.startsWith("$")) continue;
    out.add(path);
    // A secret given one way in the file overrides a stored one given the other way.
    if (SECRET_PATHS.includes(path)) out.add(`${path}File`);
    else if (SECRET_PATHS.includes(path.replace(/File$/, ""))) out.add(path.slice(0, -4));
  }
  return [...out].sort();
}

/** The leaf paths of a plain object tree; arrays and scalars are leaves. */
export function leafPaths(obj: Record<string, unknown>, prefix = ""): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v) && !isSecretKey(k)) out.push(...leafPaths(v, path));
    else out.push(path);
  }
  return out;
}

/** The value at a dotted path, or undefined. */
export function getPath(obj: unknown, path: string): unknown {
  let v: unknown = obj;
  for (const k of path.split(".")) {
    if (Array.isArray(v) && /^\d+$/.test(k)) v = v[Number(k)];
    else if (isPlainObject(v)) v = v[k];
    else return undefined;
  }
  return v;
}

/** Whether a value is a plain object (not null, not an array). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Whether a secret's masked value says it is set. */
export function isSetSecret(v: unknown): boolean {
  return isPlainObject(v) && v.set === true;
}

/** A one-line summary of a section, e.g. "IMAP backup 10.0.0.5:993" or "not set". */
export function sectionSummary(section: SectionId, settings: Record<string, unknown>): string {
  const at = (p: string) => getPath(settings, p);
  switch (section) {
    case "source": {
      if (!isPlainObject(at("source"))) return "not set";
      return `IMAP ${endpoint(at("source"))} as "${at("source.trustedUser") ?? ""}"`;
    }
    case "target": {
      const t = at("target");
      if (!isPlainObject(t)) return "not set";
      return t.type === "files" ? `Files in ${t.root ?? "?"}` : `IMAP backup ${endpoint(t)}`;
    }
    case "ldap": {
      if (!isPlainObject(at("ldap"))) return "not set";
      const backup = at("ldap.target.url");
      return `Directory ${at("ldap.source.url")}${
        backup ? `, backup directory ${backup}` : ", no backup directory"
      }`;
    }
    case "smtp":
      return isPlainObject(at("smtp"))
        ? `Relay ${at("smtp.host")}:${at("smtp.port") ?? 25}, from ${at("smtp.from")}`
        : "not set";
    case "schedule":
      return `Sync every ${at("schedule.syncSeconds")} s, directory every ${
        at("schedule.directoryHours")
      } h, IDLE ${at("schedule.idle") ? "on" : "off"}`;
    case "limits":
      return `${at("limits.concurrency")} mailboxes at a time, ${at("limits.retries")} retries, ` +
        `deletion guard ${at("limits.deleteGuard.enabled") === false ? "off" : "on"}`;
    case "rules": {
      const n = (at("rules.broadcast") as unknown[] | undefined)?.length ?? 0;
      return n === 0 ? "No broadcast rules" : `${n} broadcast rule${n === 1 ? "" : "s"}`;
    }
    case "portal":
      return `Listening on ${at("portal.listen")}${
        at("portal.tlsCertFile") ? " (HTTPS)" : ""
      }, sessions of ${at("portal.sessionMinutes")} min`;
    case "alerts": {
      const to = (at("alerts.to") as string[] | undefined) ?? [];
      return to.length ? `Alert mails to ${to.join(", ")}` : "No alert mails (dashboard only)";
    }
    case "general":
      return `Time zone ${at("timeZone") ?? "of the server"}, log level ${at("logLevel")}`;
  }
}

function endpoint(e: unknown): string {
  const host = getPath(e, "host");
  const port = getPath(e, "port") ?? (getPath(e, "tls") === "tls" ? 993 : 143);
  return `${host}:${port}`;
}

/** Rebuilds a tree of plain objects, letting `fn` replace any value by its key and path. */
export function mapTree(
  value: unknown,
  fn: (path: string, key: string, value: unknown) => unknown,
  path = "",
): unknown {
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const p = path ? `${path}.${k}` : k;
    const mapped = fn(p, k, v);
    out[k] = mapped === v && isPlainObject(v) && !isSealed(v) ? mapTree(v, fn, p) : mapped;
  }
  return out;
}

// A secret given as a file on the server is set, too.
function markFileSecrets(settings: Record<string, unknown>): void {
  for (const path of SECRET_PATHS) {
    const file = getPath(settings, `${path}File`);
    const parent = getPath(settings, path.split(".").slice(0, -1).join("."));
    if (typeof file === "string" && file && isPlainObject(parent)) {
      parent[path.split(".").pop()!] = { set: true };
    }
  }
}
