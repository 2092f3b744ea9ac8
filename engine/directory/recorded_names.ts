/**
 * Recorded names into the file store: with a file-store target, the directory pass keeps each
 * subscribed mailbox's recorded name (the directory's binary audio attribute) beside its messages
 * as `<root>/<mailbox>/recorded-name.wav`, rewritten only when it changed.
 * @module
 */
import type { FilesTargetConfig } from "../config/mod.ts";
import { type DirEntry, getAttr } from "./plan.ts";
import { join } from "node:path";
import { RECORDED_NAME_FILE } from "../files/mod.ts";
import { findMarked, mailboxDirSpec } from "../files/mod.ts";
import { storeRecordedName } from "../files/mod.ts";

/** What a pass did with recorded names. */
export interface RecordedNamesResult {
  stored: number;
  unchanged: number;
  failed: { mailbox: string; error: string }[];
  /** Mailboxes held by several directory entries: their stored name is left as it was. */
  duplicates: string[];
  /** The store itself is unusable (e.g. its root is missing): the names below were not tried. */
  storeError?: { message: string; notTried: number };
}

/** Options for {@link storeRecordedNames}. */
export interface RecordedNamesOptions {
  mailboxAttr: string;
  recordedNameAttr: string;
  /** Only these mailboxes (the subscribed ones). */
  mailboxes: Set<string>;
  /** Mailboxes to leave alone, e.g. those the directory plan found in several entries. */
  exclude?: Set<string>;
}

/** Stores changed recorded names of `mailboxes` found in `entries`. */
export async function storeRecordedNames(
  target: FilesTargetConfig,
  entries: DirEntry[],
  opts: RecordedNamesOptions,
): Promise<RecordedNamesResult> {
  const result: RecordedNamesResult = { stored: 0, unchanged: 0, failed: [], duplicates: [] };
  const byMailbox = new Map<string, DirEntry[]>();
  for (const entry of entries) {
    const [value] = getAttr(entry, opts.mailboxAttr);
    if (typeof value !== "string") continue;
    const mailbox = value.trim();
    if (!opts.mailboxes.has(mailbox)) continue;
    byMailbox.set(mailbox, [...(byMailbox.get(mailbox) ?? []), entry]);
  }
  const todo: { mailbox: string; audio: Uint8Array }[] = [];
  for (const [mailbox, found] of byMailbox) {
    // Two entries for one box would each overwrite the other's name on every pass: which one
    // is right is for a person to say, so the file keeps what it has until one entry is left.
    if (found.length > 1 || opts.exclude?.has(mailbox)) {
      result.duplicates.push(mailbox);
      continue;
    }
    const [audio] = getAttr(found[0], opts.recordedNameAttr);
    if (audio instanceof Uint8Array && audio.length > 0) todo.push({ mailbox, audio });
  }
  result.duplicates.sort();
  for (const [i, { mailbox, audio }] of todo.entries()) {
    try {
      if (await sameAsStored(target.root, mailbox, audio)) {
        result.unchanged++;
        continue;
      }
      await storeRecordedName(target.root, mailbox, audio, {
        store: target.name,
        createRoot: target.createRoot,
      });
      result.stored++;
    } catch (e) {
      const message = (e as Error).message;
      if (!(await isDirectory(target.root))) {
        // Every other name would fail the same way: one failure for the store, not one each.
        result.storeError = { message, notTried: todo.length - i - 1 };
        break;
      }
      result.failed.push({ mailbox, error: message });
    }
  }
  return result;
}

/** Whether anything the pass should have stored was not. */
export function recordedNamesFailed(r: RecordedNamesResult): boolean {
  return r.failed.length > 0 || r.storeError !== undefined;
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

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
