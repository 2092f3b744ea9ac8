/**
 * SELECT (the backup side, read-write) and EXAMINE (production, read-only: not even \Recent
 * changes), reading what the server says of the folder as it opens.
 * @module
 */
import type { Runner } from "../command.ts";
import { mailboxArg } from "../encode.ts";
import { isNo, isOk, openingCode, parseFlagList } from "../parse.ts";

/** A folder opened with SELECT or EXAMINE. */
export interface SelectedFolder {
  uidValidity: number;
  exists: number;
  /** PERMANENTFLAGS as announced, or undefined when the server did not say. */
  permanentFlags?: Set<string>;
  /** HIGHESTMODSEQ as announced (CONDSTORE), or undefined. */
  highestModseq?: string;
}

/**
 * Opens a folder with `verb`; null when the server says NO. `exists` is the runner's count once
 * the folder is open (the caller resets it before, as a new folder starts a new count).
 */
export async function openFolder(
  runner: Runner,
  verb: "SELECT" | "EXAMINE",
  folder: string,
): Promise<SelectedFolder | null> {
  const box: SelectedFolder = { uidValidity: 0, exists: 0 };
  const done = await runner.run([`${verb} ${mailboxArg(folder)}`], (r) => {
    const code = openingCode(r.text);
    if (code?.name === "UIDVALIDITY") box.uidValidity = Number(code.value);
    if (code?.name === "HIGHESTMODSEQ") box.highestModseq = code.value;
    if (code?.name === "PERMANENTFLAGS") box.permanentFlags = parseFlagList(code.value);
  });
  if (isNo(done)) return null;
  if (!isOk(done)) throw new Error(`${verb} failed: ${done}`);
  return { ...box, exists: runner.exists };
}
