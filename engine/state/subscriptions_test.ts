import assert from "node:assert/strict";
import {
  addSubscriptions,
  closeState,
  countMirroredByFolder,
  countSubscriptions,
  getMailboxResults,
  getSubscription,
  listSubscriptionPage,
  listSubscriptions,
  type MailboxResult,
  type MapEntry,
  openState,
  putMailboxResult,
  putMapEntries,
  removeSubscriptions,
  type State,
} from "./mod.ts";

async function withState(fn: (state: State) => Promise<void>): Promise<void> {
  const state = await openState(":memory:");
  try {
    await fn(state);
  } finally {
    closeState(state);
  }
}

const ids = (n: number, from = 100000) => Array.from({ length: n }, (_, i) => String(from + i));

Deno.test("addSubscriptions() and removeSubscriptions() handle lists longer than one atomic batch", async () => {
  await withState(async (state) => {
    const list = ids(1234);
    const added = await addSubscriptions(state, [...list, list[0]], { origin: "directory" });
    assert.deepEqual(added, list);
    assert.equal(await countSubscriptions(state), 1234);
    // A manual subscribe of some pins them, reports none as new and keeps their date.
    const before = await getSubscription(state, list[500]);
    assert.deepEqual(await addSubscriptions(state, list.slice(500, 700), { origin: "manual" }), []);
    const after = await getSubscription(state, list[500]);
    assert.equal(after?.origin, "manual");
    assert.equal(after?.addedAt, before?.addedAt);
    assert.equal((await getSubscription(state, list[499]))?.origin, "directory");
    const removed = await removeSubscriptions(state, [...list.slice(0, 300), "999", list[0]]);
    assert.deepEqual(removed, list.slice(0, 300));
    assert.equal((await listSubscriptions(state)).length, 934);
  });
});

Deno.test("listSubscriptionPage() pages in mailbox order and counts every match of a search", async () => {
  await withState(async (state) => {
    await addSubscriptions(state, [...ids(250), "alice@corp.lab", "Bob@corp.lab"]);
    const all = await listSubscriptionPage(state, { offset: 100, limit: 50 });
    assert.equal(all.total, 252);
    assert.deepEqual(all.items.map((s) => s.mailbox), ids(50, 100100));
    const tail = await listSubscriptionPage(state, { offset: 250, limit: 50 });
    assert.deepEqual(tail.items.map((s) => s.mailbox), ["Bob@corp.lab", "alice@corp.lab"]);
    const q = await listSubscriptionPage(state, { q: "0019", limit: 5 });
    // 100019, 100190..100199
    assert.equal(q.total, 11);
    assert.deepEqual(q.items.map((s) => s.mailbox), [
      "100019",
      "100190",
      "100191",
      "100192",
      "100193",
    ]);
    assert.equal((await listSubscriptionPage(state, { q: "CORP" })).total, 2);
    assert.equal((await listSubscriptionPage(state, { q: "  " })).total, 252);
    assert.deepEqual(await listSubscriptionPage(state, { q: "nothing" }), { total: 0, items: [] });
  });
});

Deno.test("getMailboxResults() reads the newest result of each named mailbox only", async () => {
  await withState(async (state) => {
    const result = (mailbox: string, ok: boolean): MailboxResult => ({
      mailbox,
      ok,
      startedAt: "2026-01-01T00:00:00.000Z",
      finishedAt: "2026-01-01T00:00:01.000Z",
      copied: 1,
      deleted: 0,
      flagsUpdated: 0,
      placeholders: 0,
      skipped: {},
      warnings: [],
    });
    for (const m of ids(25)) await putMailboxResult(state, result(m, m !== "100003"));
    const got = await getMailboxResults(state, [...ids(12), "none"]);
    assert.equal(got.size, 12);
    assert.equal(got.get("100003")?.ok, false);
    assert.equal(got.get("100004")?.ok, true);
    assert.equal(got.has("none"), false);
  });
});

Deno.test("countMirroredByFolder() counts copies, placeholders and skipped per folder", async () => {
  await withState(async (state) => {
    const entry = (srcUid: number, kind: MapEntry["kind"]): MapEntry => ({
      srcUid,
      targetUid: srcUid,
      kind,
      messageId: `<${srcUid}@x>`,
      internalDate: "2026-01-01T00:00:00.000Z",
      size: 10,
      flags: [],
    });
    await putMapEntries(state, { mailbox: "4001", folder: "INBOX", uidValidity: 1 }, [
      entry(1, "copy"),
      entry(2, "placeholder"),
      entry(3, "skipped"),
    ]);
    await putMapEntries(state, { mailbox: "4001", folder: "INBOX", uidValidity: 2 }, [
      entry(1, "copy"),
    ]);
    await putMapEntries(state, { mailbox: "4001", folder: "Greetings", uidValidity: 1 }, [
      entry(1, "copy"),
    ]);
    // Another mailbox whose name starts the same is not counted.
    await putMapEntries(state, { mailbox: "40011", folder: "INBOX", uidValidity: 1 }, [
      entry(1, "copy"),
    ]);
    assert.deepEqual(await countMirroredByFolder(state, "4001"), {
      INBOX: { mirrored: 3, placeholders: 1, skipped: 1 },
      Greetings: { mirrored: 1, placeholders: 0, skipped: 0 },
    });
    assert.deepEqual(await countMirroredByFolder(state, "none"), {});
  });
});
