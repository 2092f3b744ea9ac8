/**
 * UID SEARCH on the backup: a raw criterion (`ALL`, `DELETED`), or a header value, sent so the
 * server compares the very bytes the message holds — quoted when 7-bit, else as a literal under
 * `CHARSET UTF-8`.
 * @module
 */
import { expectOk, type Runner } from "../command.ts";
import { type CommandPart, searchValue } from "../encode.ts";
import { searchUids } from "../parse.ts";

/** UIDs matching a search (`criteria` is raw IMAP, e.g. `ALL` or `DELETED`), ascending. */
export async function uidSearch(runner: Runner, criteria: string): Promise<number[]> {
  return await search(runner, [criteria]);
}

/**
 * UIDs whose header `field` contains `wireText` (a value as read from the wire: one char per
 * byte), ascending.
 */
export async function searchHeader(
  runner: Runner,
  field: string,
  wireText: string,
): Promise<number[]> {
  const { value, charset } = searchValue(wireText);
  return await search(runner, [`${charset ? "CHARSET UTF-8 " : ""}HEADER ${field} `, value]);
}

async function search(runner: Runner, criteria: CommandPart[]): Promise<number[]> {
  const uids: number[] = [];
  const done = await runner.run(["UID SEARCH ", ...criteria], (r) => {
    uids.push(...searchUids(r.text) ?? []);
  });
  expectOk("UID SEARCH", done);
  return uids.sort((a, b) => a - b);
}
