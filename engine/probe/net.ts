/**
 * The probes' own socket: name resolution (honouring /etc/hosts), a TCP connection whose every
 * wait ends at the test's deadline, line and BER reads, and a TLS upgrade that keeps the
 * peer's certificate for inspection instead of rejecting it unseen.
 * @module
 */
import { Buffer } from "node:buffer";
import { lookup } from "node:dns/promises";
import { connect as netConnect, isIP, type Socket } from "node:net";
import { checkServerIdentity, connect as tlsConnect, type TLSSocket } from "node:tls";
import { errorText, type Probe, ProbeFailure, seconds, settleWithin } from "./result.ts";
import { judgeCertificate } from "./tls_info.ts";
import { redact } from "../support/mod.ts";

/** Where a probe connects, for messages: `"mss-prod" (127.0.0.1:17143)`. */
export interface Target {
  host: string;
  port: number;
  /** How messages name the server. */
  where: string;
}

/** Builds the `where` of messages from a name and host:port. */
export function describeTarget(name: string | undefined, host: string, port: number): Target {
  const hp = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  return { host, port, where: name ? `"${name}" (${hp})` : hp };
}

/** Records the "dns" step: skipped for an address, else the addresses the name resolves to. */
export async function dnsStep(probe: Probe, host: string): Promise<boolean> {
  if (isIP(host)) {
    probe.record("dns", { ok: true, skipped: true, detail: `"${host}" is an IP address` });
    return true;
  }
  return await probe.step("dns", async () => {
    const addresses = await resolve(host, probe.deadline);
    return {
      detail: `"${host}" resolves to ${addresses.join(", ")}`,
      info: { addresses },
    };
  });
}

// node:dns lookup is getaddrinfo: /etc/hosts first, as every other client on the machine.
async function resolve(host: string, deadline: number): Promise<string[]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ms = Math.max(0, deadline - Date.now());
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ProbeFailure(
            `cannot resolve host "${host}": no answer from the name service within ${seconds(ms)}`,
          ),
        ),
      ms,
    );
  });
  const query = lookup(host, { all: true });
  query.catch(() => {});
  try {
    const found = await Promise.race([query, expired]);
    return [...new Set(found.map((a) => a.address))];
  } catch (e) {
    if (e instanceof ProbeFailure) throw e;
    throw new ProbeFailure(dnsWords(host, (e as { code?: string }).code));
  } finally {
    clearTimeout(timer);
  }
}

/** A resolver failure in words. */
export function dnsWords(host: string, code: string | undefined): string {
  if (code === "EAI_AGAIN") {
    return `cannot resolve host "${host}": the name service did not answer (a temporary failure; check the appliance's DNS servers)`;
  }
  return `cannot resolve host "${host}": no such name (check the spelling, the DNS or /etc/hosts)`;
}

/** A TCP connection failure in words, naming host:port. */
export function connectWords(
  code: string | undefined,
  message: string,
  host: string,
  port: number,
): string {
  const hp = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  switch (code) {
    case "ECONNREFUSED":
      return `connection refused: nothing listens on ${hp}`;
    case "ETIMEDOUT":
      return `no answer from ${hp} (a firewall may drop it)`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `no route to ${hp}: the network path is down or blocked`;
    case "ECONNRESET":
      return `${hp} reset the connection (a firewall or the server turned it away)`;
    case "EADDRNOTAVAIL":
      return `cannot connect to ${hp}: the address is not available from this appliance`;
    default:
      return `cannot connect to ${hp}: ${redact(message)}`;
  }
}

/** A failed TLS handshake (no certificate to judge) in words. */
export function tlsErrorWords(code: string | undefined, message: string, where: string): string {
  if (
    code === "ERR_SSL_WRONG_VERSION_NUMBER" || /InvalidContentType|wrong version/i.test(message)
  ) {
    return `${where} did not answer in TLS: this port expects plain text (or STARTTLS) — check the port and the TLS setting`;
  }
  if (code === "ECONNRESET" || /disconnected before secure|socket hang up/i.test(message)) {
    return `${where} closed the connection during the TLS handshake (is this port really TLS? it may expect plain text or STARTTLS)`;
  }
  if (/alert|handshake/i.test(message)) {
    return `${where} broke off the TLS handshake: ${
      redact(message)
    } (no common TLS version or cipher?)`;
  }
  return `the TLS handshake with ${where} failed: ${redact(message)}`;
}

/** What a wait is for, for the message when the server is silent or hangs up. */
export interface Wait {
  /** "its greeting", "an answer to EHLO", … */
  what: string;
  /** The message when the deadline passes (default: the server sent no <what>). */
  timeout?: (after: string) => string;
}

/**
 * One probe connection: TCP, then optionally TLS over it, every read bounded by the probe's
 * deadline. Closing destroys both layers and waits until their handles are released.
 */
export class ProbeConn {
  #plain: Socket;
  #sock: Socket | TLSSocket;
  #buf: Buffer = Buffer.alloc(0);
  #error: Error | null = null;
  #ended = false;
  #wake: (() => void) | null = null;
  #closed: Promise<void>[] = [];

  private constructor(plain: Socket, readonly target: Target, readonly deadline: number) {
    this.#plain = plain;
    this.#sock = plain;
    this.#track(plain);
    this.#listen(plain);
  }

  /** Connects over TCP; a refusal, an unreachable host or silence fails in words. */
  static async open(target: Target, deadline: number): Promise<ProbeConn> {
    const sock = netConnect({ host: target.host, port: target.port });
    const closed = new Promise<void>((r) => sock.once("close", () => r()));
    const ms = Math.max(0, deadline - Date.now());
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ProbeFailure(
                `no answer from ${target.host}:${target.port} within ${
                  seconds(ms)
                } (a firewall may drop it)`,
              ),
            ),
          ms,
        );
        sock.once("connect", () => resolve());
        sock.once("error", (e: Error & { code?: string }) =>
          reject(
            new ProbeFailure(connectWords(e.code, e.message, target.host, target.port), {
              code: e.code ?? null,
            }),
          ));
      });
    } catch (e) {
      sock.destroy();
      await settleWithin(closed, 1000);
      throw e;
    } finally {
      clearTimeout(timer);
    }
    sock.removeAllListeners("error");
    return new ProbeConn(sock, target, deadline);
  }

  /** The local and remote addresses of the TCP connection. */
  get addresses(): { local: string; remote: string } {
    return {
      local: `${this.#plain.localAddress}:${this.#plain.localPort}`,
      remote: `${this.#plain.remoteAddress}:${this.#plain.remotePort}`,
    };
  }

  /** Writes text (latin1, as protocols with CRLF lines want it). */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
    const timeout = (after: string) =>
      `${this.target.where} took nothing of what was sent within ${after}`;
    await this.#within(
      { what: "the sending of a command", timeout },
      () =>
        new Promise<void>((resolve, reject) =>
          this.#sock.write(bytes, (e) => (e ? reject(e) : resolve()))
        ),
    );
  }

  /** The next line (CRLF or LF removed). */
  async readLine(wait: Wait): Promise<string> {
    return await this.#next(wait, () => {
      const i = this.#buf.indexOf(10);
      if (i < 0) return null;
      const line = this.#buf.subarray(0, i > 0 && this.#buf[i - 1] === 13 ? i - 1 : i)
        .toString("latin1");
      this.#buf = this.#buf.subarray(i + 1);
      return line;
    });
  }

  /** The next complete BER element (an LDAP message), as bytes. */
  async readBer(wait: Wait): Promise<Uint8Array> {
    return await this.#next(wait, () => {
      const len = berElementLength(this.#buf);
      if (len === null || this.#buf.length < len) return null;
      const out = new Uint8Array(this.#buf.subarray(0, len));
      this.#buf = this.#buf.subarray(len);
      return out;
    });
  }

  /**
   * Upgrades to TLS (implicit TLS right after connect, or after a STARTTLS exchange) and
   * judges the certificate; the connection stays usable only when the verdict is ok.
   */
  async startTls(
    opts: { ca?: string; tlsStep?: string },
  ): Promise<{ ok: boolean; detail: string; info?: Record<string, unknown> }> {
    const { host, where } = this.target;
    const plain = this.#sock;
    plain.removeAllListeners("data");
    plain.removeAllListeners("end");
    plain.removeAllListeners("error");
    this.#buf = Buffer.alloc(0);
    const tls = tlsConnect({
      socket: plain,
      host,
      // SNI takes names only; an address is still checked against the certificate's IP SANs.
      ...(isIP(host) ? {} : { servername: host }),
      ...(opts.ca ? { ca: opts.ca } : {}),
      // Verified below, in words: rejecting here would hide the certificate from the admin.
      rejectUnauthorized: false,
    });
    this.#sock = tls;
    this.#track(tls);
    const ms = Math.max(0, this.deadline - Date.now());
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ProbeFailure(
                `no TLS handshake with ${where} within ${
                  seconds(ms)
                } (is this port really TLS? it may expect plain text or STARTTLS)`,
              ),
            ),
          ms,
        );
        tls.once("secureConnect", () => resolve());
        tls.once(
          "error",
          (e: Error & { code?: string }) =>
            reject(new ProbeFailure(tlsErrorWords(e.code, e.message, where))),
        );
      });
    } finally {
      clearTimeout(timer);
    }
    tls.removeAllListeners("error");
    this.#listen(tls);
    const cert = tls.getPeerCertificate();
    if (!cert || !Object.keys(cert).length) {
      return { ok: false, detail: `${where} presented no certificate` };
    }
    const authErr = tls.authorizationError as unknown;
    const code = authErr
      ? (typeof authErr === "string" ? authErr : (authErr as { code?: string }).code ??
        errorText(authErr))
      : null;
    return judgeCertificate({
      host,
      where,
      cert,
      authorizationError: code,
      nameOk: checkServerIdentity(host, cert) === undefined,
      caFile: !!opts.ca,
      protocol: tls.getProtocol(),
      cipher: tls.getCipher()?.name ?? null,
    });
  }

  /** Destroys the connection and waits (briefly) until its handles are released. */
  async close(): Promise<void> {
    this.#sock.destroy();
    this.#plain.destroy();
    await settleWithin(Promise.all(this.#closed).then(() => {}), 1000);
  }

  /** Sends a last line (LOGOUT, QUIT) without waiting for the answer, then closes. */
  async quit(line: string): Promise<void> {
    try {
      if (!this.#ended && !this.#error) {
        await settleWithin(
          new Promise<void>((r) => this.#sock.write(Buffer.from(line, "latin1"), () => r())),
          300,
        );
      }
    } catch {
      // Closing anyway.
    }
    await this.close();
  }

  #track(sock: Socket): void {
    if (sock.destroyed) return;
    this.#closed.push(new Promise<void>((r) => sock.once("close", () => r())));
  }

  #listen(sock: Socket): void {
    sock.on("data", (d: Buffer) => {
      this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
      this.#wake?.();
    });
    sock.on("end", () => {
      this.#ended = true;
      this.#wake?.();
    });
    sock.on("error", (e: Error) => {
      this.#error = e;
      this.#wake?.();
    });
  }

  async #next<T>(wait: Wait, take: () => T | null): Promise<T> {
    for (;;) {
      const got = take();
      if (got !== null) return got;
      if (this.#error) {
        throw new ProbeFailure(
          `the connection to ${this.target.where} broke while waiting for ${wait.what}: ${
            redact(this.#error.message)
          }`,
        );
      }
      if (this.#ended) {
        throw new ProbeFailure(
          `${this.target.where} closed the connection instead of sending ${wait.what}`,
        );
      }
      await this.#within(wait, () => new Promise<void>((r) => (this.#wake = r)));
      this.#wake = null;
    }
  }

  // Runs a wait until the deadline; on expiry the connection is closed and the wait fails in words.
  async #within<T>(wait: Wait, op: () => Promise<T>): Promise<T> {
    const ms = Math.max(0, this.deadline - Date.now());
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const after = seconds(ms);
        reject(
          new ProbeFailure(
            wait.timeout?.(after) ??
              `${this.target.where} sent no ${
                wait.what.replace(/^(its|an|a) /, "")
              } within ${after} (the connection is open, but the server says nothing)`,
          ),
        );
      }, ms);
    });
    const p = op();
    p.catch(() => {});
    try {
      return await Promise.race([p, expired]);
    } catch (e) {
      if (e instanceof ProbeFailure) {
        await this.close();
        throw e;
      }
      throw new ProbeFailure(
        `the connection to ${this.target.where} broke during ${wait.what}: ${redact(errorText(e))}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The length of the complete BER element at the start of `buf`, or null if not known yet. */
export function berElementLength(buf: Uint8Array): number | null {
  if (buf.length < 2) return null;
  const first = buf[1];
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 4) throw new ProbeFailure("the server sent something that is not LDAP");
  if (buf.length < 2 + n) return null;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + buf[2 + i];
  return 2 + n + len;
}
