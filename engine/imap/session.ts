/**
 * A lean IMAP session of our own, used by the mirror pass on both sides: one SASL-IR login (where
 * imapflow's handshake takes seven round trips), then plain commands whose answers are parsed
 * without building token trees. On production only read-only commands: STATUS, EXAMINE, UID
 * FETCH of flags, sizes, dates and BODY.PEEK[] (whole, or in ranges for a large message read
 * into a spool file). On the backup: SELECT, CREATE, UID SEARCH, APPEND (MULTIAPPEND for a
 * batch, streamed from a file for a large message), UID STORE and UID EXPUNGE. TLS, STARTTLS,
 * trusted-server login (SASL PLAIN with authzid, or LOGIN with a separator). Every exchange has
 * a deadline (see {@link ImapSession}): a server that stops answering, or stops reading what we
 * send, costs at most the endpoint's timeout, never a hung pass. Restore, the portal and IDLE
 * keep imapflow.
 * @module
 */
import type { ImapEndpoint } from "../config/mod.ts";
import { ImapError } from "./flow.ts";
import { MONTH_NAMES, parseMessageId } from "../mime/mod.ts";

const CRLF = new Uint8Array([13, 10]);
/**
 * The slowest transfer rate an exchange is granted: each byte moved extends its deadline by
 * 1 s per 128 KiB (a 1 Mbit/s link), so a big literal gets time in proportion to its size while
 * a server trickling a byte now and then still runs out of time.
 */
export const FLOOR_BYTES_PER_SECOND = 128 * 1024;
const CHUNK = 256 * 1024;
const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** What the server said to an APPEND. */
export interface AppendResult {
  uidValidity: number | null;
  uid: number | null;
}

/** A folder opened with SELECT or EXAMINE. */
export interface SelectedFolder {
  uidValidity: number;
  exists: number;
  /** PERMANENTFLAGS as announced, or undefined when the server did not say. */
  permanentFlags?: Set<string>;
  /** HIGHESTMODSEQ as announced (CONDSTORE), or undefined. */
  highestModseq?: string;
}

/** What {@link ImapSession.fetchIdentities} reads of one message. */
export interface FetchedIdentity {
  uid: number;
  size: number;
  internalDate: Date;
  messageId: string | null;
  flags: string[];
}

/** One response: its text (literals marked `{n}`), and the literals' bytes in order. */
interface Response {
  text: string;
  literals: Uint8Array[];
}

/**
 * One connection logged in as the trusted server impersonating a mailbox.
 *
 * Deadlines: each exchange (a command and its answer, an APPEND with its literals) may be quiet
 * for at most `commandTimeoutSeconds` on any one read or write, and must end within
 * `commandTimeoutSeconds` plus the time its bytes take at {@link FLOOR_BYTES_PER_SECOND}. The
 * greeting, STARTTLS and the TLS handshake get `connectTimeoutSeconds`. A missed deadline closes
 * the socket (which also unblocks a write to a peer that stopped reading) and throws an error
 * whose message starts with "timeout", which {@link ImapError} counts as transient; the session
 * is unusable afterwards and says so at once.
 */
export class ImapSession {
  #conn: Deno.Conn;
  #buf = new Uint8Array(0);
  #tag = 0;
  #caps = new Set<string>();
  #exists = 0;
  #lastTagged = "";
  readonly #commandMs: number;
  // The current exchange: its quiet limit per read or write, and when it must be over.
  #quietMs: number;
  #deadline = Infinity;
  #dead: Error | null = null;

  private constructor(conn: Deno.Conn, readonly endpoint: ImapEndpoint, readonly mailbox: string) {
    this.#conn = conn;
    this.#commandMs = endpoint.commandTimeoutSeconds * 1000;
    this.#quietMs = this.#commandMs;
  }

  /** Connects and logs in; throws {@link ImapError} with context on failure. */
  static async open(endpoint: ImapEndpoint, mailbox: string): Promise<ImapSession> {
    const fail = (op: string, e: unknown) => new ImapError(endpoint.name, mailbox, op, e);
    const caCerts = endpoint.caFile ? [await Deno.readTextFile(endpoint.caFile)] : undefined;
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
      s.#begin(connectMs);
      if (endpoint.tls === "tls") {
        await s.#io("TLS handshake", () => (conn as Deno.TlsConn).handshake());
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
        s.#begin(connectMs);
        await s.#io("TLS handshake", () => tls.handshake());
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
    const items = ["UIDVALIDITY", "UIDNEXT", "MESSAGES"];
    if (this.has("CONDSTORE") || this.has("QRESYNC")) items.push("HIGHESTMODSEQ");
    const out: Record<string, string> = {};
    const done = await this.#run(
      `STATUS ${quote(encodeMailboxName(folder))} (${items.join(" ")})`,
      (r) => {
        const m = /^\* STATUS .*\(([^()]*)\)\s*$/i.exec(r.text);
        if (!m) return;
        const parts = m[1].trim().split(/\s+/);
        for (let i = 0; i + 1 < parts.length; i += 2) out[parts[i].toUpperCase()] = parts[i + 1];
      },
    );
    if (/^OK/i.test(done)) return out;
    // A folder that does not exist is an answer, not a failure.
    if (/^NO/i.test(done)) return null;
    throw new Error(`STATUS failed: ${done}`);
  }

  /** Opens a folder read-write (SELECT, the backup side only); null when the server says NO. */
  async select(folder: string): Promise<SelectedFolder | null> {
    return await this.#open("SELECT", folder);
  }

  /**
   * Opens a folder read-only (EXAMINE: not even \Recent changes); null when the server says NO.
   * HIGHESTMODSEQ is read when the server announces it (CONDSTORE).
   */
  async examine(folder: string): Promise<SelectedFolder | null> {
    return await this.#open("EXAMINE", folder);
  }

  // SELECT or EXAMINE, reading what the server says of the folder as it opens.
  async #open(verb: "SELECT" | "EXAMINE", folder: string): Promise<SelectedFolder | null> {
    const box: SelectedFolder = { uidValidity: 0, exists: 0 };
    this.#exists = 0;
    const done = await this.#run(`${verb} ${quote(encodeMailboxName(folder))}`, (r) => {
      const code = /^\* OK \[(UIDVALIDITY|HIGHESTMODSEQ|PERMANENTFLAGS) ([^\]]*)\]/i.exec(r.text);
      const [, name, value] = code ?? [];
      if (/^UIDVALIDITY$/i.test(name)) box.uidValidity = Number(value);
      if (/^HIGHESTMODSEQ$/i.test(name)) box.highestModseq = value;
      if (/^PERMANENTFLAGS$/i.test(name)) box.permanentFlags = flagList(value);
    });
    if (/^NO/i.test(done)) return null;
    if (!/^OK/i.test(done)) throw new Error(`${verb} failed: ${done}`);
    return { ...box, exists: this.#exists };
  }

  /**
   * Flags, size and INTERNALDATE of every message of the selected folder, or with
   * `changedSince` (CONDSTORE) of those whose flags changed or that arrived since that modseq.
   */
  async fetchFlags(opts: { changedSince?: string } = {}): Promise<Map<number, FlagScan>> {
    const out = new Map<number, FlagScan>();
    if (this.#exists === 0) return out;
    const modifier = opts.changedSince !== undefined ? ` (CHANGEDSINCE ${opts.changedSince})` : "";
    const done = await this.#run(
      `UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)${modifier}`,
      (r) => {
        const item = parseFlagScan(r.text);
        if (item) out.set(item.uid, item);
      },
    );
    if (!/^OK/i.test(done)) throw new Error(`UID FETCH failed: ${done}`);
    return out;
  }

  /**
   * Whole sources (BODY.PEEK[], so \Seen stays as it is) of the given UIDs, by UID; a UID
   * expunged meanwhile is simply absent.
   */
  async fetchBodies(uids: number[]): Promise<Map<number, Uint8Array>> {
    const out = new Map<number, Uint8Array>();
    if (!uids.length) return out;
    const done = await this.#run(`UID FETCH ${uidSet(uids)} (UID BODY.PEEK[])`, (r) => {
      if (!/^\* \d+ FETCH \(/i.test(r.text)) return;
      const uid = /[( ]UID (\d+)/i.exec(r.text);
      const body = /[( ]BODY\[\] \{\d+\}/i.exec(r.text);
      if (uid && body) out.set(Number(uid[1]), r.literals[literalIndex(r.text, body.index)]);
    });
    if (!/^OK/i.test(done)) throw new Error(`UID FETCH failed: ${done}`);
    return out;
  }

  /** Up to `length` bytes of a message's source from `offset` (BODY.PEEK[]<offset.length>). */
  async fetchRange(uid: number, offset: number, length: number): Promise<Uint8Array | null> {
    let chunk: Uint8Array | null = null;
    const done = await this.#run(
      `UID FETCH ${uid} (UID BODY.PEEK[]<${offset}.${length}>)`,
      (r) => {
        const m = /[( ]UID (\d+)/i.exec(r.text);
        if (!m || Number(m[1]) !== uid) return;
        const lit = /[( ]BODY\[\]<\d+> (?:\{\d+\}|"")/i.exec(r.text);
        if (lit) {
          chunk = lit[0].endsWith('""')
            ? new Uint8Array(0)
            : r.literals[literalIndex(r.text, lit.index)];
        }
      },
    );
    if (!/^OK/i.test(done)) throw new Error(`UID FETCH failed: ${done}`);
    return chunk;
  }

  /** Creates a folder. */
  async create(folder: string): Promise<void> {
    await this.#command(`CREATE ${quote(encodeMailboxName(folder))}`);
  }

  /** UIDs matching a search (`criteria` is raw IMAP, e.g. `ALL` or `DELETED`), ascending. */
  async uidSearch(criteria: string): Promise<number[]> {
    const uids: number[] = [];
    const done = await this.#run(`UID SEARCH ${criteria}`, (r) => {
      const m = /^\* SEARCH\b(.*)$/i.exec(r.text);
      if (!m) return;
      for (const n of m[1].trim().split(/\s+/)) if (/^\d+$/.test(n)) uids.push(Number(n));
    });
    if (!/^OK/i.test(done)) throw new Error(`UID SEARCH failed: ${done}`);
    return uids.sort((a, b) => a - b);
  }

  /** UIDs whose Message-ID header contains `messageId`. */
  async searchMessageId(messageId: string): Promise<number[]> {
    return await this.uidSearch(`HEADER Message-ID ${quote(messageId)}`);
  }

  /** UID, size, INTERNALDATE, Message-ID and flags of the given UIDs of the selected folder. */
  async fetchIdentities(uids: number[]): Promise<FetchedIdentity[]> {
    const out: FetchedIdentity[] = [];
    for (let i = 0; i < uids.length; i += 1000) {
      const set = uidSet(uids.slice(i, i + 1000));
      const done = await this.#run(
        `UID FETCH ${set} (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])`,
        (r) => {
          const item = parseIdentity(r);
          if (item) out.push(item);
        },
      );
      if (!/^OK/i.test(done)) throw new Error(`UID FETCH failed: ${done}`);
    }
    return out.sort((a, b) => a.uid - b.uid);
  }

  /** Replaces the flags of messages (`UID STORE … FLAGS.SILENT`). */
  async setFlags(uids: number[], flags: string[]): Promise<void> {
    await this.#command(`UID STORE ${uidSet(uids)} FLAGS.SILENT (${flags.join(" ")})`);
  }

  /** Adds flags to messages (`UID STORE … +FLAGS.SILENT`). */
  async addFlags(uids: number[], flags: string[]): Promise<void> {
    await this.#command(`UID STORE ${uidSet(uids)} +FLAGS.SILENT (${flags.join(" ")})`);
  }

  /** Expunges exactly these UIDs (UIDPLUS). */
  async uidExpunge(uids: number[]): Promise<void> {
    await this.#command(`UID EXPUNGE ${uidSet(uids)}`);
  }

  /** Expunges every message marked \Deleted in the selected folder. */
  async expunge(): Promise<void> {
    await this.#command("EXPUNGE");
  }

  /** Appends one message held in memory. */
  async append(
    folder: string,
    bytes: Uint8Array,
    flags: string[],
    internalDate: Date,
  ): Promise<AppendResult> {
    return await this.#appendOne(folder, bytes.length, flags, internalDate, async () => {
      await this.#write(bytes);
    });
  }

  /** Appends `size` bytes read from `path` to `folder`, streamed in chunks. */
  async appendFile(
    folder: string,
    path: string,
    size: number,
    flags: string[],
    internalDate: Date,
  ): Promise<AppendResult> {
    return await this.#appendOne(folder, size, flags, internalDate, async () => {
      const file = await Deno.open(path, { read: true });
      try {
        const chunk = new Uint8Array(CHUNK);
        let sent = 0;
        while (sent < size) {
          const n = await file.read(chunk.subarray(0, Math.min(CHUNK, size - sent)));
          if (n === null) throw new Error(`"${path}" is shorter than ${size} bytes`);
          await this.#write(chunk.subarray(0, n));
          sent += n;
        }
      } finally {
        file.close();
      }
    });
  }

  async #appendOne(
    folder: string,
    size: number,
    flags: string[],
    internalDate: Date,
    body: () => Promise<void>,
  ): Promise<AppendResult> {
    const tag = this.#nextTag();
    const literalPlus = this.#caps.has("LITERAL+");
    this.#begin();
    await this.#write(enc.encode(
      `${tag} APPEND ${quote(encodeMailboxName(folder))} (${flags.join(" ")}) "${
        imapDate(internalDate)
      }" {${size}${literalPlus ? "+" : ""}}\r\n`,
    ));
    if (!literalPlus) await this.#continuation(tag);
    await body();
    await this.#write(CRLF);
    const done = await this.#tagged(tag);
    if (!/^OK/i.test(done)) throw new Error(`APPEND failed: ${done}`);
    const m = /\[APPENDUID (\d+) (\d+)\]/i.exec(done);
    return { uidValidity: m ? Number(m[1]) : null, uid: m ? Number(m[2]) : null };
  }

  /**
   * Appends several messages in one MULTIAPPEND (RFC 3502): all or none, one round trip.
   * Returns the UIDVALIDITY and the UIDs in order (from APPENDUID), or nulls without UIDPLUS.
   */
  async appendMany(
    folder: string,
    items: { bytes: Uint8Array; flags: string[]; internalDate: Date }[],
  ): Promise<{ uidValidity: number | null; uids: (number | null)[] }> {
    const literalPlus = this.#caps.has("LITERAL+");
    const tag = this.#nextTag();
    this.#begin();
    await this.#write(enc.encode(`${tag} APPEND ${quote(encodeMailboxName(folder))}`));
    for (const it of items) {
      await this.#write(enc.encode(
        ` (${it.flags.join(" ")}) "${imapDate(it.internalDate)}" {${it.bytes.length}${
          literalPlus ? "+" : ""
        }}\r\n`,
      ));
      if (!literalPlus) await this.#continuation(tag);
      await this.#write(it.bytes);
    }
    await this.#write(CRLF);
    const done = await this.#tagged(tag);
    if (!/^OK/i.test(done)) throw new Error(`APPEND failed: ${done}`);
    const m = /\[APPENDUID (\d+) ([\d:,]+)\]/i.exec(done);
    const uids = m ? expandUidSet(m[2]) : [];
    return {
      uidValidity: m ? Number(m[1]) : null,
      uids: uids.length === items.length ? uids : items.map(() => null),
    };
  }

  /** Sends LOGOUT without waiting for the answer, then closes (a probe's way out). */
  async quit(): Promise<void> {
    try {
      this.#begin();
      await this.#write(enc.encode(`${this.#nextTag()} LOGOUT\r\n`));
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
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  async #login(): Promise<void> {
    const e = this.endpoint;
    if (e.impersonation === "authzid") {
      const token = base64(enc.encode(`${this.mailbox}\0${e.trustedUser}\0${e.trustedPassword}`));
      if (this.#caps.has("SASL-IR")) {
        await this.#command(`AUTHENTICATE PLAIN ${token}`, "log in");
      } else {
        const tag = this.#nextTag();
        this.#begin();
        await this.#write(enc.encode(`${tag} AUTHENTICATE PLAIN\r\n`));
        await this.#continuation(tag);
        await this.#write(enc.encode(`${token}\r\n`));
        const done = await this.#tagged(tag);
        if (!/^OK/i.test(done)) throw new AuthError(done);
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
    const m = /\[CAPABILITY ([^\]]*)\]/i.exec(line);
    if (m) this.#caps = new Set(m[1].toUpperCase().split(/\s+/));
    return !!m;
  }

  async #capabilities(): Promise<void> {
    await this.#run("CAPABILITY", (r) => {
      const m = /^\* CAPABILITY (.*)$/i.exec(r.text);
      if (m) this.#caps = new Set(m[1].toUpperCase().split(/\s+/));
    });
  }

  /** Sends a command, hands every untagged response to `untagged`, returns the tagged answer. */
  async #run(cmd: string, untagged: (r: Response) => void): Promise<string> {
    const tag = this.#nextTag();
    this.#begin();
    await this.#write(enc.encode(`${tag} ${cmd}\r\n`));
    for (;;) {
      const r = await this.#readResponse();
      if (r.text.startsWith(`${tag} `)) return (this.#lastTagged = r.text.slice(tag.length + 1));
      if (r.text.startsWith("* ")) untagged(r);
    }
  }

  async #command(cmd: string, what?: string): Promise<string> {
    const done = await this.#run(cmd, () => {});
    if (!/^OK/i.test(done)) {
      if (what === "log in") throw new AuthError(done);
      throw new Error(`${cmd.split(" ")[0]} failed: ${done}`);
    }
    return done;
  }

  async #tagged(tag: string): Promise<string> {
    for (;;) {
      const line = await this.#readLine();
      if (line.startsWith(`${tag} `)) return (this.#lastTagged = line.slice(tag.length + 1));
    }
  }

  // A "+" continuation, or the tagged refusal that replaces it.
  async #continuation(tag: string): Promise<void> {
    for (;;) {
      const line = await this.#readLine();
      if (line.startsWith("+")) return;
      if (line.startsWith(`${tag} `)) {
        throw new Error(`${line.slice(tag.length + 1)}`);
      }
    }
  }

  #nextTag(): string {
    return `S${++this.#tag}`;
  }

  // A new exchange: `quietMs` per read or write, and as long overall plus the bytes' time.
  #begin(quietMs = this.#commandMs): void {
    this.#quietMs = quietMs;
    this.#deadline = Date.now() + quietMs;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      off += await this.#io("send", () => this.#conn.write(bytes.subarray(off)));
    }
  }

  // One response line with any literals inside it inlined as latin1 text.
  async #readLine(): Promise<string> {
    const r = await this.#readResponse();
    if (!r.literals.length) return r.text;
    const parts = r.text.split("\u0000");
    return parts.map((p, i) => i < r.literals.length ? p + latin1.decode(r.literals[i]) : p)
      .join("");
  }

  // One response; each literal's place in the text is `{n}` followed by a NUL marker.
  async #readResponse(): Promise<Response> {
    let text = "";
    const literals: Uint8Array[] = [];
    for (;;) {
      const i = this.#buf.indexOf(10);
      if (i < 0) {
        await this.#fill();
        continue;
      }
      const end = i > 0 && this.#buf[i - 1] === 13 ? i - 1 : i;
      const part = latin1.decode(this.#buf.subarray(0, end));
      this.#buf = this.#buf.subarray(i + 1);
      text += part;
      const lit = /\{(\d+)\+?\}$/.exec(part);
      if (!lit) break;
      literals.push(await this.#readLiteral(Number(lit[1])));
      text += "\u0000";
    }
    const ex = /^\* (\d+) (EXISTS|EXPUNGE)\b/i.exec(text);
    if (ex) {
      if (ex[2].toUpperCase() === "EXISTS") this.#exists = Number(ex[1]);
      else this.#exists = Math.max(0, this.#exists - 1);
    }
    return { text, literals };
  }

  // A literal's bytes: what is buffered, then read from the socket straight into place (a
  // message body is copied once, not once per network read).
  async #readLiteral(n: number): Promise<Uint8Array> {
    if (this.#buf.length >= n) {
      const out = this.#buf.slice(0, n);
      this.#buf = this.#buf.subarray(n);
      return out;
    }
    const out = new Uint8Array(n);
    out.set(this.#buf);
    let off = this.#buf.length;
    this.#buf = new Uint8Array(0);
    while (off < n) off += await this.#read(out.subarray(off));
    return out;
  }

  async #fill(): Promise<void> {
    const chunk = new Uint8Array(65536);
    const n = await this.#read(chunk);
    if (!this.#buf.length) {
      this.#buf = chunk.subarray(0, n);
      return;
    }
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
  }

  // One socket read within the exchange's deadline; the bytes read (never 0).
  async #read(into: Uint8Array): Promise<number> {
    const n = await this.#io("answer", () => this.#conn.read(into));
    if (n === null) {
      this.#dead = new Error("the server closed the connection");
      throw this.#dead;
    }
    return n;
  }

  // One socket operation raced against the exchange's deadline. On expiry the socket is closed,
  // which is what makes a pending read or a write blocked on full buffers give up.
  async #io<T>(what: "answer" | "send" | "TLS handshake", op: () => Promise<T>): Promise<T> {
    if (this.#dead) throw this.#dead;
    const left = this.#deadline - Date.now();
    const ms = Math.max(0, Math.min(this.#quietMs, left));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.#dead = new Error(`timeout: ${stalled(what, ms / 1000)}`);
      this.close();
    }, ms);
    let result: T;
    try {
      result = await op();
    } catch (e) {
      if (timedOut) throw this.#dead;
      throw e;
    } finally {
      clearTimeout(timer);
    }
    if (timedOut) throw this.#dead;
    if (typeof result === "number") this.#deadline += (result * 1000) / FLOOR_BYTES_PER_SECOND;
    return result;
  }
}

// What a missed deadline looks like, for the error message.
function stalled(what: "answer" | "send" | "TLS handshake", seconds: number): string {
  const s = `${Math.round(seconds * 10) / 10} s`;
  if (what === "send") return `the server took none of what was sent for ${s}`;
  if (what === "TLS handshake") return `the TLS handshake did not finish in ${s}`;
  return `no answer from the server for ${s}`;
}

class AuthError extends Error {
  override name = "AuthError";
  /** Built from the server's tagged answer (which never echoes the password). */
  constructor(answer: string) {
    super(`AUTHENTICATIONFAILED ${answer}`);
  }
}

/** Races a promise against a timer; a result arriving too late is handed to `late`. */
async function withTimeout<T>(p: Promise<T>, ms: number, late: (v: T) => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let expired = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true;
      reject(new Error(`timeout: no answer from the server in ${ms / 1000} s`));
    }, ms);
  });
  p.then((v) => expired && late(v), () => {});
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One message as a flag scan reports it. */
export interface FlagScan {
  uid: number;
  flags: string[];
  size?: number;
  internalDate?: Date;
}

/** Reads one `* n FETCH (UID … FLAGS (…) RFC822.SIZE … INTERNALDATE "…")` response. */
export function parseFlagScan(text: string): FlagScan | null {
  if (!/^\* \d+ FETCH \(/i.test(text)) return null;
  const uid = /[( ]UID (\d+)/i.exec(text);
  const flags = /[( ]FLAGS (\([^)]*\))/i.exec(text);
  if (!uid || !flags) return null;
  const size = /[( ]RFC822\.SIZE (\d+)/i.exec(text);
  const date = /[( ]INTERNALDATE "([^"]+)"/i.exec(text);
  return {
    uid: Number(uid[1]),
    flags: [...flagList(flags[1])],
    ...(size ? { size: Number(size[1]) } : {}),
    ...(date ? { internalDate: parseImapDate(date[1]) } : {}),
  };
}

// A parenthesized flag list ("(\\Seen $Forwarded)") as a set, in order.
function flagList(list: string): Set<string> {
  return new Set(list.replace(/^\(|\)$/g, "").trim().split(/\s+/).filter(Boolean));
}

// Which literal (0-based) follows the text position `at`.
function literalIndex(text: string, at: number): number {
  let n = 0;
  for (let i = text.indexOf("\u0000"); i >= 0 && i < at; i = text.indexOf("\u0000", i + 1)) n++;
  return n;
}

/** Reads one `* n FETCH (UID … RFC822.SIZE … INTERNALDATE "…" BODY[…] {n})` response. */
export function parseIdentity(r: { text: string; literals: Uint8Array[] }): FetchedIdentity | null {
  if (!/^\* \d+ FETCH \(/i.test(r.text)) return null;
  // The text holds only markers for literals, so a header's text cannot fake an item.
  const head = r.text;
  const uid = /[( ]UID (\d+)/i.exec(head);
  const size = /[( ]RFC822\.SIZE (\d+)/i.exec(head);
  const date = /[( ]INTERNALDATE "([^"]+)"/i.exec(head);
  if (!uid || !size || !date) return null;
  const flags = /[( ]FLAGS (\([^)]*\))/i.exec(head);
  return {
    uid: Number(uid[1]),
    size: Number(size[1]),
    internalDate: parseImapDate(date[1]),
    messageId: parseMessageId(r.literals[0]),
    flags: flags ? [...flagList(flags[1])] : [],
  };
}

/** An INTERNALDATE (`"23-Nov-2026 10:00:00 +0100"`) as a Date. */
export function parseImapDate(s: string): Date {
  const m = /^\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/
    .exec(s);
  const month = m ? MONTH_NAMES.findIndex((n) => n.toLowerCase() === m[2].toLowerCase()) : -1;
  if (!m || month < 0) throw new Error(`unreadable INTERNALDATE "${s}"`);
  const offset = (m[7] === "-" ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  return new Date(
    Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) -
      offset * 60_000,
  );
}

/** Expands an IMAP UID set ("10:12,15") in order. */
export function expandUidSet(set: string): number[] {
  const out: number[] = [];
  for (const part of set.split(",")) {
    const [a, b] = part.split(":").map(Number);
    if (b === undefined) out.push(a);
    else for (let u = Math.min(a, b); u <= Math.max(a, b); u++) out.push(u);
  }
  return out;
}

/** A UID set for a command, runs collapsed ("3:7,9"). */
export function uidSet(uids: number[]): string {
  if (!uids.length) throw new Error("an empty UID set cannot be sent");
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const parts: string[] = [];
  let start = sorted[0];
  let prev = start;
  for (const u of [...sorted.slice(1), NaN]) {
    if (u === prev + 1) {
      prev = u;
      continue;
    }
    parts.push(start === prev ? `${start}` : `${start}:${prev}`);
    start = prev = u;
  }
  return parts.join(",");
}

/** An IMAP quoted string. */
export function quote(s: string): string {
  if (/[\r\n\0]/.test(s)) throw new Error("CR, LF and NUL cannot be sent in a quoted string");
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** An INTERNALDATE as IMAP writes it: `"01-Jan-2026 10:00:00 +0000"` (without the quotes). */
export function imapDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}-${MONTH_NAMES[d.getUTCMonth()]}-${d.getUTCFullYear()} ${
    p(d.getUTCHours())
  }:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Modified UTF-7 (RFC 3501 5.1.3) for mailbox names. */
export function encodeMailboxName(name: string): string {
  let out = "";
  let pending: number[] = [];
  const flush = () => {
    if (!pending.length) return;
    const bytes = new Uint8Array(pending.length * 2);
    pending.forEach((c, i) => {
      bytes[i * 2] = c >> 8;
      bytes[i * 2 + 1] = c & 0xff;
    });
    out += `&${base64(bytes).replace(/=+$/, "").replace(/\//g, ",")}-`;
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      flush();
      out += c === 0x26 ? "&-" : name[i];
    } else pending.push(c);
  }
  flush();
  return out;
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}
