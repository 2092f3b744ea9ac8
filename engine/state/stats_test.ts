import assert from "node:assert/strict";
import {
  addDirectoryPassStats,
  addPassStats,
  bucketExpireIn,
  closeState,
  countOpenIntents,
  DAILY_KEEP_MS,
  dailyStats,
  dayKey,
  hourKey,
  HOURLY_KEEP_MS,
  hourlyStats,
  LAG_SAMPLE_SIZE,
  lagPercentiles,
  openState,
  percentiles,
  putIntent,
  statTotals,
} from "./mod.ts";

const none = { copied: 0, deleted: 0, placeholders: 0, skipped: {}, lags: [] };

Deno.test("bucket names are UTC hours and days", () => {
  const at = new Date("2026-03-04T05:59:59.999Z");
  assert.equal(hourKey(at), "2026-03-04T05");
  assert.equal(dayKey(at), "2026-03-04");
});

Deno.test("buckets expire 48 h (hourly) and 40 days (daily) after their start", () => {
  const start = new Date("2026-03-04T05:00:00Z");
  assert.equal(bucketExpireIn("hour", start, start), HOURLY_KEEP_MS);
  assert.equal(HOURLY_KEEP_MS, 48 * 3_600_000);
  // Written late in its hour, a bucket still goes when one written early would.
  const late = new Date("2026-03-04T05:59:00Z");
  assert.equal(bucketExpireIn("hour", start, late), HOURLY_KEEP_MS - 59 * 60_000);
  assert.equal(
    bucketExpireIn("day", new Date("2026-03-04T00:00:00Z"), late),
    DAILY_KEEP_MS - (5 * 60 + 59) * 60_000,
  );
  assert.equal(DAILY_KEEP_MS, 40 * 86_400_000);
  // Past its keeping time: nothing left to write.
  assert.ok(bucketExpireIn("hour", start, new Date(start.getTime() + HOURLY_KEEP_MS)) <= 0);
});

Deno.test("hourly and daily stats are zero-filled, oldest first, summed per bucket", async () => {
  const state = await openState(":memory:");
  try {
    const now = new Date("2026-03-04T10:30:00Z");
    const at = (iso: string) => ({ ...none, at: iso });
    await addPassStats(state, { ...at("2026-03-04T10:05:00Z"), copied: 3, deleted: 1 }, { now });
    await addPassStats(state, { ...at("2026-03-04T10:25:00Z"), copied: 2 }, { now });
    await addPassStats(state, {
      ...at("2026-03-04T08:10:00Z"),
      placeholders: 1,
      skipped: { broadcast: 2 },
    }, { now });
    await addPassStats(state, { ...at("2026-03-02T23:00:00Z"), deleted: 4 }, { now });
    // Older than an hourly bucket is kept: only its day counts.
    await addPassStats(state, { ...at("2026-02-20T12:00:00Z"), copied: 7 }, { now });

    const hours = await hourlyStats(state, now);
    assert.equal(hours.length, 24);
    assert.equal(hours[23].start, "2026-03-04T10:00:00.000Z");
    assert.equal(hours[0].start, "2026-03-03T11:00:00.000Z");
    assert.deepEqual(hours[23], {
      start: "2026-03-04T10:00:00.000Z",
      copied: 5,
      deleted: 1,
      placeholders: 0,
      skipped: 0,
    });
    assert.deepEqual([hours[21].placeholders, hours[21].skipped], [1, 2]);
    assert.equal(hours.filter((h) => h.copied || h.deleted || h.placeholders).length, 2);

    const three = await hourlyStats(state, now, 3);
    assert.deepEqual(three.map((h) => h.copied), [0, 0, 5]);

    const days = await dailyStats(state, now);
    assert.equal(days.length, 30);
    assert.equal(days[29].start, "2026-03-04T00:00:00.000Z");
    assert.deepEqual(days.slice(-3).map((d) => [d.copied, d.deleted]), [[0, 4], [0, 0], [5, 1]]);
    assert.equal(days.find((d) => d.start.startsWith("2026-02-20"))!.copied, 7);

    const totals = await statTotals(state);
    assert.deepEqual(
      { ...totals, since: null },
      {
        since: null,
        copied: 12,
        deleted: 5,
        placeholders: 1,
        skipped: { broadcast: 2 },
        directoryPasses: { ok: 0, failed: 0 },
      },
    );
    assert.equal(totals.since, "2026-03-04T10:05:00.000Z");
  } finally {
    closeState(state);
  }
});

Deno.test("a quiet result writes nothing; directory passes count ok and failed", async () => {
  const state = await openState(":memory:");
  try {
    await addPassStats(state, { at: new Date(), ...none });
    assert.equal((await statTotals(state)).since, null);
    assert.equal(
      await Array.fromAsync(state.kv.list({ prefix: ["stats"] })).then((l) => l.length),
      0,
    );
    await addDirectoryPassStats(state, { ok: true });
    await addDirectoryPassStats(state, { ok: true });
    await addDirectoryPassStats(state, { ok: false });
    const t = await statTotals(state);
    assert.deepEqual(t.directoryPasses, { ok: 2, failed: 1 });
    assert.ok(t.since);
  } finally {
    closeState(state);
  }
});

Deno.test("concurrent additions lose nothing", async () => {
  const state = await openState(":memory:");
  try {
    const at = new Date();
    await Promise.all(
      Array.from({ length: 20 }, () => addPassStats(state, { ...none, at, copied: 1, lags: [1] })),
    );
    assert.equal((await statTotals(state)).copied, 20);
    assert.equal((await hourlyStats(state, at, 1))[0].copied, 20);
    assert.equal((await lagPercentiles(state)).samples, 20);
  } finally {
    closeState(state);
  }
});

Deno.test("the lag sample keeps the newest 1,000 values; percentiles by nearest rank", async () => {
  assert.deepEqual(percentiles([]), { p50: null, p99: null, samples: 0 });
  assert.deepEqual(percentiles([5]), { p50: 5, p99: 5, samples: 1 });
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.deepEqual(percentiles(hundred), { p50: 50, p99: 99, samples: 100 });
  const state = await openState(":memory:");
  try {
    const at = new Date();
    await addPassStats(state, { ...none, at, copied: 1, lags: Array(900).fill(1000) });
    await addPassStats(state, { ...none, at, copied: 1, lags: Array(600).fill(2) });
    const p = await lagPercentiles(state);
    assert.equal(p.samples, LAG_SAMPLE_SIZE);
    // 400 old values of 1000 s stayed, 600 new of 2 s came in.
    assert.equal(p.p50, 2);
    assert.equal(p.p99, 1000);
  } finally {
    closeState(state);
  }
});

Deno.test("open intents are counted", async () => {
  const state = await openState(":memory:");
  try {
    assert.equal(await countOpenIntents(state), 0);
    const k = { mailbox: "4001", folder: "INBOX", uidValidity: 7 };
    for (const srcUid of [1, 2, 3]) {
      await putIntent(state, k, {
        srcUid,
        messageId: null,
        internalDate: new Date().toISOString(),
        size: 1,
        srcMessageId: null,
        srcSize: 1,
        kind: "copy",
        startedAt: new Date().toISOString(),
      });
    }
    assert.equal(await countOpenIntents(state), 3);
  } finally {
    closeState(state);
  }
});
