/**
 * UID STORE of flags on the backup, silently (no FETCH answer to read).
 * @module
 */
import { expectOk, type Runner } from "../command.ts";
import { flagList, uidSet } from "../encode.ts";

/** Replaces (`"set"`) or adds to (`"add"`) the flags of messages. */
export async function storeFlags(
  runner: Runner,
  uids: number[],
  opts: { flags: string[]; mode: "set" | "add" },
): Promise<void> {
  const item = opts.mode === "add" ? "+FLAGS.SILENT" : "FLAGS.SILENT";
  expectOk(
    "UID STORE",
    await runner.run([`UID STORE ${uidSet(uids)} ${item} ${flagList(opts.flags)}`]),
  );
}
