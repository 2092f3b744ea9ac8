/**
 * Recorded names into the file store: with a file-store target, the directory pass keeps each
 * subscribed mailbox's recorded name (the directory's binary audio attribute) beside its messages
 * as `<root>/<mailbox>/recorded-name.wav`, rewritten only when it changed.
 * @module
 */
import type { FilesTargetConfig } from "./config.ts";
import { type DirEntry, getAttr } from "./directory_plan.ts";
import { join } from "node:path";
import { RECORDED_NAME_FILE } from "./file_layout.ts";
import { findMarked, mailboxDirSpec } from "./file_store_read.ts";
import { storeRecordedName } from "./target_files.ts";

/** What a pass did with recorded names. */
export interface RecordedNamesResult {
  stored: number;
  unchanged: number;
  failed: { mailbox: string; error: string }[];
}

/** Stores changed recorded names of `mailboxes` found in `entries`. */
export async function storeRecordedNames(
  target: FilesTargetConfig,
  entries: DirEntry[],
  opts: { mailboxAttr: string; recordedNameAttr: string; mailboxes: Set<string> },
): Promise<RecordedNamesResult> {
  const result: RecordedNamesResult = { stored: 0, unchanged: 0, failed: [] };
  for (const entry of entries) {
    const [mailbox] = getAttr(entry, opts.mailboxAttr);
    const [audio] = getAttr(entry, opts.recordedNameAttr);
    if (typeof mailbox !== "string" || !opts.mailboxes.has(mailbox)) continue;
    if (!(audio instanceof Uint8Array) || audio.length === 0) continue;
    try {
      if (await sameAsStored(target.root, mailbox, audio)) {
        result.unchanged++;
        continue;
      }
      await storeRecordedName(target.root, mailbox, audio, { store: target.name });
      result.stored++;
    } catch (e) {
      result.failed.push({ mailbox, error: (e as Error).message });
    }
  }
  return result;
}

// The mailbox's directory is found the way the store names it (its marker file), not assumed.
async function sameAsStored(root: string, mailbox: string, audio: Uint8Array): Promise<boolean> {
  try {
    const found = await findMarked(root, mailboxDirSpec(mailbox));
    if (!found) return false;
    const cur = await Deno.readFile(join(found.dir, RECORDED_NAME_FILE));
    return cur.length === audio.length && cur.every((b, i) => b === audio[i]);
  } catch {
    return false;
  }
}
