/**
 * Waiting for a started release to prove itself: its portal's `/healthz` answers with its own
 * version, and — when there is something to mirror — one mirror pass that started after the
 * start succeeds (as the release itself reports it, so any schema it writes is read right).
 * @module
 */
import https from "node:https";
import { UpgradeError } from "./package.ts";
import { goodPassSince, type HealthCheck, type PassRecord } from "./plan.ts";
import { pause } from "./service.ts";

/** What {@link waitHealthy} waits for. */
export interface WaitOptions {
  health: HealthCheck;
  /** The version `/healthz` must report. */
  version: string;
  /** ISO time just before the start: only passes from then on count. */
  since: string;
  /** The passes the started release has recorded (its `status --json`). */
  passes: () => Promise<PassRecord[]>;
  /** The last pass before the switch, or null. */
  baseline: PassRecord | null;
  log?: (line: string) => void;
  /** Poll interval (tests shorten it). */
  intervalMs?: number;
}

/** When the release became healthy and the pass that proved it (null when none was asked). */
export interface Healthy {
  healthyAt: string;
  pass: PassRecord | null;
}

/** Waits until the started release is healthy; throws with what was missing at the deadline. */
export async function waitHealthy(opts: WaitOptions): Promise<Healthy> {
  const deadline = Date.now() + opts.health.seconds * 1000;
  const interval = opts.intervalMs ?? 1000;
  const url = opts.health.url;
  let lastAnswer = "no answer";
  let healthyAt: string | null = null;
  let lastPasses: PassRecord[] = [];
  let lastPassError = "";
  while (Date.now() < deadline) {
    if (!healthyAt) {
      const h = await fetchHealth(url);
      if (typeof h === "string") lastAnswer = h;
      else if (h.version !== opts.version) lastAnswer = `it answers version "${h.version}"`;
      else {
        healthyAt = new Date().toISOString();
        opts.log?.(`${url} answers: vmirror ${opts.version} is up`);
        if (!opts.health.pass) return { healthyAt, pass: null };
      }
    }
    if (healthyAt) {
      try {
        lastPasses = await opts.passes();
        lastPassError = "";
      } catch (e) {
        lastPassError = (e as Error).message;
      }
      const pass = goodPassSince(lastPasses, opts.since, opts.baseline);
      if (pass) return { healthyAt, pass };
    }
    await pause(Math.min(interval, Math.max(0, deadline - Date.now())));
  }
  if (!healthyAt) {
    throw new UpgradeError(
      `${url} did not answer as vmirror ${opts.version} within ${opts.health.seconds} s (${lastAnswer})`,
      "wait",
    );
  }
  const since = lastPasses.filter((r) => r.startedAt >= opts.since);
  const seen = since.length
    ? `the last of ${since.length} pass(es) since the start failed ${since[0].failed} of ${
      since[0].mailboxes
    } mailbox(es)`
    : lastPassError
    ? `its passes cannot be read: ${lastPassError}`
    : "no pass finished since the start";
  throw new UpgradeError(
    `vmirror ${opts.version} answers, but no mirror pass succeeded within ${opts.health.seconds} s (${seen})`,
    "wait",
  );
}

/** Asks `/healthz` once: the version it reports, or why there is none. */
export async function fetchHealth(url: string): Promise<{ version: string } | string> {
  try {
    const body = url.startsWith("https:") ? await getInsecure(url) : await getPlain(url);
    if (body === null) return "it answers, but not with 200";
    const j = JSON.parse(body);
    return j && j.ok === true && typeof j.version === "string"
      ? { version: j.version }
      : "it answers, but not as vmirror";
  } catch (e) {
    return (e as Error).message;
  }
}

async function getPlain(url: string): Promise<string | null> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  const text = await res.text();
  return res.ok ? text : null;
}

// The portal's own certificate names the server, not the loopback address asked here; this
// only asks the local service whether it is up, so the certificate is not what is tested.
function getInsecure(url: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, timeout: 3000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve(res.statusCode === 200 ? text : null));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
  });
}
