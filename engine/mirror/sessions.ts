/**
 * Production sessions kept open between passes: a pass over a mailbox whose session is parked
 * here skips the login (TCP, TLS, SASL: most of a no-change pass's cost, and most of the
 * message store's), and where the server offers NOTIFY (RFC 5465) a parked session tells the
 * scheduler of a change within the server's batching delay, so every parked mailbox — not only
 * the few watched with IDLE — is mirrored within seconds.
 *
 * A message store limits concurrent sessions, so at most `max` are parked (passes in progress
 * hold up to `limits.concurrency` more). When full, a session of a mailbox that just changed
 * takes the place of the one parked longest without a change; a quiet newcomer is logged out.
 * @module
 */
import type { SourceConfig } from "../config/mod.ts";
import { ImapSession, type StatusPush } from "../imap/mod.ts";
import { log } from "../support/mod.ts";
import type { FolderStatus } from "../imap/mod.ts";

/** What the pass hands back with a session. */
export interface ParkOptions {
  /** The pass changed something in this mailbox (it deserves a place more than a quiet one). */
  active: boolean;
  /** STATUS values the pass worked from, by configured folder: a push that differs rings. */
  seen?: Map<string, FolderStatus | null>;
}

const NO_NAMES: ReadonlyMap<string, string> = new Map();

interface Parked {
  session: ImapSession;
  /** Server folder name → configured folder name (pushes name folders the server's way). */
  names: ReadonlyMap<string, string>;
}

/** Parked production sessions of one source, at most `max`. */
export class SourceSessions {
  #parked = new Map<string, Parked>();
  #names: Map<string, string> | null = null;
  // When each mailbox last changed (kept across take and give, dropped with the mailbox).
  #lastActive = new Map<string, number>();
  // Places promised to sessions still being parked (their unselect and NOTIFY SET under way), so
  // concurrent passes cannot park more than `max` between them.
  #reserved = 0;
  #closed = false;

  /**
   * `onChange(mailbox)` is called when a parked session learns (NOTIFY) that a configured folder
   * changed; without it, sessions are parked silent and only save the next pass its login.
   */
  constructor(
    readonly source: SourceConfig,
    readonly max: number,
    readonly onChange?: (mailbox: string) => void,
  ) {}

  /** Sessions parked now. */
  get size(): number {
    return this.#parked.size;
  }

  /** Whether a mailbox's parked session reports changes by itself (NOTIFY). */
  notifies(mailbox: string): boolean {
    return this.#parked.get(mailbox)?.session.listening ?? false;
  }

  /**
   * The mailbox's parked session, ready for commands, or a new login; `reused` says which (a
   * parked session may have been ended by the server since: the caller retries once on a new
   * one when its first command fails).
   */
  async take(mailbox: string): Promise<{ session: ImapSession; reused: boolean }> {
    const p = this.#parked.get(mailbox);
    if (p) {
      this.#parked.delete(mailbox);
      try {
        await p.session.stopListening();
        if (p.session.usable) return { session: p.session, reused: true };
      } catch (e) {
        log("debug", `Parked session of mailbox "${mailbox}" ended: ${(e as Error).message}`);
      }
      p.session.close();
    }
    return { session: await ImapSession.open(this.source, mailbox), reused: false };
  }

  /**
   * The current STATUS items of a mailbox's configured folders, asked of its parked session
   * while it goes on listening (one round trip, see ImapSession.look); null when the mailbox
   * has no listening session or the look fails (the session is then dropped: the caller logs in).
   */
  async look(mailbox: string): Promise<Map<string, Record<string, string>> | null> {
    const p = this.#parked.get(mailbox);
    if (!p || !p.session.listening) return null;
    try {
      const out = new Map<string, Record<string, string>>();
      for (const a of await p.session.look()) {
        const folder = p.names.get(a.folder);
        if (folder !== undefined) out.set(folder, { ...out.get(folder), ...a.items });
      }
      return out;
    } catch (e) {
      log("debug", `Parked session of mailbox "${mailbox}" ended: ${(e as Error).message}`);
      if (this.#parked.get(mailbox) === p) this.#parked.delete(mailbox);
      p.session.close();
      return null;
    }
  }

  /** A new login, never a parked session (the retry after a parked one failed). */
  async open(mailbox: string): Promise<ImapSession> {
    return await ImapSession.open(this.source, mailbox);
  }

  /** Hands a session back after a pass: parked when there is room and it is sound, else logged out. */
  async give(mailbox: string, session: ImapSession, opts: ParkOptions): Promise<void> {
    if (this.#closed || this.max <= 0 || !session.usable || this.#parked.has(mailbox)) {
      await session.quit();
      return;
    }
    if (opts.active) this.#lastActive.set(mailbox, Date.now());
    if (this.#parked.size + this.#reserved >= this.max) {
      const victim = opts.active ? this.#longestQuiet(this.#lastActive.get(mailbox)!) : null;
      if (!victim) {
        await session.quit();
        return;
      }
      this.#drop(victim);
    }
    this.#reserved++;
    try {
      await session.unselect();
      const parked: Parked = { session, names: NO_NAMES };
      if (this.onChange && session.has("NOTIFY")) await this.#listen(mailbox, parked, opts.seen);
      if (this.#closed) throw new Error("closed meanwhile");
      this.#parked.set(mailbox, parked);
    } catch (e) {
      log("debug", `Not keeping the session of mailbox "${mailbox}": ${(e as Error).message}`);
      await session.release();
    } finally {
      this.#reserved--;
    }
  }

  /** Logs out of the parked sessions of mailboxes not in `keep` (no longer subscribed). */
  retain(keep: Set<string>): void {
    for (const m of [...this.#parked.keys()]) if (!keep.has(m)) this.#drop(m);
    for (const m of [...this.#lastActive.keys()]) if (!keep.has(m)) this.#lastActive.delete(m);
  }

  /** Logs out of every parked session. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#parked.values()];
    this.#parked.clear();
    await Promise.all(all.map((p) => p.session.release()));
  }

  async #listen(
    mailbox: string,
    parked: Parked,
    seen: Map<string, FolderStatus | null> | undefined,
  ): Promise<void> {
    // One map for every session: the names come from the server's namespace, not the mailbox.
    if (!this.#names) {
      const names = new Map<string, string>();
      for (const f of this.source.folders) names.set(await parked.session.serverName(f), f);
      this.#names = names;
    }
    parked.names = this.#names;
    const ring = () => this.onChange?.(mailbox);
    const initial = await parked.session.listen(
      (push) => {
        if (parked.names.has(push.folder)) ring();
      },
      (e) => {
        // The server ended it (autologout, restart): forget it; the next pass logs in anew.
        if (this.#parked.get(mailbox) === parked) this.#parked.delete(mailbox);
        log("debug", `Parked session of mailbox "${mailbox}" ended: ${e.message}`);
      },
    );
    // What changed between the pass's STATUS and now would otherwise wait for the next push.
    if (seen && changedSince(initial, parked.names, seen)) queueMicrotask(ring);
  }

  /** The parked mailbox that changed longest ago (never: first), if it changed before `than`. */
  #longestQuiet(than: number): string | null {
    let best: string | null = null;
    let bestAt = Infinity;
    for (const m of this.#parked.keys()) {
      const at = this.#lastActive.get(m) ?? 0;
      if (at < bestAt) [best, bestAt] = [m, at];
    }
    return bestAt < than ? best : null;
  }

  #drop(mailbox: string): void {
    const p = this.#parked.get(mailbox);
    this.#parked.delete(mailbox);
    p?.session.release().catch(() => {});
  }
}

/**
 * Whether NOTIFY's first STATUS answers differ from what the pass saw: a folder the pass did
 * not see, or a different UIDVALIDITY / UIDNEXT / MESSAGES / HIGHESTMODSEQ.
 */
export function changedSince(
  initial: StatusPush[],
  names: ReadonlyMap<string, string>,
  seen: Map<string, FolderStatus | null>,
): boolean {
  for (const push of initial) {
    const folder = names.get(push.folder);
    if (folder === undefined) continue;
    const before = seen.get(folder);
    if (!before) return true;
    const it = push.items;
    const differs = (key: string, value: number | string | undefined) =>
      it[key] !== undefined && value !== undefined && String(it[key]) !== String(value);
    if (
      differs("UIDVALIDITY", before.uidValidity) || differs("UIDNEXT", before.uidNext) ||
      differs("MESSAGES", before.messages) || differs("HIGHESTMODSEQ", before.highestModseq)
    ) return true;
  }
  return false;
}
