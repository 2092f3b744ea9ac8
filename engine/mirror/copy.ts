/**
 * Copying messages to the target exactly once, in batches: one FETCH for a batch of small
 * messages, one KV write for the batch's intents, the APPENDs, one flush of the target, one KV
 * write recording the batch. A crash anywhere leaves intents that the next pass resolves by
 * searching the target, so nothing is lost or copied twice. Each intent carries the SHA-256 of
 * the bytes written, so a search takes only a copy whose bytes hash to it, never one the map
 * or another intent holds. Large messages are streamed through a spool file, one at a time,
 * and classified from their skeleton (engine/mime/skeleton.ts), so the over-length rule
 * sees their real durations without holding them whole.
 * @module
 */
import { join } from "node:path";
import type { Config, SourceConfig } from "../config/mod.ts";
import { type ImapContext, isTooBig, withImapContext } from "../imap/mod.ts";
import { topMessageId } from "../mime/mod.ts";
import { type Elision, SkeletonBuilder } from "../mime/mod.ts";
import { keepOriginal, keepOriginalFile } from "./originals.ts";
import { buildPlaceholder } from "../voicemail/mod.ts";
import { type CopyDecision, decideCopy } from "./plan.ts";
import { mirrorFlags } from "../target/mod.ts";
import type { ImapSession } from "../imap/mod.ts";
import type { MessageMeta } from "../imap/mod.ts";
import {
  type Intent,
  LAG_SAMPLE_SIZE,
  listMap,
  type MailboxResult,
  type MapEntry,
  putIntents,
  recordCopies,
  type State,
} from "../state/mod.ts";
import { type MirrorTarget, sha256Hex, sha256Stream, type TargetFolder } from "../target/mod.ts";
import { classifyMessage } from "../voicemail/mod.ts";

/** What a copy reads from the source: bodies in batches, a large one in ranges. */
export type MessageSource = Pick<ImapSession, "fetchBodies" | "fetchRange">;

/** Everything a copy needs: where from, where to, where to record it. */
export interface CopyContext {
  config: Config & { source: SourceConfig };
  state: State;
  mailbox: string;
  folder: string;
  source: MessageSource;
  target: MirrorTarget;
  tf: TargetFolder;
  /** The source folder's UIDVALIDITY (the map's key). */
  uidValidity: number;
  result: MailboxResult;
}

// Above this, a message is streamed through a spool file instead of held in memory.
const STREAM_ABOVE_BYTES = 4 * 1024 * 1024;
const BATCH_MESSAGES = 50;
const BATCH_BYTES = 8 * 1024 * 1024;

/** A fetched message: in memory, or spooled to a file when it is large. */
interface Body {
  size: number;
  bytes?: Uint8Array;
  path?: string;
  /** The whole message, or the skeleton of a spooled one. */
  head: Uint8Array;
  /** What the skeleton left out of its bodies (spooled messages only). */
  elided?: Elision[];
  /** SHA-256 (hex) of the whole message. */
  digest: string;
}

/** A message ready to be written: what, with which flags, recorded how. */
interface Prepared {
  meta: MessageMeta;
  body: Body;
  decision: Exclude<CopyDecision, { kind: "skip" }>;
  /** The bytes to write when they are not the body itself (a placeholder). */
  payload?: Uint8Array;
  flags: string[];
  intent: Intent;
  keptAs?: string;
}

/**
 * Copies the given messages to the target. Their metadata is already read; a null Message-ID
 * means "not read yet", and is taken from each fetched body.
 */
export async function copyMessages(c: CopyContext, metas: MessageMeta[]): Promise<void> {
  const small = metas.filter((m) => m.size <= STREAM_ABOVE_BYTES);
  for (const batch of batches(small)) {
    const bodies = await withImapContext(
      sourceContext(c, `fetch ${batch.length} message(s) of "${c.folder}"`),
      () => c.source.fetchBodies(batch.map((m) => m.uid)),
    );
    const ready: { meta: MessageMeta; body: Body }[] = [];
    for (const meta of batch) {
      const bytes = bodies.get(meta.uid);
      // Missing: expunged meanwhile; the next pass sees it gone.
      if (bytes) {
        const body = { size: bytes.length, bytes, head: bytes, digest: sha256Hex(bytes) };
        ready.push({ meta, body });
      }
    }
    await writeBatch(c, ready);
  }
  for (const meta of metas.filter((m) => m.size > STREAM_ABOVE_BYTES)) {
    const body = await spool(c, meta);
    try {
      await writeBatch(c, [{ meta, body }]);
    } finally {
      if (body.path) await Deno.remove(body.path).catch(() => {});
    }
  }
}

function* batches(metas: MessageMeta[]): Generator<MessageMeta[]> {
  let batch: MessageMeta[] = [];
  let bytes = 0;
  for (const m of metas) {
    if (batch.length && (batch.length >= BATCH_MESSAGES || bytes + m.size > BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(m);
    bytes += m.size;
  }
  if (batch.length) yield batch;
}

async function writeBatch(c: CopyContext, items: { meta: MessageMeta; body: Body }[]) {
  const { state, mailbox, folder, uidValidity, result, tf } = c;
  const records: MapEntry[] = [];
  const prepared: Prepared[] = [];
  for (const { meta, body } of items) {
    const p = await prepare(c, meta, body);
    if ("skip" in p) records.push(p.skip);
    else prepared.push(p);
  }
  // The intents are durable before the first byte goes to the target.
  await putIntents(state, { mailbox, folder, uidValidity }, prepared.map((p) => p.intent));
  const written: { p: Prepared; uid: number | null }[] = [];
  const inMemory = prepared.every((p) => p.payload || p.body.bytes);
  let oneByOne = prepared;
  if (tf.appendMany && prepared.length > 1 && inMemory) {
    try {
      // One MULTIAPPEND for the batch: all or none, one round trip.
      const uids = await tf.appendMany(prepared.map((p) => ({
        bytes: p.payload ?? p.body.bytes!,
        flags: p.flags,
        internalDate: p.meta.internalDate,
      })));
      prepared.forEach((p, i) => written.push({ p, uid: uids[i] }));
      oneByOne = [];
    } catch (e) {
      // One message over the backup's size limit refused the whole batch (nothing of it was
      // stored): each goes on its own, so only the refused one becomes a placeholder.
      if (!isTooBig(e)) throw e;
    }
  }
  for (const p of oneByOne) written.push(await appendOne(c, p));
  // Written: nothing reads the bytes again (the records need only sizes and digests).
  for (const { body } of items) release(body.bytes);
  for (const { p } of written) release(p.payload);
  // The map may only claim what the target holds durably.
  await tf.flush?.();
  // Without UIDPLUS the copies are searched for: never take a UID the map or this batch holds.
  let taken: Set<number> | null = null;
  for (const { p, uid: appended } of written) {
    const identity = {
      messageId: p.intent.messageId,
      internalDate: p.meta.internalDate,
      size: p.intent.size,
    };
    if (appended === null && !taken) {
      const map = await listMap(state, { mailbox, folder, uidValidity });
      taken = new Set(map.filter((e) => e.kind !== "skipped").map((e) => e.targetUid));
      for (const r of records) if (r.kind !== "skipped") taken.add(r.targetUid);
    }
    const uid = appended ??
      await tf.find(identity, { digest: p.intent.digest, exclude: taken ?? undefined });
    if (uid === null) {
      throw new Error(
        `Cannot find UID ${p.meta.uid} of "${folder}" of mailbox "${mailbox}" on "${c.target.name}" after APPEND`,
      );
    }
    taken?.add(uid);
    records.push({
      srcUid: p.meta.uid,
      messageId: p.meta.messageId,
      internalDate: p.meta.internalDate.toISOString(),
      size: p.body.size,
      ...(p.decision.kind === "placeholder"
        ? { targetMessageId: p.intent.messageId, targetSize: p.intent.size }
        : {}),
      targetUid: uid,
      targetUidValidity: tf.uidValidity,
      kind: p.decision.kind,
      flags: p.flags,
      keptAs: p.keptAs,
    });
  }
  await recordCopies(state, { mailbox, folder, uidValidity }, records);
  const copiedAt = Date.now();
  for (const r of records) {
    if (r.kind === "skipped") result.skipped[r.reason!] = (result.skipped[r.reason!] ?? 0) + 1;
    else {
      if (r.kind === "placeholder") result.placeholders++;
      else result.copied++;
      noteLag(result, (copiedAt - Date.parse(r.internalDate)) / 1000);
    }
  }
}

// The lags of each result's copies, for the statistics' sample; the result itself keeps only
// the longest, so the stored result stays small whatever the pass copied.
const lags = new WeakMap<MailboxResult, number[]>();

// A clock behind production's makes a fresh message look copied before it arrived: that is no lag.
function noteLag(result: MailboxResult, seconds: number) {
  const lag = Math.max(0, Math.round(seconds * 1000) / 1000);
  if (!Number.isFinite(lag)) return;
  result.lagSeconds = Math.max(result.lagSeconds ?? 0, lag);
  const list = lags.get(result) ?? [];
  list.push(lag);
  // The sample keeps the newest 1,000: a first pass of 50,000 copies holds no more than 2,000.
  if (list.length > 2 * LAG_SAMPLE_SIZE) list.splice(0, list.length - LAG_SAMPLE_SIZE);
  lags.set(result, list);
}

/**
 * The mirror lags (seconds from INTERNALDATE on production to the copy being recorded) of the
 * messages copied into `result`, in copy order.
 */
export function lagsOf(result: MailboxResult): number[] {
  return lags.get(result) ?? [];
}

/** Writes one prepared message; returns what was written (it may have become a placeholder). */
async function appendOne(
  c: CopyContext,
  p: Prepared,
): Promise<{ p: Prepared; uid: number | null }> {
  try {
    return { p, uid: await appendPrepared(c, p) };
  } catch (e) {
    // Refused for its size by the backup's own limit, which vmirror's limits did not foresee
    // (Cyrus's maxmessagesize: "NO [TOOBIG] Message size exceeds fixed limit"): it can never be
    // stored there, so it is kept here and a placeholder stands in for it, as for an
    // over-length message; the mailbox does not fail.
    if (!isTooBig(e) || p.decision.kind !== "copy") throw e;
    const stand = await refusedForSize(c, p);
    c.result.warnings.push(
      `"${c.folder}": the backup refused UID ${p.meta.uid} (${p.body.size} bytes) as over its ` +
        `size limit; a placeholder stands in for it, the original is kept as "${stand.keptAs}"`,
    );
    return { p: stand, uid: await appendPrepared(c, stand) };
  }
}

/** APPENDs a prepared message: a spooled one streamed, others from memory. */
async function appendPrepared(c: CopyContext, p: Prepared): Promise<number | null> {
  const { mailbox, folder, uidValidity, tf } = c;
  const origin = { mailbox, folder, uid: p.meta.uid, uidValidity, kind: p.decision.kind };
  if (!p.payload && p.body.path && tf.appendFile) {
    return await tf.appendFile(p.body.path, p.body.size, p.flags, p.meta.internalDate, origin);
  }
  const bytes = p.payload ?? p.body.bytes ?? await Deno.readFile(p.body.path!);
  return await tf.append(bytes, p.flags, p.meta.internalDate, origin);
}

/**
 * A copy the backup refused for its size, turned into a placeholder: the original kept, the
 * intent re-recorded for the placeholder's bytes before they are written (exactly once).
 */
async function refusedForSize(c: CopyContext, p: Prepared): Promise<Prepared> {
  const { state, mailbox, folder, uidValidity } = c;
  const info = classifyMessage(p.body.head, {
    broadcastRules: c.config.rules.compiled,
    elided: p.body.elided,
  });
  const decision = { kind: "placeholder", reason: "too-big" } as const;
  const { payload, keptAs } = await standIn(c, p.meta, p.body, info, decision, {
    refused: true,
  });
  const intent: Intent = {
    ...p.intent,
    messageId: topMessageId(payload),
    size: payload.length,
    kind: "placeholder",
    startedAt: new Date().toISOString(),
    digest: sha256Hex(payload),
    keptAs,
  };
  await putIntents(state, { mailbox, folder, uidValidity }, [intent]);
  return { ...p, decision, payload, keptAs, intent };
}

/**
 * Keeps the original under <data>/originals and builds the placeholder that stands in for it;
 * `refused`: the backup's own limit, of unknown size, not one of vmirror's, was exceeded.
 */
async function standIn(
  c: CopyContext,
  meta: MessageMeta,
  body: Body,
  info: ReturnType<typeof classifyMessage>,
  decision: Extract<CopyDecision, { kind: "placeholder" }>,
  opts: { refused?: boolean } = {},
): Promise<{ payload: Uint8Array; keptAs: string }> {
  const { config, mailbox, folder, uidValidity } = c;
  const key = { mailbox, folder, uidValidity, uid: meta.uid };
  const root = join(config.dataDir, "originals");
  const keptAs = body.path
    ? await keepOriginalFile(root, key, body.path)
    : await keepOriginal(root, { ...key, bytes: body.bytes! });
  body.path = undefined; // moved: nothing to clean up
  const payload = buildPlaceholder(info, {
    reason: decision.reason,
    seconds: info.durationSeconds,
    bytes: body.size,
    limitSeconds: config.limits.maxMessageSeconds ?? undefined,
    limitBytes: opts.refused ? undefined : config.limits.maxMessageBytes ?? undefined,
    keptAs,
    hostname: Deno.hostname(),
    // Deterministic bytes, so an interrupted placeholder is recognised by its size.
    now: meta.internalDate,
  });
  return { payload, keptAs };
}

async function prepare(
  c: CopyContext,
  scanned: MessageMeta,
  body: Body,
): Promise<Prepared | { skip: MapEntry }> {
  const { config, tf } = c;
  // Metadata from the folder scan has no Message-ID: the body's header gives it, read the way
  // a FETCH of HEADER.FIELDS (MESSAGE-ID) gives it, so intents and records hold the real one.
  const meta = scanned.messageId === null
    ? { ...scanned, messageId: topMessageId(body.head) }
    : scanned;
  const info = classifyMessage(body.head, {
    broadcastRules: config.rules.compiled,
    elided: body.elided,
  });
  const decision = decideCopy(
    { broadcast: info.broadcast, durationSeconds: info.durationSeconds, size: body.size },
    { ...config.limits, placeholders: c.target.placeholders },
  );
  const internalDate = meta.internalDate.toISOString();
  if (decision.kind === "skip") {
    return {
      skip: {
        srcUid: meta.uid,
        messageId: meta.messageId,
        internalDate,
        size: body.size,
        targetUid: 0,
        kind: "skipped",
        reason: decision.reason,
        flags: [],
      },
    };
  }
  const { flags } = mirrorFlags(meta.flags, tf.allowFlag);
  let payload: Uint8Array | undefined;
  let keptAs: string | undefined;
  if (decision.kind === "placeholder") {
    ({ payload, keptAs } = await standIn(c, meta, body, info, decision));
  }
  const size = payload ? payload.length : body.size;
  return {
    meta,
    body,
    decision,
    payload,
    flags,
    keptAs,
    intent: {
      srcUid: meta.uid,
      messageId: payload ? topMessageId(payload) : meta.messageId,
      internalDate,
      size,
      srcMessageId: meta.messageId,
      srcSize: body.size,
      kind: decision.kind,
      startedAt: new Date().toISOString(),
      digest: payload ? sha256Hex(payload) : body.digest,
      keptAs,
    },
  };
}

async function spool(c: CopyContext, meta: MessageMeta): Promise<Body> {
  const dir = join(c.config.dataDir, "spool");
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, `${crypto.randomUUID()}.eml`);
  try {
    const skeleton = new SkeletonBuilder();
    const hash = sha256Stream();
    const size = await withImapContext(
      sourceContext(c, `fetch UID ${meta.uid} of "${c.folder}"`),
      () =>
        spoolSource(c.source, meta.uid, path, (chunk) => {
          skeleton.push(chunk);
          hash.update(chunk);
        }),
    );
    const { bytes: head, elisions } = skeleton.finish();
    return { size, path, head, elided: elisions, digest: hash.digest("hex") };
  } catch (e) {
    await Deno.remove(path).catch(() => {});
    throw e;
  }
}

/**
 * Gives a body's memory back at once. A body lives across round trips, so it usually outlives
 * V8's young-generation collections, and then it would wait for a full collection, which V8
 * starts only after tens of MB of such buffers: with eight mailboxes copying, most of the peak
 * RSS. Detaching the ArrayBuffer (`transfer(0)`) frees it now. Only a buffer the view covers
 * whole is detached: the source hands out bodies the copy owns (engine/imap/wire.ts reads each
 * literal into a buffer of its own), and targets keep no reference once an append has settled
 * (engine/target/target.ts).
 */
function release(bytes: Uint8Array | undefined): void {
  const buffer = bytes?.buffer;
  if (
    buffer instanceof ArrayBuffer && !buffer.detached && bytes!.byteOffset === 0 &&
    bytes!.byteLength === buffer.byteLength
  ) buffer.transfer(0);
}

function sourceContext(c: CopyContext, operation: string): ImapContext {
  return { server: c.config.source.name, mailbox: c.mailbox, operation };
}

/**
 * Copies one message's source into a file in chunks of BODY.PEEK[]<offset.length>, so a
 * message of any size costs one chunk of memory; each chunk is also handed to `seen`. Returns
 * the bytes written.
 */
async function spoolSource(
  session: MessageSource,
  uid: number,
  path: string,
  seen: (chunk: Uint8Array) => void,
  chunkBytes = 1024 * 1024,
): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  let offset = 0;
  try {
    for (;;) {
      const chunk = await session.fetchRange(uid, offset, chunkBytes);
      if (!chunk) throw new Error(`UID ${uid} vanished while it was read`);
      const n = chunk.length;
      let off = 0;
      while (off < n) off += await file.write(chunk.subarray(off));
      seen(chunk);
      release(chunk);
      offset += n;
      if (n < chunkBytes) break;
    }
    await file.sync();
  } finally {
    file.close();
  }
  return offset;
}
