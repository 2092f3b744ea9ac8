/**
 * Waiting in loops that must stop at once when the service shuts down.
 * @module
 */

/** Resolves after `ms`, or at once when `signal` aborts (never rejects, never leaks a listener). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** A doorbell for a loop that sleeps until there is work: `wait()` ends on `ring()` or abort. */
export class Wakeup {
  #ring: (() => void) | null = null;
  #rung = false;

  /** Wakes the waiting loop, or makes its next `wait()` return at once. */
  ring(): void {
    this.#rung = true;
    this.#ring?.();
  }

  /** Resolves on the next ring (or a ring since the last wait) or when `signal` aborts. */
  wait(signal: AbortSignal): Promise<void> {
    if (this.#rung || signal.aborted) {
      this.#rung = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      // One listener per wait, removed on wake: a long-running loop must not pile them up.
      const done = () => {
        signal.removeEventListener("abort", done);
        this.#ring = null;
        this.#rung = false;
        resolve();
      };
      this.#ring = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
