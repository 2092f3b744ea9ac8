/**
 * Verifying a subscriber's voicemail PIN for the portal, by the configured method:
 * - "imap": the subscriber's own IMAP login (mailbox number, PIN as password) on the backup MSS,
 *   or on production when the mirror is a file store;
 * - "ldap": the PIN attribute of the mailbox's directory entry, production first, the backup
 *   directory when production cannot be reached.
 * A server that cannot be reached is "unavailable", never "bad": it must not count as a failure.
 * @module
 */
import { Buffer } from "node:buffer";
import { timingSafeEqual } from "node:crypto";
import type { Config, ImapEndpoint, LdapEndpoint } from "../engine/config/mod.ts";
import { commandTimeoutMs, imapClient } from "../engine/imap/mod.ts";
import { closeLdap, openLdap, searchEntries } from "../engine/directory/mod.ts";
import { isMailboxId, log } from "../engine/support/mod.ts";

/** The outcome of a PIN check. */
export type PinResult = "ok" | "bad" | "unavailable";

/** PINs the portal accepts; anything else is refused before a server is asked. */
export const PIN_PATTERN = /^[0-9]{1,32}$/;

/** What a subscriber typed at the login form. */
export interface PinLogin {
  mailbox: string;
  pin: string;
}

/** Checks a mailbox's PIN with the configured method. */
export async function checkPin(config: Config, login: PinLogin): Promise<PinResult> {
  const { mailbox, pin } = login;
  if (!isMailboxId(mailbox) || !PIN_PATTERN.test(pin)) return "bad";
  if (config.portal.pinCheck === "ldap") {
    if (!config.ldap) {
      log("error", 'portal.pinCheck is "ldap" but no "ldap" section is configured');
      return "unavailable";
    }
    const { source, target, attributes } = config.ldap;
    const first = await checkPinLdap(source, { attributes, mailbox, pin });
    if (first !== "unavailable" || !target) return first;
    return await checkPinLdap(target, { attributes, mailbox, pin });
  }
  const endpoint = imapEndpointForPins(config);
  if (!endpoint) {
    log("error", 'portal.pinCheck is "imap" but neither an IMAP target nor a source is configured');
    return "unavailable";
  }
  return await checkPinImap(endpoint, { mailbox, pin });
}

/** The IMAP server PINs are checked against: the backup MSS, else production. */
export function imapEndpointForPins(config: Config): ImapEndpoint | null {
  if (config.target?.type === "imap") return config.target;
  return config.source ?? null;
}

/** A user login (not the trusted server) with the PIN as password. */
export async function checkPinImap(endpoint: ImapEndpoint, login: PinLogin): Promise<PinResult> {
  const { mailbox, pin } = login;
  const client = imapClient(endpoint, {
    // LOGIN, explicitly: a PIN is a plain password and imapflow would otherwise pick a method.
    auth: { user: mailbox, pass: pin, loginMethod: "LOGIN" },
    socketTimeout: commandTimeoutMs(endpoint),
  });
  try {
    await client.connect();
    return "ok";
  } catch (e) {
    const err = e as { authenticationFailed?: boolean; serverResponseCode?: string };
    if (err.authenticationFailed || /AUTHENTICATIONFAILED/i.test(err.serverResponseCode ?? "")) {
      return "bad";
    }
    log("warn", `Cannot check a PIN on "${endpoint.name}": ${(e as Error).message}`);
    return "unavailable";
  } finally {
    try {
      if (client.usable) await client.logout();
    } catch {
      // Going away either way.
    }
    client.close();
  }
}

/** Compares the PIN with the directory entry's PIN attribute. */
export async function checkPinLdap(
  endpoint: LdapEndpoint,
  login: PinLogin & { attributes: { mailbox: string; pin: string } },
): Promise<PinResult> {
  const { attributes, mailbox, pin } = login;
  let session;
  try {
    session = await openLdap(endpoint, { binaryAttributes: [attributes.pin] });
  } catch (e) {
    log("warn", `Cannot check a PIN on "${endpoint.url}": ${(e as Error).message}`);
    return "unavailable";
  }
  try {
    const entries = await searchEntries(session, endpoint.baseDn, {
      filter: mailboxFilter(endpoint.filter, { attribute: attributes.mailbox, mailbox }),
      pageSize: 2,
      attributes: [attributes.pin],
    });
    // No entry, or two entries claiming one mailbox: nobody gets in on an ambiguous directory.
    if (entries.length !== 1) return "bad";
    const values = attrValues(entries[0].attributes, attributes.pin);
    const given = Buffer.from(pin, "utf8");
    let ok = false;
    for (const v of values) {
      const stored = typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v);
      if (stored.length === given.length && timingSafeEqual(stored, given)) ok = true;
    }
    return ok ? "ok" : "bad";
  } catch (e) {
    log("warn", `Cannot check a PIN on "${endpoint.url}": ${(e as Error).message}`);
    return "unavailable";
  } finally {
    await closeLdap(session);
  }
}

function attrValues(
  attrs: Record<string, (string | Uint8Array)[]>,
  name: string,
): (string | Uint8Array)[] {
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(attrs)) if (k.toLowerCase() === want) return v;
  return [];
}

/** `(&<base filter>(<attribute>=<escaped mailbox>))`. */
export function mailboxFilter(
  baseFilter: string,
  match: { attribute: string; mailbox: string },
): string {
  const base = baseFilter.startsWith("(") ? baseFilter : `(${baseFilter})`;
  return `(&${base}(${match.attribute}=${escapeFilterValue(match.mailbox)}))`;
}

/** Escapes a value for an LDAP filter (RFC 4515). */
export function escapeFilterValue(value: string): string {
  return [...new TextEncoder().encode(value)].map((b) =>
    b === 0x2a || b === 0x28 || b === 0x29 || b === 0x5c || b === 0 || b >= 0x80
      ? `\\${b.toString(16).padStart(2, "0")}`
      : String.fromCharCode(b)
  ).join("");
}
