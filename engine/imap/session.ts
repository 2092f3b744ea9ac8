/**
 * Kept hand-written: measured, one SASL-IR login and no client handshake beat imapflow's seven
 * round trips per connection (README, "Performance": no-change pass, initial copy).
 *
 * A lean IMAP session of our own, used by the mirror pass on both sides: connection (TLS or
 * STARTTLS), trusted-server login (SASL PLAIN with authzid, or LOGIN with a separator),
 * capabilities, folder names mapped to the server's personal namespace (commands/namespace.ts),
 * and the command runner; the commands themselves are in commands/<verb>.ts,
 * the socket and its deadlines in wire.ts. On production only read-only commands: STATUS,
 * EXAMINE, UID FETCH of flags, sizes, dates and BODY.PEEK[]. On the backup: SELECT, CREATE,
 * UID SEARCH, APPEND (MULTIAPPEND for a batch, streamed from a file for a large message), UID
 * STORE and UID EXPUNGE. Restore, the portal and IDLE keep imapflow (see reader.ts).
 * @module
 */
import type { ImapEndpoint } from "../config/mod.ts";
import type { Runner } from "./command.ts";
import {
  append,
  appendLimit,
  appendMany,
  type AppendResult,
  bytesItem,
  fileLiteral,
} from "./commands/append.ts";
import { capability } from "./commands/capability.ts";
import { create } from "./commands/create.ts";
import { namespace, type PersonalNamespace, serverFolder } from "./commands/namespace.ts";
import {
  NOTIFY_NONE,
  NOTIFY_SET,
  notifySet,
  type StatusPush,
  statusPush,
} from "./commands/notify.ts";
import { expunge, uidExpunge } from "./commands/expunge.ts";
import { fetchBodies, fetchFlags, fetchIdentities, fetchRange } from "./commands/fetch.ts";
import { searchHeader, uidSearch } from "./commands/search.ts";
import { openFolder, type SelectedFolder } from "./commands/select.ts";
import { status } from "./commands/status.ts";
import { storeFlags } from "./commands/store.ts";
import type { CommandPart } from "./encode.ts";
import { quote } from "./encode.ts";
import { ImapError } from "./flow.ts";
import {
  capabilityCode,
  countChange,
  type FetchedIdentity,
  type FlagScan,
  inlineLiterals,
  isOk,
  type Response,
} from "./parse.ts";
import { ImapWire, type WireConn, withTimeout } from "./wire.ts";

export type { AppendResult } from "./commands/append.ts";
export { isTooBig, TooBigError } from "./commands/append.ts";
export type { SelectedFolder } from "./commands/select.ts";
export type { StatusPush } from "./commands/notify.ts";

const enc = new TextEncoder();

// Each server's personal namespace, asked once per endpoint (a config load), not per session:
// the no-change pass stays a login and one STATUS per folder.
const namespaces = new WeakMap<ImapEndpoint, Promise<PersonalNamespace | null>>();

/**
 * One connection logged in as the trusted server impersonating a mailbox.
 *
 * Deadlines (see {@link ImapWire}): each exchange (a command and its answer, an APPEND with its
 * literals) may be quiet for at most `commandTimeoutSeconds` on any one read or write, and must
 * end within `commandTimeoutSeconds` plus the time its bytes take at the floor rate. The
 * greeting, STARTTLS and the TLS handshake get `connectTimeoutSeconds`. A missed deadline
 * closes the socket and throws an error whose message starts with "timeout", which
 * {@link ImapError} counts as transient; the session is unusable afterwards and says so at once.
 */
export class ImapSession {
  #wire: ImapWire;
  #tag = 0;
  #caps = new Set<string>();
  #exists = 0;
  #lastTagged = "";
  // The folder opened last: none, read-only (EXAMINE) or read-write (SELECT).
  #selected: "none" | "examine" | "select" = "none";
  #condstore = false;
  #listening: Listening | null = null;
  #broken = false;
  // What commands/<verb>.ts see of this session.
  readonly #runner: Runner;

  private constructor(conn: WireConn, readonly endpoint: ImapEndpoint, readonly mailbox: string) {
    this.#wire = new ImapWire(conn, endpoint.commandTimeoutSeconds * 1000);
    const exists = () => this.#exists;
    this.#runner = {
      run: (parts, untagged) => this.#run(parts, untagged),
      has: (c) => this.has(c),
      get exists() {
        return exists();
      },
    };
  }

  /** Connects and logs in; throws {@link ImapError} with context on failure. */
  static async open(endpoint: ImapEndpoint, mailbox: string): Promise<ImapSession> {
    const fail = (op: string, e: unknown) => new ImapError(endpoint.name, mailbox, op, e);
    // The CA was read once, at load.
    const caCerts = endpoint.ca ? [endpoint.ca] : undefined;
    const connectMs = endpoint.connectTimeoutSeconds * 1000;
    let conn: Deno.Conn;
    try {
      conn = await withTimeout<Deno.Conn>(
        endpoint.tls === "tls"
          ? Deno.connectTls({ hostname: endpoint.host, port: endpoint.port, caCerts })
          : Deno.connect({ hostname: endpoint.host, port: endpoint.port }),
        connectMs,
        (late) => late.close(),
      );
    } catch (e) {
      throw fail("reach the server", e);
    }
    let s = new ImapSession(conn, endpoint, mailbox);
    try {
      // The TLS handshake and the greeting share the connect deadline.
      s.#wire.begin(connectMs);
      if (endpoint.tls === "tls") {
        await s.#wire.io("TLS handshake", () => (conn as Deno.TlsConn).handshake());
      }
      const greeting = await s.#readLine();
      if (!/^\* (OK|PREAUTH)/i.test(greeting)) throw new Error(`unexpected greeting`);
      // Most servers put their capabilities in the greeting: no CAPABILITY round trip then.
      if (!s.#takeCapabilities(greeting)) await s.#capabilities();
      if (endpoint.tls === "starttls") {
        if (!s.#caps.has("STARTTLS")) throw new Error("the server does not offer STARTTLS");
        await s.#command("STARTTLS");
        const tls = await Deno.startTls(conn as Deno.TcpConn, { hostname: endpoint.host, caCerts });
        s = new ImapSession(tls, endpoint, mailbox);
        s.#wire.begin(connectMs);
        await s.#wire.io("TLS handshake", () => tls.handshake());
        await s.#capabilities();
      }
      await s.#login();
      return s;
    } catch (e) {
      s.close();
      if (e instanceof ImapError) throw e;
      throw fail("log in as the trusted server", e);
    }
  }

  /** Whether the server announced a capability. */
  has(capability: string): boolean {
    return this.#caps.has(capability.toUpperCase());
  }

  /** Messages in the selected folder, kept current from the server's EXISTS and EXPUNGE. */
  get exists(): number {
    return this.#exists;
  }

  /** STATUS of a folder (UIDVALIDITY, UIDNEXT, MESSAGES, HIGHESTMODSEQ), null if it is absent. */
  async status(folder: string): Promise<Record<string, string> | null> {
    return await status(this.#runner, await this.#folder(folder));
  }

  /** Opens a folder read-write (SELECT, the backup side only); null when the server says NO. */
  async select(folder: string): Promise<SelectedFolder | null> {
    this.#exists = 0;
    this.#selected = "none"; // a refused SELECT leaves nothing selected (RFC 3501)
    const box = await openFolder(this.#runner, "SELECT", await this.#folder(folder));
    if (box) this.#selected = "select";
    return box;
  }

  /**
   * Opens a folder read-only (EXAMINE: not even \Recent changes); null when the server says NO.
   * HIGHESTMODSEQ is read when the server announces it (CONDSTORE).
   */
  async examine(folder: string): Promise<SelectedFolder | null> {
    this.#exists = 0;
    this.#selected = "none";
    const box = await openFolder(this.#runner, "EXAMINE", await this.#folder(folder));
    if (box) this.#selected = "examine";
    return box;
  }

  /** Whether the connection can still carry commands (no missed deadline, not closed). */
  get usable(): boolean {
    return !this.#broken && !this.#wire.dead;
  }

  /**
   * Leaves the selected folder, so the session can be parked: UNSELECT (RFC 3691), else CLOSE
   * after EXAMINE (a read-only folder expunges nothing on CLOSE); a read-write folder on a
   * server without UNSELECT cannot be left safely and throws.
   */
  async unselect(): Promise<void> {
    if (this.#selected === "none") return;
    if (!this.has("UNSELECT") && this.#selected === "select") {
      throw new Error("cannot leave a read-write folder without UNSELECT (CLOSE would expunge)");
    }
    await this.#command(this.has("UNSELECT") ? "UNSELECT" : "CLOSE");
    this.#selected = "none";
  }

  /** The name the server gives a configured folder (INBOX as is, others namespaced). */
  async serverName(folder: string): Promise<string> {
    return await this.#folder(folder);
  }

  /**
   * Parks the session listening for changes (NOTIFY, RFC 5465; the server must announce it and
   * nothing may be selected): returns the current STATUS of every personal folder, then hands
   * each pushed STATUS to `onPush` until {@link stopListening}. `onEnd` is called once if the
   * connection ends meanwhile (the server's autologout, a restart); the session is then unusable.
   * CONDSTORE is enabled first where offered, so a flag change moves HIGHESTMODSEQ in the push.
   */
  async listen(
    onPush: (push: StatusPush) => void,
    onEnd: (e: Error) => void,
  ): Promise<StatusPush[]> {
    if (this.#listening) throw new Error("the session is already listening");
    if (this.#selected !== "none") throw new Error("cannot listen with a folder selected");
    if (!this.has("NOTIFY")) throw new Error("the server does not offer NOTIFY");
    if (!this.#condstore && this.has("ENABLE") && this.has("CONDSTORE")) {
      await this.#command("ENABLE CONDSTORE");
      this.#condstore = true;
    }
    const initial = await notifySet(this.#runner);
    const state: Listening = { stopTag: null, asking: null, loop: Promise.resolve() };
    // No deadline while parked: the server speaks only when something changes.
    this.#wire.begin(Infinity);
    state.loop = (async () => {
      try {
        for (;;) {
          const r = await this.#next();
          if (state.stopTag && r.text.startsWith(`${state.stopTag} `)) return;
          if (/^\* BYE\b/i.test(r.text)) throw new Error(`the server ended the session: ${r.text}`);
          const ask = state.asking;
          if (ask && r.text.startsWith(`${ask.noneTag} `)) {
            if (isOk(r.text.slice(ask.noneTag.length + 1))) continue;
            state.asking = null;
            ask.fail(new Error(`NOTIFY failed: ${r.text.slice(ask.noneTag.length + 1)}`));
            continue;
          }
          if (ask && r.text.startsWith(`${ask.tag} `)) {
            state.asking = null;
            if (isOk(r.text.slice(ask.tag.length + 1))) ask.done(ask.answers);
            else ask.fail(new Error(`NOTIFY failed: ${r.text.slice(ask.tag.length + 1)}`));
            continue;
          }
          const push = statusPush(r);
          // While a fresh look is asked for, STATUS answers go to it (the last per folder wins).
          if (push && ask) ask.answers.push(push);
          else if (push) onPush(push);
        }
      } catch (e) {
        this.#broken = true;
        this.close();
        state.asking?.fail(e as Error);
        state.asking = null;
        if (!state.stopTag) onEnd(e as Error);
      }
    })();
    this.#listening = state;
    return initial;
  }

  /**
   * The current STATUS of every personal folder, asked of a session that goes on listening:
   * NOTIFY NONE and NOTIFY SET again, in one write (with STATUS, the SET answers for every
   * folder), so a mailbox with no change costs one round trip. The NONE is not optional:
   * Dovecot 2.3 stops pushing to a session whose NOTIFY SET replaced another (RFC 5465 allows
   * the replacement), which turned every kept mailbox back into a polled one after the first
   * poll. Throws when the session is not listening or does not answer within the command timeout.
   */
  async look(): Promise<StatusPush[]> {
    const state = this.#listening;
    if (!state || !this.usable) throw new Error("the session is not listening");
    if (state.asking) throw new Error("a look is already under way");
    const noneTag = this.#nextTag();
    const tag = this.#nextTag();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answered = new Promise<StatusPush[]>((done, fail) => {
      state.asking = { tag, noneTag, answers: [], done, fail };
      timer = setTimeout(() => {
        // No answer: the session is lost (the loop ends and says so to the owner).
        this.#broken = true;
        this.close();
        fail(new Error("timeout: no answer to NOTIFY SET"));
      }, this.endpoint.commandTimeoutSeconds * 1000);
    });
    try {
      this.#wire.begin(Infinity);
      await this.#wire.write(enc.encode(`${noneTag} ${NOTIFY_NONE}\r\n${tag} ${NOTIFY_SET}\r\n`));
      return await answered;
    } catch (e) {
      state.asking = null;
      this.#broken = true;
      this.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether the session is parked listening (see {@link listen}). */
  get listening(): boolean {
    return this.#listening !== null;
  }

  /**
   * Ends listening (NOTIFY NONE) and waits for the server's answer, so the session can run
   * commands again; a server that does not answer within the command timeout loses the session.
   */
  async stopListening(): Promise<void> {
    const state = this.#listening;
    if (!state) return;
    this.#listening = null;
    if (!this.usable) return;
    state.stopTag = this.#nextTag();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((res) => {
      timer = setTimeout(() => {
        this.#broken = true;
        this.close();
        res();
      }, this.endpoint.commandTimeoutSeconds * 1000);
    });
    try {
      this.#wire.begin();
      await this.#wire.write(enc.encode(`${state.stopTag} ${NOTIFY_NONE}\r\n`));
      await Promise.race([state.loop, late]);
    } catch {
      this.#broken = true;
      this.close();
    } finally {
      clearTimeout(timer);
    }
    if (!this.usable) throw new Error("the session ended while it was parked");
  }

  /**
   * Flags, size and INTERNALDATE of every message of the selected folder, or with
   * `changedSince` (CONDSTORE) of those whose flags changed or that arrived since that modseq.
   */
  async fetchFlags(opts: { changedSince?: string } = {}): Promise<Map<number, FlagScan>> {
    return await fetchFlags(this.#runner, opts);
  }

  /**
   * Whole sources (BODY.PEEK[], so \Seen stays as it is) of the given UIDs, by UID; a UID
   * expunged meanwhile is simply absent.
   */
  async fetchBodies(uids: number[]): Promise<Map<number, Uint8Array>> {
    return await fetchBodies(this.#runner, uids);
  }

  /** Up to `length` bytes of a message's source from `offset` (BODY.PEEK[]<offset.length>). */
  async fetchRange(uid: number, offset: number, length: number): Promise<Uint8Array | null> {
    return await fetchRange(this.#runner, uid, { offset, length });
  }

  /** Creates a folder. */
  async create(folder: string): Promise<void> {
    await create(this.#runner, await this.#folder(folder));
  }

  /** UIDs matching a search (`criteria` is raw IMAP, e.g. `ALL` or `DELETED`), ascending. */
  async uidSearch(criteria: string): Promise<number[]> {
    return await uidSearch(this.#runner, criteria);
  }

  /**
   * UIDs whose Message-ID header contains `messageId` (as read from the wire, one char per
   * byte: an 8-bit id is searched for as the bytes the message holds, under CHARSET UTF-8).
   */
  async searchMessageId(messageId: string): Promise<number[]> {
    return await searchHeader(this.#runner, "Message-ID", messageId);
  }

  /** UID, size, INTERNALDATE, Message-ID and flags of the given UIDs of the selected folder. */
  async fetchIdentities(uids: number[]): Promise<FetchedIdentity[]> {
    return await fetchIdentities(this.#runner, uids);
  }

  /** Replaces the flags of messages (`UID STORE … FLAGS.SILENT`). */
  async setFlags(uids: number[], flags: string[]): Promise<void> {
    await storeFlags(this.#runner, uids, { flags, mode: "set" });
  }

  /** Adds flags to messages (`UID STORE … +FLAGS.SILENT`). */
  async addFlags(uids: number[], flags: string[]): Promise<void> {
    await storeFlags(this.#runner, uids, { flags, mode: "add" });
  }

  /** Expunges exactly these UIDs (UIDPLUS). */
  async uidExpunge(uids: number[]): Promise<void> {
    await uidExpunge(this.#runner, uids);
  }

  /** Expunges every message marked \Deleted in the selected folder. */
  async expunge(): Promise<void> {
    await expunge(this.#runner);
  }

  /** Appends one message held in memory. */
  async append(
    folder: string,
    bytes: Uint8Array,
    flags: string[],
    internalDate: Date,
  ): Promise<AppendResult> {
    return await append(
      this.#runner,
      await this.#folder(folder),
      bytesItem(bytes, flags, internalDate),
    );
  }

  /** Appends `size` bytes read from `path` to `folder`, streamed in chunks. */
  async appendFile(
    folder: string,
    path: string,
    size: number,
    flags: string[],
    internalDate: Date,
  ): Promise<AppendResult> {
    return await append(this.#runner, await this.#folder(folder), {
      body: fileLiteral(path, size),
      flags,
      internalDate,
    });
  }

  /**
   * Appends several messages in one MULTIAPPEND (RFC 3502): all or none, one round trip.
   * Returns the UIDVALIDITY and the UIDs in order (from APPENDUID), or nulls without UIDPLUS.
   */
  async appendMany(
    folder: string,
    items: { bytes: Uint8Array; flags: string[]; internalDate: Date }[],
  ): Promise<{ uidValidity: number | null; uids: (number | null)[] }> {
    return await appendMany(
      this.#runner,
      await this.#folder(folder),
      items.map((it) => bytesItem(it.bytes, it.flags, it.internalDate)),
    );
  }

  /** Sends LOGOUT without waiting for the answer, then closes (a probe's way out). */
  async quit(): Promise<void> {
    try {
      this.#wire.begin();
      await this.#wire.write(enc.encode(`${this.#nextTag()} LOGOUT\r\n`));
    } catch {
      // closing anyway
    }
    this.close();
  }

  /** Logs out and closes. */
  async logout(): Promise<void> {
    try {
      await this.#command("LOGOUT");
    } catch {
      // closing anyway
    }
    this.close();
  }

  /** Closes the socket. */
  close(): void {
    this.#wire.close();
  }

  /** Logs out of a parked or idle session, listening or not, without waiting long. */
  async release(): Promise<void> {
    if (this.#listening) {
      try {
        await this.stopListening();
      } catch {
        // closing anyway
      }
    }
    await this.quit();
  }

  /**
   * A configured folder name as this server names it (commands/namespace.ts): INBOX as is,
   * others through the personal namespace, asked once per endpoint when first needed.
   */
  async #folder(name: string): Promise<string> {
    if (name.toUpperCase() === "INBOX") return name;
    let ns = namespaces.get(this.endpoint);
    if (!ns) {
      ns = namespace(this.#runner);
      namespaces.set(this.endpoint, ns);
      // A failed ask is not remembered: the next session asks again.
      ns.catch(() => namespaces.delete(this.endpoint));
    }
    return serverFolder(name, await ns);
  }

  async #login(): Promise<void> {
    const e = this.endpoint;
    if (e.impersonation === "authzid") {
      const token = enc.encode(`${this.mailbox}\0${e.trustedUser}\0${e.trustedPassword}`)
        .toBase64();
      if (this.#caps.has("SASL-IR")) {
        await this.#command(`AUTHENTICATE PLAIN ${token}`, "log in");
      } else {
        // The credentials follow the server's "+": a SASL response, not a literal.
        const tag = this.#nextTag();
        this.#wire.begin();
        await this.#wire.write(enc.encode(`${tag} AUTHENTICATE PLAIN\r\n`));
        const refused = await this.#continuation(tag);
        if (refused !== null) throw new Error(refused);
        await this.#wire.write(enc.encode(`${token}\r\n`));
        const done = await this.#tagged(tag);
        if (!isOk(done)) throw new AuthError(done);
      }
    } else {
      await this.#command(
        `LOGIN ${quote(`${this.mailbox}${e.separator}${e.trustedUser}`)} ${
          quote(e.trustedPassword)
        }`,
        "log in",
      );
    }
    if (!this.#takeCapabilities(this.#lastTagged)) await this.#capabilities();
  }

  // `[CAPABILITY …]` in a greeting or a tagged OK; true when it was there.
  #takeCapabilities(line: string): boolean {
    const caps = capabilityCode(line);
    if (caps) this.#caps = caps;
    return !!caps;
  }

  async #capabilities(): Promise<void> {
    this.#caps = await capability(this.#runner) ?? this.#caps;
  }

  /**
   * The runner: sends one command, framing each literal as `{n+}` (LITERAL+) or as `{n}` and
   * waiting for the server's "+"; hands every untagged response to `untagged`; returns the
   * tagged answer — early, when the server refuses a literal instead of inviting it.
   *
   * Cyrus: a literal over the server's APPENDLIMIT goes synchronizing even with LITERAL+.
   * Cyrus announces its `maxmessagesize` as APPENDLIMIT and answers a non-synchronizing literal
   * over it with "NO [TOOBIG]" and "* BYE", closing the connection mid-pass; a synchronizing one
   * gets the NO alone, before a byte of it is sent, and the session goes on.
   */
  async #run(parts: CommandPart[], untagged: (r: Response) => void = () => {}): Promise<string> {
    const tag = this.#nextTag();
    const literalPlus = this.#caps.has("LITERAL+");
    const limit = appendLimit(this.#caps);
    this.#wire.begin();
    let line = `${tag} `;
    for (const part of parts) {
      if (typeof part === "string") {
        line += part;
        continue;
      }
      const plus = literalPlus && (limit === null || part.size <= limit);
      await this.#wire.write(enc.encode(`${line}{${part.size}${plus ? "+" : ""}}\r\n`));
      line = "";
      if (!plus) {
        const refused = await this.#continuation(tag, untagged);
        if (refused !== null) return refused;
      }
      await part.write((bytes) => this.#wire.write(bytes));
    }
    await this.#wire.write(enc.encode(`${line}\r\n`));
    return await this.#tagged(tag, untagged);
  }

  // A command whose only answer that matters is OK; `what` = "log in" makes a refusal an AuthError.
  async #command(cmd: string, what?: "log in"): Promise<string> {
    const done = await this.#run([cmd]);
    if (!isOk(done)) {
      if (what === "log in") throw new AuthError(done);
      throw new Error(`${cmd.split(" ")[0]} failed: ${done}`);
    }
    return done;
  }

  // The tagged answer to `tag` (the text after the tag), untagged responses handed on meanwhile.
  async #tagged(tag: string, untagged: (r: Response) => void = () => {}): Promise<string> {
    for (;;) {
      const r = await this.#next();
      if (r.text.startsWith(`${tag} `)) return (this.#lastTagged = r.text.slice(tag.length + 1));
      if (r.text.startsWith("* ")) untagged(r);
    }
  }

  // A "+" continuation (null), or the tagged answer that refuses it instead.
  async #continuation(
    tag: string,
    untagged: (r: Response) => void = () => {},
  ): Promise<string | null> {
    for (;;) {
      const r = await this.#next();
      if (r.text.startsWith("+")) return null;
      if (r.text.startsWith(`${tag} `)) return (this.#lastTagged = r.text.slice(tag.length + 1));
      if (r.text.startsWith("* ")) untagged(r);
    }
  }

  // The next response, the message count kept current from it.
  async #next(): Promise<Response> {
    const r = await this.#wire.readResponse();
    const change = countChange(r.text);
    if (change && "exists" in change) this.#exists = change.exists;
    else if (change) this.#exists = Math.max(0, this.#exists - 1);
    return r;
  }

  async #readLine(): Promise<string> {
    return inlineLiterals(await this.#next());
  }

  #nextTag(): string {
    return `S${++this.#tag}`;
  }
}

// A parked session's reader (see ImapSession.listen) and the tag that ends it.
interface Listening {
  stopTag: string | null;
  /** A look (ImapSession.look) waiting for its tagged answer. */
  asking: {
    tag: string;
    /** The NOTIFY NONE sent ahead of the look's NOTIFY SET (its OK is passed over). */
    noneTag: string;
    answers: StatusPush[];
    done: (answers: StatusPush[]) => void;
    fail: (e: Error) => void;
  } | null;
  loop: Promise<void>;
}

class AuthError extends Error {
  override name = "AuthError";
  /** Built from the server's tagged answer (which never echoes the password). */
  constructor(answer: string) {
    super(`AUTHENTICATIONFAILED ${answer}`);
  }
}
