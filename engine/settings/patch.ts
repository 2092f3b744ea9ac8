/**
 * Applying a partial settings change (from the JSON API or a console form) to the stored
 * settings: merged, checked against the file's fixed keys, validated as the loader would, and
 * described as a list of changes with secrets masked.
 * @module
 */
import { ConfigError, isSealed, mergeSettings, validateConfig } from "../config/mod.ts";
import { findField, isSecretKey, SECRET_PATHS } from "./catalog.ts";
import {
  effectiveSettings,
  type FieldError,
  fixedPaths,
  getPath,
  isPlainObject,
  leafPaths,
  mapTree,
} from "./view.ts";

/** One leaf that changed; a secret shows as "(set)", "(changed)" or "(unset)", never its value. */
export interface SettingsChange {
  path: string;
  from: unknown;
  to: unknown;
}

/** The result of {@link applySettingsPatch}: the new stored settings, or what is wrong. */
export type PatchOutcome =
  | { ok: true; stored: Record<string, unknown>; changes: SettingsChange[]; restartNeeded: boolean }
  | { ok: false; errors: FieldError[] };

/** Input of {@link applySettingsPatch}. */
export interface PatchInput {
  /** The configuration file's raw object ({} without a file). */
  fileRaw: Record<string, unknown>;
  /** The stored settings (secrets plain or sealed). */
  stored: Record<string, unknown>;
  /** The partial settings to apply. */
  patch: unknown;
  file: string | null;
  dataDir: string;
}

/** The message for a key the configuration file sets. */
export const FIXED_MESSAGE = "set in the configuration file; change it there";

// Settings that only take effect when the listening socket is opened again.
const RESTART_PATHS = ["portal.listen", "portal.tlsCertFile", "portal.tlsKeyFile"];

// Keys a GET answer carries that are not settings (so it can be PUT back unchanged).
const IGNORED_TOP = new Set(["$fixed", "$schema", "file"]);

/**
 * Deep-merges `patch` into the stored settings (objects merge, arrays and scalars replace,
 * `null` removes, a secret `{ "set": true }` keeps the stored one) and validates the result.
 */
export async function applySettingsPatch(input: PatchInput): Promise<PatchOutcome> {
  const { fileRaw, stored, patch } = input;
  if (!isPlainObject(patch)) {
    return { ok: false, errors: [{ path: "", message: "expected an object of settings" }] };
  }
  const errors: FieldError[] = [];
  const top = Object.fromEntries(Object.entries(patch).filter(([k]) => !IGNORED_TOP.has(k)));
  const screened = screen(top, "", {
    fileRaw,
    fixed: new Set(fixedPaths(fileRaw)),
    errors,
  });
  if (errors.length) return { ok: false, errors };

  let next = mergePatch(stored, screened);
  // Another kind of target shares no settings with the old one: the section is replaced.
  const newTarget = screened.target;
  if (
    isPlainObject(newTarget) && typeof newTarget.type === "string" &&
    isPlainObject(stored.target) && stored.target.type !== newTarget.type
  ) {
    next = { ...next, target: mergePatch({}, newTarget) };
    if (!Object.keys(next.target as object).length) delete next.target;
  }

  // A form shows every default filled in; storing them would pin today's defaults forever.
  next = pruneDefaults(next, "");

  try {
    await validateConfig(withStandIns(mergeSettings(next, fileRaw)), {
      file: input.file,
      dataDir: input.dataDir,
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, errors: problemsToErrors(e.problems) };
  }

  const before = effectiveSettings(stored, fileRaw);
  const after = effectiveSettings(next, fileRaw);
  const changes = diff(before, after);
  const restartNeeded = changes.some((c) => RESTART_PATHS.includes(c.path));
  return { ok: true, stored: next, changes, restartNeeded };
}

/** Drops every stored value that equals its schema default (the default applies anyway). */
export function pruneDefaults(
  settings: Record<string, unknown>,
  prefix: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(settings)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v) && !findField(path)) {
      out[k] = pruneDefaults(v, path);
      continue;
    }
    const field = findField(path)?.field;
    if (field && "default" in field && JSON.stringify(field.default) === JSON.stringify(v)) {
      continue;
    }
    out[k] = v;
  }
  return out;
}

/** Turns a ConfigError's problems ("path.to.key: message") into field errors. */
export function problemsToErrors(problems: string[]): FieldError[] {
  return problems.map((p) => {
    const at = p.indexOf(": ");
    if (at < 0) return { path: "", message: p };
    let path = p.slice(0, at);
    const message = p.slice(at + 2);
    if (path === "(top level)") path = "";
    // The strict schema names the parent; the field is the unknown key itself.
    const unknown = /^unknown key "([^"]+)"$/.exec(message);
    if (unknown) path = path ? `${path}.${unknown[1]}` : unknown[1];
    return { path, message };
  });
}

interface ScreenContext {
  fileRaw: Record<string, unknown>;
  fixed: Set<string>;
  errors: FieldError[];
}

// Checks the patch against the file's fixed keys and the shape of secrets; drops what would
// not change anything (a fixed key given its file value, a secret given as `{ set: true }`).
function screen(
  patch: Record<string, unknown>,
  prefix: string,
  ctx: ScreenContext,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isSecretKey(key)) {
      const secret = screenSecret(path, value, ctx);
      if (secret !== undefined) out[key] = secret;
      continue;
    }
    if (ctx.fixed.has(path)) {
      if (!sameValue(value, getPath(ctx.fileRaw, path))) {
        ctx.errors.push({ path, message: FIXED_MESSAGE });
      }
      continue;
    }
    if (isPlainObject(value)) {
      const inner = screen(value, path, ctx);
      if (Object.keys(inner).length || !Object.keys(value).length) out[key] = inner;
      continue;
    }
    // A scalar, list or removal where the file has a whole section: that would differ.
    const under = [...ctx.fixed].find((f) => f.startsWith(`${path}.`));
    if (under) {
      ctx.errors.push({ path, message: `${FIXED_MESSAGE} ("${under}")` });
      continue;
    }
    out[key] = value;
  }
  return out;
}

function screenSecret(path: string, value: unknown, ctx: ScreenContext): unknown {
  const keep = isPlainObject(value) && Object.keys(value).length === 1 &&
    typeof value.set === "boolean";
  if (!keep && value !== null && typeof value !== "string") {
    ctx.errors.push({ path, message: 'expected a string, null or {"set": true}' });
    return undefined;
  }
  if (keep && value.set === true) return undefined;
  const removal = value === null || keep;
  if (ctx.fixed.has(path)) {
    const same = !removal && value === getPath(ctx.fileRaw, path);
    if (!same) ctx.errors.push({ path, message: FIXED_MESSAGE });
    return undefined;
  }
  return removal ? null : value;
}

// Objects merge, arrays and scalars replace, null removes; objects left empty are dropped.
function mergePatch(
  base: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete out[key];
      continue;
    }
    if (isPlainObject(value) && !isSecretKey(key)) {
      const merged = mergePatch(isPlainObject(out[key]) ? out[key] : {}, value);
      if (Object.keys(merged).length) out[key] = merged;
      else delete out[key];
      continue;
    }
    out[key] = structuredClone(value);
    // A secret set one way replaces the one stored the other way (inline or as a file).
    const twin = key.endsWith("File") ? key.slice(0, -4) : `${key}File`;
    if (/password/i.test(key) && !(twin in patch)) delete out[twin];
  }
  return out;
}

// Sealed secrets cannot be opened here; the loader only needs a non-empty string in their place.
function withStandIns(raw: Record<string, unknown>): Record<string, unknown> {
  return mapTree(raw, (_p, key, v) => isSecretKey(key) && isSealed(v) ? "(sealed)" : v) as Record<
    string,
    unknown
  >;
}

function diff(
  before: ReturnType<typeof effectiveSettings>,
  after: ReturnType<typeof effectiveSettings>,
): SettingsChange[] {
  const a = new Map(leafPaths(before.settings).map((p) => [p, getPath(before.settings, p)]));
  const b = new Map(leafPaths(after.settings).map((p) => [p, getPath(after.settings, p)]));
  const paths = [...new Set([...a.keys(), ...b.keys(), ...SECRET_PATHS])];
  const changes: SettingsChange[] = [];
  for (const path of paths) {
    if (SECRET_PATHS.includes(path)) {
      const was = before.secrets.get(path) ?? fileSecret(before.settings, path);
      const now = after.secrets.get(path) ?? fileSecret(after.settings, path);
      if (sameValue(was, now)) continue;
      changes.push({
        path,
        from: was === undefined ? "(unset)" : "(set)",
        to: now === undefined ? "(unset)" : was === undefined ? "(set)" : "(changed)",
      });
      continue;
    }
    if (!sameValue(a.get(path), b.get(path))) {
      changes.push({ path, from: a.get(path) ?? null, to: b.get(path) ?? null });
    }
  }
  return changes;
}

// A secret given as a file counts as that file's path (a change of file is a change of secret).
function fileSecret(settings: Record<string, unknown>, path: string): unknown {
  const file = getPath(settings, `${path}File`);
  return typeof file === "string" ? { file } : undefined;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
