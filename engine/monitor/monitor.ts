/**
 * The monitor loop of `serve`: every `alerts.checkSeconds` (read anew each round, and a saved
 * setting wakes it at once) the servers and disks are checked, then the alerts evaluated.
 * @module
 */
import { LiveConfig } from "../config/mod.ts";
import type { State } from "../state/mod.ts";
import { log, redact, sleep } from "../support/mod.ts";
import { evaluateAlerts, type SendAlertMail } from "./alerts.ts";
import { configOf, type ConfigSource } from "./config_source.ts";
import { checkOnce } from "./health.ts";

/** Options of {@link runMonitor}. */
export interface MonitorOptions {
  /** Stops the loop (a round under way finishes its checks first). */
  signal: AbortSignal;
  /** The clock (tests). */
  now?: () => Date;
  /** Delivers alert mails (tests); default: through `smtp`. */
  send?: SendAlertMail;
}

/** Checks servers and evaluates alerts every `alerts.checkSeconds` until `signal` aborts. */
export async function runMonitor(
  live: ConfigSource,
  state: State,
  opts: MonitorOptions,
): Promise<void> {
  const now = opts.now ?? (() => new Date());
  while (!opts.signal.aborted) {
    const config = configOf(live);
    try {
      await checkOnce(config, state, now());
    } catch (e) {
      log("error", `Server checks failed: ${redact((e as Error).message)}`);
    }
    if (opts.signal.aborted) break;
    try {
      await evaluateAlerts(config, state, now(), opts.send);
    } catch (e) {
      log("error", `Alert evaluation failed: ${redact((e as Error).message)}`);
    }
    await pause(live, config.alerts.checkSeconds * 1000, opts.signal);
  }
}

// Sleeps until the next round, or until the settings change (a new server is checked at once).
async function pause(live: ConfigSource, ms: number, signal: AbortSignal): Promise<void> {
  const wake = new AbortController();
  const stop = () => wake.abort();
  signal.addEventListener("abort", stop, { once: true });
  const off = live instanceof LiveConfig ? live.onChange(stop) : () => {};
  try {
    await sleep(ms, wake.signal);
  } finally {
    off();
    signal.removeEventListener("abort", stop);
  }
}
