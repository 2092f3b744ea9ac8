/**
 * A lean IMAP session of our own for two jobs imapflow does expensively: a streaming APPEND
 * (one message of any size goes from a file to the server in chunks, so a 50 MB voice message
 * costs a chunk of memory, not three copies of itself; imapflow's APPEND takes one buffer), and
 * the "anything changed?" probe of a pass (login with SASL-IR and STATUS: three round trips
 * where imapflow's handshake takes seven). TLS, STARTTLS, trusted-server login (SASL PLAIN with
 * authzid, or LOGIN with a separator), STATUS, APPEND, LOGOUT.
 * @module
 */
import type { ImapEndpoint } from "./config.ts";
import { ImapError } from "./imap.ts";
import { MONTH_NAMES } from "./mime.ts";

const CRLF = new Uint8Array([13, 10]);
const CHUNK = 256 * 1024;

/** What the server said to an APPEND. */
export interface AppendResult {
  uidValidity: number | null;
  uid: number | null;
}

/** One connection logged in as the trusted server impersonating a mailbox. */
export class StreamingAppender {
  #conn: Deno.Conn;
  #buf = new Uint8Array(0);
  #tag = 0;
  #caps = new Set<string>();

  private constructor(conn: Deno.Conn, readonly endpoint: ImapEndpoint, readonly mailbox: string) {
    this.#conn = conn;
  }

  /** Connects and logs in; throws {@link ImapError} with context on failure. */
  static async open(endpoint: ImapEndpoint, mailbox: string): Promise<StreamingAppender> {
    const fail = (op: string, e: unknown) => new ImapError(endpoint.name, mailbox, op, e);
    const caCerts = endpoint.caFile ? [await Deno.readTextFile(endpoint.caFile)] : undefined;
    let conn: Deno.Conn;
    try {
      conn = endpoint.tls === "tls"
        ? await Deno.connectTls({ hostname: endpoint.host, port: endpoint.port, caCerts })
        : await Deno.connect({ hostname: endpoint.host, port: endpoint.port });
    } catch (e) {
      throw fail("connect", e);
    }
    let a = new StreamingAppender(conn, endpoint, mailbox);
    try {
      const greeting = await a.#readLine();
      if (!/^\* (OK|PREAUTH)/i.test(greeting)) throw new Error(`unexpected greeting`);
      // Most servers put their capabilities in the greeting: no CAPABILITY round trip then.
      if (!a.#takeCapabilities(greeting)) await a.#capabilities();
      if (endpoint.tls === "starttls") {
        if (!a.#caps.has("STARTTLS")) throw new Error("the server does not offer STARTTLS");
        await a.#command("STARTTLS");
        const tls = await Deno.startTls(conn as Deno.TcpConn, { hostname: endpoint.host, caCerts });
        a = new StreamingAppender(tls, endpoint, mailbox);
        await a.#capabilities();
      }
      await a.#login();
      return a;
    } catch (e) {
      a.close();
      if (e instanceof ImapError) throw e;
      throw fail("log in as the trusted server", e);
    }
  }

  /** Appends `size` bytes read from `path` to `folder` with flags and INTERNALDATE. */
  async appendFile(
    folder: string,
    path: string,
    size: number,
    flags: string[],
    internalDate: Date,
  ): Promise<AppendResult> {
    const tag = this.#nextTag();
    const literalPlus = this.#caps.has("LITERAL+") || this.#caps.has("LITERAL-");
    const head = `${tag} APPEND ${quote(encodeMailboxName(folder))} (${flags.join(" ")}) "${
      imapDate(internalDate)
    }" {${size}${literalPlus ? "+" : ""}}`;
    await this.#write(new TextEncoder().encode(head));
    await this.#write(CRLF);
    if (!literalPlus) {
      const cont = await this.#readLine();
      if (!cont.startsWith("+")) throw new Error(`APPEND refused: ${cont}`);
    }
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
    const enc = new TextEncoder();
    await this.#write(enc.encode(`${tag} APPEND ${quote(encodeMailboxName(folder))}`));
    for (const it of items) {
      await this.#write(
        enc.encode(
          ` (${it.flags.join(" ")}) "${imapDate(it.internalDate)}" {${it.bytes.length}${
            literalPlus ? "+" : ""
          }}\r\n`,
        ),
      );
      if (!literalPlus) {
        const cont = await this.#readLine();
        if (!cont.startsWith("+")) throw new Error(`APPEND refused: ${cont}`);
      }
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
      await this.#write(new TextEncoder().encode(`${this.#nextTag()} LOGOUT\r\n`));
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
      const token = btoa(
        String.fromCharCode(
          ...new TextEncoder().encode(`${this.mailbox}\0${e.trustedUser}\0${e.trustedPassword}`),
        ),
      );
      if (this.#caps.has("SASL-IR")) {
        await this.#command(`AUTHENTICATE PLAIN ${token}`, "log in");
      } else {
        const tag = this.#nextTag();
        await this.#write(new TextEncoder().encode(`${tag} AUTHENTICATE PLAIN\r\n`));
        const cont = await this.#readLine();
        if (!cont.startsWith("+")) throw new Error("AUTHENTICATE PLAIN refused");
        await this.#write(new TextEncoder().encode(`${token}\r\n`));
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

  /** Whether the server announced a capability. */
  has(capability: string): boolean {
    return this.#caps.has(capability.toUpperCase());
  }

  /** STATUS of a folder (UIDVALIDITY, UIDNEXT, MESSAGES, HIGHESTMODSEQ), null if it is absent. */
  async status(folder: string): Promise<Record<string, string> | null> {
    const items = ["UIDVALIDITY", "UIDNEXT", "MESSAGES"];
    if (this.has("CONDSTORE") || this.has("QRESYNC")) items.push("HIGHESTMODSEQ");
    const tag = this.#nextTag();
    await this.#write(
      new TextEncoder().encode(
        `${tag} STATUS ${quote(encodeMailboxName(folder))} (${items.join(" ")})\r\n`,
      ),
    );
    const out: Record<string, string> = {};
    for (;;) {
      const line = await this.#readLine();
      const m = /^\* STATUS .*\(([^()]*)\)\s*$/i.exec(line);
      if (m) {
        const parts = m[1].trim().split(/\s+/);
        for (let i = 0; i + 1 < parts.length; i += 2) out[parts[i].toUpperCase()] = parts[i + 1];
      }
      if (line.startsWith(`${tag} `)) {
        if (/^\S+ OK/i.test(line)) return out;
        // A folder that does not exist is an answer, not a failure.
        if (/^\S+ NO/i.test(line)) return null;
        throw new Error(`STATUS failed: ${line.slice(tag.length + 1)}`);
      }
    }
  }

  async #capabilities(): Promise<void> {
    const tag = this.#nextTag();
    await this.#write(new TextEncoder().encode(`${tag} CAPABILITY\r\n`));
    for (;;) {
      const line = await this.#readLine();
      const m = /^\* CAPABILITY (.*)$/i.exec(line);
      if (m) this.#caps = new Set(m[1].toUpperCase().split(/\s+/));
      if (line.startsWith(`${tag} `)) return;
    }
  }

  async #command(cmd: string, what?: string): Promise<string> {
    const tag = this.#nextTag();
    await this.#write(new TextEncoder().encode(`${tag} ${cmd}\r\n`));
    const done = await this.#tagged(tag);
    if (!/^OK/i.test(done)) {
      if (what === "log in") throw new AuthError(done);
      throw new Error(`${cmd.split(" ")[0]} failed: ${done}`);
    }
    return done;
  }

  #lastTagged = "";

  async #tagged(tag: string): Promise<string> {
    for (;;) {
      const line = await this.#readLine();
      if (line.startsWith(`${tag} `)) return (this.#lastTagged = line.slice(tag.length + 1));
    }
  }

  #nextTag(): string {
    return `S${++this.#tag}`;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  // One response line; a literal inside it ({n}) is read and kept as text.
  async #readLine(): Promise<string> {
    let line = "";
    for (;;) {
      const i = this.#buf.indexOf(10);
      if (i >= 0) {
        const part = new TextDecoder("latin1").decode(this.#buf.subarray(0, i)).replace(/\r$/, "");
        this.#buf = this.#buf.subarray(i + 1);
        line += part;
        const lit = /\{(\d+)\+?\}$/.exec(part);
        if (!lit) return line;
        const n = Number(lit[1]);
        while (this.#buf.length < n) await this.#fill();
        line += new TextDecoder("latin1").decode(this.#buf.subarray(0, n));
        this.#buf = this.#buf.subarray(n);
        continue;
      }
      await this.#fill();
    }
  }

  async #fill(): Promise<void> {
    const chunk = new Uint8Array(16384);
    const n = await this.#conn.read(chunk);
    if (n === null) throw new Error("the server closed the connection");
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
  }
}

class AuthError extends Error {
  override name = "AuthError";
  /** Built from the server's tagged answer (which never echoes the password). */
  constructor(answer: string) {
    super(`AUTHENTICATIONFAILED ${answer}`);
  }
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
    out += `&${btoa(String.fromCharCode(...bytes)).replace(/=+$/, "").replace(/\//g, ",")}-`;
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
