/**
 * Talking to an LDAP directory as the trusted server (ldapts): connect with LDAPS or StartTLS
 * (certificates verified), simple bind, paged search, add, modify, delete — each failure an
 * {@link LdapError} naming the server and the operation, never the password.
 * @module
 */
import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { Attribute, Change, Client, ResultCodeError } from "ldapts";
import type { LdapEndpoint } from "../config/mod.ts";
import type { AttrChange, AttrValue, DirEntry } from "./plan.ts";
import { redact } from "../support/mod.ts";

/** An LDAP failure with the server, operation and entry it happened on. */
export class LdapError extends Error {
  override name = "LdapError";
  /** Builds the error; `message` is complete (server and operation quoted in it). */
  constructor(
    message: string,
    readonly server: string,
    readonly operation: string,
    readonly opts: { dn?: string; code?: number; cause?: unknown } = {},
  ) {
    super(redact(message), { cause: opts.cause });
  }

  /** The LDAP result code, when the server answered with one. */
  get code(): number | undefined {
    return this.opts.code;
  }
}

/** An open, bound connection to one directory; close it with {@link closeLdap}. */
export interface LdapSession {
  client: Client;
  /** The URL, as it appears in messages. */
  server: string;
  bindDn: string;
  /** Attributes read as bytes (recorded name, PIN) so they are copied byte for byte. */
  binary: string[];
  /** Whether the connection is encrypted (LDAPS or StartTLS). */
  encrypted: boolean;
}

/** Options for {@link openLdap}. */
export interface OpenLdapOptions {
  /** Attributes to read as bytes. */
  binaryAttributes?: string[];
}

// Short names of the result codes an operator meets; the server's own text follows them.
const RESULT_CODES: Record<number, string> = {
  1: "operations error",
  2: "protocol error",
  3: "time limit exceeded",
  4: "size limit exceeded",
  8: "strong authentication required",
  11: "administrative limit exceeded",
  12: "unavailable critical extension",
  13: "confidentiality required",
  16: "no such attribute",
  17: "undefined attribute type",
  18: "inappropriate matching",
  19: "constraint violation",
  20: "attribute or value exists",
  21: "invalid attribute syntax",
  32: "no such object",
  34: "invalid DN syntax",
  48: "inappropriate authentication",
  49: "invalid credentials",
  50: "insufficient access rights",
  51: "busy",
  52: "unavailable",
  53: "unwilling to perform",
  64: "naming violation",
  65: "object class violation",
  66: "not allowed on non-leaf",
  67: "not allowed on RDN",
  68: "entry already exists",
  69: "object class modifications prohibited",
  80: "other",
};

/** Connects, upgrades to TLS when configured, and binds as the trusted server. */
export async function openLdap(
  endpoint: LdapEndpoint,
  opts: OpenLdapOptions = {},
): Promise<LdapSession> {
  const server = endpoint.url.replace(/\/$/, "");
  const url = new URL(server);
  const ldaps = url.protocol === "ldaps:";
  const tls = tlsOptions(endpoint, url.hostname.replace(/^\[|\]$/g, ""));
  const timeout = Math.round(endpoint.timeoutSeconds * 1000);
  const client = new Client({
    url: server,
    // ldapts bounds the TCP connect (connectTimeout) and every operation, bind and each search
    // page included (timeout); the TLS handshake after StartTLS it leaves to us.
    timeout,
    connectTimeout: timeout,
    createSecureConnection: handshakeWithin(timeout),
    // ldapts treats any tlsOptions as "connect with TLS": give them only for ldaps://.
    ...(ldaps ? { tlsOptions: tls } : {}),
    // DNs come from the servers' own answers and the config: pass them on as the server wrote
    // them (escapes included) instead of re-parsing them client-side.
    strictDN: false,
  });
  try {
    if (endpoint.startTls && !ldaps) {
      try {
        await client.startTLS(tls);
      } catch (e) {
        throw new LdapError(
          `Cannot start TLS with "${server}": ${describeLdapError(e)}`,
          server,
          "starttls",
          { cause: e, code: resultCode(e) },
        );
      }
    }
    try {
      await client.bind(endpoint.bindDn, endpoint.bindPassword);
    } catch (e) {
      if (!(e instanceof ResultCodeError)) {
        throw new LdapError(
          `Cannot connect to "${server}": ${describeLdapError(e)}`,
          server,
          "connect",
          { cause: e },
        );
      }
      throw new LdapError(
        `Cannot bind to "${server}" as "${endpoint.bindDn}": ${describeLdapError(e)}`,
        server,
        "bind",
        { cause: e, code: e.code, dn: endpoint.bindDn },
      );
    }
  } catch (e) {
    await client.unbind().catch(() => {});
    throw e;
  }
  return {
    client,
    server,
    bindDn: endpoint.bindDn,
    binary: opts.binaryAttributes ?? [],
    encrypted: ldaps || endpoint.startTls,
  };
}

/** Unbinds and closes the connection; never throws. */
export async function closeLdap(session: LdapSession): Promise<void> {
  try {
    await session.client.unbind();
  } catch {
    // Closing is best effort: the socket is destroyed either way.
  }
}

/** Options for {@link searchEntries}. */
export interface SearchEntriesOptions {
  filter: string;
  pageSize: number;
  /** Attributes to return; default every user attribute. */
  attributes?: string[];
  /** Called after each page with the number of entries read so far. */
  onPage?: (entries: number) => void;
}

/** Reads every entry under `baseDn` matching the filter, page by page (RFC 2696). */
export async function searchEntries(
  session: LdapSession,
  baseDn: string,
  opts: SearchEntriesOptions,
): Promise<DirEntry[]> {
  const out: DirEntry[] = [];
  // Servers answer with the schema's spelling; ask for bytes under every spelling we know.
  const explicit = [...new Set(session.binary.flatMap((a) => [a, a.toLowerCase()]))];
  const binary = new Set(session.binary.map((a) => a.toLowerCase()));
  try {
    const pages = session.client.searchPaginated(baseDn, {
      scope: "sub",
      filter: opts.filter,
      attributes: opts.attributes ?? ["*"],
      explicitBufferAttributes: explicit,
      paged: { pageSize: opts.pageSize },
    });
    for await (const page of pages) {
      for (const e of page.searchEntries) out.push(toDirEntry(e, binary));
      opts.onPage?.(out.length);
    }
  } catch (e) {
    throw new LdapError(
      `Cannot search "${baseDn}" with filter "${opts.filter}" on "${session.server}": ${
        describeLdapError(e)
      }`,
      session.server,
      "search",
      { cause: e, code: resultCode(e), dn: baseDn },
    );
  }
  return out;
}

/** Applies attribute changes to one entry in a single modify operation. */
export async function modifyEntry(
  session: LdapSession,
  dn: string,
  changes: Pick<AttrChange, "attr" | "op" | "values">[],
): Promise<void> {
  const mods = changes.map((c) =>
    new Change({
      // "add" on an attribute the entry lacks; replace is what makes the values exactly these.
      operation: c.op === "delete" ? "delete" : "replace",
      modification: new Attribute({
        type: c.attr,
        values: c.op === "delete" ? [] : wire(c.values),
      }),
    })
  );
  try {
    await session.client.modify(dn, mods);
  } catch (e) {
    throw new LdapError(
      `Cannot modify "${dn}" on "${session.server}": ${describeLdapError(e)}`,
      session.server,
      "modify",
      { cause: e, code: resultCode(e), dn },
    );
  }
}

/** Creates one entry. */
export async function addEntry(
  session: LdapSession,
  dn: string,
  attributes: Record<string, AttrValue[]>,
): Promise<void> {
  const attrs = Object.entries(attributes)
    .filter(([, v]) => v.length)
    .map(([type, values]) => new Attribute({ type, values: wire(values) }));
  try {
    await session.client.add(dn, attrs);
  } catch (e) {
    throw new LdapError(
      `Cannot add "${dn}" on "${session.server}": ${describeLdapError(e)}`,
      session.server,
      "add",
      { cause: e, code: resultCode(e), dn },
    );
  }
}

/** Deletes one entry. */
export async function deleteEntry(session: LdapSession, dn: string): Promise<void> {
  try {
    await session.client.del(dn);
  } catch (e) {
    throw new LdapError(
      `Cannot delete "${dn}" on "${session.server}": ${describeLdapError(e)}`,
      session.server,
      "delete",
      { cause: e, code: resultCode(e), dn },
    );
  }
}

/** A failure in words: the result code's name, then the server's own diagnostic. */
export function describeLdapError(e: unknown): string {
  if (e instanceof ResultCodeError) {
    const name = RESULT_CODES[e.code] ?? `result code ${e.code}`;
    // ldapts appends " Code: 0x31" and, without a diagnostic, uses its class's generic text.
    const strip = (m: string) => m.replace(/\s*Code: 0x[0-9a-f]+$/i, "").trim();
    const diag = strip(e.message);
    let generic = "";
    try {
      generic = strip(new (e.constructor as new () => Error)().message);
    } catch {
      // A class that needs arguments has no generic text to compare with.
    }
    return redact(diag && diag !== generic ? `${name}: ${diag}` : name);
  }
  const err = e as { message?: string; code?: string };
  const text = err?.message || String(e);
  return redact(err?.code && !text.includes(err.code) ? `${err.code}: ${text}` : text);
}

// ---- helpers ----

// tls.connect with the handshake bounded: a server that accepts StartTLS and then says nothing
// has its socket destroyed after `ms`; past the handshake the operation timeouts take over.
function handshakeWithin(ms: number): typeof tlsConnect {
  return ((...args: Parameters<typeof tlsConnect>) => {
    const socket = tlsConnect(...args);
    socket.setTimeout(ms, () => {
      socket.destroy(new Error(`timeout: the TLS handshake did not finish in ${ms / 1000} s`));
    });
    socket.once("secureConnect", () => socket.setTimeout(0));
    return socket;
  }) as typeof tlsConnect;
}

function tlsOptions(endpoint: LdapEndpoint, host: string): ConnectionOptions {
  const tls: ConnectionOptions = { rejectUnauthorized: true, host };
  // SNI takes names only; an address is still checked against the certificate's IP SANs.
  if (!isIP(host)) tls.servername = host;
  if (endpoint.ca) tls.ca = [endpoint.ca];
  return tls;
}

function toDirEntry(e: Record<string, unknown>, binary: Set<string>): DirEntry {
  const attributes: Record<string, AttrValue[]> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === "dn") continue;
    const list = (Array.isArray(v) ? v : [v]) as (string | Uint8Array)[];
    const isBinary = binary.has(k.toLowerCase());
    attributes[k] = list.map((x) =>
      typeof x === "string"
        // Only if the server spelled a binary attribute unexpectedly: valid UTF-8 round-trips.
        ? (isBinary ? new TextEncoder().encode(x) : x)
        : new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength))
    );
  }
  return { dn: String(e.dn), attributes };
}

function wire(values: AttrValue[]): string[] | Buffer[] {
  if (values.every((v) => typeof v === "string")) return values as string[];
  return values.map((v) =>
    typeof v === "string"
      ? Buffer.from(v, "utf8")
      : Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  );
}

function resultCode(e: unknown): number | undefined {
  return e instanceof ResultCodeError ? e.code : undefined;
}
