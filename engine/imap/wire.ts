/**
 * The lean session's socket: writes, reads of response lines and the literals inside them, and
 * the deadline every exchange runs under. Knows framing, not commands.
 * @module
 */
import type { Response } from "./parse.ts";

/**
 * The slowest transfer rate an exchange is granted: each byte moved extends its deadline by
 * 1 s per 128 KiB (a 1 Mbit/s link), so a big literal gets time in proportion to its size while
 * a server trickling a byte now and then still runs out of time.
 */
export const FLOOR_BYTES_PER_SECOND = 128 * 1024;

/** What the wire needs of a socket (a `Deno.Conn`, or a test's fake peer). */
export type WireConn = Pick<Deno.Conn, "read" | "write" | "close">;

/** What a socket operation waits for, as a missed deadline names it. */
export type WireWait = "answer" | "send" | "TLS handshake";

const READ_BYTES = 65536;
const PARKED_READ_BYTES = 256;
const EMPTY = new Uint8Array(0);

/**
 * One connection's bytes under deadlines. Each exchange starts with {@link ImapWire.begin}: any
 * one read or write may be quiet for at most its quiet limit, and the exchange must end within
 * that limit plus the time its bytes take at {@link FLOOR_BYTES_PER_SECOND}. A missed deadline
 * closes the socket (which also unblocks a write to a peer that stopped reading) and throws an
 * error whose message starts with "timeout"; the wire is unusable afterwards and says so at once.
 */
export class ImapWire {
  #conn: WireConn;
  #buf = EMPTY;
  #quietMs: number;
  #deadline = Infinity;
  #dead: Error | null = null;

  /** Wraps a connected socket; `quietMs` is the default quiet limit of an exchange. */
  constructor(conn: WireConn, readonly quietMs: number) {
    this.#conn = conn;
    this.#quietMs = quietMs;
  }

  /** A new exchange: `quietMs` per read or write, and as long overall plus the bytes' time. */
  begin(quietMs = this.quietMs): void {
    this.#quietMs = quietMs;
    this.#deadline = Date.now() + quietMs;
  }

  /** Writes all of `bytes`. */
  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      off += await this.io("send", () => this.#conn.write(bytes.subarray(off)));
    }
  }

  /** One response; each literal's place in the text is `{n}` followed by a NUL marker. */
  async readResponse(): Promise<Response> {
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
    // A consumed view would keep its whole read chunk (64 KiB) alive while the session waits:
    // ten thousand parked sessions held 640 MB that way.
    if (!this.#buf.length) this.#buf = EMPTY;
    return { text, literals };
  }

  /**
   * One socket operation raced against the exchange's deadline. On expiry the socket is closed,
   * which is what makes a pending read or a write blocked on full buffers give up. A number
   * returned (bytes moved) extends the deadline at the floor rate.
   */
  async io<T>(what: WireWait, op: () => Promise<T>): Promise<T> {
    if (this.#dead) throw this.#dead;
    // A listening session (NOTIFY) waits for the server without a deadline.
    if (this.#quietMs === Infinity) return await op();
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

  /** Whether a missed deadline or the server's close has ended the connection. */
  get dead(): boolean {
    return this.#dead !== null;
  }

  /** Closes the socket. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
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
    this.#buf = EMPTY;
    while (off < n) off += await this.#read(out.subarray(off));
    return out;
  }

  async #fill(): Promise<void> {
    // A parked session (no deadline) waits with a small buffer: ten thousand of them waiting with
    // 64 KiB each would hold 640 MB for the few bytes of a pushed STATUS.
    const chunk = new Uint8Array(this.#quietMs === Infinity ? PARKED_READ_BYTES : READ_BYTES);
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
    const n = await this.io("answer", () => this.#conn.read(into));
    if (n === null) {
      this.#dead = new Error("the server closed the connection");
      throw this.#dead;
    }
    return n;
  }
}

const latin1 = new TextDecoder("latin1");

// What a missed deadline looks like, for the error message.
function stalled(what: WireWait, seconds: number): string {
  const s = `${Math.round(seconds * 10) / 10} s`;
  if (what === "send") return `the server took none of what was sent for ${s}`;
  if (what === "TLS handshake") return `the TLS handshake did not finish in ${s}`;
  return `no answer from the server for ${s}`;
}

/** Races a promise against a timer; a result arriving too late is handed to `late`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, late: (v: T) => void): Promise<T> {
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
