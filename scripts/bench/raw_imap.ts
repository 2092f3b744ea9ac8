/**
 * A minimal IMAP client for the profile: SASL-IR login, plain commands, and APPEND / MULTIAPPEND
 * with LITERAL+ (no round trip per literal). It reads only line-based responses (no literals), so
 * it is for commands whose answers are lines: STATUS, APPEND, LOGOUT.
 * @module
 */

import { imapDate } from "../../engine/imap/mod.ts";

const enc = new TextEncoder();
const CRLF = enc.encode("\r\n");

/** One raw session. */
export class RawImap {
  #buf = new Uint8Array(0);
  #tag = 0;

  private constructor(readonly conn: Deno.Conn) {}

  /** Connects, reads the greeting and logs in as `user` for `authzid` (SASL PLAIN, SASL-IR). */
  static async login(
    port: number,
    creds: { authzid: string; user: string; password: string },
  ): Promise<RawImap> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const c = new RawImap(conn);
    try {
      const greeting = await c.#line();
      if (!greeting.startsWith("* OK")) throw new Error(`unexpected greeting: ${greeting}`);
      const token = btoa(`${creds.authzid}\0${creds.user}\0${creds.password}`);
      await c.command(`AUTHENTICATE PLAIN ${token}`);
      return c;
    } catch (e) {
      conn.close();
      throw e;
    }
  }

  /** Sends one command and returns its untagged lines once it completed OK. */
  async command(cmd: string): Promise<string[]> {
    const tag = `r${++this.#tag}`;
    await this.#write(enc.encode(`${tag} ${cmd}\r\n`));
    return await this.#until(tag);
  }

  /**
   * Appends messages to a folder: with `multi`, one MULTIAPPEND command (one server transaction);
   * otherwise one APPEND per message, all sent before any answer is read (pipelined).
   */
  async append(
    folder: string,
    messages: { bytes: Uint8Array; flags: string[]; date: Date }[],
    multi: boolean,
  ): Promise<void> {
    const part = (m: { bytes: Uint8Array; flags: string[]; date: Date }) =>
      enc.encode(` (${m.flags.join(" ")}) "${imapDate(m.date)}" {${m.bytes.length}+}\r\n`);
    const tags: string[] = [];
    if (multi) {
      const tag = `r${++this.#tag}`;
      tags.push(tag);
      await this.#write(enc.encode(`${tag} APPEND "${folder}"`));
      for (const m of messages) {
        await this.#write(part(m));
        await this.#write(m.bytes);
      }
      await this.#write(CRLF);
    } else {
      for (const m of messages) {
        const tag = `r${++this.#tag}`;
        tags.push(tag);
        await this.#write(enc.encode(`${tag} APPEND "${folder}"`));
        await this.#write(part(m));
        await this.#write(m.bytes);
        await this.#write(CRLF);
      }
    }
    for (const tag of tags) await this.#until(tag);
  }

  /** LOGOUT without waiting for the answer, then close. */
  async logout(): Promise<void> {
    try {
      await this.#write(enc.encode(`r${++this.#tag} LOGOUT\r\n`));
    } catch {
      // closing anyway
    }
    this.conn.close();
  }

  async #until(tag: string): Promise<string[]> {
    const untagged: string[] = [];
    for (;;) {
      const line = await this.#line();
      if (line.startsWith(`${tag} `)) {
        if (!line.startsWith(`${tag} OK`)) throw new Error(line);
        return untagged;
      }
      untagged.push(line);
    }
  }

  async #write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  async #line(): Promise<string> {
    for (;;) {
      const i = this.#buf.indexOf(10);
      if (i >= 0) {
        const line = new TextDecoder("latin1").decode(this.#buf.subarray(0, i)).replace(/\r$/, "");
        this.#buf = this.#buf.subarray(i + 1);
        return line;
      }
      const chunk = new Uint8Array(65536);
      const n = await this.conn.read(chunk);
      if (n === null) throw new Error("connection closed");
      const next = new Uint8Array(this.#buf.length + n);
      next.set(this.#buf);
      next.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = next;
    }
  }
}
