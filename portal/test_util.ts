/**
 * Test helpers for the portal: a small cookie-keeping client that drives the Hono app in
 * process (no socket), reading CSRF tokens from the forms it is served like a browser would.
 * @module
 */
import type { Hono } from "hono";
import type { PortalEnv } from "./context.ts";
import type { MailboxReader, MessageSummary } from "./mailbox_reader.ts";

/** Options of {@link PortalClient}. */
export interface PortalClientOptions {
  /** The peer address the app sees. */
  from?: string;
  /** Scheme and host of requests (also the Origin sent with forms). */
  origin?: string;
}

/** A browser-like client of the portal app: keeps cookies, sends forms with their token. */
export class PortalClient {
  readonly cookies = new Map<string, string>();
  readonly from: string;
  readonly origin: string;
  /** The CSRF token of the last page that had a form. */
  csrf = "";

  /** Wraps an app. */
  constructor(readonly app: Hono<PortalEnv>, opts: PortalClientOptions = {}) {
    this.from = opts.from ?? "127.0.0.1";
    this.origin = opts.origin ?? "http://portal.test";
  }

  /** Sends a request; remembers cookies and the page's CSRF token. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size && !headers.has("cookie")) {
      headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    if (!headers.has("accept")) headers.set("accept", "text/html");
    const res = await this.app.fetch(
      new Request(`${this.origin}${path}`, { ...init, headers, redirect: "manual" }),
      { remoteAddr: { hostname: this.from, port: 40000, transport: "tcp" } },
    );
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (!value || /max-age=0/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** GETs a page and reads its text (and CSRF token). */
  async page(path: string): Promise<{ res: Response; html: string }> {
    const res = await this.request(path);
    const html = await res.text();
    this.remember(html);
    return { res, html };
  }

  /** Reads the CSRF token of a page's forms. */
  remember(html: string): void {
    const m = /name="_csrf" value="([^"]+)"/.exec(html);
    if (m) this.csrf = m[1];
  }

  /** POSTs a form (with the remembered token unless `_csrf` is given). */
  async post(
    path: string,
    form: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    return await this.request(path, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: this.origin,
        ...headers,
      },
      body: new URLSearchParams({ _csrf: this.csrf, ...form }),
    });
  }

  /** Logs a subscriber in through the login form. */
  async login(mailbox: string, pin: string): Promise<Response> {
    await this.page("/login");
    return await this.post("/login", { mailbox, pin });
  }

  /** Logs the admin in through the admin login form. */
  async adminLogin(user: string, password: string): Promise<Response> {
    await this.page("/admin/login");
    return await this.post("/admin/login", { user, password });
  }
}

/** Links to messages on a page (`/m/<f>/<uidvalidity>-<uid>`), in page order. */
export function messageLinks(html: string): string[] {
  return [...html.matchAll(/href="(\/m\/\d+\/\d+-\d+)"/g)].map((m) => m[1]);
}

/** Reads a 16-bit PCM WAV header: rate, channels, bits, data bytes. */
export function pcmHeader(bytes: Uint8Array) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (o: number, n: number) => String.fromCharCode(...bytes.subarray(o, o + n));
  return {
    riff: ascii(0, 4),
    wave: ascii(8, 4),
    format: v.getUint16(20, true),
    channels: v.getUint16(22, true),
    sampleRate: v.getUint32(24, true),
    bits: v.getUint16(34, true),
    dataBytes: v.getUint32(40, true),
  };
}

/** A reader (no server) with one plain message (UIDVALIDITY 7, UID 1) and one recording. */
export function oneMessageReader(mailbox: string): MailboxReader {
  const m: MessageSummary = {
    folder: "INBOX",
    uidValidity: 7,
    uid: 1,
    internalDate: "2026-01-02T03:04:05.000Z",
    date: null,
    from: null,
    sender: "4002",
    subject: null,
    durationSeconds: 3,
    urgent: false,
    private: false,
    broadcast: false,
    placeholder: false,
    size: 100,
    messageId: null,
    inReplyTo: null,
    voices: [{
      index: 0,
      role: "Voice-Message",
      contentType: "audio/wav",
      filename: null,
      seconds: 3,
    }],
    tree: {
      from: null,
      sender: "4002",
      date: null,
      subject: null,
      durationSeconds: 3,
      voices: [0],
      children: [],
    },
    flags: [],
  };
  return {
    mailbox,
    list: () =>
      Promise.resolve({ folder: "INBOX", uidValidity: 7, total: 1, offset: 0, items: [m] }),
    get: (ref) => Promise.resolve(ref.uid === 1 && ref.uidValidity === 7 ? m : null),
    voice: () =>
      Promise.resolve({
        bytes: new Uint8Array([1, 2, 3]),
        contentType: "audio/wav",
        filename: null,
      }),
    close: () => Promise.resolve(),
  };
}
