/**
 * EXPUNGE (every message marked \Deleted) and UID EXPUNGE (only the listed ones, UIDPLUS).
 * @module
 */
import { expectOk, type Runner } from "../command.ts";
import { uidSet } from "../encode.ts";

/** Expunges every message marked \Deleted in the selected folder. */
export async function expunge(runner: Runner): Promise<void> {
  expectOk("EXPUNGE", await runner.run(["EXPUNGE"]));
}

/** Expunges exactly these UIDs, of those marked \Deleted (UIDPLUS). */
export async function uidExpunge(runner: Runner, uids: number[]): Promise<void> {
  expectOk("UID EXPUNGE", await runner.run([`UID EXPUNGE ${uidSet(uids)}`]));
}
