/**
 * The configuration a running appliance reads: the file's values over the settings saved from
 * the admin console, re-resolved whenever the console saves, so the next mirror pass, directory
 * pass and forward use the new values without a restart. Secrets are sealed in the state store
 * and opened only in this process's memory.
 * @module
 */
import { getSettings, putSettings, type State } from "../state/mod.ts";
import { loadConfig, type LoadOptions, readConfigFile, resolvePaths } from "./load.ts";
import type { Config } from "./schema.ts";
import { loadKey, sealSecrets, unsealSecrets } from "./secrets.ts";

/** Where the running portal listens, to tell when a saved change needs a restart. */
export interface ServingAt {
  listen: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

/** The raw inputs the configuration is made of: the file's values and the stored settings. */
export interface SettingsInputs {
  fileRaw: Record<string, unknown>;
  /** Saved from the console, secrets open. */
  stored: Record<string, unknown>;
}

/** The live configuration of one process. */
export class LiveConfig {
  #config: Config;
  #inputs: Promise<SettingsInputs> | null;
  #listeners = new Set<(config: Config) => void>();
  #restart = new Set<() => void>();
  /** Set by `serve`: what the listening portal was started with. */
  serving: ServingAt | null = null;

  /** A live config around a config already loaded; the inputs are read when first needed. */
  constructor(
    config: Config,
    readonly state: State | null = null,
    inputs?: SettingsInputs,
    readonly env: Record<string, string | undefined> = {},
  ) {
    this.#config = config;
    this.#inputs = inputs ? Promise.resolve(inputs) : null;
  }

  /** Loads the file and the stored settings (unsealed) of a state store. */
  static async open(state: State, opts: LoadOptions = {}): Promise<LiveConfig> {
    const env = opts.env ?? Deno.env.toObject();
    const { file, dataDir } = resolvePaths({ ...opts, env });
    const inputs = await readInputs(file, dataDir, state);
    const config = await loadConfig({
      file: file ?? undefined,
      dataDir,
      stored: inputs.stored,
      env,
    });
    return new LiveConfig(config, state, inputs, env);
  }

  /** The configuration in force now. */
  get current(): Config {
    return this.#config;
  }

  /** The file's raw values and the stored settings (copies). */
  async inputs(): Promise<SettingsInputs> {
    this.#inputs ??= readInputs(this.#config.file, this.#config.dataDir, this.state);
    return structuredClone(await this.#inputs);
  }

  /** The config file, or null when the appliance runs on embedded defaults and stored settings. */
  get file(): string | null {
    return this.#config.file;
  }

  /** The data directory. */
  get dataDir(): string {
    return this.#config.dataDir;
  }

  /**
   * Saves new settings (sealing secrets first) and puts the config they resolve to in force;
   * `config` must be what {@link LiveConfig.resolve} made of `stored`.
   */
  async save(stored: Record<string, unknown>, config: Config): Promise<void> {
    if (!this.state) throw new Error("This configuration has no state store to save into");
    const sealed = await sealSecrets(await loadKey(this.dataDir), stored) as Record<
      string,
      unknown
    >;
    const { fileRaw } = await this.inputs();
    await putSettings(this.state, sealed);
    this.#inputs = Promise.resolve({ fileRaw, stored: structuredClone(stored) });
    this.#config = config;
    for (const fn of [...this.#listeners]) fn(config);
  }

  /** Resolves what `stored` would make of the configuration, without saving (throws ConfigError). */
  async resolve(stored: Record<string, unknown>): Promise<Config> {
    return await loadConfig({
      file: this.file ?? undefined,
      dataDir: this.dataDir,
      stored,
      env: this.env,
    });
  }
  /** Calls `fn` with every new configuration; returns the unsubscribe. */
  onChange(fn: (config: Config) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Whether the portal listens somewhere other than the configuration now says. */
  restartPending(): boolean {
    const s = this.serving;
    if (!s) return false;
    const p = this.#config.portal;
    return s.listen !== p.listen || s.tlsCertFile !== p.tlsCertFile ||
      s.tlsKeyFile !== p.tlsKeyFile;
  }

  /** Asks `serve` to start the portal again on the configured address; false when nobody serves. */
  requestRestart(): boolean {
    if (!this.#restart.size) return false;
    for (const fn of [...this.#restart]) fn();
    return true;
  }

  /** Registers the restart handler (serve); returns the unregister. */
  onRestart(fn: () => void): () => void {
    this.#restart.add(fn);
    return () => this.#restart.delete(fn);
  }
}

async function readInputs(
  file: string | null,
  dataDir: string,
  state: State | null,
): Promise<SettingsInputs> {
  const fileRaw = file ? await readConfigFile(file) : {};
  const saved = state ? await getSettings(state) : {};
  const stored = Object.keys(saved).length
    ? await unsealSecrets(await loadKey(dataDir), saved) as Record<string, unknown>
    : {};
  return { fileRaw, stored };
}
