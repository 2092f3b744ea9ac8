/**
 * The rescue: puts messages from the mirror (the backup MSS or the file store) back into a
 * production mailbox with their flags and INTERNALDATE, skipping what production already has.
 *
 * This is the only code that writes to production, and only when asked: it reads the mirror
 * (EXAMINE + BODY.PEEK on the backup, files on the store — never changing either), reads
 * production (EXAMINE), and then sends nothing but CREATE (for a missing folder) and APPEND.
 * Running it twice restores nothing the second time, because what production holds is read
 * again each time and compared by identity (Message-ID, INTERNALDATE to the second, size).
 *
 * Afterwards the state map is pointed at the restored messages, so the next mirror pass sees
 * them as the messages it already mirrored: it neither copies them again nor deletes the
 * mirror's copies (which it would otherwise do, their old production UIDs being gone).
 * @module
 */
import type { ImapFlow } from "imapflow";
import { basename, join } from "node:path";
import {
  type Config,
  ConfigError,
  type FilesTargetConfig,
  type ImapTargetConfig,
  requireSections,
} from "../config/mod.ts";
import { DELETED_DIR, MESSAGE_FILE } from "../files/mod.ts";
import {
  fileSize,
  findMarked,
  folderDirSpec,
  mailboxDirSpec,
  type MarkedDir,
  readCompleteMessage,
  visibleDirs,
} from "../files/mod.ts";
import { connectAs, disconnect, flowFolder, ImapError, withImapContext } from "../imap/mod.ts";
import { fetchedHeaderId, topMessageId } from "../mime/mod.ts";
import { originalPath, safeSegment } from "../mirror/mod.ts";
import {
  type NotMirrored,
  planRestore,
  type ProductionFolder,
  type RestoreCandidate,
  restoreFlags,
  type RestoreFrom,
  type RestorePlan,
  sameMessage,
} from "./plan.ts";
import {
  examine,
  fetchMeta,
  fetchMetaWith,
  fetchSource,
  type FolderStatus,
  folderStatus,
  listUids,
  type MessageMeta,
} from "../imap/mod.ts";
import {
  audit,
  deleteMapEntries,
  getSubscription,
  listMap,
  type MapEntry,
  mapUidValidities,
  putMapEntries,
  type State,
} from "../state/mod.ts";
import type { StoredMessageMeta } from "../files/mod.ts";
import { isMailboxId, MAILBOX_ID_RULE } from "../support/mod.ts";

export type { RestoreFrom } from "./plan.ts";

/** What kind of failure stopped a restore before it could report per message. */
export type RestoreErrorKind = "usage" | "unknown-mailbox" | "failed";

/** A restore that could not run; carries the mailbox, server and operation. */
export class RestoreError extends Error {
  override name = "RestoreError";
  /** Builds the error; `kind` lets the CLI choose the exit code. */
  constructor(
    readonly kind: RestoreErrorKind,
    message: string,
    readonly context: { mailbox: string; server?: string; operation?: string },
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Options for {@link runRestore}. */
export interface RestoreOptions {
  /** The production mailbox to put messages back into. */
  mailbox: string;
  /** Where to read: defaults to the configured target's kind. */
  from?: RestoreFrom;
  /** Only messages whose INTERNALDATE is at or after this instant. */
  since?: Date;
  /** Only these mirror UIDs (the backup's UIDs, or the file store's: meta.json `uid`). */
  uids?: number[];
  /** Folders to restore (default: the configured source folders). */
  folders?: string[];
  /** Also messages in the file store's deleted area (`onDelete: "move"`). */
  includeDeleted?: boolean;
  /** Read and plan only: nothing is written anywhere. */
  dryRun?: boolean;
  /** One line per step, for a person watching. */
  onProgress?: (line: string) => void;
  /** Who asked, for the audit log (default "cli"). */
  actor?: string;
}

/** What happened to one message of the mirror. */
export interface RestoreItem {
  folder: string;
  mirrorUid: number;
  /** Production's UID when the message was mirrored, if recorded. */
  sourceUid: number | null;
  kind: "copy" | "placeholder";
  messageId: string | null;
  internalDate: string;
  size: number;
  flags: string[];
  outcome: "appended" | "would-append" | "skipped" | "failed";
  /** For skips: the planner's reason (e.g. "on-production", "before-since"). */
  reason?: string;
  /** Error text, a missing original's explanation, or the mirror UID of a duplicate's twin. */
  detail?: string;
  /** Where the message is on production: appended there, or already there. */
  productionUid?: number;
  /** In the file store's deleted area. */
  deleted?: boolean;
}

/** A production message the mirror never held (e.g. a broadcast) and production lost. */
export interface RestoreLost {
  folder: string;
  sourceUid: number;
  messageId: string | null;
  internalDate: string;
  size: number;
  reason: string;
}

/** What one restore did (or, in a dry run, would do). */
export interface RestoreReport {
  mailbox: string;
  from: RestoreFrom;
  /** The mirror's name from the config. */
  mirror: string;
  /** Production's name from the config. */
  production: string;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string;
  since: string | null;
  uids: number[] | null;
  /** The folders read from the mirror. */
  folders: string[];
  /** Folders created on production (would be, in a dry run). */
  createdFolders: string[];
  /** Messages appended to production (would be, in a dry run). */
  appended: number;
  skipped: Record<string, number>;
  failed: number;
  /** State map entries pointed at the restored messages. */
  mapUpdated: number;
  items: RestoreItem[];
  lost: RestoreLost[];
  warnings: string[];
  /** True when nothing failed and no asked-for message was unavailable (original missing). */
  ok: boolean;
}

/** The `--from` a restore uses when none is given: the configured target's kind. */
export function defaultRestoreFrom(config: Config): RestoreFrom {
  return config.target?.type === "files" ? "files" : "backup";
}

/** One message read from the mirror, with how to get its bytes. */
interface MirrorMessage {
  candidate: RestoreCandidate;
  load: () => Promise<Uint8Array>;
  /** The state map entry whose target is this message, when there is one. */
  map?: { uidValidity: number; entry: MapEntry };
}

interface MirrorRead {
  messages: MirrorMessage[];
  /** Folders that exist on the mirror. */
  folders: string[];
  warnings: string[];
  close: () => Promise<void>;
}

/** The state map of one mailbox, indexed the ways restore needs it. */
interface MapIndex {
  /** `${folder}\0${targetUidValidity}\0${targetUid}` → entry and its source UIDVALIDITY. */
  byTarget: Map<string, { uidValidity: number; entry: MapEntry }>;
  notMirrored: NotMirrored[];
  known: boolean;
}

/** Puts missing messages of one mailbox back into production; per-message failures are reported. */
export async function runRestore(
  config: Config,
  state: State,
  opts: RestoreOptions,
): Promise<RestoreReport> {
  const startedAt = new Date().toISOString();
  const mailbox = opts.mailbox;
  const usage = (message: string) => new RestoreError("usage", message, { mailbox });
  if (!isMailboxId(mailbox)) {
    throw usage(`Invalid mailbox "${mailbox}": expected ${MAILBOX_ID_RULE}`);
  }
  if (opts.since && Number.isNaN(opts.since.getTime())) throw usage("Invalid --since date");
  if (opts.uids?.some((u) => !Number.isSafeInteger(u) || u < 1)) {
    throw usage(`Invalid UID in ${JSON.stringify(opts.uids)}: UIDs are positive whole numbers`);
  }
  const c = requireSections(config, "restore", ["source", "target"]);
  const from = opts.from ?? defaultRestoreFrom(c);
  if (from === "backup" && c.target.type !== "imap") {
    throw new ConfigError(
      `"restore --from backup" needs a backup MSS as the target, but the configured target "${c.target.name}" is a file store: use --from files`,
    );
  }
  if (from === "files" && c.target.type !== "files") {
    throw new ConfigError(
      `"restore --from files" needs a file store as the target, but the configured target "${c.target.name}" is a backup MSS: use --from backup`,
    );
  }
  const folders = opts.folders?.length ? [...new Set(opts.folders)] : c.source.folders;
  const progress = opts.onProgress ?? (() => {});
  const dryRun = !!opts.dryRun;

  const map = await readMapIndex(state, mailbox, folders);
  map.known ||= (await getSubscription(state, mailbox)) !== null;
  progress(`Reading mailbox "${mailbox}" from the ${describeMirror(c.target)}`);
  const mirror = from === "files"
    ? await readFileStore(c.target as FilesTargetConfig, mailbox, folders, map)
    : await readBackup(c.target as ImapTargetConfig, mailbox, folders, map, {
      originalsRoot: join(c.dataDir, "originals"),
    });

  const report: RestoreReport = {
    mailbox,
    from,
    mirror: c.target.name,
    production: c.source.name,
    dryRun,
    startedAt,
    finishedAt: startedAt,
    since: opts.since?.toISOString() ?? null,
    uids: opts.uids?.length ? [...opts.uids] : null,
    folders: mirror.folders,
    createdFolders: [],
    appended: 0,
    skipped: {},
    failed: 0,
    mapUpdated: 0,
    items: [],
    lost: [],
    warnings: [...mirror.warnings],
    ok: true,
  };
  let production: ImapFlow | null = null;
  try {
    const server = c.source.name;
    progress(`Reading mailbox "${mailbox}" on production "${server}"`);
    production = await withImapContext(
      { server, mailbox, operation: "log in" },
      () => connectAs(c.source, mailbox),
    );
    const prod = await readProduction(production, server, mailbox, folders);
    const plan = planRestore({
      candidates: mirror.messages.map((m) => m.candidate),
      notMirrored: map.notMirrored,
      production: prod,
      filter: { since: opts.since, uids: opts.uids, includeDeleted: opts.includeDeleted },
    });
    const appendItems = describePlan(report, plan, mirror.messages, prod, from);
    if (!dryRun && plan.appends.length) {
      await apply(report, plan, appendItems, {
        client: production,
        server,
        mailbox,
        state,
        messages: mirror.messages,
        progress,
      });
    }
  } catch (e) {
    throw restoreFailure(e, mailbox);
  } finally {
    await disconnect(production);
    await mirror.close();
  }

  report.appended =
    report.items.filter((i) => i.outcome === (dryRun ? "would-append" : "appended")).length;
  report.failed = report.items.filter((i) => i.outcome === "failed").length;
  for (const i of report.items) {
    if (i.outcome === "skipped") report.skipped[i.reason!] = (report.skipped[i.reason!] ?? 0) + 1;
  }
  if (report.lost.length) report.skipped["never-mirrored"] = report.lost.length;
  // A placeholder whose original is gone is a message the operator asked for and cannot have.
  report.ok = report.failed === 0 && !report.skipped["original-missing"];
  report.finishedAt = new Date().toISOString();
  if (!dryRun) {
    await audit(state, {
      actor: opts.actor ?? "cli",
      action: "restore",
      detail: {
        mailbox,
        from,
        since: report.since,
        uids: report.uids,
        folders: report.folders,
        appended: report.appended,
        failed: report.failed,
        createdFolders: report.createdFolders,
      },
    });
  }
  return report;
}

function describeMirror(target: ImapTargetConfig | FilesTargetConfig): string {
  return target.type === "imap"
    ? `backup "${target.name}"`
    : `file store "${target.name}" ("${target.root}")`;
}

// ---------------------------------------------------------------------------------------------
// The plan into the report

function describePlan(
  report: RestoreReport,
  plan: RestorePlan,
  messages: MirrorMessage[],
  prod: Record<string, ProductionFolder>,
  from: RestoreFrom,
): Map<RestoreCandidate, RestoreItem> {
  const item = (c: RestoreCandidate, outcome: RestoreItem["outcome"]): RestoreItem => ({
    folder: c.folder,
    mirrorUid: c.mirrorUid,
    sourceUid: c.sourceUid,
    kind: c.kind,
    messageId: c.messageId,
    internalDate: c.internalDate.toISOString(),
    size: c.size,
    flags: restoreFlags(c.flags),
    outcome,
    ...(c.deleted ? { deleted: true } : {}),
  });
  const appendItems = new Map<RestoreCandidate, RestoreItem>();
  for (const a of plan.appends) {
    const it = {
      ...item(a.candidate, report.dryRun ? "would-append" : "appended"),
      flags: a.flags,
    };
    appendItems.set(a.candidate, it);
    report.items.push(it);
  }
  const atRisk: RestoreCandidate[] = [];
  const byCandidate = new Map(messages.map((m) => [m.candidate, m]));
  for (const s of plan.skips) {
    if (s.reason === "never-mirrored") {
      const m = s.message;
      report.lost.push({
        folder: m.folder,
        sourceUid: m.sourceUid,
        messageId: m.messageId,
        internalDate: m.internalDate.toISOString(),
        size: m.size,
        reason: m.reason,
      });
      continue;
    }
    const it = { ...item(s.candidate, "skipped"), reason: s.reason };
    if (s.reason === "on-production") it.productionUid = s.productionUid;
    if (s.reason === "duplicate-on-mirror") it.detail = `same message as mirror UID ${s.sameAs}`;
    if (s.reason === "original-missing") it.detail = s.detail;
    report.items.push(it);
    // A message the mirror tracks that production lacks is deleted from the mirror by the next
    // pass: the operator must hear that before it happens.
    const tracked = byCandidate.get(s.candidate)?.map;
    if (
      tracked && !s.candidate.deleted && s.reason !== "on-production" &&
      s.reason !== "duplicate-on-mirror" &&
      !prod[s.candidate.folder]?.messages.some((p) => sameMessage(p, s.candidate))
    ) atRisk.push(s.candidate);
  }
  report.createdFolders = [...plan.createFolders];
  if (plan.unmatchedUids.length) {
    report.warnings.push(
      `no message of the mirror has UID ${plan.unmatchedUids.join(", ")} in ${
        report.folders.map((f) => `"${f}"`).join(", ") || "any folder"
      }`,
    );
  }
  if (atRisk.length) {
    const gone = from === "files"
      ? 'removes them from the file store (or moves them to its deleted area with onDelete "move")'
      : "deletes them from the backup";
    report.warnings.push(
      `${atRisk.length} message(s) of the mirror are not on production and not restored by this run: the next mirror pass ${gone}`,
    );
  }
  const deleted = plan.skips.filter((s) => s.reason === "deleted-on-mirror").length;
  if (deleted) {
    report.warnings.push(
      `${deleted} message(s) in the file store's deleted area were left out (add --include-deleted to restore them)`,
    );
  }
  return appendItems;
}

// ---------------------------------------------------------------------------------------------
// Writing to production: CREATE and APPEND, nothing else

interface ApplyContext {
  client: ImapFlow;
  server: string;
  mailbox: string;
  state: State;
  messages: MirrorMessage[];
  progress: (line: string) => void;
}

async function apply(
  report: RestoreReport,
  plan: RestorePlan,
  items: Map<RestoreCandidate, RestoreItem>,
  ctx: ApplyContext,
): Promise<void> {
  const { client, server, mailbox, progress } = ctx;
  const byCandidate = new Map(ctx.messages.map((m) => [m.candidate, m]));
  const itemOf = (c: RestoreCandidate) => items.get(c)!;
  const failedFolders = new Map<string, string>();
  report.createdFolders = [];
  for (const folder of plan.createFolders) {
    try {
      await client.mailboxCreate(flowFolder(client, folder));
      report.createdFolders.push(folder);
      progress(`Created folder "${folder}" on production "${server}"`);
    } catch (e) {
      // Created meanwhile (by the MSS, or a second restore): just as good.
      if (/ALREADYEXISTS|already exists/i.test(errText(e))) continue;
      failedFolders.set(folder, new ImapError(server, mailbox, `create "${folder}"`, e).message);
    }
  }

  let lost: string | null = null;
  const appended: { folder: string; candidate: RestoreCandidate; uid: number | null }[] = [];
  for (const a of plan.appends) {
    const item = itemOf(a.candidate);
    const fail = (detail: string) => {
      item.outcome = "failed";
      item.detail = detail;
    };
    if (lost !== null) {
      fail(`not attempted: ${lost}`);
      continue;
    }
    const folderError = failedFolders.get(a.folder);
    if (folderError) {
      fail(folderError);
      continue;
    }
    const m = byCandidate.get(a.candidate)!;
    let bytes: Uint8Array;
    try {
      bytes = await m.load();
    } catch (e) {
      fail(`Cannot read mirror UID ${a.candidate.mirrorUid} of "${a.folder}": ${errText(e)}`);
      continue;
    }
    // The identity production will be searched by is the planned one: bytes of another size
    // would be a different message (or a damaged copy) and must not go in under its name.
    if (bytes.length !== a.candidate.size) {
      fail(
        `mirror UID ${a.candidate.mirrorUid} of "${a.folder}" has ${bytes.length} bytes, ${a.candidate.size} expected`,
      );
      continue;
    }
    try {
      // Configured names: Cyrus's classic namespace calls "Archive/2024" "INBOX.Archive.2024".
      const res = await client.append(flowFolder(client, a.folder), bytes, a.flags, a.internalDate);
      if (!res) throw new Error("the server refused the APPEND");
      appended.push({ folder: a.folder, candidate: a.candidate, uid: res.uid ?? null });
      progress(
        `Appended mirror UID ${a.candidate.mirrorUid} of "${a.folder}" to production${
          res.uid ? ` as UID ${res.uid}` : ""
        }`,
      );
    } catch (e) {
      fail(new ImapError(server, mailbox, `append to "${a.folder}"`, e).message);
      if (!client.usable) lost = `the connection to production "${server}" was lost`;
    }
  }
  if (lost !== null || !appended.length) return;

  // Read back: each appended message is looked for on production by identity, which gives its
  // UID without UIDPLUS and proves it landed as planned. The APPENDs are done by now, so a
  // failure here is reported, never thrown: the report of what was written must reach the
  // operator.
  const folders = [...new Set(appended.map((a) => a.folder))];
  for (const folder of folders) {
    let metas: { uid: number; messageId: string | null; internalDate: Date; size: number }[];
    let uidValidity: number;
    try {
      metas = await withImapContext(
        { server, mailbox, operation: `read back "${folder}"` },
        async () => {
          await examine(client, folder);
          return await fetchMeta(client, await listUids(client));
        },
      );
      uidValidity = Number(client.mailbox ? client.mailbox.uidValidity : 0);
    } catch (e) {
      report.warnings.push(
        `${
          errText(e)
        }: the messages appended to "${folder}" are not verified and the mirror's records of them were not updated (the next pass copies them again)`,
      );
      continue;
    }
    const used = new Set<number>();
    const repointed: { old: { uidValidity: number; entry: MapEntry }; entry: MapEntry }[] = [];
    for (const a of appended.filter((x) => x.folder === folder)) {
      const item = itemOf(a.candidate);
      const same = (p: (typeof metas)[number]) => !used.has(p.uid) && sameMessage(p, a.candidate);
      const hit = metas.find((p) => p.uid === a.uid && same(p)) ?? metas.find(same);
      if (!hit) {
        item.outcome = "failed";
        item.detail = `not found on production after the APPEND to "${folder}"`;
        continue;
      }
      used.add(hit.uid);
      item.productionUid = hit.uid;
      const old = byCandidate.get(a.candidate)?.map;
      if (old && uidValidity > 0) {
        repointed.push({ old, entry: { ...old.entry, srcUid: hit.uid } });
      }
    }
    // The old entry goes first: should the second write not happen, the next pass adopts or
    // copies the message again, whereas a stale entry would have it delete the mirror's copy.
    try {
      for (const r of repointed) {
        await deleteMapEntries(ctx.state, { mailbox, folder, uidValidity: r.old.uidValidity }, [
          r.old.entry.srcUid,
        ]);
        await putMapEntries(ctx.state, { mailbox, folder, uidValidity }, [r.entry]);
        report.mapUpdated++;
      }
    } catch (e) {
      report.warnings.push(
        `Cannot update the mirror's records of "${folder}" of mailbox "${mailbox}": ${errText(e)}`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading production and the state map

async function readProduction(
  client: ImapFlow,
  server: string,
  mailbox: string,
  folders: string[],
): Promise<Record<string, ProductionFolder>> {
  const out: Record<string, ProductionFolder> = {};
  for (const folder of folders) {
    const read = await readFolder(client, { server, mailbox, folder }, fetchMeta);
    out[folder] = {
      exists: read !== null,
      messages: (read?.metas ?? []).map((m) => ({
        uid: m.uid,
        messageId: m.messageId,
        internalDate: m.internalDate,
        size: m.size,
      })),
    };
  }
  return out;
}

/** STATUS, then EXAMINE and every message's metadata; null when the folder does not exist. */
async function readFolder<M>(
  client: ImapFlow,
  where: { server: string; mailbox: string; folder: string },
  fetch: (client: ImapFlow, uids: number[]) => Promise<M[]>,
): Promise<{ status: FolderStatus; metas: M[] } | null> {
  const { server, mailbox, folder } = where;
  const status = await withImapContext(
    { server, mailbox, operation: `read the status of "${folder}"` },
    () => folderStatus(client, folder),
  );
  if (!status) return null;
  const metas = await withImapContext(
    { server, mailbox, operation: `read "${folder}"` },
    async () => {
      await examine(client, folder);
      return await fetch(client, await listUids(client));
    },
  );
  return { status, metas };
}

async function readMapIndex(state: State, mailbox: string, folders: string[]): Promise<MapIndex> {
  const index: MapIndex = { byTarget: new Map(), notMirrored: [], known: false };
  for (const folder of folders) {
    for (const uidValidity of await mapUidValidities(state, { mailbox, folder })) {
      for (const entry of await listMap(state, { mailbox, folder, uidValidity })) {
        index.known = true;
        if (entry.kind === "skipped") {
          index.notMirrored.push({
            folder,
            sourceUid: entry.srcUid,
            messageId: entry.messageId,
            internalDate: new Date(entry.internalDate),
            size: entry.size,
            reason: entry.reason ?? "skipped",
          });
        } else if (entry.targetUid > 0 && entry.targetUidValidity !== undefined) {
          index.byTarget.set(
            `${folder}\u0000${entry.targetUidValidity}\u0000${entry.targetUid}`,
            { uidValidity, entry },
          );
        }
      }
    }
  }
  return index;
}

// ---------------------------------------------------------------------------------------------
// Reading the file store (read-only: nothing is created, cleaned or purged)

async function readFileStore(
  target: FilesTargetConfig,
  mailbox: string,
  folders: string[],
  map: MapIndex,
): Promise<MirrorRead> {
  const where = `the file store "${target.name}" ("${target.root}")`;
  const fail = (operation: string, e: unknown) =>
    new RestoreError(
      "failed",
      `Cannot ${operation} of mailbox "${mailbox}" in "${target.root}": ${errText(e)}`,
      { mailbox, server: target.name, operation },
      { cause: e },
    );
  try {
    const info = await Deno.stat(target.root);
    if (!info.isDirectory) throw new Error("the store's root is not a directory");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw fail("read the files", "the store's root does not exist (is the share mounted?)");
    }
    throw fail("read the files", e);
  }
  let mailboxDir: string | null;
  try {
    mailboxDir = (await findMarked(target.root, mailboxDirSpec(mailbox)))?.dir ?? null;
  } catch (e) {
    throw fail("find the mailbox", e);
  }
  if (!mailboxDir) {
    throw new RestoreError(
      "unknown-mailbox",
      `Unknown mailbox "${mailbox}": ${where} holds no directory for it${
        map.known ? "" : ", and vmirror has no record of mirroring it"
      }`,
      { mailbox, server: target.name, operation: "find the mailbox" },
    );
  }
  const messages: MirrorMessage[] = [];
  const found: string[] = [];
  const warnings: string[] = [];
  for (const folder of folders) {
    let folderDir: MarkedDir | null;
    try {
      folderDir = await findMarked(mailboxDir, folderDirSpec(folder));
    } catch (e) {
      throw fail(`find folder "${folder}"`, e);
    }
    if (!folderDir) continue;
    found.push(folder);
    const uidValidity = Number(folderDir.marker.uidValidity);
    const areas = [
      { dir: folderDir.dir, deleted: false },
      { dir: join(mailboxDir, DELETED_DIR, basename(folderDir.dir)), deleted: true },
    ];
    for (const area of areas) {
      let scanned;
      try {
        scanned = await scanMessageDirs(area.dir);
      } catch (e) {
        throw fail(`read folder "${folder}"`, e);
      }
      if (scanned.incomplete.length) {
        warnings.push(
          `"${folder}": ${scanned.incomplete.length} incomplete message director${
            scanned.incomplete.length === 1 ? "y" : "ies"
          } ignored (${scanned.incomplete.slice(0, 3).map((n) => `"${n}"`).join(", ")})`,
        );
      }
      for (const { dir, meta } of scanned.messages) {
        const mirrorUidValidity = Number.isSafeInteger(meta.uidValidity)
          ? meta.uidValidity
          : uidValidity;
        const tracked = area.deleted
          ? undefined
          : map.byTarget.get(`${folder}\u0000${mirrorUidValidity}\u0000${meta.uid}`);
        messages.push({
          candidate: {
            folder,
            mirrorUid: meta.uid,
            mirrorUidValidity,
            sourceUid: meta.source?.uid ?? tracked?.entry.srcUid ?? null,
            kind: "copy",
            messageId: meta.messageId,
            internalDate: new Date(meta.internalDate),
            size: meta.size,
            flags: [...meta.flags],
            ...(area.deleted ? { deleted: true } : {}),
          },
          load: () => Deno.readFile(join(dir, MESSAGE_FILE)),
          map: tracked,
        });
      }
    }
  }
  return { messages, folders: found, warnings, close: () => Promise.resolve() };
}

// Complete message directories only (engine/files' one rule), in name order, the way the
// store itself counts them.
async function scanMessageDirs(
  dir: string,
): Promise<{ messages: { dir: string; meta: StoredMessageMeta }[]; incomplete: string[] }> {
  let names: string[];
  try {
    names = await visibleDirs(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { messages: [], incomplete: [] };
    throw e;
  }
  const messages: { dir: string; meta: StoredMessageMeta }[] = [];
  const incomplete: string[] = [];
  for (const name of names) {
    const msgDir = join(dir, name);
    // meta.json's schema keeps flags strings only: they go back to production in the APPEND.
    const meta = await readCompleteMessage(msgDir);
    if (!meta) incomplete.push(name);
    else messages.push({ dir: msgDir, meta });
  }
  return { messages, incomplete };
}

// ---------------------------------------------------------------------------------------------
// Reading the backup MSS (read-only: EXAMINE and BODY.PEEK)

interface BackupMeta extends MessageMeta {
  /** The X-Vmirror-Placeholder header's Message-ID ("none" when the original had none). */
  placeholderOf: string | null;
}

async function readBackup(
  target: ImapTargetConfig,
  mailbox: string,
  folders: string[],
  map: MapIndex,
  opts: { originalsRoot: string },
): Promise<MirrorRead> {
  const server = target.name;
  let client: ImapFlow;
  try {
    client = await connectAs(target, mailbox);
  } catch (e) {
    if (e instanceof ImapError && e.authFailed && !map.known) {
      throw new RestoreError(
        "unknown-mailbox",
        `Unknown mailbox "${mailbox}": the backup "${server}" refused to open it and vmirror has no record of mirroring it: ${
          e.message.replace(/^.*?": /, "")
        }`,
        { mailbox, server, operation: e.operation },
        { cause: e },
      );
    }
    const err = e instanceof ImapError ? e : new ImapError(server, mailbox, "log in", e);
    throw new RestoreError("failed", err.message, {
      mailbox,
      server,
      operation: err.operation,
    }, { cause: e });
  }
  const originals = new OriginalsIndex(opts.originalsRoot, mailbox);
  let examined: string | null = null;
  const messages: MirrorMessage[] = [];
  const found: string[] = [];
  const warnings: string[] = [];
  try {
    for (const folder of folders) {
      const read = await readFolder(client, { server, mailbox, folder }, fetchBackupMeta);
      if (!read) continue;
      found.push(folder);
      examined = folder;
      const uidValidity = Number(
        client.mailbox ? client.mailbox.uidValidity : read.status.uidValidity,
      );
      for (const meta of read.metas) {
        const tracked = map.byTarget.get(`${folder}\u0000${uidValidity}\u0000${meta.uid}`);
        const base = {
          folder,
          mirrorUid: meta.uid,
          mirrorUidValidity: uidValidity,
          sourceUid: tracked?.entry.srcUid ?? null,
          internalDate: tracked ? new Date(tracked.entry.internalDate) : meta.internalDate,
          flags: meta.flags,
        };
        const isPlaceholder = meta.placeholderOf !== null || tracked?.entry.kind === "placeholder";
        if (!isPlaceholder) {
          messages.push({
            candidate: {
              ...base,
              internalDate: meta.internalDate,
              kind: "copy",
              messageId: meta.messageId,
              size: meta.size,
            },
            load: async () => {
              return await withImapContext({
                server,
                mailbox,
                operation: `fetch UID ${meta.uid} of "${folder}"`,
              }, async () => {
                if (examined !== folder) {
                  await examine(client, folder);
                  examined = folder;
                }
                const bytes = await fetchSource(client, meta.uid);
                if (!bytes) throw new Error("the message is gone from the backup");
                return bytes;
              });
            },
            map: tracked,
          });
          continue;
        }
        const original = await originals.resolve(folder, meta, tracked);
        messages.push({
          candidate: {
            ...base,
            kind: "placeholder",
            messageId: original.messageId,
            size: original.size,
            ...(original.path === null ? { unavailable: original.why } : {}),
          },
          load: () => Deno.readFile(original.path!),
          map: tracked,
        });
      }
    }
  } catch (e) {
    await disconnect(client);
    throw restoreFailure(e, mailbox);
  }
  return { messages, folders: found, warnings, close: () => disconnect(client) };
}

function fetchBackupMeta(client: ImapFlow, uids: number[]): Promise<BackupMeta[]> {
  return fetchMetaWith(client, uids, {
    headers: ["x-vmirror-placeholder"],
    read: (headers) => ({ placeholderOf: placeholderHeader(headers) }),
  });
}

/** The X-Vmirror-Placeholder value of a fetched header block: a `<…>` id, "none", or null. */
function placeholderHeader(headers: Uint8Array | undefined): string | null {
  const value = fetchedHeaderId(headers, "x-vmirror-placeholder");
  return value === null ? null : value || "none";
}

/** A placeholder's original, or why there is none. */
type Original =
  | { path: string; messageId: string | null; size: number; why?: undefined }
  | { path: null; messageId: string | null; size: number; why: string };

/**
 * Finds the kept originals of placeholders: by the state map's record (`keptAs`) first; when
 * the map has no record (a lost state store), by the placeholder's X-Vmirror-Placeholder
 * Message-ID among the originals kept for the folder.
 */
class OriginalsIndex {
  #byFolder = new Map<string, Promise<Map<string, { path: string; size: number }[]>>>();

  constructor(readonly root: string, readonly mailbox: string) {}

  async resolve(
    folder: string,
    meta: BackupMeta,
    tracked: { uidValidity: number; entry: MapEntry } | undefined,
  ): Promise<Original> {
    const entry = tracked?.entry;
    if (entry) {
      const path = entry.keptAs ??
        originalPath(this.root, {
          mailbox: this.mailbox,
          folder,
          uidValidity: tracked.uidValidity,
          uid: entry.srcUid,
        });
      const size = await fileSize(path);
      if (size === entry.size) return { path, messageId: entry.messageId, size };
      const why = size === null
        ? `the original kept as "${path}" is missing`
        : `the original kept as "${path}" has ${size} bytes, ${entry.size} recorded`;
      // The same message may have been kept again under another key (e.g. after a UIDVALIDITY
      // change); only an exact twin will do.
      const twin = entry.messageId
        ? (await this.#scan(folder)).get(entry.messageId)?.find((o) => o.size === entry.size)
        : undefined;
      if (twin) return { path: twin.path, messageId: entry.messageId, size: twin.size };
      return { path: null, messageId: entry.messageId, size: entry.size, why };
    }
    const id = meta.placeholderOf;
    if (id === null || !id.startsWith("<")) {
      return {
        path: null,
        messageId: null,
        size: meta.size,
        why:
          "the placeholder names no Message-ID of its original and the state store has no record of it",
      };
    }
    const hits = (await this.#scan(folder)).get(id) ?? [];
    if (!hits.length) {
      return {
        path: null,
        messageId: id,
        size: meta.size,
        why: `no original with Message-ID ${id} is kept in "${
          join(this.root, safeSegment(this.mailbox), safeSegment(folder))
        }"`,
      };
    }
    return { path: hits[0].path, messageId: id, size: hits[0].size };
  }

  #scan(folder: string): Promise<Map<string, { path: string; size: number }[]>> {
    let p = this.#byFolder.get(folder);
    if (!p) {
      p = scanOriginals(join(this.root, safeSegment(this.mailbox), safeSegment(folder)));
      this.#byFolder.set(folder, p);
    }
    return p;
  }
}

// Message-ID → kept originals of one folder (sorted by name, so the choice is stable).
async function scanOriginals(dir: string): Promise<Map<string, { path: string; size: number }[]>> {
  const out = new Map<string, { path: string; size: number }[]>();
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      // Work files of an interrupted write end in ".tmp" and are never originals.
      if (e.isFile && /^\d+-\d+\.eml$/.test(e.name)) names.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return out;
    throw e;
  }
  names.sort();
  for (const name of names) {
    const path = join(dir, name);
    const { head, size } = await readHead(path, 64 * 1024);
    const id = topMessageId(head);
    if (id) out.set(id, [...(out.get(id) ?? []), { path, size }]);
  }
  return out;
}

async function readHead(path: string, max: number): Promise<{ head: Uint8Array; size: number }> {
  const f = await Deno.open(path, { read: true });
  try {
    const size = (await f.stat()).size;
    const buf = new Uint8Array(Math.min(max, size));
    let off = 0;
    while (off < buf.length) {
      const n = await f.read(buf.subarray(off));
      if (n === null) break;
      off += n;
    }
    return { head: buf.subarray(0, off), size };
  } finally {
    f.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

// An IMAP failure as the restore reports it; any other error is passed on as it is.
function restoreFailure(e: unknown, mailbox: string): unknown {
  if (!(e instanceof ImapError)) return e;
  return new RestoreError("failed", e.message, {
    mailbox,
    server: e.server,
    operation: e.operation,
  }, { cause: e });
}

function errText(e: unknown): string {
  if (typeof e === "string") return e;
  const x = e as { responseText?: string; message?: string; serverResponseCode?: string };
  const code = x?.serverResponseCode ? `[${x.serverResponseCode}] ` : "";
  return `${code}${x?.responseText ?? x?.message ?? String(e)}`;
}

// ---------------------------------------------------------------------------------------------
// The report as text

/** Renders a report as `vmirror restore` prints it. */
export function formatRestoreReport(r: RestoreReport): string {
  const lines: string[] = [];
  const fromText = r.from === "files" ? `the file store "${r.mirror}"` : `the backup "${r.mirror}"`;
  lines.push(
    `Restore of mailbox "${r.mailbox}" from ${fromText} to production "${r.production}"${
      r.dryRun ? " — dry run, nothing written" : ""
    }`,
  );
  const filters = [
    r.since ? `since ${r.since}` : "",
    r.uids ? `mirror UID ${compactUids(r.uids)}` : "",
  ].filter(Boolean);
  if (filters.length) lines.push(`Only: ${filters.join(", ")}`);
  lines.push(
    `Folders read: ${r.folders.length ? r.folders.map((f) => `"${f}"`).join(", ") : "none"}`,
  );
  for (const f of r.createdFolders) {
    lines.push(`${r.dryRun ? "would create" : "created"} folder "${f}" on production`);
  }
  const shown = r.items.filter((i) =>
    i.outcome !== "skipped" || i.reason === "original-missing" || i.reason === "duplicate-on-mirror"
  );
  const width = Math.max(6, ...shown.map((i) => i.folder.length));
  for (const i of shown) {
    const what = i.outcome === "skipped" ? `skipped (${i.reason})` : i.outcome;
    const cols = [
      i.folder.padEnd(width),
      what.padEnd(12),
      `mirror UID ${i.mirrorUid}`,
      i.productionUid !== undefined ? `→ production UID ${i.productionUid}` : "",
      i.internalDate.replace("T", " ").replace(/\.\d{3}Z$/, "Z"),
      i.messageId ?? "(no Message-ID)",
      `${i.size} bytes`,
      i.flags.length ? i.flags.join(" ") : "(no flags)",
      i.kind === "placeholder" ? "(original of a placeholder)" : "",
      i.deleted ? "(from the deleted area)" : "",
      i.detail ? `: ${i.detail}` : "",
    ].filter(Boolean);
    lines.push(cols.join("  "));
  }
  for (const l of r.lost) {
    lines.push(
      `${l.folder.padEnd(width)}  lost          production UID ${l.sourceUid}  ${l.internalDate}  ${
        l.messageId ?? "(no Message-ID)"
      }: never mirrored (${l.reason})`,
    );
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  const skipped = Object.entries(r.skipped).map(([k, v]) => `${SKIP_TEXT[k] ?? k} ${v}`);
  lines.push(
    `${r.dryRun ? "would append" : "appended"} ${r.appended}, failed ${r.failed}${
      skipped.length ? `; skipped: ${skipped.join(", ")}` : ""
    }${r.mapUpdated ? `; mirror records updated ${r.mapUpdated}` : ""}`,
  );
  return lines.join("\n");
}

const SKIP_TEXT: Record<string, string> = {
  "on-production": "already on production",
  "duplicate-on-mirror": "duplicate on the mirror",
  "uid-not-selected": "other UIDs",
  "before-since": "before --since",
  "deleted-on-mirror": "in the deleted area",
  "original-missing": "original missing",
  "never-mirrored": "never mirrored",
};

function compactUids(uids: number[]): string {
  const sorted = [...uids].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j > i ? `${sorted[i]}:${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return parts.join(",");
}
