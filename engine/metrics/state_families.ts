/**
 * The metric families read from the state store at scrape time: mailboxes by state, server
 * health, mirror lag, copies under way, held deletions, subscriptions, and the persisted
 * counters (messages, directory passes), which survive restarts unlike the in-process ones.
 * @module
 */
import {
  countOpenIntents,
  lagPercentiles,
  listHeldDeletions,
  listMailboxResults,
  listServerHealth,
  listSubscriptions,
  type State,
  statTotals,
} from "../state/mod.ts";
import { metricFamily } from "./exposition.ts";
import type { MetricFamily } from "./registry.ts";

/** How the subscribed mailboxes stand, from their newest results. */
export interface MailboxStates {
  ok: number;
  failing: number;
  never: number;
}

/** Counts subscribed mailboxes by their newest result (results of unsubscribed ones ignored). */
export function mailboxStates(
  subscribed: readonly string[],
  results: readonly { mailbox: string; ok: boolean }[],
): MailboxStates {
  const ok = new Map(results.map((r) => [r.mailbox, r.ok]));
  const out: MailboxStates = { ok: 0, failing: 0, never: 0 };
  for (const m of subscribed) {
    const r = ok.get(m);
    if (r === undefined) out.never++;
    else if (r) out.ok++;
    else out.failing++;
  }
  return out;
}

/** Every family read from the store, ready to render after the registry's. */
export async function stateFamilies(state: State): Promise<MetricFamily[]> {
  const [subs, results, health, lag, intents, held, totals] = await Promise.all([
    listSubscriptions(state),
    listMailboxResults(state),
    listServerHealth(state),
    lagPercentiles(state),
    countOpenIntents(state),
    listHeldDeletions(state),
    statTotals(state),
  ]);
  const states = mailboxStates(subs.map((s) => s.mailbox), results);
  const servers = health.map((h) => ({ labels: { role: h.role, name: h.name }, h }));
  const quantiles = lag.samples
    ? [
      { labels: { quantile: "0.5" }, value: lag.p50! },
      { labels: { quantile: "0.99" }, value: lag.p99! },
    ]
    : [];
  const messages = (what: string, help: string, value: number) =>
    metricFamily(`vmirror_messages_${what}_total`, { help, type: "counter", values: [{ value }] });
  return [
    messages(
      "copied",
      "Messages copied to the mirror since the state store was made.",
      totals.copied,
    ),
    messages(
      "deleted",
      "Messages deleted from the mirror after production deleted them.",
      totals.deleted,
    ),
    messages(
      "placeholders",
      "Over-length messages mirrored as placeholders (originals kept on this server).",
      totals.placeholders,
    ),
    metricFamily("vmirror_messages_skipped_total", {
      help: "Messages not mirrored, by reason (e.g. broadcast).",
      type: "counter",
      values: Object.entries(totals.skipped).map(([reason, value]) => ({
        labels: { reason },
        value,
      })),
    }),
    metricFamily("vmirror_directory_passes_total", {
      help: "Directory passes recorded, by result.",
      type: "counter",
      values: [
        { labels: { result: "ok" }, value: totals.directoryPasses.ok },
        { labels: { result: "failed" }, value: totals.directoryPasses.failed },
      ],
    }),
    metricFamily("vmirror_subscriptions", {
      help: "Mailboxes subscribed to the mirror.",
      type: "gauge",
      values: [{ value: subs.length }],
    }),
    metricFamily("vmirror_mailboxes", {
      help: "Subscribed mailboxes by their newest result (never: not mirrored yet).",
      type: "gauge",
      values: (["ok", "failing", "never"] as const).map((s) => ({
        labels: { state: s },
        value: states[s],
      })),
    }),
    metricFamily("vmirror_server_up", {
      help: "Whether the newest check of a configured server succeeded (1) or not (0).",
      type: "gauge",
      values: servers.map(({ labels, h }) => ({ labels, value: h.up ? 1 : 0 })),
    }),
    metricFamily("vmirror_server_latency_seconds", {
      help: "How long the newest check of a server took (connect and log in).",
      type: "gauge",
      values: servers.filter(({ h }) => h.latencyMs !== null).map(({ labels, h }) => ({
        labels,
        value: h.latencyMs! / 1000,
      })),
    }),
    metricFamily("vmirror_mirror_lag_seconds", {
      help: "Time from a message's arrival on production to its copy, over the newest copies.",
      type: "gauge",
      values: quantiles,
    }),
    metricFamily("vmirror_open_intents", {
      help: "Copies under way (or interrupted, to be resolved by the next pass).",
      type: "gauge",
      values: [{ value: intents }],
    }),
    metricFamily("vmirror_held_deletions", {
      help: "Deletions the mass-deletion guard holds back.",
      type: "gauge",
      values: [{ value: held.reduce((n, h) => n + h.count, 0) }],
    }),
  ];
}
