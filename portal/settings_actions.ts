/**
 * What the settings pages and the JSON API both do: show the settings, save a partial change
 * (validated by the config schema, secrets sealed, audited old → new, in force at once), and
 * run a connection test against saved or not-yet-saved settings.
 * @module
 */
import { type Config, ConfigError } from "../engine/config/mod.ts";
import {
  applySettingsPatch,
  type FieldError,
  problemsToErrors,
  type SettingsChange,
  type SettingsView,
  settingsView,
} from "../engine/settings/mod.ts";
import {
  probeFiles,
  probeImap,
  probeLdap,
  type ProbeResult,
  probeSmtp,
} from "../engine/probe/mod.ts";
import { listSubscriptions } from "../engine/state/mod.ts";
import { auditEvent, type Ctx, type PortalDeps, type PortalEnv } from "./context.ts";

/** The servers a test button reaches. */
export const TEST_KINDS = ["source", "target", "ldap-source", "ldap-target", "smtp"] as const;
/** One of {@link TEST_KINDS}. */
export type TestKind = typeof TEST_KINDS[number];

/** The settings as the console and `GET /api/admin/settings` show them. */
export async function currentView(deps: PortalDeps): Promise<SettingsView> {
  const { fileRaw, stored } = await deps.live.inputs();
  return settingsView({ fileRaw, stored, file: deps.live.file });
}

/** What a save did. */
export type SaveOutcome =
  | { ok: true; changes: SettingsChange[]; restartNeeded: boolean }
  | { ok: false; errors: FieldError[] };

/** Saves a partial change; every change is audited with old → new values (secrets masked). */
export async function saveSettings<E extends PortalEnv>(
  c: Ctx<E>,
  deps: PortalDeps,
  patch: unknown,
  actor: string,
): Promise<SaveOutcome> {
  const candidate = await candidateSettings(deps, patch);
  if (!candidate.ok) return candidate;
  const { stored, config, changes, restartNeeded } = candidate;
  if (changes.length) {
    await deps.live.save(stored, config);
    await auditEvent(c, deps, { actor, action: "settings-change", detail: { changes } });
  }
  return { ok: true, changes, restartNeeded: restartNeeded || deps.live.restartPending() };
}

/** Runs a connection test; `patch` holds unsaved settings to test before saving. */
export async function runTest(
  deps: PortalDeps,
  kind: TestKind,
  opts: { patch?: unknown; mailbox?: string; to?: string },
): Promise<{ ok: true; result: ProbeResult } | { ok: false; errors: FieldError[] }> {
  let config = deps.config;
  if (opts.patch !== undefined && !isEmpty(opts.patch)) {
    const candidate = await candidateSettings(deps, opts.patch);
    if (!candidate.ok) return candidate;
    config = candidate.config;
  }
  const missing = (path: string, what: string) => ({
    ok: false as const,
    errors: [{ path, message: `${what} is not set: fill it in first` }],
  });
  switch (kind) {
    case "source": {
      if (!config.source) return missing("source", "The production message store");
      const mailbox = opts.mailbox || await sampleMailbox(deps);
      return {
        ok: true,
        result: await probeImap(config.source, {
          side: "source",
          mailbox,
          folders: config.source.folders,
          greetingsFolder: config.source.greetingsFolder,
        }),
      };
    }
    case "target": {
      const t = config.target;
      if (!t) return missing("target", "The backup");
      if (t.type === "files") return { ok: true, result: await probeFiles(t) };
      const mailbox = opts.mailbox || await sampleMailbox(deps);
      return { ok: true, result: await probeImap(t, { side: "target", mailbox }) };
    }
    case "ldap-source":
    case "ldap-target": {
      const side = kind === "ldap-source" ? "source" : "target";
      const endpoint = config.ldap?.[side];
      if (!config.ldap || !endpoint) {
        return missing(
          `ldap.${side}`,
          `The ${side === "source" ? "production" : "backup"} directory`,
        );
      }
      return { ok: true, result: await probeLdap(endpoint, config.ldap.attributes) };
    }
    case "smtp": {
      if (!config.smtp) return missing("smtp", "The mail relay");
      return { ok: true, result: await probeSmtp(config.smtp, { to: opts.to || undefined }) };
    }
  }
}

type Candidate =
  | {
    ok: true;
    stored: Record<string, unknown>;
    config: Config;
    changes: SettingsChange[];
    restartNeeded: boolean;
  }
  | { ok: false; errors: FieldError[] };

// The settings a patch would make, validated and resolved, nothing saved.
async function candidateSettings(deps: PortalDeps, patch: unknown): Promise<Candidate> {
  const { fileRaw, stored } = await deps.live.inputs();
  const out = await applySettingsPatch({
    fileRaw,
    stored,
    patch,
    file: deps.live.file,
    dataDir: deps.live.dataDir,
  });
  if (!out.ok) return out;
  try {
    const config = await deps.live.resolve(out.stored);
    return { ...out, config };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, errors: problemsToErrors(e.problems.length ? e.problems : [e.message]) };
  }
}

// A mailbox to act for when the admin named none: the first subscribed one.
async function sampleMailbox(deps: PortalDeps): Promise<string | undefined> {
  const subs = await listSubscriptions(deps.state);
  return subs[0]?.mailbox;
}

function isEmpty(v: unknown): boolean {
  return v === null || (typeof v === "object" && !Array.isArray(v) && !Object.keys(v).length);
}
