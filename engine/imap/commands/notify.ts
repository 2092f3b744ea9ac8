/**
 * NOTIFY (RFC 5465): the server pushes a STATUS for every personal folder that gets a new
 * message, loses one or has a flag changed — to a session that selects nothing, so a parked
 * session learns of a change within the server's batching delay (Dovecot: ~0.5 s) instead of at
 * the next poll, at no cost while nothing happens.
 * @module
 */
import type { Runner } from "../command.ts";
import { type Response, statusItems } from "../parse.ts";

/**
 * The NOTIFY SET that a parked mirror session sends. `STATUS` makes the server answer with the
 * current STATUS of every personal folder first: the check that nothing changed between the
 * end of the pass and the start of listening comes with it.
 */
export const NOTIFY_SET = "NOTIFY SET STATUS (personal (MessageNew MessageExpunge FlagChange))";

/** Ends the pushes (the session is about to run commands whose answers they would mix with). */
export const NOTIFY_NONE = "NOTIFY NONE";

// Where the wire put a literal's bytes aside (see wire.ts readResponse).
const LITERAL_MARK = String.fromCharCode(0);

/** A pushed (or answered) STATUS: the folder as the server names it, and its items. */
export interface StatusPush {
  folder: string;
  items: Record<string, string>;
}

/** Sends NOTIFY SET; returns the STATUS of each personal folder the server reported. */
export async function notifySet(runner: Runner): Promise<StatusPush[]> {
  const out: StatusPush[] = [];
  const done = await runner.run([NOTIFY_SET], (r) => {
    const p = statusPush(r);
    if (p) out.push(p);
  });
  if (!/^OK/i.test(done)) throw new Error(`NOTIFY failed: ${done}`);
  return out;
}

/**
 * The folder and items of an untagged `* STATUS <mailbox> (…)`, or null for another response.
 * The mailbox is an atom, a quoted string (with `\"` and `\\` escapes) or a literal.
 */
export function statusPush(r: Response): StatusPush | null {
  const m = /^\* STATUS (.*)$/i.exec(r.text);
  if (!m) return null;
  const items = statusItems(r.text);
  if (!items) return null;
  const rest = m[1];
  let folder: string | null = null;
  if (rest.startsWith('"')) {
    let out = "";
    for (let i = 1; i < rest.length; i++) {
      const c = rest[i];
      if (c === "\\" && i + 1 < rest.length) out += rest[++i];
      else if (c === '"') {
        folder = out;
        break;
      } else out += c;
    }
  } else if (/^\{\d+\+?\}/.test(rest) && rest.includes(LITERAL_MARK) && r.literals.length) {
    folder = new TextDecoder().decode(r.literals[0]);
  } else {
    folder = /^([^\s(]+)/.exec(rest)?.[1] ?? null;
  }
  return folder === null ? null : { folder, items };
}
