/**
 * The file store as a mirror target: every message whole, as a directory a person can browse on
 * a Linux disk or a Windows share —
 * `<root>/<mailbox>/<folder>/<date>_<time>_<sender>_<uid>/` with `message.eml` (the source,
 * byte-identical), each voice part as its own audio file, and `meta.json`.
 *
 * Crash safety: a message is built in a hidden work directory (every file fsynced) and renamed
 * into place as the last step, so a crash or a full disk never leaves a half message that looks
 * complete; small files (folder state, meta.json) are replaced by temp file, fsync and rename.
 * Target UIDs come from a per-folder state file whose next UID is made durable before use, so a
 * UID is never given to two messages.
 * @module
 */
import { basename, join } from "node:path";
import type { FilesTargetConfig } from "../config/mod.ts";
import {
  audioExtension,
  DELETED_DIR,
  FOLDER_LOCK_FILE,
  FOLDER_STATE_FILE,
  isHiddenEntry,
  MESSAGE_FILE,
  messageDirName,
  META_FILE,
  RECORDED_NAME_FILE,
  senderLabel,
  TEMP_PREFIX,
  voiceFileNames,
  withSuffix,
} from "./layout.ts";
import { folderDirSpec, mailboxDirSpec, type MarkedDirSpec, visibleDirs } from "./read.ts";
import { readCompleteMessage, readMeta } from "./meta.ts";
import { isLocalFileSystem } from "./local_fs.ts";
import { z } from "zod";
import { isUnsupported, log, syncDir, writeFileAtomic, writeNewFile } from "../support/mod.ts";
import type { StoredChainNode, StoredMessageMeta, StoredVoicePart } from "./meta.ts";
import { decodeBody, topMessageId } from "../mime/mod.ts";
import {
  type MessageIdentity,
  type MirrorTarget,
  pickCandidate,
  sameIdentity,
  sha256File,
  type TargetFolder,
  type TargetMessage,
} from "../target/mod.ts";
import {
  type BroadcastRule,
  type ChainNode,
  chainRoot,
  type Classified,
  classifyMessage,
  compileBroadcastRules,
  type CompiledBroadcastRule,
  type VoicePart,
} from "../voicemail/mod.ts";

/** Where and what a file-store operation was doing when it failed. */
export interface FileStoreErrorContext {
  /** The target's name from the config. */
  store: string;
  /** The store's root. */
  path: string;
  mailbox: string;
  /** What was being done, e.g. `store UID 12 of "INBOX"`. */
  operation: string;
}

/** A file-store operation that failed; nothing already stored is harmed by it. */
export class FileStoreError extends Error {
  override name = "FileStoreError";
  readonly store: string;
  readonly path: string;
  readonly mailbox: string;
  readonly operation: string;
  /** The system error code behind it (e.g. "ENOSPC"), when there is one. */
  readonly code: string | null;
  /** Builds `Cannot <operation> of mailbox "<mailbox>" in "<path>": <detail>`. */
  constructor(context: FileStoreErrorContext, detail: string, options?: ErrorOptions) {
    super(
      `Cannot ${context.operation} of mailbox "${context.mailbox}" in "${context.path}": ${detail}`,
      options,
    );
    this.store = context.store;
    this.path = context.path;
    this.mailbox = context.mailbox;
    this.operation = context.operation;
    this.code = errorCode(options?.cause);
  }
}

// Above this, even a local disk is written asynchronously: a direct write of a large message
// would hold up every other mailbox's I/O for its whole duration.
const DIRECT_MAX_BYTES = 4 * 1024 * 1024;

// How many UIDs a batch-mode folder reserves at once; a crash wastes at most this many.
const UID_BLOCK = 64;

/** Options for {@link openFileTarget}. */
export interface FileTargetOptions {
  /** Broadcast rules, recorded in meta.json (the engine skips broadcasts before storing). */
  rules?: { broadcast: readonly BroadcastRule[] | readonly CompiledBroadcastRule[] };
  /** The clock for stored/deleted times, retention and stale work directories. */
  now?: () => Date;
  /** Age after which a leftover work directory is a crash's and is removed (default 15 min). */
  staleTempMs?: number;
  /** Name message directories by UTC time instead of the server's local time. */
  utc?: boolean;
  /**
   * Batch durability: `append` writes a message into a hidden work directory and `flush` makes
   * the batch durable with parallel fsyncs, then renames every directory into place. Until
   * `flush`, appended messages are invisible. The engine uses it; the default is one durable
   * append at a time.
   */
  batch?: boolean;
  /**
   * Stage a batch's files with direct (synchronous) calls: default on a local file system,
   * never on a share (engine/files/local_fs.ts).
   */
  direct?: boolean;
}

/** A folder's state file. */
// A folder's state file; unknown keys are kept, so a newer version's additions survive a write.
const folderStateSchema = z.looseObject({
  vmirror: z.literal(1).catch(1),
  mailbox: z.string().catch(""),
  folder: z.string(),
  uidValidity: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  nextUid: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  createdAt: z.string().catch(""),
});

type FolderState = z.infer<typeof folderStateSchema>;

interface Entry {
  name: string;
  meta: StoredMessageMeta;
}

interface Ctx {
  config: FilesTargetConfig;
  mailbox: string;
  mailboxDir: string;
  now: () => Date;
  rules: CompiledBroadcastRule[];
  staleTempMs: number;
  batch: boolean;
  direct: boolean;
  utc: boolean;
  /** Staged messages of every folder not flushed yet: dropped when the target is closed. */
  unflushed: Set<Staged>;
}

const DAY_MS = 86_400_000;
const encoder = new TextEncoder();

/** Opens the file store for one mailbox: claims its directory, cleans up, purges old deletions. */
export async function openFileTarget(
  config: FilesTargetConfig,
  mailbox: string,
  opts: FileTargetOptions = {},
): Promise<MirrorTarget> {
  const now = opts.now ?? (() => new Date());
  const fail = failer(config, mailbox);
  let rules: CompiledBroadcastRule[];
  try {
    rules = compileBroadcastRules(opts.rules?.broadcast ?? []);
  } catch (e) {
    throw fail("open the files", e);
  }
  const mailboxDir = await claimMailboxDir(config, mailbox);
  const ctx: Ctx = {
    config,
    mailbox,
    mailboxDir,
    now,
    rules,
    staleTempMs: opts.staleTempMs ?? 15 * 60_000,
    utc: opts.utc ?? false,
    batch: opts.batch ?? false,
    direct: (opts.batch ?? false) && (opts.direct ?? await isLocalFileSystem(config.root)),
    unflushed: new Set(),
  };
  await housekeeping(ctx, "clean up work files", () => removeStaleTemps(ctx, mailboxDir));
  await housekeeping(ctx, "purge deleted messages", () => purgeDeleted(ctx));
  const folders = new Map<string, Promise<TargetFolder>>();
  return {
    name: config.name,
    // The file store keeps every message whole; there is no class of service to respect.
    placeholders: false,
    openFolder: (folder) => {
      let open = folders.get(folder);
      if (!open) {
        open = openStoreFolder(ctx, folder);
        // A failed open is not cached, so the next call tries again.
        open.catch(() => folders.delete(folder));
        folders.set(folder, open);
      }
      return open;
    },
    // A batch never flushed (its pass failed) leaves nothing open and nothing half written.
    close: async () => {
      const left = [...ctx.unflushed];
      ctx.unflushed.clear();
      await Promise.all(left.map(dropStaged));
    },
  };
}

/**
 * Writes the subscriber's recorded name to `<root>/<mailbox>/recorded-name.wav` atomically; the
 * root is created (one level) only with `createRoot`, the rule messages follow.
 */
export async function storeRecordedName(
  root: string,
  mailbox: string,
  wavBytes: Uint8Array,
  opts: { store?: string; createRoot?: boolean } = {},
): Promise<string> {
  const config: FilesTargetConfig = {
    type: "files",
    name: opts.store ?? "files",
    root,
    onDelete: "remove",
    retentionDays: 0,
    createRoot: opts.createRoot ?? false,
  };
  const dir = await claimMailboxDir(config, mailbox);
  const path = join(dir, RECORDED_NAME_FILE);
  try {
    await replaceFile(dir, path, wavBytes);
  } catch (e) {
    throw failer(config, mailbox)("store the recorded name", e);
  }
  return path;
}

// ---------------------------------------------------------------------------------------------
// Mailbox and folder directories

function failer(config: FilesTargetConfig, mailbox: string) {
  return (operation: string, e: unknown, detail?: string): FileStoreError =>
    e instanceof FileStoreError ? e : new FileStoreError(
      { store: config.name, path: config.root, mailbox, operation },
      detail ?? describeError(e),
      { cause: e },
    );
}

// The root is never created: on an unmounted share it would be the local mount point, and the
// backup would silently fill the system disk instead.
async function checkRoot(config: FilesTargetConfig, mailbox: string): Promise<void> {
  const fail = failer(config, mailbox);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(config.root);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound && config.createRoot) {
      // One level only: a missing parent is more likely a share that is not mounted.
      try {
        await Deno.mkdir(config.root);
      } catch (e2) {
        if (!(e2 instanceof Deno.errors.AlreadyExists)) {
          throw fail("open the files", e2, "the store's root does not exist and cannot be created");
        }
      }
      return;
    }
    if (e instanceof Deno.errors.NotFound) {
      throw fail("open the files", e, "the store's root does not exist (is the share mounted?)");
    }
    throw fail("open the files", e);
  }
  if (!info.isDirectory) throw fail("open the files", null, "the store's root is not a directory");
}

async function claimMailboxDir(config: FilesTargetConfig, mailbox: string): Promise<string> {
  await checkRoot(config, mailbox);
  const fail = failer(config, mailbox);
  try {
    return await claimDir(config.root, {
      ...mailboxDirSpec(mailbox),
      adopt: async (dir) => !(await hasVisibleEntries(dir)),
      create: () => ({ vmirror: 1, mailbox, createdAt: new Date().toISOString() }),
    });
  } catch (e) {
    throw fail("open the files", e);
  }
}

interface ClaimOptions extends MarkedDirSpec {
  /** For a directory without a marker (a crash between mkdir and the marker): take it? */
  adopt: (dir: string) => Promise<boolean | Record<string, unknown>>;
  create: () => Record<string, unknown>;
}

/**
 * Finds or creates the directory for a name: candidates are tried in order; one is taken when it
 * is new, or marked with this name. Two names that sanitise alike, or that differ only in case
 * on a case-insensitive share, so never end up in one directory.
 */
async function claimDir(parent: string, opts: ClaimOptions): Promise<string> {
  for (let n = 1; n <= 1000; n++) {
    const dir = join(parent, opts.candidate(n));
    let created = false;
    try {
      await Deno.mkdir(dir);
      created = true;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    if (!created) {
      // A symlink or a file of that name is not ours to write through.
      const info = await Deno.lstat(dir);
      if (!info.isDirectory) continue;
      const marker = await readJson(join(dir, opts.marker));
      if (marker !== undefined) {
        if (opts.isOurs(marker)) return dir;
        continue;
      }
      const adopt = await opts.adopt(dir);
      if (!adopt) continue;
      await replaceFile(dir, join(dir, opts.marker), json(adopt === true ? opts.create() : adopt));
      return dir;
    }
    await replaceFile(dir, join(dir, opts.marker), json(opts.create()));
    await syncDir(parent);
    return dir;
  }
  throw new Error(`no free directory name below "${parent}"`);
}

async function hasVisibleEntries(dir: string): Promise<boolean> {
  for await (const e of Deno.readDir(dir)) if (!isHiddenEntry(e.name)) return true;
  return false;
}

async function openStoreFolder(ctx: Ctx, folder: string): Promise<TargetFolder> {
  const fail = failer(ctx.config, ctx.mailbox);
  const newState = (nextUid = 1): FolderState => ({
    vmirror: 1,
    mailbox: ctx.mailbox,
    folder,
    uidValidity: randomUidValidity(),
    nextUid,
    createdAt: ctx.now().toISOString(),
  });
  let dir: string;
  let state: FolderState;
  try {
    dir = await claimDir(ctx.mailboxDir, {
      ...folderDirSpec(folder),
      // A folder directory that lost its state file is taken back when its messages say they
      // came from this folder; the new UIDVALIDITY makes the engine re-pair them by identity.
      adopt: async (d) => {
        const found = await scanDir(d);
        const metas = [...found.values()].map((e) => e.meta);
        if (metas.some((m) => m.source?.folder !== folder)) return false;
        if (metas.length === 0 && await hasVisibleEntries(d)) return false;
        return { ...newState(Math.max(0, ...metas.map((m) => m.uid)) + 1) };
      },
      create: () => ({ ...newState() }),
    });
    state = parseFolderState(
      await readJson(join(dir, FOLDER_STATE_FILE)),
      join(dir, FOLDER_STATE_FILE),
    );
  } catch (e) {
    throw fail(`open folder "${folder}"`, e);
  }
  await housekeeping(ctx, `clean up work files of "${folder}"`, () => removeStaleTemps(ctx, dir));
  return storeFolder(ctx, folder, dir, state);
}

function parseFolderState(raw: unknown, path: string): FolderState {
  const parsed = folderStateSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`the folder state "${path}" is not valid`);
  return parsed.data;
}

function randomUidValidity(): number {
  // 1 … 2^31-1: non-zero (RFC 3501) and positive for every client that reads it signed.
  return (crypto.getRandomValues(new Uint32Array(1))[0] % 0x7fffffff) + 1;
}

// ---------------------------------------------------------------------------------------------
// One folder

function storeFolder(ctx: Ctx, folder: string, dir: string, state: FolderState): TargetFolder {
  const fail = failer(ctx.config, ctx.mailbox);
  let index = new Map<number, Entry>();
  let queue: Promise<unknown> = Promise.resolve();
  // Writes run one at a time, so the next UID and the index stay consistent.
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };
  const rescan = async (operation: string) => {
    try {
      index = await scanDir(dir);
    } catch (e) {
      throw fail(operation, e);
    }
    // A state file restored from an older copy must not hand out a UID that is in use.
    const max = Math.max(0, ...index.keys());
    if (max >= state.nextUid) state = { ...state, nextUid: max + 1 };
    return index;
  };
  // Durable before the UID is used: a crash after this wastes a UID, never reuses one. The
  // file, read under a lock, has the last word over memory: another vmirror process (a one-off
  // `sync --once` beside the service) may have stored in this folder meanwhile.
  // UIDs are reserved on disk in blocks, so the state file is not rewritten for every message.
  let reservedEnd = 0;
  const allocateUid = async (): Promise<number> => {
    if (state.nextUid < reservedEnd) return state.nextUid++;
    const statePath = join(dir, FOLDER_STATE_FILE);
    const lock = await lockFile(join(dir, FOLDER_LOCK_FILE));
    try {
      const onDisk = parseFolderState(await readJson(statePath), statePath);
      if (onDisk.uidValidity !== state.uidValidity || onDisk.folder !== folder) {
        throw new Error(`the folder state "${statePath}" was replaced while the folder was open`);
      }
      const uid = Math.max(state.nextUid, onDisk.nextUid);
      const block = ctx.batch ? UID_BLOCK : 1;
      await replaceFile(dir, statePath, json({ ...onDisk, nextUid: uid + block }));
      reservedEnd = uid + block;
      state = { ...onDisk, nextUid: uid + 1 };
      return uid;
    } finally {
      await unlockFile(lock);
    }
  };
  // Staged messages of the current batch (batch mode), made visible by flush().
  let staged: { work: Staged; name: string; entry: Entry }[] = [];
  const lookup = async (uid: number, operation: string): Promise<Entry | undefined> =>
    index.get(uid) ?? (await rescan(operation)).get(uid);

  const self: TargetFolder = {
    uidValidity: state.uidValidity,
    allowFlag: () => true,
    listUids: async () => new Set((await rescan(`list "${folder}"`)).keys()),
    append: (bytes, flags, internalDate, origin) =>
      serial(async () => {
        const operation = origin
          ? `store UID ${origin.uid} of "${folder}"`
          : `store a message in "${folder}"`;
        try {
          const described = describeMessage(bytes, ctx.rules);
          const uid = await allocateUid();
          const meta: StoredMessageMeta = {
            vmirror: 1,
            uid,
            uidValidity: state.uidValidity,
            source: origin ? { ...origin } : null,
            flags: [...flags],
            internalDate: internalDate.toISOString(),
            size: bytes.length,
            ...described.meta,
            storedAt: ctx.now().toISOString(),
          };
          const name = messageDirName(
            { date: internalDate, sender: meta.sender, uid },
            { utc: ctx.utc },
          );
          const files = [
            { name: MESSAGE_FILE, bytes },
            ...described.files,
            { name: META_FILE, bytes: json(meta) },
          ];
          if (ctx.batch) {
            const size = files.reduce((n, f) => n + f.bytes.length, 0);
            const work = ctx.direct && size <= DIRECT_MAX_BYTES
              ? stageDirDirect(dir, files)
              : await stageDir(dir, files);
            staged.push({ work, name, entry: { name, meta } });
            ctx.unflushed.add(work);
            return uid;
          }
          const placed = await writeDirAtomic(dir, name, files);
          index.set(uid, { name: placed, meta });
          return uid;
        } catch (e) {
          throw fail(operation, e);
        }
      }),
    flush: () =>
      serial(async () => {
        const batch = staged;
        staged = [];
        for (const b of batch) ctx.unflushed.delete(b.work);
        if (!batch.length) return;
        try {
          // Parallel fsyncs share journal commits: far cheaper than one after another.
          // Every file and work directory of the batch is on disk before the first rename, and
          // the folder directory's one fsync below makes all the renames durable: only then
          // does flush() return and the engine record the batch as mirrored.
          await Promise.all(batch.map((b) => syncStaged(b.work)));
          for (const b of batch) {
            const free = ctx.direct
              ? placeDirect(dir, b.work.tmp, b.name)
              : await placeStaged(dir, b.work.tmp, b.name);
            index.set(b.entry.meta.uid, { ...b.entry, name: free });
          }
          await syncDir(dir);
        } catch (e) {
          await Promise.all(batch.map((b) => dropStaged(b.work)));
          throw fail(`store ${batch.length} message(s) in "${folder}"`, e);
        }
      }),
    find: async (identity: MessageIdentity, opts = {}) => {
      const all = await rescan(`search "${folder}"`);
      const candidates = [...all.values()]
        .filter(({ meta }) => sameIdentity(identityOf(meta), identity))
        .map(({ meta }): TargetMessage => ({ uid: meta.uid, ...identityOf(meta) }));
      return await pickCandidate(candidates, { ...opts, digests: self.digests });
    },
    digests: async (uids) => {
      const out = new Map<number, string>();
      for (const uid of uids) {
        const operation = `read message ${uid} of "${folder}" to compare it`;
        const entry = await lookup(uid, operation);
        if (!entry) continue;
        try {
          out.set(uid, await sha256File(join(dir, entry.name, MESSAGE_FILE)));
        } catch (e) {
          // Removed meanwhile (by hand, or a deletion): it is simply not a candidate.
          if (!(e instanceof Deno.errors.NotFound)) throw fail(operation, e);
        }
      }
      return out;
    },
    listAll: async () =>
      [...(await rescan(`list "${folder}"`)).values()]
        .map(({ meta }): TargetMessage => ({ uid: meta.uid, ...identityOf(meta) }))
        .sort((a, b) => a.uid - b.uid),
    setFlags: (uid, flags) =>
      serial(async () => {
        const operation = `set the flags of message ${uid} of "${folder}"`;
        const entry = await lookup(uid, operation);
        if (!entry) throw fail(operation, null, "no such message in the store");
        try {
          const msgDir = join(dir, entry.name);
          const meta = await readMeta(msgDir) ?? entry.meta;
          const next = { ...meta, flags: [...flags], flagsChangedAt: ctx.now().toISOString() };
          await replaceFile(dir, join(msgDir, META_FILE), json(next));
          entry.meta = next;
        } catch (e) {
          throw fail(operation, e);
        }
      }),
    remove: (uids) =>
      serial(async () => {
        let moved = false;
        const wanted = [...new Set(uids)];
        if (wanted.some((uid) => !index.has(uid))) await rescan(`list "${folder}"`);
        for (const uid of wanted) {
          const verb = ctx.config.onDelete === "move" ? "move deleted" : "remove";
          const operation = `${verb} message ${uid} of "${folder}"`;
          const entry = index.get(uid);
          // Already gone (by hand, or by an earlier pass that crashed before recording it).
          if (!entry) continue;
          try {
            if (ctx.config.onDelete === "move") {
              await moveToDeleted(ctx, dir, entry);
              moved = true;
            } else {
              await removeDirAtomic(dir, entry.name);
            }
          } catch (e) {
            if (!(e instanceof Deno.errors.NotFound)) throw fail(operation, e);
          }
          index.delete(uid);
        }
        if (moved) await housekeeping(ctx, "purge deleted messages", () => purgeDeleted(ctx));
      }),
  };
  return self;
}

function identityOf(meta: StoredMessageMeta): MessageIdentity {
  return { messageId: meta.messageId, internalDate: new Date(meta.internalDate), size: meta.size };
}

// Only complete message directories count (meta.ts's rule); hidden work directories are skipped.
async function scanDir(dir: string): Promise<Map<number, Entry>> {
  const out = new Map<number, Entry>();
  // In name order, so that if a person copied a message directory the same one always wins.
  for (const name of await visibleDirs(dir)) {
    const meta = await readCompleteMessage(join(dir, name));
    if (meta && !out.has(meta.uid)) out.set(meta.uid, { name, meta });
  }
  return out;
}

async function moveToDeleted(ctx: Ctx, dir: string, entry: Entry): Promise<void> {
  const msgDir = join(dir, entry.name);
  // The move time goes into meta.json first: retention counts from it, whatever the file
  // system does to directory times on rename.
  const meta = await readMeta(msgDir) ?? entry.meta;
  await replaceFile(
    dir,
    join(msgDir, META_FILE),
    json({ ...meta, deletedAt: ctx.now().toISOString() }),
  );
  const target = join(ctx.mailboxDir, DELETED_DIR, basename(dir));
  await Deno.mkdir(target, { recursive: true });
  const name = await freeName(target, entry.name);
  await Deno.rename(msgDir, join(target, name));
  await syncDir(target);
  await syncDir(dir);
}

// Housekeeping that fails (a permission, a busy share) must not stop the mirroring: it is
// logged, and tried again at the next open.
async function housekeeping(ctx: Ctx, operation: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    log("warn", failer(ctx.config, ctx.mailbox)(operation, e).message);
  }
}

async function purgeDeleted(ctx: Ctx): Promise<void> {
  const root = join(ctx.mailboxDir, DELETED_DIR);
  const cutoff = ctx.now().getTime() - ctx.config.retentionDays * DAY_MS;
  let folders: string[];
  try {
    folders = await visibleDirs(root);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  for (const f of folders) {
    const folderDir = join(root, f);
    await removeStaleTemps(ctx, folderDir);
    for (const name of await visibleDirs(folderDir)) {
      const at = await deletedAt(join(folderDir, name));
      if (at !== null && at <= cutoff) await removeDirAtomic(folderDir, name);
    }
  }
}

// When a message was moved to the deleted area: meta.json's deletedAt, else the directory's
// modification time (a person may have moved it there by hand).
async function deletedAt(msgDir: string): Promise<number | null> {
  const meta = await readMeta(msgDir);
  const t = meta?.deletedAt ? Date.parse(meta.deletedAt) : NaN;
  if (!Number.isNaN(t)) return t;
  const info = await Deno.stat(msgDir);
  return info.mtime ? info.mtime.getTime() : null;
}

// Work directories and files left by a crash. Only old ones go: a second vmirror process (a
// one-off `sync --once` beside the service) may be writing a fresh one right now.
async function removeStaleTemps(ctx: Ctx, dir: string): Promise<void> {
  const cutoff = ctx.now().getTime() - ctx.staleTempMs;
  const stale: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.startsWith(TEMP_PREFIX)) continue;
    const info = await Deno.lstat(join(dir, e.name));
    if (!info.mtime || info.mtime.getTime() <= cutoff) stale.push(e.name);
  }
  for (const name of stale) await removeTree(join(dir, name));
}

// ---------------------------------------------------------------------------------------------
// What a message becomes on disk

interface Described {
  meta: Omit<
    StoredMessageMeta,
    | "vmirror"
    | "uid"
    | "uidValidity"
    | "source"
    | "flags"
    | "internalDate"
    | "size"
    | "storedAt"
  >;
  files: { name: string; bytes: Uint8Array }[];
}

// Pure: meta.json's description of the message and its voice parts' decoded bytes. A message
// that cannot be parsed is still stored whole, with the reason.
function describeMessage(bytes: Uint8Array, rules: CompiledBroadcastRule[]): Described {
  // Exactly as the engine reads it for the identity (a FETCH of that one top-level field).
  const messageId = topMessageId(bytes);
  let info: Classified;
  try {
    info = classifyMessage(bytes, { broadcastRules: rules });
  } catch (e) {
    return {
      meta: {
        messageId,
        date: null,
        sender: "unknown",
        from: null,
        to: [],
        subject: null,
        urgent: false,
        private: false,
        broadcast: false,
        durationSeconds: null,
        voiceParts: [],
        chain: null,
        inReplyTo: null,
        references: [],
        parseError: (e as Error).message,
      },
      files: [],
    };
  }
  const top = chainRoot(info);
  const parts: { part: VoicePart; topLevel: boolean; data: Uint8Array }[] = [];
  const collect = (node: ChainNode, topLevel: boolean) => {
    for (const part of node.voiceParts) {
      parts.push({ part, topLevel, data: decodeBody(bytes, part) });
    }
    for (const child of node.children) collect(child, false);
  };
  collect(top, true);
  const names = voiceFileNames(parts.map(({ part, topLevel, data }) => ({
    role: part.role,
    partPath: part.partPath,
    ext: audioExtension(part.contentType, data.subarray(0, 4)),
    topLevel,
  })));
  const fileOf = new Map(parts.map((p, i) => [p.part, names[i]]));
  const stored = parts.map(({ part, data }, i): StoredVoicePart => ({
    file: names[i],
    role: part.role,
    contentType: part.contentType,
    filename: part.filename,
    partPath: part.partPath,
    bytes: data.length,
    seconds: part.seconds,
    claimedSeconds: part.claimedSeconds,
    computedSeconds: part.computedSeconds,
    durationSource: part.durationSource,
  }));
  const tree = (node: ChainNode): StoredChainNode => ({
    messageId: node.messageId,
    from: node.from,
    date: isoOrNull(node.date),
    subject: node.subject,
    partPath: node.partPath,
    durationSeconds: node.durationSeconds,
    voiceFiles: node.voiceParts.map((p) => fileOf.get(p)!),
    children: node.children.map(tree),
  });
  return {
    meta: {
      messageId,
      date: isoOrNull(info.date),
      sender: senderLabel(info.from),
      from: info.from,
      to: info.to,
      subject: info.subject,
      urgent: info.urgent,
      private: info.private,
      broadcast: info.broadcast,
      durationSeconds: info.durationSeconds,
      voiceParts: stored,
      chain: tree(top),
      inReplyTo: info.inReplyTo,
      references: info.references,
    },
    files: parts.map(({ data }, i) => ({ name: names[i], bytes: data })),
  };
}

function isoOrNull(d: Date | null): string | null {
  return d && !Number.isNaN(d.getTime()) ? d.toISOString() : null;
}

// ---------------------------------------------------------------------------------------------
// Durable file operations

/**
 * Writes every file into a hidden work directory, fsyncs them, then renames the directory into
 * place as the last step; returns the name used (`name~2`… if the name is taken).
 */
async function writeDirAtomic(
  parent: string,
  name: string,
  files: { name: string; bytes: Uint8Array }[],
): Promise<string> {
  const tmp = join(parent, `${TEMP_PREFIX}${randomId()}`);
  await Deno.mkdir(tmp);
  try {
    for (const f of files) await writeNewFile(join(tmp, f.name), f.bytes);
    await syncDir(tmp);
    const free = await freeName(parent, name);
    await Deno.rename(tmp, join(parent, free));
    await syncDir(parent);
    return free;
  } catch (e) {
    // Frees the space a full disk needs back; a crash here leaves a hidden, stale directory.
    await removeTree(tmp).catch(() => {});
    throw e;
  }
}

/** A message's hidden work directory, written but not yet synced. */
interface Staged {
  tmp: string;
  /** Its files by name (asynchronous staging: reopened to sync). */
  names: string[];
  /** Its files still open (direct staging: synced through these, no reopening). */
  open: Deno.FsFile[];
}

/** Writes files into a new hidden work directory without syncing. */
async function stageDir(
  parent: string,
  files: { name: string; bytes: Uint8Array }[],
): Promise<Staged> {
  const tmp = join(parent, `${TEMP_PREFIX}${randomId()}`);
  await Deno.mkdir(tmp);
  try {
    for (const f of files) await Deno.writeFile(join(tmp, f.name), f.bytes, { createNew: true });
  } catch (e) {
    await removeTree(tmp).catch(() => {});
    throw e;
  }
  return { tmp, names: files.map((f) => f.name), open: [] };
}

/**
 * {@link stageDir} with direct calls on a local disk (page-cache writes, no thread hand-off),
 * keeping each file open so that the batch's fsyncs need no reopening.
 */
function stageDirDirect(parent: string, files: { name: string; bytes: Uint8Array }[]): Staged {
  const tmp = join(parent, `${TEMP_PREFIX}${randomId()}`);
  Deno.mkdirSync(tmp);
  const open: Deno.FsFile[] = [];
  try {
    for (const f of files) {
      const file = Deno.openSync(join(tmp, f.name), { write: true, createNew: true });
      open.push(file);
      let off = 0;
      while (off < f.bytes.length) off += file.writeSync(f.bytes.subarray(off));
    }
  } catch (e) {
    closeAll(open);
    try {
      Deno.removeSync(tmp, { recursive: true });
    } catch { /* a stale work directory, swept at the next open */ }
    throw e;
  }
  return { tmp, names: [], open };
}

/** Fsyncs a staged message's files (no listing: they were just written), then its directory. */
async function syncStaged(work: Staged): Promise<void> {
  try {
    await Promise.all([
      ...work.open.map((f) => f.sync()),
      ...work.names.map(async (name) => {
        const f = await Deno.open(join(work.tmp, name), { read: true, write: true });
        try {
          await f.sync();
        } finally {
          f.close();
        }
      }),
    ]);
  } finally {
    closeAll(work.open);
    work.open = [];
  }
  await syncDir(work.tmp);
}

/** Removes a staged message that will not be placed. */
async function dropStaged(work: Staged): Promise<void> {
  closeAll(work.open);
  work.open = [];
  await removeTree(work.tmp).catch(() => {});
}

function closeAll(files: Deno.FsFile[]): void {
  for (const f of files) {
    try {
      f.close();
    } catch { /* already closed */ }
  }
}

/** Renames a synced work directory into place under a free name; returns the name. */
async function placeStaged(parent: string, tmp: string, name: string): Promise<string> {
  const free = await freeName(parent, name);
  await Deno.rename(tmp, join(parent, free));
  return free;
}

/** {@link placeStaged} with direct calls (local disk). */
function placeDirect(parent: string, tmp: string, name: string): string {
  for (let n = 1; n < 10_000; n++) {
    const candidate = withSuffix(name, n);
    try {
      Deno.lstatSync(join(parent, candidate));
      continue;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    Deno.renameSync(tmp, join(parent, candidate));
    return candidate;
  }
  throw new Error(`no free name for "${name}" in "${parent}"`);
}

// Renamed out of sight first, so a message disappears whole even if the deletion is cut short.
async function removeDirAtomic(parent: string, name: string): Promise<void> {
  const hidden = join(parent, `${TEMP_PREFIX}${randomId()}`);
  await Deno.rename(join(parent, name), hidden);
  await syncDir(parent);
  await removeTree(hidden);
}

async function freeName(parent: string, name: string): Promise<string> {
  for (let n = 1; n < 10_000; n++) {
    const candidate = withSuffix(name, n);
    try {
      await Deno.lstat(join(parent, candidate));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return candidate;
      throw e;
    }
  }
  throw new Error(`no free name for "${name}" in "${parent}"`);
}

// Replaces `path` atomically, the temp file in `workDir` (same file system, swept at start-up).
function replaceFile(workDir: string, path: string, bytes: Uint8Array): Promise<void> {
  return writeFileAtomic(path, bytes, { temp: join(workDir, `${TEMP_PREFIX}${randomId()}`) });
}

// An advisory lock; null where the file system has none (some shares), which only matters when
// two processes write one folder at once.
async function lockFile(path: string): Promise<Deno.FsFile | null> {
  const f = await Deno.open(path, { read: true, write: true, create: true });
  try {
    await f.lock(true);
    return f;
  } catch (e) {
    f.close();
    if (isUnsupported(e)) return null;
    throw e;
  }
}

async function unlockFile(f: Deno.FsFile | null): Promise<void> {
  if (!f) return;
  try {
    await f.unlock();
  } finally {
    f.close();
  }
}

async function removeTree(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  return JSON.parse(text);
}

function json(value: unknown): Uint8Array {
  return encoder.encode(`${JSON.stringify(value, null, 2)}\n`);
}

function randomId(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 16);
}

function errorCode(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : null;
}

const DETAILS: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EIO: "input/output error",
};

// Plain words for the operator: the common system errors by name, others as the system says
// them without Deno's "(os error N)".
function describeError(e: unknown): string {
  const code = errorCode(e);
  if (code && DETAILS[code]) return DETAILS[code];
  const message = e instanceof Error ? e.message : String(e);
  const text = message.replace(/\s*\(os error \d+\)/, "");
  return text.charAt(0).toLowerCase() + text.slice(1);
}
