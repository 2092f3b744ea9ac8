/**
 * The mirror targets and sources as the shared acceptance suite sees them: how to configure one
 * for a test, how to read back what it holds (independently of vmirror's own code), how to
 * empty it; and the pairings of production and target the suite runs for (issue 16: Dovecot and
 * Cyrus IMAP on either side, and the file store).
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ImapFlow } from "imapflow";
import type { Config, SourceConfig } from "../../engine/config/mod.ts";
import { type CyrusInstance, resetCyrusMailbox } from "../../scripts/lab.ts";
import type { LabCyrusServer } from "../../scripts/lab/types.ts";
import { cyrusFolder, trustedClient } from "../../scripts/lab/cyrus.ts";
import {
  appendRaw,
  fillScratch,
  lab,
  labConfig,
  messageIdOf,
  scratchMailbox,
  type SnapMessage,
  type Snapshot,
  snapshot,
  snapshotOf,
  variant,
  wipeMailbox,
  withClient,
  withImap,
} from "./lab.ts";

/** One kind of target under test. */
export interface MirrorSide {
  /** The server or store, for test names. */
  name: "dovecot" | "cyrus" | "cyrus-backup" | "files";
  /** An IMAP backup (a backup MSS: placeholders) or the file store. */
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
  name: "dovecot",
  kind: "imap",
  config: (dir, patch) => labConfig(dir, patch, "imap"),
  read: (_config, mailbox, folders) => snapshot("backup", mailbox, folders),
  wipe: (_config, mailbox) => wipeMailbox("backup", mailbox),
};

/** A file store under the test's own folder. */
export const filesSide: MirrorSide = {
  name: "files",
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

/** Both Dovecot-production targets (the suites that do not run per pairing use these). */
export const SIDES: MirrorSide[] = [imapSide, filesSide];

/** One of the lab's two Cyrus instances as lab.json describes it. */
export function cyrusServer(instance: CyrusInstance = "cyrus"): LabCyrusServer {
  return instance === "cyrus-backup" ? lab().cyrusBackup : lab().cyrus;
}

/** A trusted-server session on a lab Cyrus acting for `mailbox` (created at first login). */
export async function cyrusImap(
  mailbox: string,
  instance: CyrusInstance = "cyrus",
): Promise<ImapFlow> {
  const l = lab();
  const server = cyrusServer(instance);
  return await trustedClient({
    host: server.host,
    port: server.port,
    trustedUser: l.trusted.user,
    trustedPassword: l.trusted.password,
  }, mailbox);
}

/** Runs `fn` with a Cyrus session; `folder` maps a configured folder name to Cyrus's name. */
export async function withCyrus<T>(
  mailbox: string,
  fn: (c: ImapFlow, folder: (name: string) => string) => Promise<T>,
  instance: CyrusInstance = "cyrus",
): Promise<T> {
  return await withClient(await cyrusImap(mailbox, instance), (c) => fn(c, cyrusFolder));
}

/**
 * What Cyrus holds for a mailbox, read-only (EXAMINE + BODY.PEEK), keyed by the configured
 * folder names (`Greetings`, read from `INBOX.Greetings`) so it compares with a Dovecot snapshot.
 */
export async function cyrusSnapshot(
  mailbox: string,
  folders: string[],
  instance: CyrusInstance = "cyrus",
): Promise<Snapshot> {
  return await withCyrus(
    mailbox,
    (client, folder) => snapshotOf(client, folders, folder),
    instance,
  );
}

/** Points a raw config's target (or source) at one of the lab's Cyrus instances. */
export function toCyrus(
  endpoint: Record<string, unknown>,
  instance: CyrusInstance = "cyrus",
): void {
  const server = cyrusServer(instance);
  endpoint.name = server.name;
  endpoint.host = server.host;
  endpoint.port = server.port;
}

/** The lab's Cyrus as the backup MSS. */
export const cyrusSide: MirrorSide = {
  name: "cyrus",
  kind: "imap",
  config: (dir, patch) =>
    labConfig(dir, (raw) => {
      toCyrus(raw.target as Record<string, unknown>);
      patch?.(raw);
    }, "imap"),
  read: (_config, mailbox, folders) => cyrusSnapshot(mailbox, folders),
  wipe: (_config, mailbox) => resetCyrusMailbox(mailbox),
};

/**
 * The lab's second Cyrus as the backup MSS (Cyrus → Cyrus): empty but for what tests mirror
 * into it, with a `maxmessagesize` (lab.json `cyrusBackup.maxMessageSize`).
 */
export const cyrusBackupSide: MirrorSide = {
  name: "cyrus-backup",
  kind: "imap",
  config: (dir, patch) =>
    labConfig(dir, (raw) => {
      toCyrus(raw.target as Record<string, unknown>, "cyrus-backup");
      patch?.(raw);
    }, "imap"),
  read: (_config, mailbox, folders) => cyrusSnapshot(mailbox, folders, "cyrus-backup"),
  wipe: (_config, mailbox) => resetCyrusMailbox(mailbox, { instance: "cyrus-backup" }),
};

/** Empties a scratch mailbox on both Cyrus instances. */
async function resetCyrusScratch(mailbox: string): Promise<void> {
  await resetCyrusMailbox(mailbox);
  await resetCyrusMailbox(mailbox, { instance: "cyrus-backup" });
}

/** Production as the shared suite sees it: which server, read and changed directly. */
export interface SourceSide {
  name: "dovecot" | "cyrus";
  /** Points a raw config's source at this server (folder names stay as configured). */
  patch(raw: Record<string, unknown>): void;
  /** What production holds (configured folder names). */
  snapshot(mailbox: string, folders: string[]): Promise<Snapshot>;
  /** Empties a production mailbox: messages expunged, folders but INBOX deleted. */
  wipe(mailbox: string): Promise<void>;
  /** A session acting for the mailbox; `folder` maps a configured folder name. */
  withImap<T>(
    mailbox: string,
    fn: (c: ImapFlow, folder: (name: string) => string) => Promise<T>,
  ): Promise<T>;
  /** Appends raw messages to a (configured) folder, creating it; returns the UIDs. */
  appendRaw(
    mailbox: string,
    folder: string,
    messages: { bytes: Uint8Array; flags?: string[]; date?: Date }[],
  ): Promise<number[]>;
  /**
   * Empties a scratch mailbox everywhere (both Dovecots, both Cyrus) and fills one folder of
   * production with `count` variants of mailbox 4002's voicemail; returns their UIDs.
   */
  fill(mailbox: string, count: number, folder?: string): Promise<number[]>;
}

/** The lab's Dovecot production. */
export const dovecotSource: SourceSide = {
  name: "dovecot",
  patch: () => {},
  snapshot: (mailbox, folders) => snapshot("prod", mailbox, folders),
  wipe: (mailbox) => wipeMailbox("prod", mailbox),
  withImap: (mailbox, fn) => withImap("prod", mailbox, (c) => fn(c, (name) => name)),
  appendRaw: (mailbox, folder, messages) => appendRaw("prod", mailbox, folder, messages),
  fill: async (mailbox, count, folder) => {
    await resetCyrusScratch(mailbox);
    return await fillScratch(mailbox, count, folder);
  },
};

/** The lab's Cyrus as production (holding a copy of the Dovecot production's voicemail). */
export const cyrusSource: SourceSide = {
  name: "cyrus",
  patch: (raw) => toCyrus(raw.source as Record<string, unknown>),
  snapshot: (mailbox, folders) => cyrusSnapshot(mailbox, folders),
  wipe: (mailbox) => resetCyrusMailbox(mailbox),
  withImap: (mailbox, fn) => withCyrus(mailbox, fn),
  appendRaw: (mailbox, folder, messages) =>
    withCyrus(mailbox, async (client, map) => {
      const name = map(folder);
      if (name.toUpperCase() !== "INBOX") {
        const existing = new Set((await client.list()).map((f) => f.path));
        if (!existing.has(name)) await client.mailboxCreate(name);
      }
      const uids: number[] = [];
      for (const m of messages) {
        const res = await client.append(name, m.bytes, m.flags ?? [], m.date ?? new Date());
        if (res && res.uid) uids.push(res.uid);
      }
      return uids;
    }),
  fill: async (mailbox, count, folder = "INBOX") => {
    await scratchMailbox(mailbox);
    await resetCyrusScratch(mailbox);
    const seeded = await cyrusSnapshot("4002", ["INBOX"]);
    const pool = seeded.folders.INBOX.messages.filter((m) => !isBroadcast(m.bytes));
    return await cyrusSource.appendRaw(
      mailbox,
      folder,
      Array.from({ length: count }, (_, i) => {
        const src = pool[i % pool.length];
        return {
          bytes: variant(src.bytes, i + 1),
          flags: src.flags,
          date: new Date(src.internalDate - i * 60_000),
        };
      }),
    );
  },
};

/** One production → target pairing of the shared suite, with its own scratch mailboxes. */
export interface Pairing {
  /** For test names: "imap" and "files" (Dovecot production) as before, else "source→target". */
  name: string;
  source: SourceSide;
  target: MirrorSide;
  /** Scratch mailboxes of its tests (distinct per pairing: the servers are shared). */
  scratch: { changes: string; uidValidity: string };
  /**
   * Seeded mailboxes the first test mirrors. The lab's seeded Cyrus is also a backup (its
   * 4001–4003 are wiped and mirrored into), so as production it offers 4004–4006.
   */
  seeded: string[];
}

/**
 * Every pairing the shared acceptance suite runs for. Cyrus → Cyrus mirrors the seeded Cyrus
 * into the lab's second, empty one (a mailbox cannot be its own mirror).
 */
export const PAIRINGS: Pairing[] = [
  {
    name: "imap",
    source: dovecotSource,
    target: imapSide,
    scratch: { changes: "7360", uidValidity: "7361" },
    seeded: ["4001", "4002", "4003"],
  },
  {
    name: "files",
    source: dovecotSource,
    target: filesSide,
    scratch: { changes: "7365", uidValidity: "7366" },
    seeded: ["4001", "4002", "4003"],
  },
  {
    name: "dovecot→cyrus",
    source: dovecotSource,
    target: cyrusSide,
    scratch: { changes: "7700", uidValidity: "7701" },
    seeded: ["4001", "4002", "4003"],
  },
  {
    name: "cyrus→dovecot",
    source: cyrusSource,
    target: imapSide,
    scratch: { changes: "7702", uidValidity: "7703" },
    seeded: ["4004", "4005", "4006"],
  },
  {
    name: "cyrus→files",
    source: cyrusSource,
    target: filesSide,
    scratch: { changes: "7706", uidValidity: "7707" },
    seeded: ["4004", "4005", "4006"],
  },
  {
    name: "cyrus→cyrus",
    source: cyrusSource,
    target: cyrusBackupSide,
    scratch: { changes: "7708", uidValidity: "7709" },
    seeded: ["4004", "4005", "4006"],
  },
];

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
