/**
 * Server checks: each configured server is tested the way the connection tests do it (connect,
 * TLS, the trusted login; no sample mailbox), and the outcome is kept per role for the
 * dashboard, `/readyz`, `/metrics` and the alerts; the watched disks' free space beside them.
 * @module
 */
import type { Config } from "../config/mod.ts";
import {
  DEFAULT_PROBE_TIMEOUT_MS,
  probeFiles,
  probeImap,
  probeLdap,
  type ProbeResult,
  probeSmtp,
} from "../probe/mod.ts";
import {
  deleteDiskFree,
  deleteServerHealth,
  type DiskFree,
  listServerHealth,
  putDiskFree,
  putServerHealth,
  type ServerHealth,
  type ServerRole,
  type State,
} from "../state/mod.ts";
import { redact } from "../support/mod.ts";
import { configOf, type ConfigSource } from "./config_source.ts";
import { readDiskFree } from "./disk.ts";

/** What one round of checks found. */
export interface CheckReport {
  servers: ServerHealth[];
  disks: DiskFree[];
}

/** Whether the mirror can work, from the stored checks (what `/readyz` answers). */
export interface Readiness {
  /** Source and target were up in their last check, and that check is recent. */
  ready: boolean;
  /** Up/down per role only: `/readyz` is public, so no names, addresses or error texts. */
  servers: { role: ServerRole; up: boolean; checkedAt: string; stale: boolean }[];
}

/** One configured server and how to test it. */
interface ServerCheck {
  role: ServerRole;
  name: string;
  run: () => Promise<ProbeResult>;
}

// Steps a health check does not judge: they need a sample mailbox, or describe data rather
// than whether the server answers.
const NOT_JUDGED = new Set(["impersonate", "folders", "capabilities", "sample"]);
// Which step's words say best that a server answers, in order of preference.
const UP_WORDS = ["login", "bind", "auth", "ehlo", "writable"];

/** Checks every configured server and watched disk once and stores the outcome. */
export async function checkOnce(
  source: ConfigSource,
  state: State,
  now: Date = new Date(),
): Promise<CheckReport> {
  const config = configOf(source);
  const timeoutMs = Math.min(DEFAULT_PROBE_TIMEOUT_MS, config.alerts.checkSeconds * 1000);
  const checks = serverChecks(config, timeoutMs);
  const previous = new Map((await listServerHealth(state)).map((h) => [h.role, h]));
  const servers = await Promise.all(checks.map(async (c) => {
    const t0 = performance.now();
    let result: ProbeResult;
    try {
      result = await c.run();
    } catch (e) {
      // The probes report failures as steps; this is a bug's safety net, not a path.
      result = {
        ok: false,
        server: c.name,
        steps: [{
          step: "check",
          ok: false,
          detail: `unexpected error: ${redact((e as Error).message)}`,
        }],
      };
    }
    return healthFromProbe(c.role, c.name, result, {
      now,
      latencyMs: Math.round(performance.now() - t0),
      previous: previous.get(c.role) ?? null,
    });
  }));
  for (const h of servers) await putServerHealth(state, h);
  const configured = new Set(checks.map((c) => c.role));
  for (const role of previous.keys()) {
    if (!configured.has(role)) await deleteServerHealth(state, role);
  }

  const disks = [await readDiskFree("data", config.dataDir, now)];
  if (config.target?.type === "files") {
    disks.push(await readDiskFree("files", config.target.root, now));
  } else await deleteDiskFree(state, "files");
  for (const d of disks) await putDiskFree(state, d);
  return { servers, disks };
}

/** The configured servers by role, each with its probe (no sample mailbox, no test mail). */
function serverChecks(config: Config, timeoutMs: number): ServerCheck[] {
  const out: ServerCheck[] = [];
  const { source, target, ldap, smtp } = config;
  if (source) {
    out.push({
      role: "source",
      name: source.name,
      run: () => probeImap(source, { side: "source", timeoutMs }),
    });
  }
  if (target?.type === "imap") {
    out.push({
      role: "target",
      name: target.name,
      run: () => probeImap(target, { side: "target", timeoutMs }),
    });
  } else if (target?.type === "files") {
    out.push({ role: "target", name: target.name, run: () => probeFiles(target, { timeoutMs }) });
  }
  if (ldap) {
    // One entry proves the search works; counting a large directory every round would not.
    const opts = { timeoutMs, countCap: 1 };
    out.push({
      role: "ldap-source",
      name: ldap.source.url,
      run: () => probeLdap(ldap.source, ldap.attributes, opts),
    });
    const t = ldap.target;
    if (t) {
      out.push({
        role: "ldap-target",
        name: t.url,
        run: () => probeLdap(t, ldap.attributes, opts),
      });
    }
  }
  if (smtp) {
    out.push({
      role: "smtp",
      name: `${smtp.host}:${smtp.port}`,
      run: () => probeSmtp(smtp, { timeoutMs }),
    });
  }
  return out;
}

/**
 * A probe's outcome as a server's health: up unless a judged step failed; the down-since time
 * and the certificate's expiry carried over from the previous check of the same server.
 */
export function healthFromProbe(
  role: ServerRole,
  name: string,
  result: ProbeResult,
  ctx: { now: Date; latencyMs: number; previous: ServerHealth | null },
): ServerHealth {
  const failed = result.steps.find((s) => !s.ok && !s.skipped && !NOT_JUDGED.has(s.step));
  const prev = ctx.previous?.name === name ? ctx.previous : null;
  const cert = certificateExpiry(result);
  const at = ctx.now.toISOString();
  if (failed) {
    return {
      role,
      name,
      up: false,
      checkedAt: at,
      latencyMs: null,
      downSince: prev?.downSince ?? at,
      detail: failed.detail,
      // Unreachable before TLS: the certificate last seen still holds.
      certificateExpiresAt: cert ?? prev?.certificateExpiresAt ?? null,
    };
  }
  const words = UP_WORDS.map((n) => result.steps.find((s) => s.step === n && !s.skipped))
    .find((s) => s !== undefined) ??
    result.steps.findLast((s) => s.ok && !s.skipped);
  return {
    role,
    name,
    up: true,
    checkedAt: at,
    latencyMs: ctx.latencyMs,
    downSince: null,
    detail: words?.detail ?? "answers",
    certificateExpiresAt: cert,
  };
}

/** The server certificate's end of validity from a probe's TLS step, if it got that far. */
export function certificateExpiry(result: ProbeResult): string | null {
  for (const s of result.steps) {
    if (s.step !== "tls" && s.step !== "starttls") continue;
    const to = s.info?.validTo;
    if (typeof to === "string") return to;
  }
  return null;
}

/** Whether source and target were up in a recent check (within 3 check intervals). */
export async function readiness(
  state: State,
  config: Config,
  now: Date = new Date(),
): Promise<Readiness> {
  const maxAgeMs = 3 * config.alerts.checkSeconds * 1000;
  const health = await listServerHealth(state);
  const servers = health.map((h) => ({
    role: h.role,
    up: h.up,
    checkedAt: h.checkedAt,
    stale: now.getTime() - Date.parse(h.checkedAt) > maxAgeMs,
  }));
  const ok = (role: ServerRole) => servers.some((s) => s.role === role && s.up && !s.stale);
  return { ready: !!config.source && !!config.target && ok("source") && ok("target"), servers };
}
