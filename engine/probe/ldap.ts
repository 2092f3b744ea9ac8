/**
 * The LDAP connection test: name, TCP, LDAPS or StartTLS (certificate shown and judged) on a
 * connection of its own, then the bind, a paged count and one sample entry through
 * engine/directory's client. The PIN's value is never asked for: only whether the attribute
 * is there (a types-only search).
 * @module
 */
import { Buffer } from "node:buffer";
import type { LdapConfig, LdapEndpoint } from "../config/mod.ts";
import {
  closeLdap,
  describeLdapError,
  LdapError,
  type LdapSession,
  openLdap,
} from "../directory/mod.ts";
import { redact } from "../support/mod.ts";
import { describeTarget, dnsStep, ProbeConn } from "./net.ts";
import { errorText, Probe, ProbeFailure, type ProbeResult, settleWithin } from "./result.ts";

/** Options of {@link probeLdap}. */
export interface LdapProbeOptions {
  /** The whole test ends within this (default 15 s). */
  timeoutMs?: number;
  /** Counting stops here ("at least N"); default 10,000. */
  countCap?: number;
}

// StartTLS (RFC 4511 extended request 1.3.6.1.4.1.1466.20037) as message 1: fixed bytes.
const START_TLS_REQUEST = Uint8Array.from([
  0x30,
  0x1d,
  0x02,
  0x01,
  0x01,
  0x77,
  0x18,
  0x80,
  0x16,
  ...new TextEncoder().encode("1.3.6.1.4.1.1466.20037"),
]);

/** Tests the way to one directory, layer by layer, and shows one entry through the map. */
export async function probeLdap(
  l: LdapEndpoint,
  attrs: LdapConfig["attributes"],
  opts: LdapProbeOptions = {},
): Promise<ProbeResult> {
  const server = l.url.replace(/\/$/, "");
  const url = new URL(server);
  const ldaps = url.protocol === "ldaps:";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port) || (ldaps ? 636 : 389);
  const target = describeTarget(undefined, host, port);
  const { where } = target;
  const probe = new Probe(server, opts.timeoutMs);
  let conn: ProbeConn | null = null;
  let session: LdapSession | null = null;
  let finished = false;
  probe.onTimeout(async () => {
    await conn?.close();
    if (session) await closeLdap(session);
  });
  try {
    await dnsStep(probe, host);
    await probe.step("connect", async () => {
      conn = await ProbeConn.open(target, probe.deadline);
      return { detail: `connected to ${where}`, info: { ...conn.addresses } };
    });
    if (ldaps) {
      await probe.step("tls", async () => await conn!.startTls({ ca: l.ca }));
    } else if (l.startTls) {
      await probe.step("starttls", async () => {
        await conn!.write(START_TLS_REQUEST);
        const answer = await conn!.readBer({ what: "an answer to StartTLS" });
        const result = extendedResult(answer);
        if (result === null) {
          throw new ProbeFailure(`${where} answered StartTLS with something that is not LDAP`);
        }
        if (result.code !== 0) throw new ProbeFailure(startTlsWords(result, where));
        return await conn!.startTls({ ca: l.ca });
      });
    } else {
      await probe.step("tls", () =>
        Promise.resolve({
          skipped: true,
          detail:
            "not encrypted (ldap:// without startTls): the bind password and the PINs cross the network in clear",
        }));
    }
    const pre = conn as ProbeConn | null;
    conn = null;
    await pre?.close();

    await probe.step("bind", async () => {
      try {
        const s = await openLdap({ ...l, timeoutSeconds: probe.remainingMs() / 1000 });
        if (finished) await closeLdap(s);
        else session = s;
      } catch (e) {
        throw new ProbeFailure(bindWords(e, { where, bindDn: l.bindDn }));
      }
      return { detail: `bound as "${l.bindDn}"` };
    });
    const cap = opts.countCap ?? 10_000;
    let first: string | null = null;
    // Only entries that name a mailbox are subscribers: the base entry and organisational units
    // a broad filter also finds are not counted, nor offered as the sample.
    const subscribers = `(&${parenthesized(l.filter)}(${attrs.mailbox}=*))`;
    await probe.step("search", async () => {
      let count = 0;
      let capped = false;
      try {
        const pages = session!.client.searchPaginated(l.baseDn, {
          scope: "sub",
          filter: subscribers,
          // "1.1": no attributes, the DNs are enough to count.
          attributes: ["1.1"],
          paged: { pageSize: l.pageSize },
        });
        for await (const page of pages) {
          first ??= page.searchEntries[0]?.dn ?? null;
          count += page.searchEntries.length;
          if (count >= cap) {
            capped = true;
            break;
          }
        }
      } catch (e) {
        throw new ProbeFailure(searchWords(e, { where, baseDn: l.baseDn, filter: l.filter }));
      }
      const n = capped ? `at least ${count}` : `${count}`;
      return {
        detail: `${n} ${
          count === 1 ? "entry matches" : "entries match"
        } "${l.filter}" with a "${attrs.mailbox}" under "${l.baseDn}"${
          count === 0 ? " — warning: nothing to read (check baseDn and filter)" : ""
        }`,
        info: { count, capped },
      };
    });
    if (first === null) {
      await probe.step(
        "sample",
        () => Promise.resolve({ skipped: true, detail: "no entry to show" }),
      );
    } else {
      await probe.step("sample", async () => await sampleEntry(session!, first!, attrs, where));
    }
  } finally {
    finished = true;
    await probe.close();
    if (conn) await (conn as ProbeConn).close();
    if (session) await settleWithin(closeLdap(session), Math.max(300, probe.remainingMs()));
  }
  return probe.result();
}

/** The sample step: one entry through the attribute map; of the PIN only its presence. */
async function sampleEntry(
  session: LdapSession,
  dn: string,
  attrs: LdapConfig["attributes"],
  where: string,
) {
  let entry: Record<string, unknown>;
  let typesOnly: Record<string, unknown>;
  try {
    const wanted = [
      attrs.mailbox,
      attrs.name,
      attrs.email,
      attrs.classOfService,
      attrs.recordedName,
    ];
    const r = await session.client.search(dn, {
      scope: "base",
      attributes: wanted,
      explicitBufferAttributes: [attrs.recordedName],
    });
    entry = r.searchEntries[0] ?? {};
    // Names without values: the PIN itself never crosses the wire.
    const t = await session.client.search(dn, {
      scope: "base",
      attributes: [attrs.pin],
      returnAttributeValues: false,
    });
    typesOnly = t.searchEntries[0] ?? {};
  } catch (e) {
    throw new ProbeFailure(`cannot read "${dn}" on ${where}: ${describeLdapError(e)}`);
  }
  const sample = describeSample(dn, entry, typesOnly, attrs);
  if (sample.mailbox === null) {
    return {
      ok: false,
      detail:
        `the entry "${dn}" has no "${attrs.mailbox}" (the mailbox attribute) — check attributes.mailbox`,
      info: { ...sample },
    };
  }
  return { detail: sampleWords(sample), info: { ...sample } };
}

/** One entry as the admin sees it (the PIN only as present or not). */
export interface SampleEntry {
  dn: string;
  mailbox: string | null;
  name: string | null;
  email: string | null;
  classOfService: string | null;
  recordedNameBytes: number | null;
  pinPresent: boolean;
}

/** Reads the mapped attributes of a search entry (names matched without regard to case). */
export function describeSample(
  dn: string,
  entry: Record<string, unknown>,
  typesOnly: Record<string, unknown>,
  attrs: LdapConfig["attributes"],
): SampleEntry {
  const get = (e: Record<string, unknown>, name: string) => {
    const key = Object.keys(e).find((k) => k.toLowerCase() === name.toLowerCase());
    return key === undefined ? undefined : e[key];
  };
  const text = (name: string): string | null => {
    const v = get(entry, name);
    const first = Array.isArray(v) ? v[0] : v;
    if (first === undefined || first === null || first === "") return null;
    return typeof first === "string" ? first : Buffer.from(first as Uint8Array).toString("utf8");
  };
  const rec = get(entry, attrs.recordedName);
  const recFirst = Array.isArray(rec) ? rec[0] : rec;
  return {
    dn,
    mailbox: text(attrs.mailbox),
    name: text(attrs.name),
    email: text(attrs.email),
    classOfService: text(attrs.classOfService),
    recordedNameBytes: recFirst === undefined || recFirst === null
      ? null
      : typeof recFirst === "string"
      ? Buffer.byteLength(recFirst)
      : (recFirst as Uint8Array).byteLength,
    pinPresent: get(typesOnly, attrs.pin) !== undefined,
  };
}

/** The sample in one line. */
export function sampleWords(s: SampleEntry): string {
  const q = (v: string | null) => (v === null ? "none" : `"${v}"`);
  return `entry "${s.dn}": mailbox ${q(s.mailbox)}, name ${q(s.name)}, e-mail ${
    q(s.email)
  }, class of service ${q(s.classOfService)}, recorded name ${
    s.recordedNameBytes === null ? "none" : `${s.recordedNameBytes} bytes`
  }, PIN attribute present: ${s.pinPresent ? "yes" : "no"}`;
}

/** A refused or failed bind in words (never the password). */
export function bindWords(e: unknown, ctx: { where: string; bindDn: string }): string {
  if (e instanceof LdapError && e.operation === "bind") {
    if (e.code === 49) {
      return `${ctx.where} refused the bind as "${ctx.bindDn}" (wrong password, or no such entry)`;
    }
    if (e.code === 13 || e.code === 8) {
      return `${ctx.where} refused the bind as "${ctx.bindDn}": it requires an encrypted connection (use ldaps:// or startTls)`;
    }
    return `${ctx.where} refused the bind as "${ctx.bindDn}": ${describeLdapError(e.cause)}`;
  }
  if (e instanceof LdapError && e.operation === "starttls") {
    return `StartTLS with ${ctx.where} failed: ${describeLdapError(e.cause)}`;
  }
  const text = e instanceof LdapError ? describeLdapError(e.cause) : redact(errorText(e));
  return /timeout|timed out/i.test(text)
    ? `${ctx.where} stopped answering before the bind finished (${text})`
    : `the bind at ${ctx.where} failed: ${text}`;
}

/** A failed count in words. */
export function searchWords(
  e: unknown,
  ctx: { where: string; baseDn: string; filter: string },
): string {
  const code = (e as { code?: number })?.code;
  if (code === 32) return `the base DN "${ctx.baseDn}" does not exist on ${ctx.where}`;
  if (code === 50) {
    return `the bind DN may not search "${ctx.baseDn}" on ${ctx.where} (insufficient access rights)`;
  }
  if (typeof code !== "number" && /filter/i.test(errorText(e))) {
    return `the filter "${ctx.filter}" is not valid: ${redact(errorText(e))}`;
  }
  return `cannot search "${ctx.baseDn}" on ${ctx.where}: ${describeLdapError(e)}`;
}

/** A refused StartTLS in words. */
export function startTlsWords(r: { code: number; message: string }, where: string): string {
  const said = r.message ? `: "${redact(r.message)}"` : "";
  if (r.code === 2 || r.code === 52 || r.code === 53) {
    return `${where} does not offer StartTLS (result code ${r.code}${said}) — set up TLS on the directory, use ldaps://, or turn startTls off`;
  }
  return `${where} refused StartTLS (result code ${r.code}${said})`;
}

/**
 * The result code and diagnostic message of an LDAP extended response (`[APPLICATION 24]`),
 * or null for anything else.
 */
export function extendedResult(msg: Uint8Array): { code: number; message: string } | null {
  let i = 0;
  const len = () => {
    const b = msg[i++];
    if (b < 0x80) return b;
    let n = 0;
    for (let k = 0; k < (b & 0x7f); k++) n = n * 256 + msg[i++];
    return n;
  };
  const skip = (tag: number) => {
    if (msg[i++] !== tag) return false;
    const n = len();
    i += n;
    return i <= msg.length;
  };
  if (msg[i++] !== 0x30) return null;
  len();
  if (!skip(0x02)) return null;
  if (msg[i++] !== 0x78) return null;
  len();
  if (msg[i++] !== 0x0a) return null;
  const n = len();
  if (n < 1 || i + n > msg.length) return null;
  let code = 0;
  for (let k = 0; k < n; k++) code = code * 256 + msg[i++];
  let message = "";
  if (skip(0x04) && msg[i] === 0x04) {
    i++;
    const m = len();
    message = new TextDecoder().decode(msg.subarray(i, Math.min(i + m, msg.length)));
  }
  return { code, message };
}

// RFC 4515 filters are parenthesized; an operator may have typed "objectClass=x" without them.
function parenthesized(filter: string): string {
  const f = filter.trim();
  return f.startsWith("(") ? f : `(${f})`;
}
