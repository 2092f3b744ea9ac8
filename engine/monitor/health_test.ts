import assert from "node:assert/strict";
import { loadConfig } from "../config/mod.ts";
import type { ProbeResult } from "../probe/mod.ts";
import { closeState, openState, putServerHealth, type ServerHealth } from "../state/mod.ts";
import { certificateExpiry, healthFromProbe, readiness } from "./health.ts";

const NOW = new Date("2025-06-01T12:00:00Z");

const ok = (step: string, detail = `${step} fine`, info?: Record<string, unknown>) => ({
  step,
  ok: true,
  detail,
  ...(info ? { info } : {}),
});

Deno.test("a probe that logs in is up; its latency and certificate are kept", () => {
  const result: ProbeResult = {
    ok: true,
    server: "mss-prod",
    steps: [
      { step: "dns", ok: true, skipped: true, detail: "an address" },
      ok("connect"),
      ok("tls", "encrypted", { validTo: "2026-01-01T00:00:00.000Z" }),
      ok("login", "accepted the trusted-server login"),
      { step: "impersonate", ok: true, skipped: true, detail: "needs a sample" },
    ],
  };
  const h = healthFromProbe("source", "mss-prod", result, {
    now: NOW,
    latencyMs: 12,
    previous: null,
  });
  assert.deepEqual(h, {
    role: "source",
    name: "mss-prod",
    up: true,
    checkedAt: NOW.toISOString(),
    latencyMs: 12,
    downSince: null,
    detail: "accepted the trusted-server login",
    certificateExpiresAt: "2026-01-01T00:00:00.000Z",
  });
});

Deno.test("down: the failed step's words; down-since and the certificate carried over", () => {
  const refused: ProbeResult = {
    ok: false,
    server: "mss-backup",
    steps: [ok("connect"), {
      step: "login",
      ok: false,
      detail: "refused the trusted-server login",
    }],
  };
  const earlier: ServerHealth = {
    role: "target",
    name: "mss-backup",
    up: false,
    checkedAt: "2025-06-01T11:59:00.000Z",
    latencyMs: null,
    downSince: "2025-06-01T11:50:00.000Z",
    detail: "x",
    certificateExpiresAt: "2026-01-01T00:00:00.000Z",
  };
  const h = healthFromProbe("target", "mss-backup", refused, {
    now: NOW,
    latencyMs: 5,
    previous: earlier,
  });
  assert.equal(h.up, false);
  assert.equal(h.latencyMs, null);
  assert.equal(h.downSince, "2025-06-01T11:50:00.000Z");
  assert.equal(h.detail, "refused the trusted-server login");
  assert.equal(h.certificateExpiresAt, "2026-01-01T00:00:00.000Z");
  // Another server in the same role starts afresh.
  const other = healthFromProbe("target", "new-backup", refused, {
    now: NOW,
    latencyMs: 5,
    previous: earlier,
  });
  assert.equal(other.downSince, NOW.toISOString());
  assert.equal(other.certificateExpiresAt, null);
});

Deno.test("a directory whose sample entry is odd still answers", () => {
  const r: ProbeResult = {
    ok: false,
    server: "ldap://x",
    steps: [ok("connect"), ok("bind", "bound"), ok("search"), {
      step: "sample",
      ok: false,
      detail: "no mailbox attribute",
    }],
  };
  const h = healthFromProbe("ldap-source", "ldap://x", r, {
    now: NOW,
    latencyMs: 1,
    previous: null,
  });
  assert.equal(h.up, true);
  assert.equal(h.detail, "bound");
});

Deno.test("a failed TLS step still tells the certificate's expiry", () => {
  assert.equal(
    certificateExpiry({
      ok: false,
      server: "s",
      steps: [{ step: "starttls", ok: false, detail: "expired", info: { validTo: "2020-01-01" } }],
    }),
    "2020-01-01",
  );
});

Deno.test("readiness: source and target up in a recent check; no detail", async () => {
  const state = await openState(":memory:");
  try {
    const config = await loadConfig({
      dataDir: "/tmp/x",
      env: {},
      stored: {
        source: { host: "a", trustedUser: "u", trustedPassword: "p" },
        target: { type: "files", root: "/tmp/x/files" },
      },
    });
    const put = (role: ServerHealth["role"], up: boolean, checkedAt = NOW) =>
      putServerHealth(state, {
        role,
        name: `secret-host-${role}`,
        up,
        checkedAt: checkedAt.toISOString(),
        latencyMs: 1,
        downSince: null,
        detail: "words",
      });
    assert.equal((await readiness(state, config, NOW)).ready, false, "no check yet");
    await put("source", true);
    await put("target", true);
    await put("smtp", false);
    const r = await readiness(state, config, NOW);
    assert.equal(r.ready, true, "the relay does not decide readiness");
    assert.doesNotMatch(JSON.stringify(r), /secret-host|words/);
    const later = new Date(NOW.getTime() + 3 * 60_000 + 1);
    assert.equal((await readiness(state, config, later)).ready, false, "stale after 3 checks");
    await put("target", false);
    assert.equal((await readiness(state, config, NOW)).ready, false);
  } finally {
    closeState(state);
  }
});
