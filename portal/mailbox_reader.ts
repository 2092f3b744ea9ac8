/**
 * Reading one subscriber's mirrored voicemail for the portal — from the backup MSS (the trusted
 * login, EXAMINE and BODY.PEEK only, so the portal never changes the mirror: read state stays
 * production's, which the next pass would write back anyway) or from the file store — behind
 * one {@link MailboxReader} interface. Both work while production is unreachable.
 *
 * A mailbox of thousands of messages opens fast: the list is one FETCH of UID, FLAGS and
 * INTERNALDATE (or one directory listing), sorted newest first, and only the page shown is
 * described. Descriptions of IMAP messages are cached in KV by (mailbox, folder, UIDVALIDITY,
 * UID) — a message never changes under its UID — so a page is parsed once.
 * @module
 */
import { join, resolve, sep } from "node:path";
import type { ImapFlow } from "imapflow";
import type { Config, FilesTargetConfig, ImapTargetConfig } from "../engine/config/mod.ts";
import { isHiddenEntry, senderLabel } from "../engine/files/mod.ts";
import {
  findMarked,
  folderDirSpec,
  mailboxDirSpec,
  MESSAGE_FILE,
  readCompleteMessage,
  visibleDirs,
} from "../engine/files/mod.ts";
import { connectAs, disconnect, ImapError } from "../engine/imap/mod.ts";
import {
  type Address,
  decodeBody,
  headerValue,
  parseHeaders,
  topMessageId,
} from "../engine/mime/mod.ts";
import { originalPath, safeSegment } from "../engine/mirror/mod.ts";
import {
  getCachedSummary,
  listMap,
  mapUidValidities,
  putCachedSummary,
} from "../engine/state/mod.ts";
import { examine, fetchSource } from "../engine/imap/mod.ts";
import type { State } from "../engine/state/mod.ts";
import { formatDateTime } from "./dates.ts";
import { type GreetingKind, greetingKind } from "./greeting_kind.ts";
import {
  FileStoreError,
  type StoredChainNode,
  type StoredMessageMeta,
} from "../engine/files/mod.ts";
import {
  type ChainNode,
  chainRoot,
  type Classified,
  classifyMessage,
  type VoicePart,
} from "../engine/voicemail/mod.ts";

/** One playable voice part, numbered in document order over the message and its chain. */
export interface VoiceRef {
  index: number;
  role: VoicePart["role"];
  contentType: string;
  filename: string | null;
  seconds: number | null;
}

/** A message of a forward/reply chain, or the message itself at the root. */
export interface ThreadNode {
  from: Address | null;
  /** The sender as a person reads it. */
  sender: string;
  date: string | null;
  subject: string | null;
  durationSeconds: number | null;
  /** Indexes into {@link MessageSummary.voices} of this message's own parts. */
  voices: number[];
  /** Messages embedded in this one (forwarded or replied to). */
  children: ThreadNode[];
}

/** What the inbox and the message page show of one message. */
export interface MessageSummary {
  folder: string;
  uidValidity: number;
  uid: number;
  internalDate: string;
  date: string | null;
  from: Address | null;
  sender: string;
  subject: string | null;
  durationSeconds: number | null;
  urgent: boolean;
  private: boolean;
  broadcast: boolean;
  /** The mirror holds a placeholder: the message was too long or too big for the backup. */
  placeholder: boolean;
  /**
   * With `placeholder`: the original is kept on this appliance, and the voices, duration and
   * thread are described from it, so the message plays, downloads and forwards like any other.
   */
  keptOriginal?: boolean;
  size: number;
  messageId: string | null;
  inReplyTo: string | null;
  voices: VoiceRef[];
  /** The message as the root of its chain. */
  tree: ThreadNode;
  flags: string[];
  /**
   * In the greetings folder: the greeting's type as the store says it (null: it does not say).
   * Absent elsewhere, and in descriptions cached before types were read.
   */
  greeting?: GreetingKind | null;
}

/** One page of a folder, newest first. */
export interface MessagePage {
  folder: string;
  /** 0 when the folder does not exist on the mirror. */
  uidValidity: number;
  total: number;
  offset: number;
  items: MessageSummary[];
}

/** A voice part's bytes, transfer encoding removed (a WAV file, usually). */
export interface VoiceData {
  bytes: Uint8Array;
  contentType: string;
  filename: string | null;
}

/** Names one message of the reader's mailbox. */
export interface MessageRef {
  folder: string;
  uidValidity: number;
  uid: number;
}

/** What the inbox search narrows a folder to; every field is optional. */
export interface MessageFilter {
  /** Part of the caller's name or number, or of the subject (any case). */
  text?: string;
  /** First and last day of arrival (YYYY-MM-DD, both included), in `timeZone`. */
  fromDay?: string;
  toDay?: string;
  /** The zone days are counted in (default UTC). */
  timeZone?: string;
}

/** Options of {@link MailboxReader.list}. */
export interface ListOptions {
  offset: number;
  limit: number;
  /** Only messages matching this; `total` counts the matches. */
  filter?: MessageFilter;
}

/** Read-only access to one mailbox of the mirror. */
export interface MailboxReader {
  readonly mailbox: string;
  /** A page of a folder (or of its messages matching a filter), newest first. */
  list(folder: string, opts: ListOptions): Promise<MessagePage>;
  /** One message, or null when it is not there (or the folder's UIDVALIDITY changed). */
  get(ref: MessageRef): Promise<MessageSummary | null>;
  /** One voice part of a message (numbered as in {@link MessageSummary.voices}), or null. */
  voice(ref: MessageRef, index: number): Promise<VoiceData | null>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** Options for {@link openMailboxReader}. */
export interface ReaderOptions {
  /** KV for the description cache (IMAP); without it every page is parsed again. */
  state?: State;
  /** The greetings folder, whose messages get their {@link MessageSummary.greeting} type. */
  greetingsFolder?: string;
}

/** Opens the configured mirror (IMAP backup or file store) for one mailbox. */
export function openMailboxReader(
  config: Config,
  mailbox: string,
  opts: ReaderOptions = {},
): MailboxReader {
  const t = config.target;
  if (!t) throw new Error("No target configured: there is no mirror to read");
  const greetings = opts.greetingsFolder ?? config.source?.greetingsFolder;
  return t.type === "imap"
    ? imapReader(t, mailbox, {
      state: opts.state,
      originals: join(config.dataDir, "originals"),
      greetings,
    })
    : filesReader(t, mailbox, greetings);
}

// ---------------------------------------------------------------------------------------------
// Descriptions (pure)

const MAX_DEPTH = 8;
const MAX_CHILDREN = 20;
const MAX_TEXT = 300;

function clip(s: string | null): string | null {
  return s === null ? null : s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;
}

function clipAddress(a: Address | null): Address | null {
  return a ? { name: clip(a.name) ?? "", address: clip(a.address) ?? "" } : null;
}

function iso(d: Date | null): string | null {
  return d && !Number.isNaN(d.getTime()) ? d.toISOString() : null;
}

/** Message facts the mirror knows besides its content. */
export interface MessageFacts {
  folder: string;
  uidValidity: number;
  uid: number;
  internalDate: string;
  size: number;
  flags: string[];
}

/** Options of {@link summarizeClassified}. */
export interface SummarizeOptions {
  /** A greeting: its type is read from its header, subject or file name. */
  greeting?: boolean;
}

/** Describes a classified message; voice parts are numbered node first, then its children. */
export function summarizeClassified(
  info: Classified,
  facts: MessageFacts,
  opts: SummarizeOptions = {},
): MessageSummary {
  const top = chainRoot(info);
  const voices: VoiceRef[] = [];
  const walk = (node: ChainNode, depth: number): ThreadNode => {
    const own = node.voiceParts.map((p) => {
      voices.push({
        index: voices.length,
        role: p.role,
        contentType: p.contentType,
        filename: p.filename,
        seconds: p.seconds,
      });
      return voices.length - 1;
    });
    // Parts below the cut are still numbered, so indexes agree with voiceParts() order.
    const children = node.children.map((c) => walk(c, depth + 1));
    return {
      from: clipAddress(node.from),
      sender: clip(senderLabel(node.from))!,
      date: iso(node.date),
      subject: clip(node.subject),
      durationSeconds: node.durationSeconds,
      voices: own,
      children: depth < MAX_DEPTH ? children.slice(0, MAX_CHILDREN) : [],
    };
  };
  const tree = walk(top, 0);
  return {
    ...facts,
    date: iso(info.date),
    from: clipAddress(info.from),
    sender: tree.sender,
    subject: clip(info.subject),
    durationSeconds: info.durationSeconds,
    urgent: info.urgent,
    private: info.private,
    broadcast: info.broadcast,
    placeholder: headerValue(info.headers, "x-vmirror-placeholder") !== null,
    messageId: clip(info.messageId),
    inReplyTo: clip(info.inReplyTo),
    voices,
    tree,
    ...(opts.greeting
      ? {
        greeting: greetingKind({
          header: (name) => headerValue(info.headers, name),
          subject: info.subject,
          filenames: info.voiceParts.map((p) => p.filename),
        }),
      }
      : {}),
  };
}

/** Every voice part of a classified message in the order {@link summarizeClassified} numbers. */
export function voiceParts(info: Classified): VoicePart[] {
  const out: VoicePart[] = [];
  const walk = (node: ChainNode) => {
    out.push(...node.voiceParts);
    node.children.forEach(walk);
  };
  walk(chainRoot(info));
  return out;
}

/**
 * Describes a message from the file store's meta.json; `head`, the start of its message.eml,
 * when it is a greeting (its type may be in a header, which meta.json does not keep).
 */
export function summarizeStored(
  meta: StoredMessageMeta,
  folder: string,
  head?: Uint8Array,
): MessageSummary {
  const voices: VoiceRef[] = meta.voiceParts.map((p, index) => ({
    index,
    role: p.role,
    contentType: p.contentType,
    filename: p.filename,
    seconds: p.seconds,
  }));
  const byFile = new Map(meta.voiceParts.map((p, i) => [p.file, i]));
  const walk = (node: StoredChainNode, depth: number): ThreadNode => ({
    from: clipAddress(node.from),
    sender: clip(senderLabel(node.from))!,
    date: node.date,
    subject: clip(node.subject),
    durationSeconds: node.durationSeconds,
    voices: node.voiceFiles.map((f) => byFile.get(f)).filter((i) => i !== undefined),
    children: depth < MAX_DEPTH
      ? node.children.slice(0, MAX_CHILDREN).map((c) => walk(c, depth + 1))
      : [],
  });
  const tree = meta.chain ? walk(meta.chain, 0) : {
    from: clipAddress(meta.from),
    sender: clip(meta.sender)!,
    date: meta.date,
    subject: clip(meta.subject),
    durationSeconds: meta.durationSeconds,
    voices: voices.map((v) => v.index),
    children: [],
  };
  return {
    folder,
    uidValidity: meta.uidValidity,
    uid: meta.uid,
    internalDate: meta.internalDate,
    size: meta.size,
    flags: [...meta.flags],
    date: meta.date,
    from: clipAddress(meta.from),
    sender: clip(meta.sender)!,
    subject: clip(meta.subject),
    durationSeconds: meta.durationSeconds,
    urgent: meta.urgent,
    private: meta.private,
    broadcast: meta.broadcast,
    placeholder: false,
    messageId: clip(meta.messageId),
    inReplyTo: clip(meta.inReplyTo),
    voices,
    tree,
    ...(head
      ? {
        greeting: greetingKind({
          header: (name) => headerValue(parseHeaders(head).headers, name),
          subject: meta.subject,
          filenames: meta.voiceParts.map((p) => p.filename),
        }),
      }
      : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Search

/** Whether a filter narrows anything at all. */
export function isFiltering(f: MessageFilter | undefined): f is MessageFilter {
  return !!(f && (f.text || f.fromDay || f.toDay));
}

/** Whether a message that arrived at `iso` falls within the filter's days. */
export function withinDays(iso: string, f: MessageFilter): boolean {
  if (!f.fromDay && !f.toDay) return true;
  const day = formatDateTime(iso, f.timeZone ?? "UTC").slice(0, 10);
  return !!day && (!f.fromDay || day >= f.fromDay) && (!f.toDay || day <= f.toDay);
}

/** Whether any of `texts` contains the filter's text (any case); true without one. */
export function matchesText(texts: (string | null | undefined)[], f: MessageFilter): boolean {
  if (!f.text) return true;
  const want = f.text.toLowerCase();
  return texts.some((t) => t?.toLowerCase().includes(want));
}

// ---------------------------------------------------------------------------------------------
// Decoded voice parts, kept a few minutes: a player's Range requests come one after another.

const VOICE_CACHE_BYTES = 64 * 1024 * 1024;
const VOICE_CACHE_MS = 10 * 60_000;
const voiceCache = new Map<string, { data: VoiceData; at: number }>();
let voiceCacheBytes = 0;

function cachedVoice(key: string): VoiceData | null {
  const hit = voiceCache.get(key);
  if (!hit) return null;
  voiceCache.delete(key);
  if (Date.now() - hit.at > VOICE_CACHE_MS) {
    voiceCacheBytes -= hit.data.bytes.length;
    return null;
  }
  voiceCache.set(key, hit); // most recently used last
  return hit.data;
}

function cacheVoice(key: string, data: VoiceData): void {
  if (data.bytes.length > VOICE_CACHE_BYTES / 4) return;
  const old = voiceCache.get(key);
  if (old) {
    voiceCache.delete(key);
    voiceCacheBytes -= old.data.bytes.length;
  }
  voiceCache.set(key, { data, at: Date.now() });
  voiceCacheBytes += data.bytes.length;
  for (const [k, v] of voiceCache) {
    if (voiceCacheBytes <= VOICE_CACHE_BYTES) break;
    voiceCache.delete(k);
    voiceCacheBytes -= v.data.bytes.length;
  }
}

/** Empties the decoded-voice cache (tests). */
export function clearVoiceCache(): void {
  voiceCache.clear();
  voiceCacheBytes = 0;
}

// ---------------------------------------------------------------------------------------------
// The backup MSS over IMAP

interface Row {
  uid: number;
  flags: string[];
  internalDate: string;
  size: number;
}

function imapReader(
  target: ImapTargetConfig,
  mailbox: string,
  where: { state?: State; originals: string; greetings?: string },
): MailboxReader {
  const { state, originals } = where;
  let client: ImapFlow | null = null;
  let opened: { folder: string; uidValidity: number; exists: number } | null = null;
  const fail = (op: string, e: unknown) =>
    e instanceof ImapError ? e : new ImapError(target.name, mailbox, op, e);

  const conn = async () => (client ??= await connectAs(target, mailbox));

  // EXAMINE, so that not even \Recent changes; null when the folder is not on the mirror.
  const open = async (folder: string) => {
    const c = await conn();
    if (opened?.folder === folder) return { c, box: opened };
    try {
      await examine(c, folder);
    } catch (e) {
      const text = `${(e as { responseText?: string }).responseText ?? ""} ${(e as Error).message}`;
      if (/NONEXISTENT|doesn't exist|does not exist|not found/i.test(text)) return null;
      throw fail(`examine "${folder}"`, e);
    }
    opened = {
      folder,
      uidValidity: Number(c.mailbox ? c.mailbox.uidValidity : 0),
      exists: c.mailbox ? c.mailbox.exists : 0,
    };
    return { c, box: opened };
  };

  const rows = async (c: ImapFlow, range: string, byUid: boolean): Promise<Row[]> => {
    const out: Row[] = [];
    try {
      for await (
        const m of c.fetch(
          range,
          { uid: true, flags: true, internalDate: true, size: true },
          { uid: byUid },
        )
      ) {
        out.push({
          uid: m.uid,
          flags: [...(m.flags ?? [])].filter((f) => f !== "\\Recent").sort(),
          internalDate: new Date(m.internalDate ?? 0).toISOString(),
          size: m.size ?? 0,
        });
      }
    } catch (e) {
      throw fail("list messages", e);
    }
    return out;
  };

  // Days on the rows' INTERNALDATE (what the list is sorted by); text by the server's SEARCH,
  // FROM covering the caller's name and number, on the mirror itself.
  const narrow = async (c: ImapFlow, folder: string, all: Row[], filter: MessageFilter) => {
    let out = all.filter((r) => withinDays(r.internalDate, filter));
    if (filter.text && out.length) {
      let uids: number[] | false | undefined;
      try {
        const text = filter.text;
        uids = await c.search({ or: [{ from: text }, { subject: text }] }, { uid: true });
      } catch (e) {
        throw fail(`search "${folder}"`, e);
      }
      const hits = new Set(uids || []);
      out = out.filter((r) => hits.has(r.uid));
    }
    return out;
  };

  // A placeholder is described from its kept original when this appliance has it.
  const describeMessage = async (bytes: Uint8Array, facts: MessageFacts) => {
    const opts = { greeting: facts.folder === where.greetings };
    const s = describeBytes(bytes, facts, opts);
    if (!s.placeholder) return s;
    const original = await readKeptOriginal(originals, state, { mailbox, ...facts }, bytes);
    if (!original) return { ...s, keptOriginal: false };
    return { ...describeBytes(original, facts, opts), placeholder: true, keptOriginal: true };
  };

  // Cached descriptions first; the rest fetched in one command (collected before any other
  // command, since imapflow runs one at a time), parsed, and cached.
  const describe = async (
    c: ImapFlow,
    folder: string,
    uidValidity: number,
    page: Row[],
  ): Promise<MessageSummary[]> => {
    const cached = state
      ? await Promise.all(
        page.map((r) =>
          getCachedSummary<MessageSummary>(state, { mailbox, folder, uidValidity }, r.uid)
        ),
      )
      : page.map(() => null);
    // A placeholder described before originals were read is described again.
    cached.forEach((c, i) => {
      if (c?.placeholder && c.keptOriginal === undefined) cached[i] = null;
      // A greeting described before greeting types were read is described again.
      if (c && folder === where.greetings && c.greeting === undefined) cached[i] = null;
    });
    const missing = page.filter((_, i) => !cached[i]);
    const fetched = new Map<number, MessageSummary>();
    if (missing.length) {
      const sources: { row: Row; bytes: Uint8Array }[] = [];
      const byUid = new Map(missing.map((r) => [r.uid, r]));
      try {
        for await (
          const m of c.fetch(
            missing.map((r) => r.uid).join(","),
            { uid: true, source: true },
            { uid: true },
          )
        ) {
          const row = byUid.get(m.uid);
          if (row && m.source) sources.push({ row, bytes: new Uint8Array(m.source) });
        }
      } catch (e) {
        throw fail(`fetch messages of "${folder}"`, e);
      }
      for (const { row, bytes } of sources) {
        const summary = await describeMessage(bytes, { folder, uidValidity, ...row });
        fetched.set(row.uid, summary);
        // An original missing now may be restored into place later: not cached.
        if (state && summary.keptOriginal !== false) {
          await putCachedSummary(state, { mailbox, folder, uidValidity }, row.uid, summary);
        }
      }
    }
    const out: MessageSummary[] = [];
    page.forEach((r, i) => {
      const s = cached[i] ?? fetched.get(r.uid);
      // Flags are the live ones; the cached description holds the rest.
      if (s) out.push({ ...s, flags: r.flags, internalDate: r.internalDate, size: r.size });
    });
    return out;
  };

  return {
    mailbox,
    list: async (folder, { offset, limit, filter }) => {
      const o = await open(folder);
      if (!o || o.box.exists === 0) {
        return { folder, uidValidity: o?.box.uidValidity ?? 0, total: 0, offset, items: [] };
      }
      let all = await rows(o.c, "1:*", false);
      if (isFiltering(filter)) all = await narrow(o.c, folder, all, filter);
      all.sort((a, b) => b.internalDate.localeCompare(a.internalDate) || b.uid - a.uid);
      const page = all.slice(offset, offset + limit);
      return {
        folder,
        uidValidity: o.box.uidValidity,
        total: all.length,
        offset,
        items: await describe(o.c, folder, o.box.uidValidity, page),
      };
    },
    get: async ({ folder, uidValidity, uid }) => {
      const o = await open(folder);
      if (!o || o.box.uidValidity !== uidValidity || o.box.exists === 0) return null;
      const [row] = (await rows(o.c, String(uid), true)).filter((r) => r.uid === uid);
      if (!row) return null;
      const [s] = await describe(o.c, folder, uidValidity, [row]);
      return s ?? null;
    },
    voice: async ({ folder, uidValidity, uid }, index) => {
      const key =
        `imap\u0000${target.name}\u0000${mailbox}\u0000${folder}\u0000${uidValidity}\u0000${uid}\u0000${index}`;
      const hit = cachedVoice(key);
      if (hit) return hit;
      const o = await open(folder);
      if (!o || o.box.uidValidity !== uidValidity || o.box.exists === 0) return null;
      let bytes: Uint8Array | null;
      try {
        bytes = await fetchSource(o.c, uid);
      } catch (e) {
        throw fail(`fetch a message of "${folder}"`, e);
      }
      if (!bytes) return null;
      let info = classifyMessage(bytes);
      if (headerValue(info.headers, "x-vmirror-placeholder") !== null) {
        const key = { mailbox, folder, uidValidity, uid };
        const original = await readKeptOriginal(originals, state, key, bytes);
        if (!original) return null;
        bytes = original;
        info = classifyMessage(bytes);
      }
      const part = voiceParts(info)[index];
      if (!part) return null;
      const data = {
        bytes: decodeBody(bytes, part),
        contentType: part.contentType,
        filename: part.filename,
      };
      cacheVoice(key, data);
      return data;
    },
    close: async () => {
      await disconnect(client);
      client = null;
      opened = null;
    },
  };
}

function describeBytes(
  bytes: Uint8Array,
  facts: MessageFacts,
  opts: SummarizeOptions,
): MessageSummary {
  let info: Classified;
  try {
    info = classifyMessage(bytes);
  } catch {
    // Unparseable: still listed (it is the subscriber's), with nothing to play.
    return {
      ...facts,
      date: null,
      from: null,
      sender: "unknown",
      subject: null,
      durationSeconds: null,
      urgent: false,
      private: false,
      broadcast: false,
      placeholder: false,
      messageId: null,
      inReplyTo: null,
      voices: [],
      tree: {
        from: null,
        sender: "unknown",
        date: null,
        subject: null,
        durationSeconds: null,
        voices: [],
        children: [],
      },
      ...(opts.greeting ? { greeting: null } : {}),
    };
  }
  return summarizeClassified(info, facts, opts);
}

// ---------------------------------------------------------------------------------------------
// Originals of over-length messages: the backup holds a placeholder, this appliance the original
// under <data>/originals (engine/mirror/originals.ts), keyed by the SOURCE folder's UIDVALIDITY
// and UID, which the portal (reading the backup) does not know. The mirror's map says which
// source message a target UID stands for; without a map entry (a lost state store) the
// placeholder's X-Vmirror-Placeholder Message-ID finds the original among the folder's.

/**
 * The bytes of the original that placeholder `placeholder` (target message `key`) stands for,
 * or null when this appliance does not keep it. Only files of `key.mailbox`'s own originals
 * folder are ever read.
 */
export async function readKeptOriginal(
  root: string,
  state: State | undefined,
  key: MessageRef & { mailbox: string },
  placeholder: Uint8Array,
): Promise<Uint8Array | null> {
  const info = classifyMessage(placeholder);
  const claimed = headerValue(info.headers, "x-vmirror-placeholder")?.trim() ?? null;
  const wantId = claimed && /^<[^<>\s]+>$/.test(claimed) ? claimed : null;
  const folderDir = resolve(root, safeSegment(key.mailbox), safeSegment(key.folder));
  const inside = (path: string) => resolve(path).startsWith(folderDir + sep);
  for (const c of state ? await mappedOriginals(root, state, key) : []) {
    if (!inside(c.path)) continue;
    const bytes = await readIfPresent(c.path);
    if (bytes && bytes.length === c.size && (!wantId || topMessageId(bytes) === wantId)) {
      return bytes;
    }
  }
  if (!wantId) return null;
  let names: string[] = [];
  try {
    for await (const e of Deno.readDir(folderDir)) {
      // Work files of an interrupted write end in ".tmp" and are never originals.
      if (e.isFile && /^\d+-\d+\.eml$/.test(e.name)) names.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw originalError(folderDir, e);
  }
  names = names.sort();
  for (const name of names) {
    const path = join(folderDir, name);
    if (topMessageId(await readHead(path, 64 * 1024)) === wantId) return await readIfPresent(path);
  }
  return null;
}

// Where the map says the originals of target message `key` are kept, with their sizes.
async function mappedOriginals(
  root: string,
  state: State,
  key: MessageRef & { mailbox: string },
): Promise<{ path: string; size: number }[]> {
  const f = { mailbox: key.mailbox, folder: key.folder };
  const out: { path: string; size: number }[] = [];
  for (const uidValidity of await mapUidValidities(state, f)) {
    for (const e of await listMap(state, { ...f, uidValidity })) {
      if (e.kind !== "placeholder" || e.targetUid !== key.uid) continue;
      if ((e.targetUidValidity ?? key.uidValidity) !== key.uidValidity) continue;
      const path = e.keptAs ?? originalPath(root, { ...f, uidValidity, uid: e.srcUid });
      out.push({ path, size: e.size });
    }
  }
  return out;
}

async function readIfPresent(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw originalError(path, e);
  }
}

// The first `max` bytes of a file; errors name it as a kept original unless `what` says else.
async function readHead(
  path: string,
  max: number,
  what: (path: string, e: unknown) => Error = originalError,
): Promise<Uint8Array> {
  try {
    using f = await Deno.open(path, { read: true });
    const buf = new Uint8Array(max);
    let off = 0;
    while (off < max) {
      const n = await f.read(buf.subarray(off));
      if (n === null) break;
      off += n;
    }
    return buf.subarray(0, off);
  } catch (e) {
    throw what(path, e);
  }
}

function fileError(path: string, e: unknown): Error {
  return new Error(`Cannot read "${path}": ${(e as Error)?.message ?? e}`, { cause: e });
}

function originalError(path: string, e: unknown): Error {
  return new Error(`Cannot read the kept original "${path}": ${(e as Error)?.message ?? e}`, {
    cause: e,
  });
}

// ---------------------------------------------------------------------------------------------
// The file store

const DIR_UID = /_(\d{1,15})(?:~\d+)?$/;

function filesReader(
  target: FilesTargetConfig,
  mailbox: string,
  greetings: string | undefined,
): MailboxReader {
  const fail = (operation: string, e: unknown) =>
    e instanceof FileStoreError ? e : new FileStoreError(
      { store: target.name, path: target.root, mailbox, operation },
      (e as Error)?.message ?? String(e),
      { cause: e },
    );
  let mailboxDir: Promise<string | null> | null = null;
  const folders = new Map<string, Promise<{ dir: string; uidValidity: number } | null>>();

  const findMailbox = () =>
    mailboxDir ??= findMarked(target.root, mailboxDirSpec(mailbox)).then((f) => f?.dir ?? null)
      .catch((e) => {
        throw fail("open the mailbox", e);
      });

  const findFolder = (folder: string) => {
    let f = folders.get(folder);
    if (!f) {
      f = findMailbox().then(async (root) => {
        if (!root) return null;
        const found = await findMarked(root, folderDirSpec(folder));
        if (!found) return null;
        const v = Number(found.marker.uidValidity);
        return Number.isSafeInteger(v) && v > 0 ? { dir: found.dir, uidValidity: v } : null;
      }).catch((e) => {
        throw fail(`open folder "${folder}"`, e);
      });
      folders.set(folder, f);
    }
    return f;
  };

  // Message directories by UID (names end in `_<uid>`, `~n` when a name was taken twice).
  const entries = async (dir: string): Promise<{ name: string; uid: number }[]> => {
    const out: { name: string; uid: number }[] = [];
    for (const name of await visibleDirs(dir)) {
      const m = DIR_UID.exec(name);
      if (m) out.push({ name, uid: Number(m[1]) });
    }
    return out;
  };

  // Complete message directories only (engine/files' one rule), and not moved to deleted.
  const liveMeta = async (dir: string, uid: number): Promise<StoredMessageMeta | null> => {
    const m = await readCompleteMessage(dir);
    return m && m.uid === uid && !m.deletedAt ? m : null;
  };

  // A greeting's type may be in a header, which meta.json does not keep: its message.eml's
  // start is read (greetings are few; messages of other folders are never opened).
  const describe = async (meta: StoredMessageMeta, folder: string, dir: string) =>
    summarizeStored(
      meta,
      folder,
      folder === greetings
        ? await readHead(join(dir, MESSAGE_FILE), 64 * 1024, fileError)
        : undefined,
    );

  const locate = async ({ folder, uidValidity, uid }: MessageRef) => {
    const f = await findFolder(folder);
    if (!f || f.uidValidity !== uidValidity) return null;
    try {
      for (const e of await entries(f.dir)) {
        if (e.uid !== uid) continue;
        const dir = join(f.dir, e.name);
        const meta = await liveMeta(dir, uid);
        if (meta) return { dir, meta };
      }
    } catch (e) {
      throw fail(`read folder "${folder}"`, e);
    }
    return null;
  };

  return {
    mailbox,
    list: async (folder, { offset, limit, filter }) => {
      const f = await findFolder(folder);
      if (!f) return { folder, uidValidity: 0, total: 0, offset, items: [] };
      try {
        // Names start with the arrival time, so name order is date order.
        let all = (await entries(f.dir)).sort((a, b) =>
          a.name < b.name ? 1 : a.name > b.name ? -1 : 0
        );
        if (isFiltering(filter)) {
          // Every description is read (a few at a time): one meta.json per message.
          const kept: typeof all = [];
          for (let i = 0; i < all.length; i += 32) {
            const batch = all.slice(i, i + 32);
            const metas = await Promise.all(batch.map((e) => liveMeta(join(f.dir, e.name), e.uid)));
            batch.forEach((e, j) => {
              const m = metas[j];
              const hit = m && withinDays(m.internalDate, filter) &&
                matchesText([m.sender, m.from?.name, m.from?.address, m.subject], filter);
              if (hit) kept.push(e);
            });
          }
          all = kept;
        }
        const page = all.slice(offset, offset + limit);
        const items = await Promise.all(page.map(async (e) => {
          const dir = join(f.dir, e.name);
          const meta = await liveMeta(dir, e.uid);
          return meta ? { ...await describe(meta, folder, dir), uidValidity: f.uidValidity } : null;
        }));
        return {
          folder,
          uidValidity: f.uidValidity,
          total: all.length,
          offset,
          items: items.filter((m) => m !== null),
        };
      } catch (e) {
        throw fail(`read folder "${folder}"`, e);
      }
    },
    get: async (ref) => {
      const found = await locate(ref);
      if (!found) return null;
      try {
        const s = await describe(found.meta, ref.folder, found.dir);
        return { ...s, uidValidity: ref.uidValidity };
      } catch (e) {
        throw fail(`read a message of "${ref.folder}"`, e);
      }
    },
    voice: async (ref, index) => {
      const found = await locate(ref);
      const part = found?.meta.voiceParts[index];
      // The name comes from meta.json: only a plain file name in the message directory.
      if (!found || !part || !/^[^/\\]+$/.test(part.file) || isHiddenEntry(part.file)) {
        return null;
      }
      try {
        const bytes = await Deno.readFile(join(found.dir, part.file));
        return { bytes, contentType: part.contentType, filename: part.filename };
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return null;
        throw fail(`read a voice file of "${ref.folder}"`, e);
      }
    },
    close: () => Promise.resolve(),
  };
}
