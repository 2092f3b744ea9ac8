/**
 * UID FETCH, read-only on production: flags, sizes and dates (a flag scan, CONDSTORE-aware),
 * identities (with the Message-ID header), whole bodies and byte ranges, always BODY.PEEK so
 * \Seen stays as it is.
 * @module
 */
import { expectOk, type Runner } from "../command.ts";
import { uidSet } from "../encode.ts";
import {
  type FetchedIdentity,
  type FlagScan,
  parseBody,
  parseBodyRange,
  parseFlagScan,
  parseIdentity,
} from "../parse.ts";

// UIDs per identity FETCH: keeps a command line well inside servers' limits.
const IDENTITY_BATCH = 1000;

/**
 * Flags, size and INTERNALDATE of every message of the selected folder, or with
 * `changedSince` (CONDSTORE) of those whose flags changed or that arrived since that modseq.
 */
export async function fetchFlags(
  runner: Runner,
  opts: { changedSince?: string } = {},
): Promise<Map<number, FlagScan>> {
  const out = new Map<number, FlagScan>();
  if (runner.exists === 0) return out;
  const modifier = opts.changedSince !== undefined ? ` (CHANGEDSINCE ${opts.changedSince})` : "";
  const done = await runner.run(
    [`UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)${modifier}`],
    (r) => {
      const item = parseFlagScan(r.text);
      if (item) out.set(item.uid, item);
    },
  );
  expectOk("UID FETCH", done);
  return out;
}

/** Whole sources (BODY.PEEK[]) of the given UIDs, by UID; a UID expunged meanwhile is absent. */
export async function fetchBodies(
  runner: Runner,
  uids: number[],
): Promise<Map<number, Uint8Array>> {
  const out = new Map<number, Uint8Array>();
  if (!uids.length) return out;
  const done = await runner.run([`UID FETCH ${uidSet(uids)} (UID BODY.PEEK[])`], (r) => {
    const body = parseBody(r);
    if (body) out.set(body.uid, body.bytes);
  });
  expectOk("UID FETCH", done);
  return out;
}

/** Up to `length` bytes of a message's source from `offset` (BODY.PEEK[]<offset.length>). */
export async function fetchRange(
  runner: Runner,
  uid: number,
  range: { offset: number; length: number },
): Promise<Uint8Array | null> {
  let chunk: Uint8Array | null = null;
  const done = await runner.run(
    [`UID FETCH ${uid} (UID BODY.PEEK[]<${range.offset}.${range.length}>)`],
    (r) => {
      const part = parseBodyRange(r);
      if (part?.uid === uid) chunk = part.bytes;
    },
  );
  expectOk("UID FETCH", done);
  return chunk;
}

/** UID, size, INTERNALDATE, Message-ID and flags of the given UIDs, ascending by UID. */
export async function fetchIdentities(runner: Runner, uids: number[]): Promise<FetchedIdentity[]> {
  const out: FetchedIdentity[] = [];
  for (let i = 0; i < uids.length; i += IDENTITY_BATCH) {
    const set = uidSet(uids.slice(i, i + IDENTITY_BATCH));
    const done = await runner.run(
      [`UID FETCH ${set} (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])`],
      (r) => {
        const item = parseIdentity(r);
        if (item) out.push(item);
      },
    );
    expectOk("UID FETCH", done);
  }
  return out.sort((a, b) => a.uid - b.uid);
}
