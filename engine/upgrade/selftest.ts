/**
 * `vmirror self-test`: what a new release checks before it is switched to, beside the running
 * service and without touching its data — a copy of the state store (or a state backup) opened
 * and migrated to this build's schema, the configuration loaded over it with its sealed
 * settings opened, and whatever the composition root adds (the portal answering).
 * @module
 */
import { join } from "node:path";
import { type Config, LiveConfig, resolvePaths } from "../config/mod.ts";
import {
  closeState,
  openState,
  restoreState,
  SCHEMA_VERSION,
  schemaVersion,
  type State,
} from "../state/mod.ts";
import { VERSION } from "../version.ts";
import { pause } from "./service.ts";

/** One check and what it found. */
export interface SelfTestCheck {
  name: "state" | "config" | "portal";
  ok: boolean;
  detail: string;
}

/** What `self-test` reports (and prints as JSON with `--json`). */
export interface SelfTestReport {
  ok: boolean;
  version: string;
  /** The state schema this build writes. */
  stateSchema: number;
  checks: SelfTestCheck[];
}

/** What to test against. */
export interface SelfTestOptions {
  /** `--config`; as every verb resolves it. */
  configFile?: string;
  /** `--data`: the live data directory (only read). */
  dataDir?: string;
  /** A state backup to test instead of the data directory's store (a downgrade's). */
  backup?: string;
  /** The composition root's own check (main.ts: the portal answers); returns what it saw. */
  extra?: (ctx: { config: Config; live: LiveConfig; state: State }) => Promise<string>;
}

/** Runs the checks; never throws for a failed check (the report says which and why). */
export async function selfTest(opts: SelfTestOptions = {}): Promise<SelfTestReport> {
  const checks: SelfTestCheck[] = [];
  const report = () => ({
    ok: checks.every((c) => c.ok),
    version: VERSION,
    stateSchema: SCHEMA_VERSION,
    checks,
  });
  const { file, dataDir } = resolvePaths({ file: opts.configFile, dataDir: opts.dataDir });
  const work = await Deno.makeTempDir({ prefix: "vmirror-self-test-" });
  let state: State | null = null;
  try {
    const copy = join(work, "state.kv");
    let from: string;
    try {
      if (opts.backup) {
        // Restored into an empty store, then opened again: the migrations run on the reopen.
        const fresh = await openState(copy);
        try {
          await restoreState(fresh, opts.backup);
        } finally {
          closeState(fresh);
        }
        from = `the backup "${opts.backup}"`;
      } else {
        const copied = await copyStore(dataDir, work);
        from = copied ? `a copy of "${join(dataDir, "state.kv")}"` : "an empty store (none yet)";
      }
      state = await openState(copy);
      checks.push({
        name: "state",
        ok: true,
        detail: `${from} opened at schema ${await schemaVersion(state)}`,
      });
    } catch (e) {
      checks.push({ name: "state", ok: false, detail: (e as Error).message });
      return report();
    }
    let live: LiveConfig;
    try {
      live = await LiveConfig.open(state, { file: file ?? undefined, dataDir });
      const c = live.current;
      checks.push({
        name: "config",
        ok: true,
        detail: `${c.file ? `"${c.file}"` : "embedded defaults"} with the stored settings: ` +
          `portal on ${c.portal.listen}${c.source && c.target ? ", source and target set" : ""}`,
      });
    } catch (e) {
      checks.push({ name: "config", ok: false, detail: (e as Error).message });
      return report();
    }
    if (opts.extra) {
      try {
        const seen = await opts.extra({ config: live.current, live, state });
        checks.push({ name: "portal", ok: true, detail: seen });
      } catch (e) {
        checks.push({ name: "portal", ok: false, detail: (e as Error).message });
      }
    }
    return report();
  } finally {
    if (state) closeState(state);
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/**
 * Copies the store's file and its write-ahead log (not the index, which is rebuilt from the
 * log) while the service may be writing: copied again until neither changed during the copy.
 * Returns false when the data directory has no store yet.
 */
export async function copyStore(dataDir: string, into: string): Promise<boolean> {
  const main = join(dataDir, "state.kv");
  const wal = `${main}-wal`;
  for (let attempt = 0; attempt < 50; attempt++) {
    const before = await fingerprint(main, wal);
    if (before === null) return false;
    await Deno.copyFile(main, join(into, "state.kv"));
    const copiedWal = join(into, "state.kv-wal");
    await Deno.copyFile(wal, copiedWal).catch(async (e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      await Deno.remove(copiedWal).catch(() => {});
    });
    if ((await fingerprint(main, wal)) === before) return true;
    await pause(100);
  }
  throw new Error(`The state store "${main}" kept changing while it was copied`);
}

async function fingerprint(main: string, wal: string): Promise<string | null> {
  const m = await Deno.stat(main).catch(() => null);
  if (!m) return null;
  const w = await Deno.stat(wal).catch(() => null);
  const f = (s: Deno.FileInfo | null) => (s ? `${s.size}@${s.mtime?.getTime()}` : "-");
  return `${f(m)} ${f(w)}`;
}
