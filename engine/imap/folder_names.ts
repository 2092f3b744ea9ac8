/**
 * Folder names between vmirror's configs and a server's namespace, for both IMAP clients: the
 * lean session (session.ts, NAMESPACE asked once per endpoint) and imapflow (restore, the
 * portal's reader, IDLE), whose own path handling only adds the personal prefix and leaves `/`
 * between levels as it is ("Archive/2024" would become Cyrus's "INBOX.Archive/2024").
 *
 * Configs name folders as a Dovecot with `separator = /` and an empty prefix shows them
 * ("INBOX", "Greetings", "Archive/2024"); Cyrus's classic namespace (`altnamespace: no`,
 * `unixhierarchysep: no`) names them "INBOX", "INBOX.Greetings", "INBOX.Archive.2024".
 * Pure logic, no I/O.
 * @module
 */

/** The personal namespace: its prefix (e.g. "" or "INBOX.") and hierarchy delimiter. */
export interface PersonalNamespace {
  prefix: string;
  /** null: a flat server without hierarchy. */
  delimiter: string | null;
}

/**
 * A configured folder name → the server's name for it in namespace `ns`: INBOX stays INBOX, a
 * name that already carries the prefix is the server's own (configs written in its terms keep
 * working), others get the prefix and the server's delimiter between levels.
 */
export function serverFolder(name: string, ns: PersonalNamespace | null): string {
  if (!ns || name.toUpperCase() === "INBOX") return name;
  if (ns.prefix === "" && (ns.delimiter === "/" || ns.delimiter === null)) return name;
  if (ns.prefix && name.toUpperCase().startsWith(ns.prefix.toUpperCase())) return name;
  const levels = ns.delimiter ? name.split("/").join(ns.delimiter) : name;
  return ns.prefix + levels;
}

/**
 * A server's folder name → the configured form ("INBOX.Archive.2024" → "Archive/2024"), the
 * inverse of {@linkcode serverFolder}: what a listing of the server is compared with.
 */
export function configuredFolder(name: string, ns: PersonalNamespace | null): string {
  if (!ns || name.toUpperCase() === "INBOX") return name;
  let rest = name;
  if (ns.prefix && name.toUpperCase().startsWith(ns.prefix.toUpperCase())) {
    rest = name.slice(ns.prefix.length);
  }
  return ns.delimiter && ns.delimiter !== "/" ? rest.split(ns.delimiter).join("/") : rest;
}

/** The personal namespace an imapflow client read at login (its `namespace`), or null. */
export function flowNamespace(
  client: { namespace?: { prefix: string; delimiter?: string | null } | undefined },
): PersonalNamespace | null {
  const ns = client.namespace;
  if (!ns) return null;
  // imapflow's fallback without NAMESPACE may not know the delimiter: map no levels then.
  return { prefix: ns.prefix ?? "", delimiter: ns.delimiter ?? null };
}

/** A configured folder name as the server an imapflow client is logged in to names it. */
export function flowFolder(
  client: { namespace?: { prefix: string; delimiter?: string | null } | undefined },
  name: string,
): string {
  return serverFolder(name, flowNamespace(client));
}
