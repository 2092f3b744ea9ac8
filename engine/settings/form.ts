/**
 * Turning a console form (fields named by dotted path, all strings) into a settings patch,
 * typed by the catalog. Only the section's own fields are taken; a field the form did not
 * post (a disabled, file-fixed one) is left as it is.
 * @module
 */
import {
  findSection,
  type SettingsField,
  type SettingsSection,
  type TargetType,
} from "./catalog.ts";
import type { FieldError } from "./view.ts";

/** The hidden marker that says a checkbox was on the form (an unchecked box posts nothing). */
export function boolMarker(path: string): string {
  return `__bool:${path}`;
}

/** The checkbox that removes an optional stored secret. */
export function clearMarker(path: string): string {
  return `__clear:${path}`;
}

/** One broadcast rule row as posted. */
export interface RuleRow {
  header: string;
  pattern: string;
}

/** The posted rule rows (`rules.broadcast.N.header/pattern`), in order, empty rows dropped. */
export function rulesFromForm(form: Record<string, string>): RuleRow[] {
  const rows = new Map<number, RuleRow>();
  for (const [name, value] of Object.entries(form)) {
    const m = /^rules\.broadcast\.(\d{1,4})\.(header|pattern)$/.exec(name);
    if (!m) continue;
    const row = rows.get(Number(m[1])) ?? { header: "", pattern: "" };
    row[m[2] as "header" | "pattern"] = m[2] === "header" ? value.trim() : value;
    rows.set(Number(m[1]), row);
  }
  return [...rows.entries()].sort(([a], [b]) => a - b).map(([, r]) => r)
    .filter((r) => r.header !== "" || r.pattern !== "");
}

/** Whether the form posted any rule row (a fixed, disabled rules table posts none). */
function hasRuleRows(form: Record<string, string>): boolean {
  return Object.keys(form).some((k) => k.startsWith("rules.broadcast."));
}

/** The fields of a section that a form's values count for (for the target: the chosen type's). */
export function activeFields(
  section: SettingsSection,
  type?: string,
): SettingsField[] {
  const chosen = type === "imap" || type === "files" ? type as TargetType : undefined;
  return section.groups.flatMap((g) => g.fields).filter((f) =>
    !f.variant || !chosen || f.variant === chosen
  );
}

/** Turns a posted settings form into a patch for {@link applySettingsPatch}, typed by the catalog. */
export function formToPatch(
  section: string,
  form: Record<string, string>,
): { patch: Record<string, unknown>; errors: FieldError[] } {
  const patch: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  const s = findSection(section);
  if (!s) return { patch, errors: [{ path: "", message: `no settings section "${section}"` }] };
  const fields = activeFields(s, form["target.type"]);
  const paths = new Set(fields.map((f) => f.path));

  // A whole optional part posted with its required fields empty is turned off.
  const removed: string[] = [];
  for (const r of s.removals ?? []) {
    if (removed.some((p) => r.path.startsWith(`${p}.`))) continue;
    const applies = r.when.every((p) => paths.has(p) && p in form && form[p].trim() === "");
    if (applies) {
      setPath(patch, r.path, null);
      removed.push(r.path);
    }
  }

  for (const f of fields) {
    if (removed.some((p) => f.path === p || f.path.startsWith(`${p}.`))) continue;
    const value = fieldValue(f, form, errors);
    if (value !== undefined) setPath(patch, f.path, value);
  }
  return { patch, errors };
}

// undefined: leave the setting as it is.
function fieldValue(
  f: SettingsField,
  form: Record<string, string>,
  errors: FieldError[],
): unknown {
  const raw = form[f.path];
  switch (f.kind) {
    case "boolean":
      if (!(boolMarker(f.path) in form) && raw === undefined) return undefined;
      return raw !== undefined && raw !== "" && raw !== "off" && raw !== "false";
    case "secret":
      if (form[clearMarker(f.path)] !== undefined && f.optional) return null;
      // Empty keeps the stored secret: the form never shows it, so empty means "not changed".
      return raw ? raw : undefined;
    case "rules":
      return hasRuleRows(form) ? rulesFromForm(form) : undefined;
  }
  if (raw === undefined) return undefined;
  const text = raw.trim();
  switch (f.kind) {
    case "list": {
      const items = raw.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
      return items.length ? items : null;
    }
    case "number":
    case "nullable-number": {
      // Empty removes the key: its default (or "no limit") applies.
      if (text === "") return null;
      const n = parseNumber(text);
      if (n === undefined) {
        errors.push({ path: f.path, message: "expected a number" });
        return undefined;
      }
      return n;
    }
    default:
      // An empty required text is sent as is: the schema then says "must not be empty".
      return text === "" && f.optional ? null : text;
  }
}

function parseNumber(text: string): number | undefined {
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let at = obj;
  for (const k of keys.slice(0, -1)) {
    const next = at[k];
    if (typeof next !== "object" || next === null) at[k] = {};
    at = at[k] as Record<string, unknown>;
  }
  at[keys.at(-1)!] = value;
}
