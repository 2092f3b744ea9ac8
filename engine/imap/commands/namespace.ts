/**
 * NAMESPACE (RFC 2342) and the folder-name mapping it allows (folder_names.ts): vmirror's
 * configs name folders as a Dovecot with `separator = /` and an empty prefix shows them
 * ("INBOX", "Greetings", "Archive/2024"); a server whose personal namespace differs gets them
 * translated. Cyrus: its classic namespace (`altnamespace: no`, `unixhierarchysep: no`, what many
 * deployed stores still run) puts personal folders below "INBOX." with "." between levels, so
 * "Greetings" is "INBOX.Greetings" there.
 * @module
 */
import type { Runner } from "../command.ts";
import { type PersonalNamespace, serverFolder } from "../folder_names.ts";
import { isOk } from "../parse.ts";

// The mapping itself is shared with the imapflow clients (folder_names.ts).
export { type PersonalNamespace, serverFolder };

/** The first personal namespace of a `* NAMESPACE` response, or null (none, or not one). */
export function parseNamespace(text: string): PersonalNamespace | null {
  const m = /^\* NAMESPACE \(\("((?:[^"\\]|\\.)*)" (?:"((?:[^"\\]|\\.)*)"|NIL)/i.exec(text);
  if (!m) return null;
  const unescape = (s: string) => s.replace(/\\(.)/g, "$1");
  return { prefix: unescape(m[1]), delimiter: m[2] === undefined ? null : unescape(m[2]) };
}

/** The server's personal namespace; null without NAMESPACE or when it answers none. */
export async function namespace(runner: Runner): Promise<PersonalNamespace | null> {
  if (!runner.has("NAMESPACE")) return null;
  let out: PersonalNamespace | null = null;
  const done = await runner.run(["NAMESPACE"], (r) => {
    out = parseNamespace(r.text) ?? out;
  });
  return isOk(done) ? out : null;
}
