import assert from "node:assert/strict";
import { join } from "node:path";
import {
  addSubscriptions,
  audit,
  closeState,
  deleteMapEntries,
  dropUidValidity,
  getCursor,
  getSettings,
  getSubscription,
  type Intent,
  listAudit,
  listDirectoryRunRecords,
  listIntents,
  listMailboxResults,
  listMap,
  listRuns,
  listSubscriptions,
  type MailboxResult,
  type MapEntry,
  mapUidValidities,
  migrate,
  openState,
  putCursor,
  putDirectoryRunRecord,
  putIntent,
  putMailboxResult,
  putMapEntries,
  putRun,
  putSettings,
  putSubscription,
  recordCopy,
  removeSubscriptions,
  type RunRecord,
  SCHEMA_VERSION,
  schemaVersion,
  type State,
  StateError,
} from "./mod.ts";

// Opens an in-memory store for `fn` and always closes it.
async function withState(fn: (state: State) => Promise<void>): Promise<void> {
  const state = await openState(":memory:");
  try {
    await fn(state);
  } finally {
    closeState(state);
  }
}

// Opens a bare in-memory KV for `fn` and always closes it.
async function withKv(fn: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(kv);
  } finally {
    kv.close();
  }
}

function entry(srcUid: number, over: Partial<MapEntry> = {}): MapEntry {
  return {
    srcUid,
    targetUid: srcUid + 1000,
    kind: "copy",
    messageId: `<m${srcUid}@mss1>`,
    internalDate: "2024-05-01T10:00:00.000Z",
    size: 1000 + srcUid,
    flags: ["\\Seen"],
    ...over,
  };
}

function intent(srcUid: number): Intent {
  return {
    srcUid,
    messageId: `<m${srcUid}@mss1>`,
    internalDate: "2024-05-01T10:00:00.000Z",
    size: 1000 + srcUid,
    srcMessageId: `<m${srcUid}@mss1>`,
    srcSize: 1000 + srcUid,
    kind: "copy",
    startedAt: "2024-05-01T10:00:01.000Z",
  };
}

function result(mailbox: string, over: Partial<MailboxResult> = {}): MailboxResult {
  return {
    mailbox,
    ok: true,
    startedAt: "2024-05-01T10:00:00.000Z",
    finishedAt: "2024-05-01T10:00:05.000Z",
    copied: 1,
    deleted: 0,
    flagsUpdated: 0,
    placeholders: 0,
    skipped: {},
    warnings: [],
    ...over,
  };
}

function run(id: string, startedAt: string): RunRecord {
  return {
    id,
    startedAt,
    finishedAt: startedAt,
    mailboxes: 1,
    failed: 0,
    copied: 0,
    deleted: 0,
    flagsUpdated: 0,
  };
}

Deno.test("openState() sets the schema version of a new store to SCHEMA_VERSION", async () => {
  await withState(async (state) => {
    assert.equal(await schemaVersion(state), SCHEMA_VERSION);
    assert.equal((await state.kv.get(["meta", "schema"])).value, SCHEMA_VERSION);
  });
});

Deno.test("openState() creates the folder of a store on disk and reopens it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vmirror-state-" });
  try {
    const path = join(dir, "a", "b", "state.kv");
    const first = await openState(path);
    try {
      await addSubscriptions(first, ["4021"]);
    } finally {
      closeState(first);
    }
    const second = await openState(path);
    try {
      assert.equal(await schemaVersion(second), SCHEMA_VERSION);
      assert.deepEqual((await listSubscriptions(second)).map((s) => s.mailbox), ["4021"]);
    } finally {
      closeState(second);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openState() refuses a store newer than the build and closes it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vmirror-state-" });
  try {
    const path = join(dir, "state.kv");
    const kv = await Deno.openKv(path);
    await kv.set(["meta", "schema"], SCHEMA_VERSION + 1);
    kv.close();
    // The resource sanitizer fails the test if the refused store is left open.
    await assert.rejects(
      openState(path),
      (e: unknown) =>
        e instanceof StateError && e.name === "StateError" && /upgrade vmirror/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("migrate() runs the steps in order, once each", async () => {
  await withKv(async (kv) => {
    const ran: number[] = [];
    const steps = [0, 1, 2].map((i) => async (k: Deno.Kv) => {
      ran.push(i);
      await k.set(["step", i], (await k.get<number>(["meta", "schema"])).value ?? 0);
    });
    assert.equal(await migrate(kv, steps), 3);
    assert.deepEqual(ran, [0, 1, 2]);
    // Each step saw the version it upgrades from.
    for (const i of [0, 1, 2]) assert.equal((await kv.get(["step", i])).value, i);
    assert.equal((await kv.get(["meta", "schema"])).value, 3);
    assert.equal(await migrate(kv, steps), 3);
    assert.deepEqual(ran, [0, 1, 2], "a second run does nothing");
  });
});

Deno.test("migrate() continues from the stored version", async () => {
  await withKv(async (kv) => {
    await kv.set(["meta", "schema"], 2);
    const ran: number[] = [];
    const steps = [0, 1, 2, 3].map((i) => (_k: Deno.Kv) => {
      ran.push(i);
      return Promise.resolve();
    });
    assert.equal(await migrate(kv, steps), 4);
    assert.deepEqual(ran, [2, 3]);
  });
});

Deno.test("migrate() refuses a store newer than the build with a StateError", async () => {
  await withKv(async (kv) => {
    await kv.set(["meta", "schema"], 5);
    let ran = false;
    await assert.rejects(
      migrate(kv, [() => {
        ran = true;
        return Promise.resolve();
      }]),
      (e: unknown) =>
        e instanceof StateError && /schema 5, newer than this build's 1/.test(e.message),
    );
    assert.equal(ran, false);
    assert.equal((await kv.get(["meta", "schema"])).value, 5, "the version is untouched");
  });
});

Deno.test("migrate() stops at a failing step and keeps the version before it", async () => {
  await withKv(async (kv) => {
    const steps = [
      () => Promise.resolve(),
      () => Promise.reject(new Error("step 1 broke")),
      () => Promise.resolve(),
    ];
    await assert.rejects(migrate(kv, steps), /step 1 broke/);
    assert.equal((await kv.get(["meta", "schema"])).value, 1);
  });
});

Deno.test("addSubscriptions() adds new mailboxes and is idempotent", async () => {
  await withState(async (state) => {
    const now = new Date("2024-05-01T12:00:00Z");
    assert.deepEqual(await addSubscriptions(state, ["4022", "4021"], { now }), ["4022", "4021"]);
    assert.deepEqual(await addSubscriptions(state, ["4021", "4023", "4023"], { now }), ["4023"]);
    assert.deepEqual(await addSubscriptions(state, ["4021"]), []);
    const subs = await listSubscriptions(state);
    assert.deepEqual(subs.map((s) => s.mailbox), ["4021", "4022", "4023"], "ordered by mailbox");
    assert.deepEqual(subs[0], { mailbox: "4021", origin: "manual", addedAt: now.toISOString() });
  });
});

Deno.test("addSubscriptions() keeps an existing subscription's origin and date", async () => {
  await withState(async (state) => {
    const first = new Date("2024-01-01T00:00:00Z");
    await addSubscriptions(state, ["4021"], { origin: "manual", now: first });
    assert.deepEqual(await addSubscriptions(state, ["4021"], { origin: "directory" }), []);
    const sub = await getSubscription(state, "4021");
    assert.equal(sub?.origin, "manual", "a directory pass does not take over a manual one");
    assert.equal(sub?.addedAt, first.toISOString());
  });
});

Deno.test("addSubscriptions() manual pins a directory subscription as manual", async () => {
  await withState(async (state) => {
    const first = new Date("2024-01-01T00:00:00Z");
    await addSubscriptions(state, ["4021"], { origin: "directory", now: first });
    assert.equal((await getSubscription(state, "4021"))?.origin, "directory");
    assert.deepEqual(await addSubscriptions(state, ["4021"], { origin: "manual" }), []);
    const sub = await getSubscription(state, "4021");
    assert.equal(sub?.origin, "manual");
    assert.equal(sub?.addedAt, first.toISOString());
    // Without an origin, an existing directory subscription stays as it is.
    await addSubscriptions(state, ["4030"], { origin: "directory" });
    await addSubscriptions(state, ["4030"]);
    assert.equal((await getSubscription(state, "4030"))?.origin, "directory");
  });
});

Deno.test("removeSubscriptions() removes and is idempotent", async () => {
  await withState(async (state) => {
    await addSubscriptions(state, ["4021", "4022"]);
    assert.deepEqual(await removeSubscriptions(state, ["4021", "9999"]), ["4021"]);
    assert.deepEqual(await removeSubscriptions(state, ["4021"]), []);
    assert.deepEqual((await listSubscriptions(state)).map((s) => s.mailbox), ["4022"]);
    assert.equal(await getSubscription(state, "4021"), null);
  });
});

Deno.test("removeSubscriptions() keeps the mailbox's mirrored data", async () => {
  await withState(async (state) => {
    await addSubscriptions(state, ["4021"]);
    await putCursor(state, { mailbox: "4021", folder: "INBOX" }, {
      uidValidity: 1,
      uidNext: 5,
      syncedAt: "t",
    });
    await recordCopy(state, { mailbox: "4021", folder: "INBOX", uidValidity: 1 }, entry(1));
    await removeSubscriptions(state, ["4021"]);
    assert.notEqual(await getCursor(state, { mailbox: "4021", folder: "INBOX" }), null);
    assert.equal(
      (await listMap(state, { mailbox: "4021", folder: "INBOX", uidValidity: 1 })).length,
      1,
    );
  });
});

Deno.test("putSubscription() replaces a record, e.g. to mark it orphaned", async () => {
  await withState(async (state) => {
    await addSubscriptions(state, ["4021"], { origin: "directory" });
    const sub = await getSubscription(state, "4021");
    assert.ok(sub);
    await putSubscription(state, { ...sub, orphanedSince: "2024-06-01T00:00:00.000Z" });
    assert.equal((await getSubscription(state, "4021"))?.orphanedSince, "2024-06-01T00:00:00.000Z");
    assert.equal((await listSubscriptions(state)).length, 1);
  });
});

Deno.test("cursors are kept per mailbox and folder, and can be forgotten", async () => {
  await withState(async (state) => {
    assert.equal(await getCursor(state, { mailbox: "4021", folder: "INBOX" }), null);
    const cursor = {
      uidValidity: 7,
      uidNext: 42,
      highestModseq: "123456789012345",
      targetUidValidity: 9,
      syncedAt: "2024-05-01T10:00:00.000Z",
    };
    await putCursor(state, { mailbox: "4021", folder: "INBOX" }, cursor);
    await putCursor(state, { mailbox: "4021", folder: "Greetings" }, { ...cursor, uidNext: 2 });
    assert.deepEqual(await getCursor(state, { mailbox: "4021", folder: "INBOX" }), cursor);
    assert.equal((await getCursor(state, { mailbox: "4021", folder: "Greetings" }))?.uidNext, 2);
    assert.equal(await getCursor(state, { mailbox: "4022", folder: "INBOX" }), null);
    await putCursor(state, { mailbox: "4021", folder: "INBOX" }, { ...cursor, uidNext: 50 });
    assert.equal((await getCursor(state, { mailbox: "4021", folder: "INBOX" }))?.uidNext, 50);
  });
});

Deno.test("listMap() lists one UIDVALIDITY's entries in source UID order", async () => {
  await withState(async (state) => {
    for (const uid of [10, 2, 9, 100]) {
      await recordCopy(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }, entry(uid));
    }
    await recordCopy(state, { mailbox: "4021", folder: "INBOX", uidValidity: 6 }, entry(1));
    await recordCopy(state, { mailbox: "4021", folder: "Greetings", uidValidity: 5 }, entry(3));
    await recordCopy(state, { mailbox: "4022", folder: "INBOX", uidValidity: 5 }, entry(4));
    assert.deepEqual(
      (await listMap(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 })).map((e) =>
        e.srcUid
      ),
      [
        2,
        9,
        10,
        100,
      ],
    );
    assert.deepEqual(
      (await listMap(state, { mailbox: "4021", folder: "INBOX", uidValidity: 6 })).map((e) =>
        e.srcUid
      ),
      [1],
    );
    assert.deepEqual(
      await listMap(state, { mailbox: "4021", folder: "INBOX", uidValidity: 7 }),
      [],
    );
    assert.deepEqual((await mapUidValidities(state, { mailbox: "4021", folder: "INBOX" })).sort(), [
      5,
      6,
    ]);
    assert.deepEqual(await mapUidValidities(state, { mailbox: "4021", folder: "Trash" }), []);
  });
});

Deno.test("listMap() keeps a folder's entries apart from a folder with a longer name", async () => {
  await withState(async (state) => {
    await recordCopy(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }, entry(1));
    await recordCopy(state, { mailbox: "4021", folder: "INBOX.Old", uidValidity: 5 }, entry(2));
    await recordCopy(state, { mailbox: "40210", folder: "INBOX", uidValidity: 5 }, entry(3));
    assert.deepEqual(
      (await listMap(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 })).map((e) =>
        e.srcUid
      ),
      [1],
    );
    assert.deepEqual(await mapUidValidities(state, { mailbox: "4021", folder: "INBOX" }), [5]);
  });
});

Deno.test("recordCopy() writes the map entry and clears the intent together", async () => {
  await withState(async (state) => {
    await putIntent(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }, intent(1));
    await putIntent(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }, intent(2));
    assert.deepEqual(
      (await listIntents(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 })).map((i) =>
        i.srcUid
      ),
      [1, 2],
    );
    const e = entry(1, { kind: "placeholder", targetMessageId: "<p1@vmirror>", targetSize: 900 });
    await recordCopy(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }, e);
    assert.deepEqual(await listMap(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }), [
      e,
    ]);
    assert.deepEqual(
      (await listIntents(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 })).map((i) =>
        i.srcUid
      ),
      [2],
    );
    // Read both keys in one snapshot: the entry is there and the intent is not.
    const [m, i] = await state.kv.getMany([
      ["map", "4021", "INBOX", 5, 1],
      ["intent", "4021", "INBOX", 5, 1],
    ]);
    assert.deepEqual(m.value, e);
    assert.equal(i.value, null);
  });
});

Deno.test("recordCopy() without an intent still records the entry", async () => {
  await withState(async (state) => {
    await recordCopy(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }, entry(3));
    assert.equal(
      (await listMap(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 })).length,
      1,
    );
    // Re-recording replaces the entry.
    await recordCopy(
      state,
      { mailbox: "4021", folder: "INBOX", uidValidity: 5 },
      entry(3, { flags: [] }),
    );
    assert.deepEqual(
      (await listMap(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }))[0].flags,
      [],
    );
  });
});

Deno.test("intents are listed per UIDVALIDITY and cleared by recording the copy", async () => {
  await withState(async (state) => {
    await putIntent(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }, intent(4));
    await putIntent(state, { mailbox: "4021", folder: "INBOX", uidValidity: 6 }, intent(5));
    assert.deepEqual(
      await listIntents(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }),
      [intent(4)],
    );
    await recordCopy(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }, entry(4));
    assert.deepEqual(
      await listIntents(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }),
      [],
    );
    assert.equal(
      (await listIntents(state, { mailbox: "4021", folder: "INBOX", uidValidity: 6 })).length,
      1,
    );
  });
});

Deno.test("putMapEntries() writes more than 1,000 entries in batches", async () => {
  await withState(async (state) => {
    const entries = Array.from({ length: 2345 }, (_, i) => entry(i + 1));
    await putMapEntries(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }, entries);
    const listed = await listMap(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 });
    assert.equal(listed.length, 2345);
    assert.deepEqual(listed.map((e) => e.srcUid), entries.map((e) => e.srcUid));
    // An update replaces entries in place.
    const updated = entries.map((e) => ({ ...e, flags: ["\\Answered", "\\Seen"] }));
    await putMapEntries(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }, updated);
    const again = await listMap(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 });
    assert.equal(again.length, 2345);
    assert.ok(again.every((e) => e.flags.length === 2));
    await putMapEntries(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }, []);
    assert.equal(
      (await listMap(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 })).length,
      2345,
    );
  });
});

Deno.test("deleteMapEntries() removes the named entries only, in batches", async () => {
  await withState(async (state) => {
    await putMapEntries(
      state,
      { mailbox: "4021", folder: "INBOX", uidValidity: 5 },
      Array.from({ length: 1500 }, (_, i) => entry(i + 1)),
    );
    await deleteMapEntries(
      state,
      { mailbox: "4021", folder: "INBOX", uidValidity: 5 },
      Array.from({ length: 1200 }, (_, i) => i + 1),
    );
    const left = await listMap(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 });
    assert.equal(left.length, 300);
    assert.equal(left[0].srcUid, 1201);
  });
});

Deno.test("dropUidValidity() drops one UIDVALIDITY's entries and intents only", async () => {
  await withState(async (state) => {
    await putMapEntries(
      state,
      { mailbox: "4021", folder: "INBOX", uidValidity: 5 },
      Array.from({ length: 1100 }, (_, i) => entry(i + 1)),
    );
    await putIntent(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }, intent(2000));
    await recordCopy(state, { mailbox: "4021", folder: "INBOX", uidValidity: 6 }, entry(1));
    await putIntent(state, { mailbox: "4021", folder: "INBOX", uidValidity: 6 }, intent(2));
    await recordCopy(state, { mailbox: "4021", folder: "Greetings", uidValidity: 5 }, entry(1));
    await dropUidValidity(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 });
    assert.deepEqual(
      await listMap(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }),
      [],
    );
    assert.deepEqual(
      await listIntents(state, { mailbox: "4021", folder: "INBOX", uidValidity: 5 }),
      [],
    );
    assert.equal(
      (await listMap(state, { mailbox: "4021", folder: "INBOX", uidValidity: 6 })).length,
      1,
    );
    assert.equal(
      (await listIntents(state, { mailbox: "4021", folder: "INBOX", uidValidity: 6 })).length,
      1,
    );
    assert.equal(
      (await listMap(state, { mailbox: "4021", folder: "Greetings", uidValidity: 5 })).length,
      1,
    );
    assert.deepEqual(await mapUidValidities(state, { mailbox: "4021", folder: "INBOX" }), [6]);
  });
});

Deno.test("putMailboxResult() keeps the newest result per mailbox", async () => {
  await withState(async (state) => {
    await putMailboxResult(state, result("4022"));
    await putMailboxResult(state, result("4021", { ok: false, error: { message: "NO" } }));
    await putMailboxResult(state, result("4021", { copied: 7 }));
    const results = await listMailboxResults(state);
    assert.deepEqual(results.map((r) => [r.mailbox, r.copied, r.ok]), [
      ["4021", 7, true],
      ["4022", 1, true],
    ]);
  });
});

Deno.test("listRuns() lists the newest runs first, up to the limit", async () => {
  await withState(async (state) => {
    await putRun(state, run("b", "2024-05-02T00:00:00.000Z"));
    await putRun(state, run("c", "2024-05-03T00:00:00.000Z"));
    await putRun(state, run("a", "2024-05-01T00:00:00.000Z"));
    assert.deepEqual((await listRuns(state)).map((r) => r.id), ["c", "b", "a"]);
    assert.deepEqual((await listRuns(state, 2)).map((r) => r.id), ["c", "b"]);
  });
});

Deno.test("listAudit() lists the newest entries first, up to the limit", async () => {
  await withState(async (state) => {
    await audit(state, { at: "2024-05-02T00:00:00.000Z", actor: "admin", action: "subscribe" });
    await audit(state, {
      at: "2024-05-03T00:00:00.000Z",
      actor: "4021",
      action: "login",
      from: "10.0.0.1",
      detail: { ok: true },
    });
    await audit(state, { at: "2024-05-01T00:00:00.000Z", actor: "admin", action: "settings" });
    const all = await listAudit(state);
    assert.deepEqual(all.map((a) => a.action), ["login", "subscribe", "settings"]);
    assert.deepEqual(all[0], {
      at: "2024-05-03T00:00:00.000Z",
      actor: "4021",
      action: "login",
      from: "10.0.0.1",
      detail: { ok: true },
    });
    assert.deepEqual((await listAudit(state, 1)).map((a) => a.action), ["login"]);
  });
});

Deno.test("audit() stamps the time when none is given and keeps same-time entries", async () => {
  await withState(async (state) => {
    const before = new Date().toISOString();
    await audit(state, { actor: "admin", action: "a" });
    await audit(state, { actor: "admin", action: "b", at: "2030-01-01T00:00:00.000Z" });
    await audit(state, { actor: "admin", action: "c", at: "2030-01-01T00:00:00.000Z" });
    const all = await listAudit(state);
    assert.equal(all.length, 3);
    assert.deepEqual(all.slice(0, 2).map((a) => a.action).sort(), ["b", "c"]);
    assert.equal(all[2].action, "a");
    assert.ok(all[2].at >= before);
  });
});

Deno.test("settings start empty and are replaced whole", async () => {
  await withState(async (state) => {
    assert.deepEqual(await getSettings(state), {});
    await putSettings(state, { portal: { sessionMinutes: 10 }, schedule: { syncSeconds: 30 } });
    await putSettings(state, { portal: { sessionMinutes: 20 } });
    assert.deepEqual(await getSettings(state), { portal: { sessionMinutes: 20 } });
  });
});

Deno.test("putDirectoryRunRecord() and listDirectoryRunRecords() list runs newest first", async () => {
  await withState(async (state) => {
    await putDirectoryRunRecord(state, { id: "b", startedAt: "2024-05-02", n: 2 });
    await putDirectoryRunRecord(state, { id: "a", startedAt: "2024-05-01", n: 1 });
    assert.deepEqual((await listDirectoryRunRecords(state)).map((r) => r.id), ["b", "a"]);
    assert.deepEqual((await listDirectoryRunRecords(state, 1)).map((r) => r.id), ["b"]);
    // The stored layout is unchanged: older stores' runs are still found.
    assert.deepEqual((await state.kv.get(["dirrun", "2024-05-01", "a"])).value, {
      id: "a",
      startedAt: "2024-05-01",
      n: 1,
    });
  });
});

Deno.test("the table functions write the documented key layout", async () => {
  await withState(async (state) => {
    const k = { mailbox: "4021", folder: "INBOX", uidValidity: 5 };
    await putIntent(state, k, intent(1));
    await recordCopy(state, k, entry(2));
    await putCursor(state, k, { uidValidity: 5, uidNext: 3, syncedAt: "t" });
    await addSubscriptions(state, ["4021"]);
    await putSettings(state, { a: 1 });
    const stored = await Array.fromAsync(state.kv.list({ prefix: [] }), (e) => e.key);
    assert.deepEqual(stored, [
      ["cursor", "4021", "INBOX"],
      ["intent", "4021", "INBOX", 5, 1],
      ["map", "4021", "INBOX", 5, 2],
      ["meta", "schema"],
      ["settings"],
      ["sub", "4021"],
    ]);
  });
});
