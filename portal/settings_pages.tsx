/**
 * The admin console's settings pages, rendered on the server: an overview of the sections and
 * one form per section. No client script (the CSP forbids it): the target type is a select
 * beside both kinds' fieldsets, and the connection tests are submit buttons of the same form.
 * Secrets are never written into a page, not even one typed into a form that failed.
 * @module
 */
import type { VNode } from "preact";
import {
  boolMarker,
  clearMarker,
  type FieldError,
  findField,
  findSection,
  getPath,
  isSetSecret,
  type RuleRow,
  rulesFromForm,
  sectionSummary,
  SETTINGS_SECTIONS,
  type SettingsField,
  type SettingsGroup,
  type SettingsSection,
  type SettingsView,
} from "../engine/settings/mod.ts";
import { formatDateTime, zoneLabel } from "./dates.ts";
import { Page, type Viewer } from "./layout.tsx";

/** One step of a connection test, as the page shows it. */
export interface ProbeStepView {
  step: string;
  ok: boolean;
  detail: string;
  skipped?: boolean;
}

/** A connection test's outcome, as the page shows it. */
export interface ProbeResultView {
  ok: boolean;
  server: string;
  steps: ProbeStepView[];
}

const FIXED_NOTE = "set in the configuration file";

/** The id of a field's input (paths hold only letters, digits and dots). */
export function fieldId(path: string): string {
  return `f-${path.replaceAll(".", "-")}`;
}

/** The settings overview: each section with a one-line summary and a link to its form. */
export function SettingsOverview(
  p: { view: SettingsView; viewer: Viewer; restartPending?: boolean; csrf: string },
): VNode {
  return (
    <Page title="Settings" viewer={p.viewer}>
      <h1>Settings</h1>
      {p.restartPending && <RestartBanner csrf={p.csrf} />}
      <FileNote file={p.view.file} />
      <ul class="sections">
        {SETTINGS_SECTIONS.map((s) => {
          const fixed = s.groups.flatMap((g) => g.fields).filter((f) => isFixed(p.view, f.path))
            .length;
          return (
            <li key={s.id}>
              <a href={`/admin/settings/${s.id}`}>{s.title}</a>
              <span class="summary">{sectionSummary(s.id, p.view.settings)}</span>
              {fixed > 0 && (
                <span class="hint">
                  {fixed} {fixed === 1 ? "value" : "values"} {FIXED_NOTE}
                </span>
              )}
            </li>
          );
        })}
      </ul>
    </Page>
  );
}

/** Props of {@link SettingsSectionPage}. */
export interface SettingsSectionProps {
  section: string;
  view: SettingsView;
  viewer: Viewer;
  csrf: string;
  /** The posted form after a failed save or a test: shown instead of the saved values. */
  draft?: Record<string, string>;
  errors?: FieldError[];
  tests?: { label: string; result: ProbeResultView }[];
  saved?: { restartNeeded: boolean; changes: number };
  timeZone: string;
}

/** One section's settings form, with its errors, test buttons and test results. */
export function SettingsSectionPage(p: SettingsSectionProps): VNode {
  const section = findSection(p.section);
  if (!section) {
    return (
      <Page title="Settings" viewer={p.viewer}>
        <h1>Settings</h1>
        <p class="error" role="alert">There is no settings section "{p.section}".</p>
        <p>
          <a href="/admin/settings">All settings</a>
        </p>
      </Page>
    );
  }
  const ctx = new FormContext(section, p);
  const targetType = ctx.targetType();
  return (
    <Page title={`Settings: ${section.title}`} viewer={p.viewer}>
      <p class="crumbs">
        <a href="/admin/settings">All settings</a>
      </p>
      <h1>{section.title}</h1>
      <p>{section.help}</p>
      {p.saved && <SavedBanner saved={p.saved} csrf={p.csrf} />}
      {ctx.errors.length > 0 && <ErrorSummary ctx={ctx} />}
      {(p.tests ?? []).map((t, i) => <ProbeResult key={i} index={i} {...t} />)}
      {section.id === "general" && (
        <p class="note">
          Times are shown in {zoneLabel(p.timeZone)}; it is now {formatDateTime(
            new Date(),
            p.timeZone,
          )}.
        </p>
      )}
      <FileNote file={p.view.file} />
      <form method="post" action={`/admin/settings/${section.id}`} class="settings" noValidate>
        <input type="hidden" name="_csrf" value={p.csrf} />
        {section.groups
          .filter((g) => !g.variant || !ctx.typeFixed || g.variant === targetType)
          .map((g) => <Group key={g.title} group={g} ctx={ctx} />)}
        <div class="actions">
          <button type="submit">Save</button>
        </div>
        <Tests section={section} draft={p.draft} />
      </form>
    </Page>
  );
}

// What every field needs to render: values, fixed keys, errors, unique labels for messages.
class FormContext {
  readonly errors: FieldError[];
  readonly typeFixed: boolean;
  readonly #labels = new Map<string, string>();

  constructor(readonly section: SettingsSection, readonly p: SettingsSectionProps) {
    this.errors = p.errors ?? [];
    this.typeFixed = isFixed(p.view, "target.type");
    const count = new Map<string, number>();
    for (const f of section.groups.flatMap((g) => g.fields)) {
      count.set(f.label, (count.get(f.label) ?? 0) + 1);
    }
    // "URL" twice on one page (two directories): messages name the group too.
    for (const g of section.groups) {
      for (const f of g.fields) {
        this.#labels.set(f.path, count.get(f.label)! > 1 ? `${g.title}: ${f.label}` : f.label);
      }
    }
  }

  fixed(path: string): boolean {
    return isFixed(this.p.view, path);
  }

  label(path: string): string {
    return this.#labels.get(path) ?? path;
  }

  targetType(): string {
    return this.p.draft?.["target.type"] ??
      (getPath(this.p.view.settings, "target.type") as string | undefined) ?? "imap";
  }

  // The draft wins for what the browser posted; otherwise the saved value, else the default.
  text(f: SettingsField): string {
    const draft = this.p.draft;
    if (draft && f.path in draft && !this.fixed(f.path)) return draft[f.path];
    const v = this.saved(f);
    if (v === undefined || v === null) return "";
    if (Array.isArray(v)) return v.join("\n");
    return typeof v === "object" ? "" : String(v);
  }

  checked(f: SettingsField): boolean {
    const draft = this.p.draft;
    if (draft && boolMarker(f.path) in draft && !this.fixed(f.path)) {
      const v = draft[f.path];
      return v !== undefined && v !== "" && v !== "off" && v !== "false";
    }
    return this.saved(f) === true;
  }

  saved(f: SettingsField): unknown {
    const settings = this.p.view.settings;
    // Fields of the other target type show their defaults, ready for a switch.
    if (f.variant && getPath(settings, "target.type") !== f.variant) return f.default;
    const v = getPath(settings, f.path);
    return v === undefined ? f.default : v;
  }

  rules(): RuleRow[] {
    const draft = this.p.draft;
    if (
      draft && !this.fixed("rules.broadcast") &&
      Object.keys(draft).some((k) => k.startsWith("rules.broadcast."))
    ) {
      return rulesFromForm(draft);
    }
    const v = getPath(this.p.view.settings, "rules.broadcast");
    return Array.isArray(v) ? v as RuleRow[] : [];
  }

  /** The errors that belong to a field (its own path, or an item of its list). */
  errorsOf(path: string): FieldError[] {
    return this.errors.filter((e) => e.path === path || e.path.startsWith(`${path}.`));
  }

  /** Where an error's link goes and how it reads, whichever field (or none) it belongs to. */
  describe(e: FieldError): { href?: string; text: string } {
    const rule = /^rules\.broadcast\.(\d+)(?:\.(header|pattern))?/.exec(e.path);
    if (rule && this.section.id === "rules") {
      const what = rule[2] === "pattern" ? "pattern" : "header";
      return {
        href: `#${fieldId(`rules.broadcast.${rule[1]}.${what}`)}`,
        text: `Rule ${Number(rule[1]) + 1} ${what}: ${e.message}`,
      };
    }
    const own = this.section.groups.flatMap((g) => g.fields).find((f) =>
      e.path === f.path || e.path.startsWith(`${f.path}.`)
    );
    if (own) {
      return { href: `#${fieldId(own.path)}`, text: `${this.label(own.path)}: ${e.message}` };
    }
    // An error about a whole part ("ldap.target": not set) leads to the part's first field.
    const part = e.path
      ? this.section.groups.flatMap((g) => g.fields).find((f) => f.path.startsWith(`${e.path}.`))
      : undefined;
    if (part) return { href: `#${fieldId(part.path)}`, text: e.message };
    const other = e.path ? findField(e.path) : undefined;
    if (other) {
      return {
        href: `/admin/settings/${other.section.id}#${fieldId(other.field.path)}`,
        text: `${other.section.title}, ${other.field.label}: ${e.message}`,
      };
    }
    return { text: e.path ? `${e.path}: ${e.message}` : e.message };
  }
}

function isFixed(view: SettingsView, path: string): boolean {
  return view.fixed.includes(path);
}

function FileNote(p: { file: string | null }) {
  return p.file
    ? (
      <p class="hint file-note">
        Values from the configuration file <code>{p.file}</code>{" "}
        are shown read-only: change them there.
      </p>
    )
    : (
      <p class="hint file-note">
        No configuration file is in use: every setting here is saved by the portal.
      </p>
    );
}

function RestartBanner(p: { csrf: string; text?: string }) {
  return (
    <div class="note" role="status">
      <p>
        {p.text ??
          "Saved settings are waiting for a restart: the listen address and the TLS files are read only at start-up."}
      </p>
      <form method="post" action="/admin/restart">
        <input type="hidden" name="_csrf" value={p.csrf} />
        <button type="submit">Restart now</button>
      </form>
    </div>
  );
}

function SavedBanner(p: { saved: { restartNeeded: boolean; changes: number }; csrf: string }) {
  const n = p.saved.changes;
  const text = n === 0
    ? "Saved: nothing changed."
    : `Saved: ${n} ${n === 1 ? "change" : "changes"}.`;
  return p.saved.restartNeeded
    ? <RestartBanner csrf={p.csrf} text={`${text} The change takes effect after a restart.`} />
    : <p class="ok" role="status">{text}</p>;
}

function ErrorSummary(p: { ctx: FormContext }) {
  return (
    <div class="error error-summary" role="alert" aria-labelledby="error-summary-title">
      <h2 id="error-summary-title">
        {p.ctx.errors.length === 1
          ? "One setting needs fixing"
          : `${p.ctx.errors.length} settings need fixing`}
      </h2>
      <ul>
        {p.ctx.errors.map((e, i) => {
          const d = p.ctx.describe(e);
          return <li key={i}>{d.href ? <a href={d.href}>{d.text}</a> : d.text}</li>;
        })}
      </ul>
    </div>
  );
}

function ProbeResult(p: { label: string; result: ProbeResultView; index: number }) {
  const id = `probe-${p.index}`;
  const r = p.result;
  return (
    <section class={`probe ${r.ok ? "ok" : "error"}`} aria-labelledby={id}>
      <h2 id={id}>
        {p.label}: <span aria-hidden="true">{r.ok ? "✓" : "✗"}</span> {r.ok ? "passed" : "failed"}
      </h2>
      <p>{r.server}</p>
      <ol class="steps">
        {r.steps.map((s, i) => {
          const state = s.skipped ? "skipped" : s.ok ? "passed" : "failed";
          return (
            <li key={i} class={`step ${state}`}>
              <span class="mark" aria-hidden="true">
                {s.skipped ? "–" : s.ok ? "✓" : "✗"}
              </span>{" "}
              <strong>{s.step}</strong> <span class="state">({state})</span>
              {s.detail && <span class="detail">: {s.detail}</span>}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

function Group(p: { group: SettingsGroup; ctx: FormContext }) {
  const g = p.group;
  const helpId = `g-${fieldId(g.fields[0].path)}`;
  return (
    <fieldset class="group" aria-describedby={g.help ? helpId : undefined}>
      <legend>{g.title}</legend>
      {g.help && <p class="hint" id={helpId}>{g.help}</p>}
      {g.fields.map((f) =>
        f.kind === "rules"
          ? <RulesField key={f.path} field={f} ctx={p.ctx} />
          : <Field key={f.path} field={f} ctx={p.ctx} />
      )}
    </fieldset>
  );
}

// The ids that describe a field: its help, the file note, its errors.
function describedBy(...ids: (string | false | undefined)[]): string {
  return ids.filter(Boolean).join(" ");
}

function FieldErrors(p: { id: string; label: string; errors: FieldError[] }) {
  if (!p.errors.length) return null;
  return (
    <p class="field-error" id={p.id}>
      <span class="sr">Error:</span>
      {p.errors.map((e) => `${p.label}: ${e.message}`).join("; ")}
    </p>
  );
}

function Field(p: { field: SettingsField; ctx: FormContext }) {
  const { field: f, ctx } = p;
  const id = fieldId(f.path);
  const fixed = ctx.fixed(f.path);
  const errors = ctx.errorsOf(f.path);
  const ids = {
    help: `h-${id}`,
    fixed: fixed && `x-${id}`,
    error: errors.length > 0 && `e-${id}`,
  };
  const described = describedBy(ids.help, ids.fixed, ids.error);
  const invalid = errors.length > 0 ? "true" : undefined;
  const notes = (
    <>
      <p class="hint" id={ids.help}>{f.help}</p>
      {fixed && <p class="fixed" id={`x-${id}`}>{FIXED_NOTE}</p>}
      <FieldErrors id={`e-${id}`} label={ctx.label(f.path)} errors={errors} />
    </>
  );
  const name = fixed ? undefined : f.path;

  if (f.kind === "boolean") {
    return (
      <div class={`field check${errors.length ? " invalid" : ""}`}>
        {!fixed && <input type="hidden" name={boolMarker(f.path)} value="1" />}
        <input
          type="checkbox"
          id={id}
          name={name}
          value="on"
          checked={ctx.checked(f)}
          disabled={fixed}
          aria-describedby={described}
          aria-invalid={invalid}
        />
        <label for={id}>{f.label}</label>
        {notes}
      </div>
    );
  }

  if (f.kind === "secret") {
    const set = isSetSecret(getPath(ctx.p.view.settings, f.path));
    const typed = !!ctx.p.draft?.[f.path];
    const statusId = `s-${id}`;
    return (
      <div class={`field secret${errors.length ? " invalid" : ""}`}>
        <label for={id}>{f.label}</label>
        <p class="status" id={statusId}>
          Currently: <strong>{set ? "set" : "not set"}</strong>
          {typed && " — the password you typed was not saved; type it again"}
        </p>
        <input
          type="password"
          id={id}
          name={name}
          value=""
          disabled={fixed}
          autocomplete="new-password"
          aria-describedby={describedBy(statusId, ids.help, ids.fixed, ids.error)}
          aria-invalid={invalid}
        />
        {notes}
        {!fixed && f.optional && set && (
          <div class="check">
            <input type="checkbox" id={`c-${id}`} name={clearMarker(f.path)} value="on" />
            <label for={`c-${id}`}>Remove the stored {f.label.toLowerCase()}</label>
          </div>
        )}
      </div>
    );
  }

  let control: VNode;
  if (f.kind === "select") {
    const current = ctx.text(f);
    const options = f.options ?? [];
    control = (
      <select
        id={id}
        name={name}
        disabled={fixed}
        aria-describedby={described}
        aria-invalid={invalid}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value} selected={o.value === current}>{o.label}</option>
        ))}
        {current !== "" && !options.some((o) => o.value === current) && (
          <option value={current} selected>{current}</option>
        )}
      </select>
    );
  } else if (f.kind === "list") {
    control = (
      <textarea
        id={id}
        name={name}
        rows={4}
        value={ctx.text(f)}
        disabled={fixed}
        spellcheck={false}
        aria-describedby={described}
        aria-invalid={invalid}
      />
    );
  } else {
    const numeric = f.kind === "number" || f.kind === "nullable-number";
    control = (
      <input
        type="text"
        id={id}
        name={name}
        value={ctx.text(f)}
        disabled={fixed}
        inputMode={numeric ? "decimal" : undefined}
        autocomplete="off"
        spellcheck={false}
        aria-describedby={described}
        aria-invalid={invalid}
      />
    );
  }
  return (
    <div class={`field${errors.length ? " invalid" : ""}`}>
      <label for={id}>{f.label}</label>
      {control}
      {notes}
    </div>
  );
}

// Broadcast rules: one row per rule plus two empty rows to add one (no script adds rows).
function RulesField(p: { field: SettingsField; ctx: FormContext }) {
  const { field: f, ctx } = p;
  const fixed = ctx.fixed(f.path);
  const rows = ctx.rules();
  const all = fixed ? rows : [...rows, { header: "", pattern: "" }, { header: "", pattern: "" }];
  const listErrors = ctx.errors.filter((e) => e.path === f.path);
  const helpId = `h-${fieldId(f.path)}`;
  return (
    <div class="field rules" id={fieldId(f.path)}>
      <p class="hint" id={helpId}>{f.help}</p>
      {fixed && <p class="fixed" id={`x-${fieldId(f.path)}`}>{FIXED_NOTE}</p>}
      <FieldErrors id={`e-${fieldId(f.path)}`} label={f.label} errors={listErrors} />
      {all.length === 0 && <p>No broadcast rules.</p>}
      {all.map((r, i) => {
        const isNew = i >= rows.length;
        return (
          <fieldset class="rule" key={i}>
            <legend>{isNew ? `New rule ${i - rows.length + 1}` : `Rule ${i + 1}`}</legend>
            {(["header", "pattern"] as const).map((part) => {
              const path = `rules.broadcast.${i}.${part}`;
              const id = fieldId(path);
              const errors = ctx.errors.filter((e) =>
                e.path === path || (part === "header" && e.path === `rules.broadcast.${i}`)
              );
              const label = part === "header" ? "Header field" : "Pattern";
              return (
                <div class={`field${errors.length ? " invalid" : ""}`} key={part}>
                  <label for={id}>{label}</label>
                  <input
                    type="text"
                    id={id}
                    name={fixed ? undefined : path}
                    value={r[part]}
                    disabled={fixed}
                    autocomplete="off"
                    spellcheck={false}
                    aria-describedby={describedBy(
                      helpId,
                      fixed && `x-${fieldId(f.path)}`,
                      errors.length > 0 && `e-${id}`,
                    )}
                    aria-invalid={errors.length ? "true" : undefined}
                  />
                  <FieldErrors id={`e-${id}`} label={`Rule ${i + 1} ${part}`} errors={errors} />
                </div>
              );
            })}
          </fieldset>
        );
      })}
    </div>
  );
}

// The connection tests: submit buttons of the settings form, so they test what is typed.
function Tests(p: { section: SettingsSection; draft?: Record<string, string> }) {
  const id = p.section.id;
  if (!["source", "target", "ldap", "smtp"].includes(id)) return null;
  return (
    <fieldset class="group tests" aria-describedby="tests-hint">
      <legend>Check the settings</legend>
      <p class="hint" id="tests-hint">
        A test uses the values in this form without saving them.
      </p>
      {(id === "source" || id === "target") && (
        <div class="field">
          <label for="f-_mailbox">Sample mailbox to impersonate</label>
          <input
            type="text"
            id="f-_mailbox"
            name="_mailbox"
            value={p.draft?._mailbox ?? ""}
            inputMode="numeric"
            autocomplete="off"
            aria-describedby="h-f-_mailbox"
          />
          <p class="hint" id="h-f-_mailbox">
            Optional: a mailbox number to log in as through the trusted server.
          </p>
        </div>
      )}
      {id === "smtp" && (
        <div class="field">
          <label for="f-_to">Send a test message to</label>
          <input
            type="email"
            id="f-_to"
            name="_to"
            value={p.draft?._to ?? ""}
            autocomplete="email"
          />
        </div>
      )}
      <div class="actions">
        {id === "source" && (
          <TestButton action="/admin/settings/source/test" label="Test the production MSS" />
        )}
        {id === "target" && (
          <TestButton action="/admin/settings/target/test" label="Test the backup" />
        )}
        {id === "ldap" && (
          <>
            <TestButton
              action="/admin/settings/ldap/test?side=source"
              label="Test the production directory"
            />
            <TestButton
              action="/admin/settings/ldap/test?side=target"
              label="Test the backup directory"
            />
          </>
        )}
        {id === "smtp" && (
          <TestButton action="/admin/settings/smtp/test" label="Send a test message" />
        )}
      </div>
    </fieldset>
  );
}

function TestButton(p: { action: string; label: string }) {
  return <button type="submit" class="quiet" formAction={p.action}>{p.label}</button>;
}
