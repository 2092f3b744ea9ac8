/**
 * A server certificate in the admin's words: who it is for, who signed it, until when, and
 * what is wrong with it (untrusted CA, wrong name, expired, expiring soon). Pure: the socket
 * code hands in what node:tls saw.
 * @module
 */

/** The parts of node:tls's `PeerCertificate` this module reads. */
export interface PeerCertLike {
  /** Name parts, e.g. `{ CN: "localhost", O: "Example" }` (a value may be a list). */
  subject?: object;
  issuer?: object;
  valid_from?: string;
  valid_to?: string;
  subjectaltname?: string;
  fingerprint256?: string;
}

/** What a TLS handshake showed. */
export interface TlsSeen {
  /** The host name or address the configuration connects to. */
  host: string;
  /** `host:port` and name, for messages. */
  where: string;
  cert: PeerCertLike;
  /** node:tls's verdict on the chain (null when trusted), e.g. "UNABLE_TO_VERIFY_LEAF_SIGNATURE". */
  authorizationError: string | null;
  /** Whether the certificate names `host` (checked apart from the chain). */
  nameOk: boolean;
  /** Whether the configuration names a CA file. */
  caFile: boolean;
  protocol?: string | null;
  cipher?: string | null;
}

/** Days of validity left below which a good certificate is reported with a warning. */
export const EXPIRY_WARNING_DAYS = 30;

const DAY_MS = 86_400_000;

// node:tls's codes for a chain it cannot lead to a trusted root. Under Deno, an expired
// certificate is reported with one of these too, hence the separate date check.
const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
]);

/** Facts of a certificate for the step's info (dates as ISO strings). */
export function certFacts(cert: PeerCertLike, now = new Date()): Record<string, unknown> {
  const to = parseCertDate(cert.valid_to);
  return {
    subject: distinguished(cert.subject),
    issuer: distinguished(cert.issuer),
    names: certNames(cert),
    validFrom: parseCertDate(cert.valid_from)?.toISOString() ?? null,
    validTo: to?.toISOString() ?? null,
    daysLeft: to ? Math.floor((to.getTime() - now.getTime()) / DAY_MS) : null,
    fingerprint256: cert.fingerprint256 ?? null,
  };
}

/** The verdict on a handshake: ok with the certificate's facts, or each problem in words. */
export function judgeCertificate(
  seen: TlsSeen,
  now = new Date(),
): { ok: boolean; detail: string; info: Record<string, unknown> } {
  const facts = certFacts(seen.cert, now);
  const info: Record<string, unknown> = {
    ...facts,
    protocol: seen.protocol ?? null,
    cipher: seen.cipher ?? null,
    ...(seen.authorizationError ? { verification: seen.authorizationError } : {}),
  };
  const from = parseCertDate(seen.cert.valid_from);
  const to = parseCertDate(seen.cert.valid_to);
  const who = certLabel(seen.cert);
  const by = quoteName(commonName(seen.cert.issuer) ?? distinguished(seen.cert.issuer));
  const problems: string[] = [];
  const expired = to !== null && to.getTime() < now.getTime();
  if (expired) problems.push(`the certificate (${who}) expired on ${day(to!)}: renew it`);
  if (from && from.getTime() > now.getTime()) {
    problems.push(
      `the certificate (${who}) is not valid before ${
        day(from)
      } (is this appliance's clock right?)`,
    );
  }
  const error = seen.authorizationError;
  // Deno reports an expired certificate as unverifiable: the date says more.
  if (error && UNTRUSTED.has(error) && !expired) {
    problems.push(
      `the certificate is signed by a CA this appliance does not trust (${by}${
        seen.caFile ? ", not the CA in caFile" : ""
      }) — set caFile to your CA`,
    );
  }
  if (!seen.nameOk) {
    const names = certNames(seen.cert);
    problems.push(
      `the certificate is issued for ${
        names.length ? names.join(", ") : who
      }, not for host "${seen.host}" — connect by a name the certificate holds`,
    );
  }
  if (
    error && !UNTRUSTED.has(error) && error !== "ERR_TLS_CERT_ALTNAME_INVALID" &&
    !/EXPIRED|NOT_YET_VALID/.test(error)
  ) {
    problems.push(`the certificate was not accepted: ${error}`);
  }
  if (problems.length) {
    return { ok: false, detail: `${seen.where}: ${problems.join("; ")}`, info };
  }
  const until = to ? `, valid until ${day(to)}` : "";
  const days = typeof facts.daysLeft === "number" ? facts.daysLeft : null;
  const warning = days !== null && days < EXPIRY_WARNING_DAYS
    ? ` — warning: it expires in ${days} day${days === 1 ? "" : "s"}, renew it soon`
    : "";
  const proto = seen.protocol ? ` (${seen.protocol})` : "";
  return {
    ok: true,
    detail: `encrypted${proto}; certificate ${who}, issued by ${by}${until}${warning}`,
    info,
  };
}

/** The names a certificate is valid for: its DNS and IP subject alternative names. */
export function certNames(cert: PeerCertLike): string[] {
  if (!cert.subjectaltname) {
    const cn = commonName(cert.subject);
    return cn ? [cn] : [];
  }
  return cert.subjectaltname.split(/,\s*/).map((n) => {
    const m = /^(?:DNS|IP Address):(.*)$/.exec(n.trim());
    return m ? m[1] : "";
  }).filter(Boolean);
}

/** A certificate date as node:tls prints it ("Mar  6 10:46:40 2029 GMT"), or null. */
export function parseCertDate(text: string | undefined): Date | null {
  if (!text) return null;
  const d = new Date(text.replace(/\s+/g, " "));
  return Number.isNaN(d.getTime()) ? null : d;
}

function certLabel(cert: PeerCertLike): string {
  const cn = commonName(cert.subject);
  return cn ? `for "${cn}"` : `"${distinguished(cert.subject)}"`;
}

function commonName(name: PeerCertLike["subject"]): string | null {
  const cn = (name as Record<string, unknown> | undefined)?.CN;
  if (Array.isArray(cn)) return cn[0] ?? null;
  return typeof cn === "string" ? cn : null;
}

function quoteName(name: string): string {
  return name ? `"${name}"` : "an unnamed issuer";
}

// "CN=localhost, O=Example": the order node:tls gives, one value per key.
function distinguished(name: PeerCertLike["subject"]): string {
  if (!name) return "";
  return Object.entries(name as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : v}`)
    .join(", ");
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}
