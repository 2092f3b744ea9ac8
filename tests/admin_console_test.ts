/**
 * The admin console without a browser: first-run setup (setup code from another machine, none
 * from the server itself), the JSON API's doors (session + CSRF, bearer tokens made, listed and
 * revoked by the CLI), partial settings saves validated by the schema (400 naming the path),
 * values fixed by the file, secrets sealed and masked, the real connection tests against the
 * lab, and a saved source/target that a running `serve` mirrors without a restart.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LiveConfig } from "../engine/config/mod.ts";
import { serve } from "../engine/serve.ts";
import {
  addSubscriptions,
  closeState,
  getAdminHash,
  getSettings,
  listAudit,
  listMailboxResults,
  openState,
  type State,
} from "../engine/state/mod.ts";
import { setLogSink } from "../engine/support/mod.ts";
import { createApp } from "../portal/app.tsx";
import { createApiToken, revokeApiToken } from "../portal/admin_account.ts";
import { PortalClient } from "../portal/test_util.ts";
import { freePort, lab, runCli, tempDir } from "./test_utils/mod.ts";

const PASSWORD = "correct horse battery";

interface Env {
  dir: string;
  state: State;
  live: LiveConfig;
  app: ReturnType<typeof createApp>;
}

async function fresh(dir: string, fileRaw?: Record<string, unknown>): Promise<Env> {
  let file: string | undefined;
  if (fileRaw) {
    file = join(dir, "vmirror.json");
    await Deno.writeTextFile(file, JSON.stringify(fileRaw));
  }
  const dataDir = join(dir, "data");
  await Deno.mkdir(dataDir, { recursive: true });
  const state = await openState(join(dataDir, "state.kv"));
  const live = await LiveConfig.open(state, { file, dataDir, env: {} });
  const app = createApp({ config: live.current, live, state, adminIterations: 1000 });
  return { dir, state, live, app };
}

/** Signs in through setup from the server itself; returns the client. */
async function setUp(env: Env): Promise<PortalClient> {
  const admin = new PortalClient(env.app, { from: "127.0.0.1" });
  await admin.page("/admin/setup");
  const res = await admin.post("/admin/setup", { password: PASSWORD, confirm: PASSWORD });
  assert.equal(res.status, 303);
  await res.body?.cancel();
  await admin.page("/admin/settings");
  return admin;
}

async function api(
  client: PortalClient,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; csrf?: boolean } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.csrf) headers["x-csrf-token"] = client.csrf;
  const res = await client.request(path, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}

function labSource(overrides: Record<string, unknown> = {}) {
  const l = lab();
  return {
    name: "production",
    host: "127.0.0.1",
    port: l.imap.prod.port,
    tls: "starttls",
    caFile: l.tls.caFile,
    trustedUser: l.trusted.user,
    trustedPassword: l.trusted.password,
    folders: l.folders.filter((f) => f !== l.greetingsFolder),
    greetingsFolder: l.greetingsFolder,
    ...overrides,
  };
}

function labTarget() {
  const l = lab();
  return {
    type: "imap",
    name: "backup",
    host: "127.0.0.1",
    port: l.imap.backup.port,
    tls: "starttls",
    caFile: l.tls.caFile,
    trustedUser: l.trusted.user,
    trustedPassword: l.trusted.password,
  };
}

Deno.test("admin console: first-run setup needs the code from another machine, not from this one", async () => {
  await using tmp = await tempDir("admin-setup");
  const env = await fresh(tmp.path);
  const { ensureSetupCode, setupCodePath } = await import("../portal/admin_account.ts");
  try {
    const code = await ensureSetupCode(env.live.dataDir);
    const mode = (await Deno.stat(setupCodePath(env.live.dataDir))).mode! & 0o777;
    assert.equal(mode, 0o600);
    const remote = new PortalClient(env.app, { from: "10.9.8.7" });
    for (const path of ["/admin", "/admin/login", "/admin/settings"]) {
      const r = await remote.request(path);
      assert.equal(r.status, 303, path);
      assert.equal(r.headers.get("location"), "/admin/setup");
      await r.body?.cancel();
    }
    const page = await remote.page("/admin/setup");
    assert.match(page.html, /name="code"/);
    const wrong = await remote.post("/admin/setup", {
      code: "AAAA-BBBB-CCCC-DDDD-EEEE",
      password: PASSWORD,
      confirm: PASSWORD,
    });
    assert.equal(wrong.status, 403);
    await wrong.body?.cancel();
    const short = await remote.post("/admin/setup", { code, password: "short", confirm: "short" });
    assert.equal(short.status, 400);
    assert.match(await short.text(), /at least 12 characters/);
    const ok = await remote.post("/admin/setup", {
      code: code.toLowerCase(),
      password: PASSWORD,
      confirm: PASSWORD,
    });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get("location"), "/admin/settings");
    await ok.body?.cancel();
    // Signed in by the setup itself, and the code is spent.
    assert.equal((await remote.page("/admin/settings")).res.status, 200);
    await assert.rejects(Deno.stat(setupCodePath(env.live.dataDir)), Deno.errors.NotFound);
    const again = await remote.request("/admin/setup");
    assert.equal(again.headers.get("location"), "/admin/login");
    await again.body?.cancel();
    // The chosen password signs in; the hash is slow (PBKDF2 ≥ 600,000 in production).
    const other = new PortalClient(env.app, { from: "10.9.8.6" });
    assert.equal((await other.adminLogin("admin", PASSWORD)).status, 303);

    // From the server itself no code is asked.
    await using tmp2 = await tempDir("admin-setup-local");
    const env2 = await fresh(tmp2.path);
    try {
      const local = new PortalClient(env2.app, { from: "127.0.0.1" });
      assert.doesNotMatch((await local.page("/admin/setup")).html, /name="code"/);
      const r = await local.post("/admin/setup", { password: PASSWORD, confirm: PASSWORD });
      assert.equal(r.status, 303);
      await r.body?.cancel();
    } finally {
      closeState(env2.state);
    }
  } finally {
    closeState(env.state);
  }
});

Deno.test("admin console: the JSON API's doors (session + CSRF, bearer tokens, revoked tokens)", async () => {
  await using tmp = await tempDir("admin-api-auth");
  const env = await fresh(tmp.path);
  try {
    const anon = new PortalClient(env.app, { from: "10.0.0.1" });
    assert.equal((await api(anon, "GET", "/api/admin/settings")).status, 401);
    assert.equal((await api(anon, "GET", "/api/admin/status")).status, 401);
    assert.equal(
      (await api(anon, "GET", "/api/admin/settings", { token: "vmt_" + "x".repeat(43) })).status,
      401,
    );
    const admin = await setUp(env);
    assert.equal((await api(admin, "GET", "/api/admin/settings")).status, 200);
    // A cookie alone cannot write: the CSRF token must come along.
    assert.equal((await api(admin, "PUT", "/api/admin/settings", { body: {} })).status, 403);
    assert.equal(
      (await api(admin, "PUT", "/api/admin/settings", { body: {}, csrf: true })).status,
      200,
    );
    const { token } = await createApiToken(env.state, "ops script");
    const status = await api(anon, "GET", "/api/admin/status", { token });
    assert.equal(status.status, 200);
    assert.equal(status.json.setupPending, false);
    assert.equal(
      (await api(anon, "PUT", "/api/admin/settings", { token, body: { logLevel: "warn" } }))
        .status,
      200,
    );
    assert.ok(await revokeApiToken(env.state, "ops script"));
    assert.equal((await api(anon, "GET", "/api/admin/status", { token })).status, 401);
  } finally {
    closeState(env.state);
  }
});

Deno.test("admin console: settings are validated by the schema, fixed by the file, sealed and audited", async () => {
  await using tmp = await tempDir("admin-api-settings");
  const env = await fresh(tmp.path, { schedule: { syncSeconds: 45 } });
  try {
    const { token } = await createApiToken(env.state, "t");
    const anon = new PortalClient(env.app, { from: "10.0.0.2" });
    const put = (body: unknown) => api(anon, "PUT", "/api/admin/settings", { token, body });

    const bad = await put({ source: { ...labSource(), port: 70000 } });
    assert.equal(bad.status, 400);
    const errors = bad.json.errors as { path: string; message: string }[];
    assert.ok(errors.some((e) => e.path === "source.port"), JSON.stringify(errors));
    const unknown = await put({ source: { ...labSource(), colour: "red" } });
    assert.equal(unknown.status, 400);
    assert.match(JSON.stringify(unknown.json.errors), /colour/);
    const notJson = await anon.request("/api/admin/settings", {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(notJson.status, 400);
    await notJson.body?.cancel();

    const fixed = await put({ schedule: { syncSeconds: 10 } });
    assert.equal(fixed.status, 400);
    assert.match(JSON.stringify(fixed.json.errors), /schedule\.syncSeconds.*configuration file/);

    const ok = await put({ source: labSource(), schedule: { idleMailboxes: 5 } });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(env.live.current.source?.host, "127.0.0.1");
    assert.equal(env.live.current.schedule.idleMailboxes, 5);
    assert.equal(env.live.current.schedule.syncSeconds, 45);

    const got = await api(anon, "GET", "/api/admin/settings", { token });
    const source = got.json.source as Record<string, unknown>;
    assert.deepEqual(source.trustedPassword, { set: true });
    assert.ok((got.json.$fixed as string[]).includes("schedule.syncSeconds"));
    assert.ok(!JSON.stringify(got.json).includes(lab().trusted.password));
    // A GET's answer PUT back changes nothing and keeps the secret.
    const back = await put(got.json);
    assert.equal(back.status, 200, JSON.stringify(back.json));
    assert.deepEqual(back.json.changes, []);
    assert.equal(env.live.current.source?.trustedPassword, lab().trusted.password);

    // Sealed in the store, masked in the audit.
    const raw = JSON.stringify(await getSettings(env.state));
    assert.ok(!raw.includes(lab().trusted.password), "the stored settings hold the password");
    assert.match(raw, /\$sealed/);
    const audit = JSON.stringify(await listAudit(env.state, 50));
    assert.match(audit, /settings-change/);
    assert.ok(!audit.includes(lab().trusted.password));

    // A listen address change needs a restart, and says so.
    const moved = await put({ portal: { listen: "127.0.0.1:18999" } });
    assert.equal(moved.status, 200);
    assert.equal(moved.json.restartNeeded, true);
  } finally {
    closeState(env.state);
  }
});

Deno.test("admin console: test buttons do the real thing and name the failing layer", async () => {
  await using tmp = await tempDir("admin-api-tests");
  const env = await fresh(tmp.path);
  try {
    const { token } = await createApiToken(env.state, "t");
    const c = new PortalClient(env.app, { from: "10.0.0.3" });
    const test = (kind: string, body: unknown) =>
      api(c, "POST", `/api/admin/test/${kind}`, { token, body });
    const mailbox = lab().mailboxes[0].mailbox;

    const good = await test("source", { settings: { source: labSource() }, mailbox });
    assert.equal(good.status, 200, JSON.stringify(good.json));
    assert.equal(good.json.ok, true, JSON.stringify(good.json));
    const steps = good.json.steps as { step: string; ok: boolean; detail: string }[];
    for (const s of ["connect", "login", "impersonate", "folders", "capabilities"]) {
      assert.ok(steps.some((x) => x.step === s && x.ok), `${s}: ${JSON.stringify(steps)}`);
    }

    const wrong = await test("source", {
      source: labSource({ trustedPassword: "not-the-password" }),
      mailbox,
    });
    assert.equal(wrong.json.ok, false);
    const login = (wrong.json.steps as { step: string; ok: boolean; detail: string }[])
      .find((s) => !s.ok)!;
    assert.equal(login.step, "login");
    assert.match(login.detail, /refused/i);
    assert.match(login.detail, /production/);
    assert.ok(!JSON.stringify(wrong.json).includes("not-the-password"));

    const closed = await test("source", {
      source: labSource({ port: freePort(), tls: "none", caFile: null }),
    });
    assert.equal(closed.json.ok, false);
    const connect = (closed.json.steps as { step: string; ok: boolean; detail: string }[])
      .find((s) => !s.ok)!;
    assert.equal(connect.step, "connect");
    assert.match(connect.detail, /refused/i);

    const target = await test("target", { settings: { target: labTarget() }, mailbox });
    assert.equal(target.json.ok, true, JSON.stringify(target.json));
    const none = await test("smtp", {});
    assert.equal(none.status, 400);
    assert.equal((await test("nonsense", {})).status, 404);
  } finally {
    closeState(env.state);
  }
});

Deno.test({
  name: "admin console: a running appliance mirrors with settings saved from the API, no restart",
  sanitizeOps: false,
  async fn() {
    await using tmp = await tempDir("admin-live");
    const env = await fresh(tmp.path, { schedule: { syncSeconds: 1, idle: false } });
    const lines: string[] = [];
    setLogSink((l) => lines.push(l));
    const ac = new AbortController();
    const port = freePort();
    const running = serve(env.live, env.state, {
      handler: env.app.fetch,
      listen: `127.0.0.1:${port}`,
      signal: ac.signal,
    });
    try {
      const { token } = await createApiToken(env.state, "t");
      const mailbox = "4003";
      await addSubscriptions(env.state, [mailbox], { origin: "manual" });
      const res = await fetch(`http://127.0.0.1:${port}/api/admin/settings`, {
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ source: labSource(), target: labTarget() }),
      });
      assert.equal(res.status, 200, await res.text());
      const deadline = Date.now() + 60_000;
      let ok = false;
      while (Date.now() < deadline && !ok) {
        const r = (await listMailboxResults(env.state)).find((x) => x.mailbox === mailbox);
        ok = !!r?.ok;
        if (!ok) await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(ok, `no successful pass of ${mailbox}:\n${lines.slice(-20).join("\n")}`);
      const status = await fetch(`http://127.0.0.1:${port}/api/admin/status`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = await status.json();
      assert.equal(body.restartPending, false);
      // A new address needs the listener restarted: the API says so and does it.
      const moved = freePort();
      const put = await fetch(`http://127.0.0.1:${port}/api/admin/settings`, {
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ portal: { listen: `127.0.0.1:${moved}` } }),
      });
      assert.equal((await put.json()).restartNeeded, true);
      const restart = await fetch(`http://127.0.0.1:${port}/api/admin/restart`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(restart.status, 202);
      await restart.body?.cancel();
      let health: Response | null = null;
      for (let i = 0; i < 40 && !health; i++) {
        health = await fetch(`http://127.0.0.1:${moved}/healthz`).catch(() => null);
        if (!health) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(health?.status, 200);
      await health?.body?.cancel();
      // An address this machine does not have: the portal stays where it is, and says a
      // restart is still pending, instead of going down with the bad setting.
      const nowhere = await fetch(`http://127.0.0.1:${moved}/api/admin/settings`, {
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ portal: { listen: `192.0.2.1:${freePort()}` } }),
      });
      assert.equal(nowhere.status, 200, await nowhere.text());
      const again = await fetch(`http://127.0.0.1:${moved}/api/admin/restart`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(again.status, 202);
      await again.body?.cancel();
      let pending = false;
      for (let i = 0; i < 40 && !pending; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const st = await fetch(`http://127.0.0.1:${moved}/api/admin/status`, {
          headers: { authorization: `Bearer ${token}` },
        }).catch(() => null);
        pending = st?.status === 200 && (await st.json()).restartPending === true;
        if (st && !st.bodyUsed) await st.body?.cancel();
      }
      assert.ok(pending, "the portal did not come back on its old address");
      assert.ok(lines.some((l) => /cannot listen on 192\.0\.2\.1/.test(l)), lines.join("\n"));
      assert.ok(
        body.mailboxes.some((m: { mailbox: string; ok: boolean }) => m.mailbox === mailbox && m.ok),
      );
    } finally {
      ac.abort();
      await running;
      setLogSink((l) => console.error(l));
      closeState(env.state);
    }
  },
});

Deno.test("admin console: CLI tokens and password reset", async () => {
  await using tmp = await tempDir("admin-cli");
  const data = join(tmp.path, "data");
  const cli = (...args: string[]) => runCli([...args, "--data", data]);
  const made = await cli("admin", "token", "create", "--name", "nightly export");
  assert.equal(made.code, 0, made.stderr);
  const token = made.stdout.trim();
  assert.match(token, /^vmt_[A-Za-z0-9_-]{43}$/);
  const list = await cli("admin", "token", "list", "--json");
  assert.equal(list.code, 0, list.stderr);
  const listed = JSON.parse(list.stdout);
  assert.equal(listed.length, 1);
  assert.equal(listed[0].name, "nightly export");
  assert.ok(!list.stdout.includes(token));
  assert.equal((await cli("admin", "token", "create", "--name", "nightly export")).code, 2);
  assert.equal((await cli("admin", "token", "revoke", "nope")).code, 1);
  assert.equal((await cli("admin", "token", "revoke", listed[0].id)).code, 0);
  assert.match((await cli("admin", "token", "list")).stdout, /No API tokens/);

  const pw = join(tmp.path, "pw");
  await Deno.writeTextFile(pw, "short\n");
  assert.equal((await cli("admin", "reset-password", "--password-file", pw)).code, 2);
  await Deno.writeTextFile(pw, `${PASSWORD}\n`);
  const set = await cli("admin", "reset-password", "--password-file", pw);
  assert.equal(set.code, 0, set.stderr);
  // Stored as a slow hash, never as the password.
  const state = await openState(join(data, "state.kv"));
  try {
    const stored = await getAdminHash(state);
    const iterations = Number(stored?.hash.split("$")[1]);
    assert.ok(iterations >= 600_000, stored?.hash.split("$").slice(0, 2).join("$"));
    assert.ok(!stored!.hash.includes(PASSWORD));
  } finally {
    closeState(state);
  }
  const reset = await cli("admin", "reset-password");
  assert.equal(reset.code, 0, reset.stderr);
  const code = (await Deno.readTextFile(join(data, "setup-code.txt"))).trim();
  assert.ok(reset.stdout.includes(code));
  assert.equal((await cli("admin", "frobnicate")).code, 2);
});
