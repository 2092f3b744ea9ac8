/**
 * What a connection test returns (steps in the admin's words) and the recorder that runs the
 * steps of one test under one overall deadline, skipping everything after the first failure.
 * @module
 */
import { redact } from "../support/mod.ts";

/** One layer of a connection test, as the admin console shows it. */
export interface ProbeStep {
  /** The layer: "dns", "connect", "tls", "starttls", "login", … */
  step: string;
  ok: boolean;
  /** Shown to the administrator verbatim; never holds a secret. */
  detail: string;
  /** Not run: an earlier step failed, or it needs something not given. */
  skipped?: boolean;
  /** Structured facts (certificate, capabilities, counts) for the console to lay out. */
  info?: Record<string, unknown>;
}

/** A whole connection test. */
export interface ProbeResult {
  /** Every step that ran is ok. */
  ok: boolean;
  /** The server's name as the admin knows it. */
  server: string;
  steps: ProbeStep[];
}

/** What a step's body reports when it ends normally. */
export interface StepOutcome {
  /** Default true: a body that returns has passed (warnings go in the detail). */
  ok?: boolean;
  detail: string;
  skipped?: boolean;
  info?: Record<string, unknown>;
}

/** A failure whose message is already in the admin's words (thrown by step bodies). */
export class ProbeFailure extends Error {
  override name = "ProbeFailure";
  /** `message` is shown verbatim; `info` is attached to the failed step. */
  constructor(message: string, readonly info?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The default overall deadline of a connection test. */
export const DEFAULT_PROBE_TIMEOUT_MS = 15_000;

// Inner waits end this much before the overall deadline, so that their own (more precise)
// wording wins over the recorder's generic one and cleanup still fits in the budget.
const MARGIN_MS = 150;

/**
 * Runs the steps of one test: each gets what is left of the overall deadline; a step that
 * throws or overruns fails, and every later step is recorded as skipped.
 */
export class Probe {
  readonly steps: ProbeStep[] = [];
  readonly #deadline: number;
  #failed = false;
  #cleanups = new Set<() => void | Promise<void>>();

  /** Starts the clock: the test must end within `timeoutMs`. */
  constructor(readonly server: string, timeoutMs = DEFAULT_PROBE_TIMEOUT_MS) {
    this.#deadline = Date.now() + timeoutMs;
  }

  /** When inner waits must give up (epoch ms), a little before the overall deadline. */
  get deadline(): number {
    return this.#deadline - MARGIN_MS;
  }

  /** Milliseconds left for inner waits (never negative). */
  remainingMs(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  /** Whether a step has failed (later steps are skipped). */
  get failed(): boolean {
    return this.#failed;
  }

  /** Registers what to close if a step overruns (removed by the returned function). */
  onTimeout(fn: () => void | Promise<void>): () => void {
    this.#cleanups.add(fn);
    return () => this.#cleanups.delete(fn);
  }

  /**
   * Runs one step unless an earlier one failed; returns whether it passed. `body` throws a
   * {@link ProbeFailure} for a failure in words; anything else is reported as unexpected.
   */
  async step(name: string, body: () => Promise<StepOutcome>): Promise<boolean> {
    if (this.#failed) {
      this.skip(name, "not tried: an earlier step failed");
      return false;
    }
    const allowedMs = Math.max(0, this.#deadline - Date.now());
    let timer: ReturnType<typeof setTimeout> | undefined;
    const overrun = new Promise<"overrun">((resolve) => {
      timer = setTimeout(() => resolve("overrun"), allowedMs);
    });
    // A body that throws before its first await still fails as a step, not as a crash.
    const run = (async () => await body())();
    // A body abandoned at the deadline may still reject later: that is expected, not a crash.
    run.catch(() => {});
    let outcome: StepOutcome;
    try {
      const r = await Promise.race([run, overrun]);
      if (r === "overrun") {
        await this.#cleanup();
        outcome = {
          ok: false,
          detail: `no answer within ${seconds(allowedMs)} (the test's time limit)`,
        };
      } else {
        outcome = r;
      }
    } catch (e) {
      outcome = e instanceof ProbeFailure
        ? { ok: false, detail: e.message, info: e.info }
        : { ok: false, detail: `unexpected error: ${redact(errorText(e))}` };
    } finally {
      clearTimeout(timer);
    }
    return this.record(name, outcome);
  }

  /** Records a step that is not run, with the reason. */
  skip(name: string, detail: string, info?: Record<string, unknown>): void {
    this.steps.push({ step: name, ok: true, skipped: true, detail, ...(info ? { info } : {}) });
  }

  /** Records a step's outcome as is; returns whether it passed. */
  record(name: string, outcome: StepOutcome): boolean {
    const ok = outcome.ok ?? true;
    const step: ProbeStep = { step: name, ok, detail: outcome.detail };
    if (outcome.skipped) step.skipped = true;
    if (outcome.info) step.info = outcome.info;
    this.steps.push(step);
    if (!ok && !outcome.skipped) this.#failed = true;
    return ok;
  }

  /** Closes whatever is still registered (used at the end of every test, too). */
  async close(): Promise<void> {
    await this.#cleanup();
  }

  /** The result: ok when every step that ran passed. */
  result(): ProbeResult {
    return {
      ok: this.steps.every((s) => s.ok || s.skipped),
      server: this.server,
      steps: this.steps,
    };
  }

  async #cleanup(): Promise<void> {
    const fns = [...this.#cleanups];
    this.#cleanups.clear();
    for (const fn of fns) {
      try {
        await fn();
      } catch {
        // Closing is best effort.
      }
    }
  }
}

/** Waits for `p` at most `ms` (never rejects): for polite goodbyes that must not hold a test up. */
export async function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    p.then(() => {}, () => {}),
    new Promise<void>((r) => (timer = setTimeout(r, ms))),
  ]);
  clearTimeout(timer);
}

/** "2.5 s", "15 s": a duration as the admin reads it. */
export function seconds(ms: number): string {
  const s = Math.round(ms / 100) / 10;
  return `${s} s`;
}

/** The message of anything thrown. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
