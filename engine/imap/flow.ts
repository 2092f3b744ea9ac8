/**
 * Connecting to an MSS over IMAP as the trusted server, impersonating one mailbox.
 * @module
 */
import { ImapFlow, type ImapFlowOptions } from "imapflow";
import type { ImapEndpoint } from "../config/mod.ts";
import { redact } from "../support/mod.ts";
import { isTooBig } from "./commands/append.ts";

/** An IMAP failure with the mailbox, server and operation it happened in. */
export class ImapError extends Error {
  override name = "ImapError";
  /** True when the trusted server's credentials were refused (same for every mailbox). */
  readonly authFailed: boolean;
  /** True for failures worth retrying (network, timeouts, server busy). */
  readonly transient: boolean;
  /** Builds the error from the underlying failure. */
  constructor(
    readonly server: string,
    readonly mailbox: string,
    readonly operation: string,
    cause: unknown,
    detail?: string,
  ) {
    const info = describe(cause);
    super(
      `Cannot ${operation} of mailbox "${mailbox}" on "${server}": ${detail ?? info.text}`,
      { cause },
    );
    this.authFailed = info.auth;
    this.transient = info.transient;
  }
}

/** Where an IMAP operation runs, as an {@link ImapError} reports it. */
export interface ImapContext {
  /** The server's name from the config. */
  server: string;
  mailbox: string;
  /** What is being done, e.g. `read "INBOX"`. */
  operation: string;
}

/** Runs `fn`; a failure that is not an {@link ImapError} yet becomes one for `context`. */
export async function withImapContext<T>(context: ImapContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ImapError) throw e;
    throw new ImapError(context.server, context.mailbox, context.operation, e);
  }
}

function describe(cause: unknown): { text: string; auth: boolean; transient: boolean } {
  const e = cause as {
    message?: string;
    code?: string;
    responseText?: string;
    serverResponseCode?: string;
    authenticationFailed?: boolean;
    responseStatus?: string;
  };
  const code = e?.serverResponseCode ? `[${e.serverResponseCode}] ` : "";
  const status = e?.responseStatus ? `${e.responseStatus} ` : "";
  const text = redact(
    e?.responseText ? `${status}${code}${e.responseText}` : (e?.message ?? String(cause)),
  );
  const auth = !!e?.authenticationFailed || /AUTHENTICATIONFAILED|AUTHORIZATIONFAILED/i.test(
    `${e?.serverResponseCode ?? ""} ${e?.message ?? ""}`,
  );
  // A refusal for size stays one however often it is tried (Cyrus's "NO [TOOBIG] Message size
  // exceeds fixed limit" would otherwise pass for a [LIMIT] of a busy server).
  const transient = !auth && !isTooBig(cause) && (
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|NoConnection|Socket|timeout|closed|UNAVAILABLE|INUSE|LIMIT/i
      .test(`${e?.code ?? ""} ${e?.message ?? ""} ${e?.serverResponseCode ?? ""}`)
  );
  return { text: text || "unknown error", auth, transient };
}

/** Options for {@link connectAs}. */
export interface ConnectOptions {
  /** Enable QRESYNC (the source wants it for VANISHED-aware change detection). */
  qresync?: boolean;
  /** The connection will sit in IDLE: restart it well inside the 29 minutes of RFC 2177. */
  idle?: boolean;
}

/** Logs into `mailbox` on `endpoint` as the trusted server; the caller logs out. */
export async function connectAs(
  endpoint: ImapEndpoint,
  mailbox: string,
  opts: ConnectOptions = {},
): Promise<ImapFlow> {
  const auth = endpoint.impersonation === "authzid"
    ? {
      user: endpoint.trustedUser,
      pass: endpoint.trustedPassword,
      authzid: mailbox,
      // Explicit, because imapflow would fall back to LOGIN (which has no authzid) otherwise.
      loginMethod: "AUTH=PLAIN",
    }
    : {
      user: `${mailbox}${endpoint.separator}${endpoint.trustedUser}`,
      pass: endpoint.trustedPassword,
      loginMethod: "LOGIN",
    };
  const client = await imapClient(endpoint, {
    auth,
    qresync: opts.qresync ?? false,
    ...(opts.idle ? { maxIdleTime: 20 * 60_000 } : {}),
    socketTimeout: opts.idle ? idleSocketTimeoutMs(endpoint) : commandTimeoutMs(endpoint),
  });
  try {
    await client.connect();
  } catch (e) {
    client.close();
    throw new ImapError(endpoint.name, mailbox, "log in as the trusted server", e);
  }
  return client;
}

/**
 * imapflow's socketTimeout for a command connection: the longest the server may stay silent
 * while a command waits for its answer (imapflow's timer is one of inactivity, re-armed by each
 * byte, so a large literal in flow never trips it).
 */
export function commandTimeoutMs(endpoint: ImapEndpoint): number {
  return endpoint.commandTimeoutSeconds * 1000;
}

/**
 * imapflow's socketTimeout for a connection that sits in IDLE: five command timeouts (5 minutes
 * by default, above Dovecot's 2-minute "Still here" and most servers' keepalives). When it runs
 * out, imapflow leaves IDLE and sends a NOOP; a server that does not answer that within another
 * period is taken for dead and the connection is dropped, so a dead server is noticed within
 * two periods while a quiet healthy one only sees a NOOP now and then.
 */
export function idleSocketTimeoutMs(endpoint: ImapEndpoint): number {
  return endpoint.commandTimeoutSeconds * 5000;
}

/** What differs between the connections {@link imapClient} builds. */
export type ImapClientOptions =
  & Required<Pick<ImapFlowOptions, "auth" | "socketTimeout">>
  & Pick<ImapFlowOptions, "qresync" | "maxIdleTime">;

/**
 * A client for `endpoint`, not connected yet: TLS as configured (the CA read at load), the
 * endpoint's connect timeouts (TCP and TLS within connectionTimeout, then the greeting within
 * greetingTimeout), no COMPRESS and no automatic IDLE, its 'error' events absorbed.
 */
export function imapClient(endpoint: ImapEndpoint, opts: ImapClientOptions): ImapFlow {
  const client = new ImapFlow({
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.tls === "tls",
    doSTARTTLS: endpoint.tls === "starttls" ? true : endpoint.tls === "none" ? false : undefined,
    servername: /^[\d.]+$|:/.test(endpoint.host) ? undefined : endpoint.host,
    tls: { rejectUnauthorized: true, ...(endpoint.ca ? { ca: endpoint.ca } : {}) },
    logger: false,
    // COMPRESS has failed under Deno's zlib; voicemail audio does not compress anyway.
    disableCompression: true,
    disableAutoIdle: true,
    connectionTimeout: endpoint.connectTimeoutSeconds * 1000,
    greetingTimeout: endpoint.connectTimeoutSeconds * 1000,
    ...opts,
  });
  // Without a listener an 'error' event would crash the process; failures surface as rejections.
  client.on("error", () => {});
  return client;
}

/** Logs out politely, closing the socket whatever happens. */
export async function disconnect(client: ImapFlow | null | undefined): Promise<void> {
  if (!client) return;
  try {
    if (client.usable) await client.logout();
  } catch {
    // The connection is going away either way.
  } finally {
    client.close();
  }
}
