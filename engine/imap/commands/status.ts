/**
 * STATUS: a folder's change-detection values in one round trip, without selecting it.
 * @module
 */
import type { Runner } from "../command.ts";
import { mailboxArg } from "../encode.ts";
import { isNo, isOk, statusItems } from "../parse.ts";

/**
 * UIDVALIDITY, UIDNEXT, MESSAGES (and HIGHESTMODSEQ with CONDSTORE or QRESYNC) of a folder, by
 * upper-cased name; null when the server says NO (a folder that does not exist is an answer).
 */
export async function status(
  runner: Runner,
  folder: string,
): Promise<Record<string, string> | null> {
  const items = ["UIDVALIDITY", "UIDNEXT", "MESSAGES"];
  if (runner.has("CONDSTORE") || runner.has("QRESYNC")) items.push("HIGHESTMODSEQ");
  const out: Record<string, string> = {};
  const done = await runner.run([`STATUS ${mailboxArg(folder)} (${items.join(" ")})`], (r) => {
    Object.assign(out, statusItems(r.text));
  });
  if (isOk(done)) return out;
  if (isNo(done)) return null;
  throw new Error(`STATUS failed: ${done}`);
}
