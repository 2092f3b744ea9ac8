/**
 * The benchmark's own IMAP sessions (not vmirror's): appending on production, watching the backup
 * with IDLE to time-stamp each message the moment it arrives.
 * @module
 */

import { ImapFlow } from "imapflow";
import type { LabInfo, LabSide } from "../lab/types.ts";

/** A master-user session on one side of the lab, impersonating `mailbox` (SASL PLAIN authzid). */
export async function labSession(
  lab: LabInfo,
  side: LabSide,
  mailbox: string,
): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: lab.imap[side].host,
    port: lab.imap[side].port,
    secure: false,
    doSTARTTLS: false,
    auth: {
      user: lab.trusted.user,
      pass: lab.trusted.password,
      authzid: mailbox,
      loginMethod: "AUTH=PLAIN",
    },
    logger: false,
    disableCompression: true,
    disableAutoIdle: true,
  });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** Logs out, closing the socket whatever happens. */
export async function closeSession(client: ImapFlow): Promise<void> {
  await client.logout().catch(() => {});
  client.close();
}

/** The Message-ID of raw message bytes (or of a fetched header block). */
export function messageIdOf(bytes: Uint8Array): string | null {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 16384));
  const m = /^message-id:[ \t]*(<[^>\r\n]+>)/im.exec(head);
  return m ? m[1] : null;
}

/** A copy of a message with another Message-ID (bytes otherwise unchanged). */
export function withMessageId(bytes: Uint8Array, messageId: string): Uint8Array {
  const text = new TextDecoder("latin1").decode(bytes);
  const replaced = text.replace(/^message-id:[ \t]*<[^>\r\n]+>/im, `Message-ID: ${messageId}`);
  return Uint8Array.from(replaced, (c) => c.charCodeAt(0));
}

/** The full source of the first message of a mailbox's INBOX (read-only). */
export async function firstMessage(
  lab: LabInfo,
  side: LabSide,
  mailbox: string,
): Promise<Uint8Array> {
  const client = await labSession(lab, side, mailbox);
  try {
    await client.mailboxOpen("INBOX", { readOnly: true });
    const m = await client.fetchOne("1", { source: true });
    if (!m || !m.source) throw new Error(`INBOX of mailbox "${mailbox}" on "${side}" is empty`);
    return new Uint8Array(m.source);
  } finally {
    await closeSession(client);
  }
}

/**
 * Watches one INBOX and records, per Message-ID, when the server first announced it (the time of
 * the EXISTS response, `performance.now()`); the Message-IDs are fetched afterwards. It polls with
 * NOOP every `pollMs` while someone waits, rather than IDLE: Dovecot holds IDLE notifications back
 * for 500 ms (NOTIFY_DELAY_MSECS) to batch changes, which would be added to every sample.
 */
export class ArrivalWatcher {
  /** Message-ID → arrival time (ms, performance.now()). */
  readonly arrivals = new Map<string, number>();
  #pending: { from: number; to: number; at: number }[] = [];
  #known = 0;
  #draining: Promise<void> | null = null;
  #polling = false;
  #stopped = false;
  #listeners = new Set<() => void>();

  private constructor(
    readonly mailbox: string,
    readonly client: ImapFlow,
    readonly pollMs: number,
  ) {}

  /** Connects and examines INBOX (read-only). */
  static async open(
    lab: LabInfo,
    side: LabSide,
    mailbox: string,
    opts: { pollMs?: number } = {},
  ): Promise<ArrivalWatcher> {
    const client = await labSession(lab, side, mailbox);
    const w = new ArrivalWatcher(mailbox, client, opts.pollMs ?? 25);
    const box = await client.mailboxOpen("INBOX", { readOnly: true });
    w.#known = box.exists;
    if (box.exists > 0) w.#pending.push({ from: 1, to: box.exists, at: performance.now() });
    client.on("exists", (ev: { count: number }) => {
      const at = performance.now();
      if (ev.count > w.#known) {
        w.#pending.push({ from: w.#known + 1, to: ev.count, at });
        w.#known = ev.count;
      }
    });
    await w.#drain();
    return w;
  }

  /** Messages seen so far. */
  get count(): number {
    return this.#known;
  }

  /** Resolves when `messageId` has arrived (its time), or null after `timeoutMs`. */
  waitFor(messageId: string, timeoutMs: number): Promise<number | null> {
    const hit = this.arrivals.get(messageId);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve) => {
      const check = () => {
        const t = this.arrivals.get(messageId);
        if (t !== undefined) done(t);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      const done = (v: number | null) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        resolve(v);
      };
      this.#listeners.add(check);
      this.#poll();
    });
  }

  /** Resolves when at least `n` messages are in the INBOX, false after `timeoutMs`. */
  async waitForCount(n: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.#known < n) {
      if (performance.now() > deadline || this.#stopped) return false;
      await this.client.noop().catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  }

  /** NOOP every pollMs while anyone waits; each EXISTS is then resolved to Message-IDs. */
  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      while (this.#listeners.size && !this.#stopped && this.client.usable) {
        await this.client.noop().catch(() => {});
        await this.#drain();
        if (this.#listeners.size) await new Promise((r) => setTimeout(r, this.pollMs));
      }
    } finally {
      this.#polling = false;
    }
  }

  /** Resolves pending EXISTS ranges to Message-IDs; one drain at a time. */
  async #drain(): Promise<void> {
    while (this.#draining) await this.#draining;
    if (!this.#pending.length || this.#stopped) return;
    let finish!: () => void;
    this.#draining = new Promise<void>((r) => (finish = r));
    try {
      while (this.#pending.length && !this.#stopped) {
        const p = this.#pending.shift()!;
        const found: string[] = [];
        const range = `${p.from}:${p.to}`;
        for await (const m of this.client.fetch(range, { headers: ["message-id"] })) {
          const id = m.headers ? messageIdOf(new Uint8Array(m.headers)) : null;
          if (id) found.push(id);
        }
        for (const id of found) if (!this.arrivals.has(id)) this.arrivals.set(id, p.at);
        for (const l of [...this.#listeners]) l();
      }
    } catch {
      // A watcher that fails leaves its messages unseen: reported as missing, not as latency.
    } finally {
      this.#draining = null;
      finish();
    }
  }

  /** Stops watching and logs out. */
  async close(): Promise<void> {
    this.#stopped = true;
    await closeSession(this.client);
  }
}
