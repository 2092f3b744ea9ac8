import assert from "node:assert/strict";
import { join } from "node:path";
import { type Config, type SourceConfig, validateConfig } from "../config/mod.ts";
import type { MessageMeta } from "../imap/mod.ts";
import {
  closeState,
  type FolderKey,
  listIntents,
  listMap,
  type MailboxResult,
  openState,
  recordCopies,
  type State,
} from "../state/mod.ts";
import {
  type MessageIdentity,
  type MirrorTarget,
  pickCandidate,
  sameIdentity,
  sha256Hex,
  type TargetFolder,
  type TargetMessage,
} from "../target/mod.ts";
import { type CopyContext, copyMessages, type MessageSource } from "./copy.ts";
import { tempDir } from "../../tests/test_utils/mod.ts";

// In-process tests of copying: a fake source (a map of bodies) and an in-memory target folder,
// a fake, stand in for the servers; the state is a real in-memory Deno KV. The lab suites test
// the same paths against Dovecot and the file store.

const KEY: FolderKey = { mailbox: "4021", folder: "INBOX", uidValidity: 7 };
const DATE = new Date("2024-05-01T10:00:00Z");

function message(uid: number, opts: { headers?: string[]; body?: string } = {}): Uint8Array {
  return new TextEncoder().encode(
    [
      `Message-ID: <m${uid}@mss1>`,
      "From: 4100@mss1",
      ...(opts.headers ?? []),
      "",
      opts.body ?? `Voice message ${uid}`,
      "",
    ].join("\r\n"),
  );
}

/** A fake source: the folder's bodies by UID, counting what was asked for. */
class FakeSource implements MessageSource {
  readonly batches: number[][] = [];
  ranges = 0;
  constructor(readonly bodies: Map<number, Uint8Array>) {}
  fetchBodies(uids: number[]): Promise<Map<number, Uint8Array>> {
    this.batches.push(uids);
    const out = new Map<number, Uint8Array>();
    // Fresh buffers, as the wire hands them out: the copy frees them once written.
    for (const uid of uids) if (this.bodies.has(uid)) out.set(uid, this.bodies.get(uid)!.slice());
    return Promise.resolve(out);
  }
  fetchRange(uid: number, offset: number, length: number): Promise<Uint8Array | null> {
    this.ranges++;
    const body = this.bodies.get(uid);
    return Promise.resolve(body ? body.slice(offset, offset + length) : null);
  }
}

interface Stored extends TargetMessage {
  bytes: Uint8Array;
  flags: string[];
}

/** An in-memory target folder, a fake: UIDs from 1, UIDPLUS and MULTIAPPEND as asked. */
class MemoryFolder implements TargetFolder {
  readonly uidValidity = 99;
  readonly messages: Stored[] = [];
  appends = 0;
  appendManyCalls = 0;
  /** Throw on the n-th append (1-based), as a server that drops the connection. */
  failOnAppend = 0;
  appendMany?: TargetFolder["appendMany"];
  constructor(readonly opts: { uidPlus: boolean; multiappend?: boolean }) {
    if (opts.multiappend) {
      this.appendMany = (items) => {
        this.appendManyCalls++;
        return Promise.resolve(items.map((i) => this.store(i.bytes, i.flags, i.internalDate)));
      };
    }
  }
  allowFlag(): boolean {
    return true;
  }
  listUids(): Promise<Set<number>> {
    return Promise.resolve(new Set(this.messages.map((m) => m.uid)));
  }
  append(bytes: Uint8Array, flags: string[], internalDate: Date): Promise<number | null> {
    if (++this.appends === this.failOnAppend) {
      return Promise.reject(new Error("Connection closed during APPEND"));
    }
    return Promise.resolve(this.store(bytes, flags, internalDate));
  }
  find(identity: MessageIdentity, opts = {}): Promise<number | null> {
    const candidates = this.messages.filter((m) => sameIdentity(m, identity));
    return pickCandidate(candidates, { ...opts, digests: (uids) => this.digests(uids) });
  }
  digests(uids: number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (const m of this.messages) if (uids.includes(m.uid)) out.set(m.uid, sha256Hex(m.bytes));
    return Promise.resolve(out);
  }
  listAll(): Promise<TargetMessage[]> {
    return Promise.resolve(this.messages.map(({ uid, messageId, internalDate, size }) => ({
      uid,
      messageId,
      internalDate,
      size,
    })));
  }
  setFlags(uid: number, flags: string[]): Promise<void> {
    const m = this.messages.find((m) => m.uid === uid);
    if (m) m.flags = flags;
    return Promise.resolve();
  }
  remove(uids: number[]): Promise<void> {
    for (const uid of uids) {
      const i = this.messages.findIndex((m) => m.uid === uid);
      if (i >= 0) this.messages.splice(i, 1);
    }
    return Promise.resolve();
  }
  store(bytes: Uint8Array, flags: string[], internalDate: Date): number | null {
    const uid = (this.messages.at(-1)?.uid ?? 0) + 1;
    const head = new TextDecoder().decode(bytes.subarray(0, 200));
    const messageId = /^Message-ID: (<[^>]+>)/m.exec(head)?.[1] ?? null;
    // A copy: the bytes are the caller's again once the append has settled.
    this.messages.push({
      uid,
      messageId,
      internalDate,
      size: bytes.length,
      bytes: bytes.slice(),
      flags,
    });
    return this.opts.uidPlus ? uid : null;
  }
}

function metaOf(uid: number, bytes: Uint8Array, messageId: string | null = null): MessageMeta {
  return { uid, size: bytes.length, internalDate: DATE, messageId, flags: ["\\Seen"] };
}

function emptyResult(): MailboxResult {
  return {
    mailbox: KEY.mailbox,
    ok: true,
    startedAt: DATE.toISOString(),
    finishedAt: DATE.toISOString(),
    copied: 0,
    deleted: 0,
    flagsUpdated: 0,
    placeholders: 0,
    skipped: {},
    warnings: [],
  };
}

interface Rig extends AsyncDisposable {
  state: State;
  context(source: MessageSource, tf: TargetFolder): CopyContext;
}

// A data dir, an in-memory state and a config; all released when the test's scope ends.
async function rig(raw: Record<string, unknown> = {}): Promise<Rig> {
  const dir = await tempDir("copy");
  const config = await validateConfig({
    source: { host: "mss1", trustedUser: "vmirror", trustedPassword: "s3cret" },
    target: { type: "files", root: join(dir.path, "store") },
    ...raw,
  }, { file: null, dataDir: dir.path }) as Config & { source: SourceConfig };
  const state = await openState(":memory:");
  const target: MirrorTarget = {
    name: "memory",
    placeholders: false,
    openFolder: () => Promise.reject(new Error("not used by copyMessages()")),
    close: () => Promise.resolve(),
  };
  return {
    state,
    context: (source, tf) => ({
      config,
      state,
      ...KEY,
      source,
      target,
      tf,
      result: emptyResult(),
    }),
    async [Symbol.asyncDispose]() {
      closeState(state);
      await dir[Symbol.asyncDispose]();
    },
  };
}

function corpus(count: number): Map<number, Uint8Array> {
  return new Map(Array.from({ length: count }, (_, i) => [i + 1, message(i + 1)]));
}

Deno.test("copyMessages() fetches in batches of 50 and records every copy in the map", async () => {
  await using r = await rig();
  const bodies = corpus(120);
  const source = new FakeSource(bodies);
  const tf = new MemoryFolder({ uidPlus: true });
  const c = r.context(source, tf);
  await copyMessages(c, [...bodies].map(([uid, b]) => metaOf(uid, b)));
  assert.deepEqual(source.batches.map((b) => b.length), [50, 50, 20]);
  assert.equal(tf.messages.length, 120);
  assert.equal(c.result.copied, 120);
  const map = await listMap(r.state, KEY);
  assert.equal(map.length, 120);
  for (const e of map) {
    assert.equal(e.kind, "copy");
    assert.equal(e.targetUidValidity, 99);
    assert.equal(e.messageId, `<m${e.srcUid}@mss1>`, "the Message-ID is read from the body");
    assert.deepEqual(tf.messages.find((m) => m.uid === e.targetUid)?.bytes, bodies.get(e.srcUid));
  }
  assert.deepEqual(await listIntents(r.state, KEY), [], "no intent stays open");
});

Deno.test("copyMessages() writes a batch with one MULTIAPPEND when the target offers it", async () => {
  await using r = await rig();
  const bodies = corpus(7);
  const tf = new MemoryFolder({ uidPlus: true, multiappend: true });
  await copyMessages(
    r.context(new FakeSource(bodies), tf),
    [...bodies].map(([u, b]) => metaOf(u, b)),
  );
  assert.equal(tf.appendManyCalls, 1);
  assert.equal(tf.appends, 0);
  assert.equal((await listMap(r.state, KEY)).length, 7);
});

Deno.test("without UIDPLUS a copy is found by identity and digest, never a UID already taken", async () => {
  await using r = await rig();
  const bodies = corpus(2);
  const tf = new MemoryFolder({ uidPlus: false });
  // The target already holds a message with message 1's identity but other bytes (same size),
  // and a true copy of message 2 that the map already gives to source UID 2 of an earlier pass.
  const impostor = message(1, { body: "Voice message X" });
  assert.equal(impostor.length, bodies.get(1)!.length);
  tf.store(impostor, [], DATE);
  tf.store(bodies.get(2)!, [], DATE);
  await recordCopies(r.state, KEY, [{
    srcUid: 2,
    messageId: "<m2@mss1>",
    internalDate: DATE.toISOString(),
    size: bodies.get(2)!.length,
    targetUid: 2,
    kind: "copy",
    flags: [],
  }]);
  // Source UID 3 is the same message delivered again: identical bytes, a copy of its own.
  bodies.set(3, bodies.get(2)!);
  const c = r.context(new FakeSource(bodies), tf);
  await copyMessages(c, [metaOf(1, bodies.get(1)!), metaOf(3, bodies.get(3)!)]);
  const map = new Map((await listMap(r.state, KEY)).map((e) => [e.srcUid, e.targetUid]));
  assert.equal(map.get(1), 3, "the impostor at UID 1 is not message 1's copy");
  assert.equal(map.get(3), 4, "UID 2 belongs to source UID 2 already");
});

Deno.test("an APPEND that fails leaves the batch's intents open and records nothing", async () => {
  await using r = await rig();
  const bodies = corpus(5);
  const tf = new MemoryFolder({ uidPlus: true });
  tf.failOnAppend = 3;
  const c = r.context(new FakeSource(bodies), tf);
  await assert.rejects(
    copyMessages(c, [...bodies].map(([u, b]) => metaOf(u, b))),
    /Connection closed during APPEND/,
  );
  assert.equal(tf.messages.length, 2, "two copies landed before the failure");
  assert.deepEqual(await listMap(r.state, KEY), []);
  const intents = await listIntents(r.state, KEY);
  assert.deepEqual(intents.map((i) => i.srcUid).sort(), [1, 2, 3, 4, 5]);
  for (const i of intents) assert.equal(i.digest, sha256Hex(bodies.get(i.srcUid)!));
  assert.equal(c.result.copied, 0);
});

Deno.test("broadcast messages are recorded as skipped and never appended", async () => {
  await using r = await rig({
    rules: { broadcast: [{ header: "X-Broadcast", pattern: "^yes$" }] },
  });
  const bodies = new Map([
    [1, message(1)],
    [2, message(2, { headers: ["X-Broadcast: yes"] })],
  ]);
  const tf = new MemoryFolder({ uidPlus: true });
  const c = r.context(new FakeSource(bodies), tf);
  await copyMessages(c, [...bodies].map(([u, b]) => metaOf(u, b)));
  assert.equal(tf.messages.length, 1);
  const map = await listMap(r.state, KEY);
  const skipped = map.find((e) => e.srcUid === 2);
  assert.equal(skipped?.kind, "skipped");
  assert.equal(skipped?.reason, "broadcast");
  assert.deepEqual(c.result.skipped, { broadcast: 1 });
  assert.equal(c.result.copied, 1);
});

Deno.test("a message over 4 MiB is streamed in ranges through a spool file", async () => {
  await using r = await rig();
  const big = new Uint8Array(5 * 1024 * 1024 + 123).fill(0x61);
  big.set(message(1));
  const bodies = new Map([[1, big]]);
  const source = new FakeSource(bodies);
  const tf = new MemoryFolder({ uidPlus: true });
  const c = r.context(source, tf);
  await copyMessages(c, [metaOf(1, big)]);
  assert.deepEqual(source.batches, [], "no whole-body fetch");
  assert.equal(source.ranges, 6, "five 1 MiB ranges and the tail");
  assert.deepEqual(tf.messages[0].bytes, big);
  assert.equal((await listMap(r.state, KEY))[0].messageId, "<m1@mss1>");
  const spool = [...Deno.readDirSync(join(c.config.dataDir, "spool"))];
  assert.deepEqual(spool, [], "the spool file is removed");
});
