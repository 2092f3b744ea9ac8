/**
 * The engine's own instruments in the process-wide registry: mirror passes, directory passes,
 * build facts. Message counts are not here: they are persisted (engine/state/stats.ts) so they
 * survive restarts, and rendered from the store at scrape time (state_families.ts).
 * @module
 */
import { buildInfo } from "../release/mod.ts";
import { Registry } from "./registry.ts";

/** The process-wide registry that `/metrics` renders. */
export const metrics: Registry = new Registry();

// A pass over one mailbox after an event takes well under a second; a first pass over
// thousands of mailboxes takes hours.
const PASS_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 10800];

/** How long mirror passes take, from start to the last result stored. */
export const passDuration = metrics.histogram({
  name: "vmirror_pass_duration_seconds",
  help: "Duration of mirror passes (one pass covers one or many mailboxes).",
  buckets: PASS_BUCKETS,
});

/** Mailbox results by outcome. */
export const mailboxPasses = metrics.counter({
  name: "vmirror_mailbox_passes_total",
  help: "Mailbox reconciles finished, by result.",
  labelNames: ["result"],
});
for (const result of ["ok", "failed"]) mailboxPasses.inc({ result }, 0);

/** How long directory passes take. */
export const directoryPassDuration = metrics.histogram({
  name: "vmirror_directory_pass_duration_seconds",
  help: "Duration of directory passes (read, plan, apply).",
  buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
});

const build = metrics.gauge({
  name: "vmirror_build_info",
  help: "This build: version, commit and target platform (always 1).",
  labelNames: ["version", "commit", "target"],
});
{
  const b = buildInfo();
  // A checkout has no release target: the platform it runs on is what it was built for.
  build.set(1, { version: b.version, commit: b.commit, target: b.target ?? Deno.build.target });
}

/** When this process started, as Prometheus's client libraries report it. */
export const processStartTime = metrics.gauge({
  name: "process_start_time_seconds",
  help: "Start time of the process since the Unix epoch in seconds.",
});
processStartTime.set(Math.floor(Date.now() / 1000 - performance.now() / 1000));
