import assert from "node:assert/strict";
import {
  audit,
  type AuditEntry,
  auditMatches,
  closeState,
  listAudit,
  openState,
  pruneAudit,
  queryAudit,
  recentAuditActions,
  type State,
} from "./mod.ts";

async function withState(fn: (state: State) => Promise<void>) {
  const state = await openState(":memory:");
  try {
    await fn(state);
  } finally {
    closeState(state);
  }
}

// One entry a minute from 2026-03-01 00:00 UTC, cycling through actors and actions.
async function seed(state: State, n: number) {
  const t0 = Date.parse("2026-03-01T00:00:00.000Z");
  const rows: [string, string, Record<string, unknown>][] = [
    ["subscriber:4001", "login", {}],
    ["subscriber:4002", "forward", { folder: "INBOX", uid: 1, to: "a@example.com" }],
    ["admin:admin", "settings-change", { changes: [{ path: "a", from: 1, to: 2 }] }],
    ["admin:admin", "subscribe", { mailboxes: ["4001", "4003"] }],
    ["token:ci", "sync", { mailbox: "4002" }],
    ["subscriber:4001", "login-failed", {}],
  ];
  for (let i = 0; i < n; i++) {
    const [actor, action, detail] = rows[i % rows.length];
    await audit(state, { at: new Date(t0 + i * 60_000).toISOString(), actor, action, detail });
  }
}

Deno.test("queryAudit() with no filter pages newest first", async () => {
  await withState(async (state) => {
    await seed(state, 12);
    const p1 = await queryAudit(state, { pageSize: 5 });
    assert.equal(p1.items.length, 5);
    assert.equal(p1.hasMore, true);
    assert.equal(p1.items[0].at, "2026-03-01T00:11:00.000Z");
    const p3 = await queryAudit(state, { page: 3, pageSize: 5 });
    assert.deepEqual(p3.items.map((e) => e.at), [
      "2026-03-01T00:01:00.000Z",
      "2026-03-01T00:00:00.000Z",
    ]);
    assert.equal(p3.hasMore, false);
    const exact = await queryAudit(state, { page: 2, pageSize: 6 });
    assert.equal(exact.items.length, 6);
    assert.equal(exact.hasMore, false);
    assert.deepEqual((await queryAudit(state, { page: 9, pageSize: 5 })).items, []);
  });
});

Deno.test("queryAudit() filters by who, action (exact or prefix) and mailbox", async () => {
  await withState(async (state) => {
    await seed(state, 12);
    const actions = async (q: Parameters<typeof queryAudit>[1]) =>
      (await queryAudit(state, q)).items.map((e) => e.action);
    assert.deepEqual(await actions({ who: "ADMIN" }), [
      "subscribe",
      "settings-change",
      "subscribe",
      "settings-change",
    ]);
    assert.deepEqual(await actions({ action: "login" }), ["login", "login"]);
    assert.deepEqual(await actions({ action: "login*" }), [
      "login-failed",
      "login",
      "login-failed",
      "login",
    ]);
    // 4001: its own actions and the subscribe naming it among `mailboxes`.
    assert.deepEqual(await actions({ mailbox: "4001", pageSize: 4 }), [
      "login-failed",
      "subscribe",
      "login",
      "login-failed",
    ]);
    // 4002: its own forwards and the sync naming it as `mailbox`.
    assert.deepEqual(await actions({ mailbox: "4002" }), ["sync", "forward", "sync", "forward"]);
    assert.deepEqual(await actions({ mailbox: "4002", action: "forward", who: "4002" }), [
      "forward",
      "forward",
    ]);
    assert.deepEqual(await actions({ mailbox: "400" }), []);
    assert.deepEqual(await actions({ who: "nobody" }), []);
  });
});

Deno.test("queryAudit() reads only the date range: from inclusive, to exclusive", async () => {
  await withState(async (state) => {
    await seed(state, 12);
    const r = await queryAudit(state, {
      from: new Date("2026-03-01T00:03:00.000Z"),
      to: new Date("2026-03-01T00:06:00.000Z"),
    });
    assert.deepEqual(r.items.map((e) => e.at.slice(11, 16)), ["00:05", "00:04", "00:03"]);
    assert.equal(r.scanned, 3, "only the range is read");
    const from = await queryAudit(state, { from: new Date("2026-03-01T00:10:00.000Z") });
    assert.equal(from.items.length, 2);
    const to = await queryAudit(state, { to: new Date("2026-03-01T00:02:00.000Z") });
    assert.deepEqual(to.items.map((e) => e.action), ["forward", "login"]);
    const backwards = await queryAudit(state, {
      from: new Date("2026-03-02T00:00:00.000Z"),
      to: new Date("2026-03-01T00:00:00.000Z"),
    });
    assert.deepEqual(backwards.items, []);
    await assert.rejects(() => queryAudit(state, { from: new Date("junk") }), RangeError);
  });
});

Deno.test("auditMatches() never matches a mailbox by a prefix of the actor", () => {
  const e: AuditEntry = { at: "", actor: "subscriber:40012", action: "play" };
  assert.equal(auditMatches(e, { mailbox: "4001" }), false);
  assert.equal(auditMatches(e, { mailbox: "40012" }), true);
  assert.equal(auditMatches(e, { who: "0012" }), true);
  assert.equal(auditMatches({ ...e, detail: { mailboxes: "4001" } }, { mailbox: "4001" }), false);
});

Deno.test("pruneAudit() deletes what is older than the date, in batches", async () => {
  await withState(async (state) => {
    await seed(state, 1300);
    const cut = new Date(Date.parse("2026-03-01T00:00:00.000Z") + 1100 * 60_000);
    assert.equal(await pruneAudit(state, cut), 1100);
    const left = await listAudit(state, 1000);
    assert.equal(left.length, 200);
    assert.equal(left.at(-1)!.at, cut.toISOString());
    assert.equal(await pruneAudit(state, cut), 0);
  });
});

Deno.test("audit() replaces an oversized detail by a note of its size", async () => {
  await withState(async (state) => {
    await audit(state, { actor: "admin:a", action: "big", detail: { blob: "x".repeat(40_000) } });
    const [e] = await listAudit(state, 1);
    assert.equal(e.detail?.truncated, true);
    assert.deepEqual(e.detail?.keys, ["blob"]);
  });
});

Deno.test("recentAuditActions() lists the distinct recent actions, sorted", async () => {
  await withState(async (state) => {
    await seed(state, 12);
    assert.deepEqual(await recentAuditActions(state), [
      "forward",
      "login",
      "login-failed",
      "settings-change",
      "subscribe",
      "sync",
    ]);
    assert.deepEqual(await recentAuditActions(state, 1), ["login-failed"]);
  });
});

Deno.test("queryAudit() stays quick over 100,000 entries", async () => {
  await withState(async (state) => {
    const t0 = Date.parse("2025-01-01T00:00:00.000Z");
    const n = 100_000;
    for (let i = 0; i < n; i += 500) {
      const op = state.kv.atomic();
      for (let j = i; j < i + 500; j++) {
        const at = new Date(t0 + j * 60_000).toISOString();
        const actor = j === 1234 ? "subscriber:4999" : `subscriber:${4000 + (j % 50)}`;
        op.set(["audit", at, crypto.randomUUID()], { at, actor, action: "play" });
      }
      await op.commit();
    }
    const timed = async (q: Parameters<typeof queryAudit>[1]) => {
      const start = performance.now();
      const r = await queryAudit(state, q);
      return { r, ms: performance.now() - start };
    };
    const first = await timed({ pageSize: 50 });
    assert.equal(first.r.items.length, 50);
    assert.equal(first.r.scanned, 51);
    const day = await timed({
      from: new Date(t0 + 50_000 * 60_000),
      to: new Date(t0 + 51_440 * 60_000),
      who: "4007",
    });
    assert.ok(day.r.scanned <= 1440, `scanned ${day.r.scanned}`);
    // The worst case: one match in the whole store, so every entry is read.
    const rare = await timed({ mailbox: "4999" });
    assert.equal(rare.r.items.length, 1);
    assert.equal(rare.r.scanned, n);
    console.log(
      `audit search over ${n} entries: first page ${first.ms.toFixed(1)} ms, ` +
        `one day ${day.ms.toFixed(1)} ms, full scan ${rare.ms.toFixed(0)} ms`,
    );
    assert.ok(first.ms < 500, `first page took ${first.ms} ms`);
    assert.ok(rare.ms < 10_000, `full scan took ${rare.ms} ms`);
  });
});
