/**
 * Concurrency tools shared by the mirror, the directory sync and restore: a lock per key and a
 * bounded pool of workers.
 * @module
 */

/** Mutual exclusion per key (a mailbox, a folder): waiters queue, other keys run freely. */
export class KeyedLock {
  #held = new Map<string, Promise<void>>();

  /** Waits for `key` to be free, takes it, and returns the release function (idempotent). */
  async acquire(key: string): Promise<() => void> {
    while (this.#held.has(key)) await this.#held.get(key);
    let release!: () => void;
    this.#held.set(key, new Promise<void>((r) => (release = r)));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held.delete(key);
      release();
    };
  }

  /** Runs `fn` holding `key`, releasing it however `fn` ends. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(key);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Whether someone holds `key` now. */
  isHeld(key: string): boolean {
    return this.#held.has(key);
  }
}

/** Runs `fn` over `items` with at most `concurrency` at a time, in order of the items. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(
    Array.from({ length: Math.min(Math.max(1, concurrency), items.length) }, worker),
  );
}
