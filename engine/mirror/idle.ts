/**
 * IDLE watchers: a read-only connection per busy mailbox that reports changes on production the
 * moment they happen, so the scheduler mirrors them within seconds instead of at the next poll.
 * @module
 */
import type { ImapFlow } from "imapflow";
import type { SourceConfig } from "../config/mod.ts";
import { connectAs, disconnect } from "../imap/mod.ts";
import { log, sleep } from "../support/mod.ts";

// One watched mailbox; `stop` ends its connection and any back-off wait at once.
interface Watch {
  client: ImapFlow | null;
  stop: AbortController;
  lastActive: number;
}

/** A set of IDLE connections, at most `max`, least recently active evicted first. */
export class IdleWatchers {
  #watching = new Map<string, Watch>();

  /** Watches with `source`; `onChange(mailbox)` is called for every change seen. */
  constructor(
    readonly source: SourceConfig,
    readonly max: number,
    readonly onChange: (mailbox: string) => void,
  ) {}

  /** Mailboxes being watched. */
  get mailboxes(): string[] {
    return [...this.#watching.keys()];
  }

  /** Marks a mailbox as active: watch it (evicting the least recently active beyond `max`). */
  touch(mailbox: string): void {
    const cur = this.#watching.get(mailbox);
    if (cur) {
      cur.lastActive = Date.now();
      return;
    }
    if (this.max <= 0) return;
    if (this.#watching.size >= this.max) {
      const oldest = [...this.#watching].sort((a, b) => a[1].lastActive - b[1].lastActive)[0];
      this.stop(oldest[0]);
    }
    const entry: Watch = { client: null, stop: new AbortController(), lastActive: Date.now() };
    this.#watching.set(mailbox, entry);
    this.#run(mailbox, entry);
  }

  /** Stops watching one mailbox. */
  stop(mailbox: string): void {
    const e = this.#watching.get(mailbox);
    if (!e) return;
    e.stop.abort();
    this.#watching.delete(mailbox);
    e.client?.close();
  }

  /** Stops every watcher. */
  stopAll(): void {
    for (const m of this.mailboxes) this.stop(m);
  }

  async #run(mailbox: string, entry: Watch): Promise<void> {
    const stopped = entry.stop.signal;
    let failures = 0;
    while (!stopped.aborted) {
      try {
        const client = await connectAs(this.source, mailbox, { idle: true });
        entry.client = client;
        if (stopped.aborted) break;
        const changed = () => this.onChange(mailbox);
        client.on("exists", changed);
        client.on("expunge", changed);
        client.on("flags", changed);
        // EXAMINE: watching must not change \Recent (or anything) on production.
        await client.mailboxOpen("INBOX", { readOnly: true });
        failures = 0;
        while (!stopped.aborted && client.usable) await client.idle();
      } catch (e) {
        if (stopped.aborted) break;
        failures++;
        log("warn", `IDLE on mailbox "${mailbox}" stopped: ${(e as Error).message}`);
      } finally {
        await disconnect(entry.client);
        entry.client = null;
      }
      if (failures >= 3) {
        // Polling still covers the mailbox; a broken IDLE should not hammer the server.
        this.#watching.delete(mailbox);
        break;
      }
      await sleep(1000 * 2 ** failures, stopped);
    }
  }
}
