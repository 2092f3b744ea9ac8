/**
 * The two mirror targets as the shared acceptance suite sees them: how to configure one for a
 * test, how to read back what it holds (independently of vmirror's own code), how to empty it.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Config, SourceConfig } from "../../engine/config/mod.ts";
import {
  lab,
  labConfig,
  messageIdOf,
  type SnapMessage,
  type Snapshot,
  snapshot,
  wipeMailbox,
} from "./lab.ts";

/** One kind of target under test. */
export interface MirrorSide {
  kind: "imap" | "files";
  /** A config for a test whose scratch data lives in `dir`. */
  config(
    dir: string,
    patch?: (raw: Record<string, unknown>) => void,
  ): Promise<Config & { source: SourceConfig }>;
  /** What the target holds for a mailbox, read directly (Dovecot over IMAP, or the files). */
  read(config: Config, mailbox: string, folders: string[]): Promise<Snapshot>;
  /** Empties what the target holds for a mailbox. */
  wipe(config: Config, mailbox: string): Promise<void>;
}

/** The backup MSS (the lab's second Dovecot). */
export const imapSide: MirrorSide = {
  kind: "imap",
  config: (dir, patch) => labConfig(dir, patch, "imap"),
  read: (_config, mailbox, folders) => snapshot("backup", mailbox, folders),
  wipe: (_config, mailbox) => wipeMailbox("backup", mailbox),
};

/** A file store under the test's own folder. */
export const filesSide: MirrorSide = {
  kind: "files",
  config: async (dir, patch) => {
    const root = join(dir, "store");
    await Deno.mkdir(root, { recursive: true });
    return await labConfig(dir, (raw) => {
      (raw.target as Record<string, unknown>).root = root;
      patch?.(raw);
    }, "files");
  },
  read: async (config, mailbox, folders) => {
    assert.ok(config.target?.type === "files");
    const out: Snapshot = { folders: {} };
    for (const folder of folders) {
      const dir = join(config.target.root, mailbox, folder);
      const messages: SnapMessage[] = [];
      let entries: Deno.DirEntry[];
      try {
        entries = [...Deno.readDirSync(dir)];
      } catch {
        continue;
      }
      for (const e of entries) {
        // Hidden entries are the store's own bookkeeping and work in progress.
        if (!e.isDirectory || e.name.startsWith(".")) continue;
        const meta = JSON.parse(await Deno.readTextFile(join(dir, e.name, "meta.json")));
        const bytes = await Deno.readFile(join(dir, e.name, "message.eml"));
        messages.push({
          uid: meta.uid,
          flags: [...meta.flags].sort(),
          internalDate: Date.parse(meta.internalDate),
          size: bytes.length,
          messageId: messageIdOf(bytes),
          bytes,
        });
      }
      out.folders[folder] = { uidValidity: 0, highestModseq: null, messages };
    }
    return out;
  },
  wipe: async (config, mailbox) => {
    assert.ok(config.target?.type === "files");
    await Deno.remove(join(config.target.root, mailbox), { recursive: true }).catch(() => {});
  },
};

/** Both targets: the shared suite runs every test once per target. */
export const SIDES: MirrorSide[] = [imapSide, filesSide];

/** The lab's broadcast marker. */
export function isBroadcast(bytes: Uint8Array): boolean {
  const b = lab().broadcast;
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 8192));
  return new RegExp(`^${b.header}:\\s*${b.value}\\s*$`, "im").test(head);
}

/** The original Message-ID a placeholder stands for, or null for an ordinary copy. */
export function placeholderOf(bytes: Uint8Array): string | null {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 8192));
  const m = /^x-vmirror-placeholder:\s*(.+?)\s*$/im.exec(head);
  return m ? m[1] : null;
}

/** Asserts the mirror equals production message for message, but broadcasts and placeholders. */
export function assertMirrored(
  prod: Snapshot,
  mirror: Snapshot,
  opts: { placeholders?: Set<string> } = {},
): void {
  for (const [folder, p] of Object.entries(prod.folders)) {
    const b = mirror.folders[folder];
    const expected = p.messages.filter((m) => !isBroadcast(m.bytes));
    assert.ok(b || expected.length === 0, `folder "${folder}" missing on the mirror`);
    const byId = new Map<string, SnapMessage[]>();
    for (const m of b?.messages ?? []) {
      const k = placeholderOf(m.bytes) ?? m.messageId ?? "";
      byId.set(k, [...(byId.get(k) ?? []), m]);
    }
    for (const m of expected) {
      const copies = byId.get(m.messageId ?? "") ?? [];
      assert.equal(copies.length, 1, `${folder} ${m.messageId}: ${copies.length} copies`);
      const c = copies[0];
      assert.equal(c.internalDate, m.internalDate, `${folder} ${m.messageId}: date`);
      assert.deepEqual(c.flags, m.flags, `${folder} ${m.messageId}: flags`);
      if (opts.placeholders?.has(m.messageId ?? "")) {
        assert.ok(placeholderOf(c.bytes), `${m.messageId} should be a placeholder`);
      } else {
        assert.deepEqual(c.bytes, m.bytes, `${folder} ${m.messageId}: bytes differ`);
      }
    }
    assert.equal((b?.messages ?? []).length, expected.length, `${folder}: message count`);
  }
}
