/**
 * `/metrics` against the lab: mailboxes mirrored for real, the page scraped through the app
 * and read back with a real text-format parser, its numbers checked against the state store
 * and `status --json`; the statistics, per-mailbox facts and history the passes leave behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import parseText from "parse-prometheus-text-format";
import { runSync } from "../engine/mirror/mod.ts";
import {
  addSubscriptions,
  closeState,
  hourlyStats,
  lagPercentiles,
  listMailboxHistory,
  listMailboxResults,
  openState,
  putServerHealth,
  statTotals,
} from "../engine/state/mod.ts";
import { createApp } from "../portal/app.tsx";
import { createApiToken } from "../portal/admin_account.ts";
import { PortalClient } from "../portal/test_util.ts";
import { fillScratch, labConfig, runCli, tempDir } from "./test_utils/mod.ts";

// The parser ships no types: what it returns, as far as this test reads it (values as text).
interface ParsedFamily {
  name: string;
  type: string;
  metrics: {
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
  }[];
}
const parsePrometheus = parseText as (text: string) => ParsedFamily[];

/** The scraped page, by family name, with a reader of one sample's value. */
function scraped(text: string) {
  const families = new Map(parsePrometheus(text).map((f) => [f.name, f]));
  const value = (name: string, labels: Record<string, string> = {}): number | undefined => {
    const m = families.get(name)?.metrics.find((m) =>
      Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)
    );
    return m ? Number(m.value ?? m.count) : undefined;
  };
  return { families, value };
}

async function scrape(client: PortalClient, token?: string) {
  const res = await client.request("/metrics", {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const text = await res.text();
  return { res, text };
}

Deno.test({
  name: "/metrics: counts agree with the state store and status --json; 401 without the admin",
  async fn(t) {
    const good = ["7395", "7396"];
    const failing = "7397"; // no such mailbox on production: every pass fails
    const never = "7398"; // subscribed, never mirrored
    await fillScratch(good[0], 3);
    await fillScratch(good[1], 2);
    await using tmp = await tempDir("metrics");
    const dir = tmp.path;
    const config = await labConfig(dir);
    const state = await openState(join(dir, "state.kv"));
    try {
      const app = createApp({ config, state, adminIterations: 1000 });
      const anon = new PortalClient(app, { from: "10.0.0.9" });
      const { token } = await createApiToken(state, "prometheus");
      await addSubscriptions(state, [...good, failing, never]);

      await t.step("no token or a wrong token: 401", async () => {
        for (const tok of [undefined, "not-a-token"]) {
          const { res } = await scrape(anon, tok);
          assert.equal(res.status, 401);
        }
      });

      const before = scraped((await scrape(anon, token)).text);
      const mailboxes = [...good, failing];
      const first = await runSync(config, state, { mailboxes, retryDelayMs: 10 });
      assert.equal(first.ok, 2);
      assert.equal(first.failed, 1);
      const copied = first.totals.copied;
      assert.equal(copied, 5);

      await putServerHealth(state, {
        role: "source",
        name: config.source.name,
        up: true,
        checkedAt: new Date().toISOString(),
        latencyMs: 12,
        downSince: null,
        detail: "IMAP answered",
      });

      const { res, text } = await scrape(anon, token);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      const after = scraped(text);

      await t.step("mailboxes by state agree with status --json", async () => {
        const status = await runCli([
          "status",
          "--json",
          "--config",
          join(dir, "vmirror.json"),
          "--data",
          dir,
        ]);
        assert.equal(status.code, 0, status.stderr);
        const json = JSON.parse(status.stdout) as {
          subscriptions: { mailbox: string }[];
          mailboxes: { mailbox: string; ok: boolean; failStreak?: number }[];
        };
        const okCount = json.mailboxes.filter((m) => m.ok).length;
        assert.equal(after.value("vmirror_mailboxes", { state: "ok" }), okCount);
        assert.equal(okCount, 2);
        assert.equal(after.value("vmirror_mailboxes", { state: "failing" }), 1);
        assert.equal(after.value("vmirror_mailboxes", { state: "never" }), 1);
        assert.equal(after.value("vmirror_subscriptions"), json.subscriptions.length);
        assert.equal(json.mailboxes.find((m) => m.mailbox === failing)?.failStreak, 1);
      });

      await t.step("message counters are the persisted totals", async () => {
        const totals = await statTotals(state);
        assert.equal(totals.copied, copied);
        assert.equal(after.value("vmirror_messages_copied_total"), copied);
        assert.equal(after.value("vmirror_messages_deleted_total"), 0);
        assert.equal(after.value("vmirror_messages_placeholders_total"), 0);
        assert.equal(after.families.get("vmirror_messages_copied_total")?.type, "COUNTER");
        const hour = await hourlyStats(state, new Date(), 1);
        assert.equal(hour[0].copied, copied);
      });

      await t.step("passes are counted in process: results by outcome, pass durations", () => {
        const delta = (name: string, labels: Record<string, string> = {}) =>
          (after.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
        assert.equal(delta("vmirror_mailbox_passes_total", { result: "ok" }), 2);
        assert.equal(delta("vmirror_mailbox_passes_total", { result: "failed" }), 1);
        assert.equal(delta("vmirror_pass_duration_seconds"), 1);
        assert.equal(after.families.get("vmirror_pass_duration_seconds")?.type, "HISTOGRAM");
        assert.equal(after.families.get("vmirror_build_info")?.metrics[0].value, "1");
      });

      await t.step("lag, server health and copies under way are read at scrape time", async () => {
        const lag = await lagPercentiles(state);
        assert.equal(lag.samples, copied);
        // The scratch messages' INTERNALDATEs lie in the past: every copy lags behind them.
        assert.ok(lag.p50! > 0);
        assert.equal(after.value("vmirror_mirror_lag_seconds", { quantile: "0.5" }), lag.p50);
        assert.equal(after.value("vmirror_mirror_lag_seconds", { quantile: "0.99" }), lag.p99);
        const labels = { role: "source", name: config.source.name };
        assert.equal(after.value("vmirror_server_up", labels), 1);
        assert.equal(after.value("vmirror_server_latency_seconds", labels), 0.012);
        assert.equal(after.value("vmirror_open_intents"), 0);
        assert.equal(after.value("vmirror_held_deletions"), 0);
      });

      await t.step(
        "a second pass: quiet mailboxes write no history, failures keep counting",
        async () => {
          const second = await runSync(config, state, { mailboxes, retryDelayMs: 10 });
          assert.equal(second.totals.copied, 0);
          const results = new Map((await listMailboxResults(state)).map((r) => [r.mailbox, r]));
          assert.equal(results.get(failing)!.failStreak, 2);
          const r = results.get(good[0])!;
          assert.equal(r.failStreak, 0);
          assert.equal(r.lagSeconds, null);
          const history = await listMailboxHistory(state, good[0]);
          assert.equal(history.length, 1);
          assert.equal(history[0].copied, 3);
          assert.ok(history[0].lagSeconds! > 0);
          assert.equal(r.lastChangeAt, history[0].startedAt);
          assert.equal(r.lastMirroredAt, history[0].finishedAt);
          assert.equal((await listMailboxHistory(state, failing)).length, 2);
          const again = scraped((await scrape(anon, token)).text);
          assert.equal(again.value("vmirror_messages_copied_total"), copied);
        },
      );

      await t.step("the admin's browser session may scrape too; sign-ins are counted", async () => {
        const admin = new PortalClient(app, { from: "127.0.0.1" });
        await admin.page("/admin/setup");
        const set = await admin.post("/admin/setup", {
          password: "pw for metrics",
          confirm: "pw for metrics",
        });
        assert.equal(set.status, 303);
        await set.body?.cancel();
        const failedBefore = scraped((await scrape(admin)).text)
          .value("vmirror_portal_logins_total", { role: "admin", result: "failed" }) ?? 0;
        const stranger = new PortalClient(app, { from: "10.0.0.10" });
        const refused = await stranger.adminLogin("admin", "wrong");
        assert.equal(refused.status, 401);
        await refused.body?.cancel();
        const page = await scrape(admin);
        assert.equal(page.res.status, 200);
        assert.equal(
          scraped(page.text).value("vmirror_portal_logins_total", {
            role: "admin",
            result: "failed",
          }),
          failedBefore + 1,
        );
      });
    } finally {
      closeState(state);
    }
  },
});
