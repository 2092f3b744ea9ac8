/**
 * The audit log in the admin console, in process: the search page (filters, dates in the
 * appliance's zone, paging that keeps the filter), the CSV export, the JSON API, refused
 * requests (a wrong CSRF token, a cross-origin post, an unknown message id) being audited, and a
 * mailbox's forwards — sent through a real SMTP listener — found by the mailbox filter.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import { LiveConfig } from "../engine/config/mod.ts";
import { audit, closeState, listAudit, openState, type State } from "../engine/state/mod.ts";
import { setLogSink } from "../engine/support/mod.ts";
import { createApp } from "../portal/app.tsx";
import { createApiToken } from "../portal/admin_account.ts";
import { createSession } from "../portal/sessions.ts";
import { oneMessageReader, PortalClient } from "../portal/test_util.ts";
import { tempDir } from "./test_utils/mod.ts";

const PASSWORD = "correct horse battery";

interface Env {
  state: State;
  app: ReturnType<typeof createApp>;
}

async function fresh(dir: string, fileRaw: Record<string, unknown>): Promise<Env> {
  const file = join(dir, "vmirror.json");
  await Deno.writeTextFile(file, JSON.stringify(fileRaw));
  const dataDir = join(dir, "data");
  await Deno.mkdir(dataDir, { recursive: true });
  const state = await openState(join(dataDir, "state.kv"));
  const live = await LiveConfig.open(state, { file, dataDir, env: {} });
  const app = createApp({
    config: live.current,
    live,
    state,
    adminIterations: 1000,
    openReader: oneMessageReader,
  });
  return { state, app };
}

async function withEnv(
  tag: string,
  fileRaw: Record<string, unknown>,
  fn: (env: Env) => Promise<void>,
) {
  await using tmp = await tempDir(tag);
  const lines: string[] = [];
  setLogSink((l) => lines.push(l));
  const env = await fresh(tmp.path, fileRaw);
  try {
    await fn(env);
  } finally {
    closeState(env.state);
    setLogSink((l) => console.error(l));
  }
}

/** Signs the admin in through setup from the server itself. */
async function adminClient(env: Env): Promise<PortalClient> {
  const admin = new PortalClient(env.app, { from: "127.0.0.1" });
  await admin.page("/admin/setup");
  const res = await admin.post("/admin/setup", { password: PASSWORD, confirm: PASSWORD });
  assert.equal(res.status, 303);
  await res.body?.cancel();
  await admin.page("/admin/lockouts");
  return admin;
}

async function subscriberClient(env: Env, mailbox: string, from = "10.1.1.1") {
  const client = new PortalClient(env.app, { from });
  const { token, session } = await createSession(
    env.state,
    { role: "subscriber", subject: mailbox, from },
    { minutes: 30 },
  );
  client.cookies.set("vm_session", token);
  client.csrf = session.csrf;
  return client;
}

async function seed(state: State) {
  const t0 = Date.parse("2026-03-01T12:00:00.000Z");
  for (let i = 0; i < 120; i++) {
    await audit(state, {
      at: new Date(t0 + i * 60_000).toISOString(),
      actor: `subscriber:${i % 2 ? "4001" : "4002"}`,
      action: i % 3 ? "play" : "login",
      from: "10.0.0.9",
      detail: { folder: "INBOX", uid: i },
    });
  }
  await audit(state, {
    at: "2026-03-01T22:30:00.000Z", // 23:30 in Berlin: still 1 March there
    actor: "admin:admin",
    action: "settings-change",
    detail: { changes: [{ path: "schedule.syncSeconds", from: 60, to: 30 }] },
  });
  await audit(state, {
    at: "2026-03-01T23:30:00.000Z", // 00:30 on 2 March in Berlin
    actor: "=cmd|' /C calc'!A0",
    action: "subscribe",
    detail: { mailboxes: ["4001", "4005"], pin: "9999" },
  });
}

async function api(client: PortalClient, path: string, token?: string) {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await client.request(path, { headers });
  return { status: res.status, json: await res.json() };
}

const FILE = { timeZone: "Europe/Berlin" };

Deno.test("audit page: filters, dates in the appliance's zone, paging that keeps the filter", async () => {
  await withEnv("audit-page", FILE, async (env) => {
    await seed(env.state);
    const admin = await adminClient(env);

    const all = await admin.page("/admin/audit");
    assert.equal(all.res.status, 200);
    assert.match(all.html, /<h1>Audit log<\/h1>/);
    assert.match(all.html, /<datalist id="audit-actions">/);
    for (const a of ["login", "play", "settings-change", "subscribe", "request-refused"]) {
      assert.match(all.html, new RegExp(`<option value="${a}"`), a);
    }
    assert.match(all.html, /<td>settings-change<\/td>/);
    assert.match(all.html, /<code>schedule\.syncSeconds<\/code>: 60 → 30/);
    assert.match(
      all.html,
      /<time datetime="2026-03-01T23:30:00.000Z">2026-03-02 00:30 CET<\/time>/,
    );
    assert.ok(!all.html.includes("9999"), "a detail named pin is never shown");
    assert.match(all.html, /Entries 1–50, newest first/);
    assert.match(all.html, /href="\/admin\/audit\?page=2" rel="next">Older/);

    const who = await admin.page("/admin/audit?who=4001&action=play");
    const rows = [...who.html.matchAll(/<tr><td><time[^]*?<\/tr>/g)].map((m) => m[0]);
    assert.equal(rows.length, 40);
    assert.ok(rows.every((r) => r.includes("<td>subscriber:4001</td><td>play</td>")));
    assert.match(who.html, /value="4001"/, "the form keeps the filter");

    // 120 entries match "4002 or 4001"'s plays and logins: page 2 keeps the filter.
    const p1 = await admin.page("/admin/audit?who=subscriber");
    assert.match(p1.html, /href="\/admin\/audit\?who=subscriber&amp;page=2" rel="next"/);
    const p3 = await admin.page("/admin/audit?who=subscriber&page=3");
    assert.match(p3.html, /Entries 101–120/);
    assert.match(p3.html, /href="\/admin\/audit\?who=subscriber&amp;page=2" rel="prev">Newer/);
    assert.doesNotMatch(p3.html, /rel="next"/);

    // A mailbox: its own actions and the admin's subscribe naming it.
    const mb = await admin.page("/admin/audit?mailbox=4005");
    assert.match(mb.html, /<td>subscribe<\/td>/);
    assert.doesNotMatch(mb.html, /<td>play<\/td>/);

    // Days are Berlin days: 2 March starts at 23:00 UTC on 1 March.
    const day = await admin.page("/admin/audit?from=2026-03-02&to=2026-03-02");
    assert.match(day.html, /<td>subscribe<\/td>/);
    assert.doesNotMatch(day.html, /<td>settings-change<\/td>/);
    const first = await admin.page("/admin/audit?to=2026-03-01&action=settings-change");
    assert.match(first.html, /<td>settings-change<\/td>/);

    const bad = await admin.page("/admin/audit?from=2026-02-30");
    assert.equal(bad.res.status, 400);
    assert.match(bad.html, /From date: expected a date like 2026-12-02/);
    assert.match(bad.html, /aria-invalid="true"/);

    const none = await admin.page("/admin/audit?who=nobody");
    assert.match(none.html, /No entries match\./);

    // Not for subscribers.
    const sub = await subscriberClient(env, "4001");
    const res = await sub.request("/admin/audit");
    assert.equal(res.status, 303);
    await res.body?.cancel();
  });
});

Deno.test("audit CSV: every match, RFC 4180 quoting, formulas defused, the export audited", async () => {
  await withEnv("audit-csv", FILE, async (env) => {
    await seed(env.state);
    const admin = await adminClient(env);
    const page = await admin.page("/admin/audit?mailbox=4001");
    assert.match(page.html, /href="\/admin\/audit\.csv\?mailbox=4001" download/);

    const res = await admin.request("/admin/audit.csv?mailbox=4001");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/csv; charset=utf-8");
    assert.match(
      res.headers.get("content-disposition") ?? "",
      /^attachment; filename="vmirror-audit-/,
    );
    const lines = (await res.text()).split("\r\n");
    assert.equal(lines[0], "at,actor,action,from,detail");
    assert.equal(lines.pop(), "");
    assert.equal(lines.length, 1 + 60 + 1, "60 of 4001's own, the subscribe naming it");
    assert.equal(
      lines[1],
      `2026-03-01T23:30:00.000Z,'=cmd|' /C calc'!A0,subscribe,,"{""mailboxes"":[""4001"",""4005""]}"`,
    );
    assert.match(lines[2], /^2026-03-01T13:59:00.000Z,subscriber:4001,play,10.0.0.9,"\{""folder""/);

    const [exported] = await listAudit(env.state, 1);
    assert.equal(exported.action, "audit-export");
    assert.equal(exported.actor, "admin:admin");
    assert.deepEqual(exported.detail, { filter: { mailbox: "4001" } });

    const bad = await admin.request("/admin/audit.csv?to=tomorrow");
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /^to: expected a date/);
  });
});

Deno.test("audit API: a page of the search as JSON, 400 naming a bad date, 401 without a token", async () => {
  await withEnv("audit-api", FILE, async (env) => {
    await seed(env.state);
    await adminClient(env);
    const { token } = await createApiToken(env.state, "auditor");
    const client = new PortalClient(env.app, { from: "10.2.2.2" });

    const r = await api(client, "/api/admin/audit?who=4002&action=login&page=1", token);
    assert.equal(r.status, 200);
    assert.equal(r.json.page, 1);
    assert.equal(r.json.pageSize, 50);
    assert.equal(r.json.hasMore, false);
    assert.equal(r.json.items.length, 20);
    assert.deepEqual(r.json.items[0], {
      at: "2026-03-01T13:54:00.000Z",
      actor: "subscriber:4002",
      action: "login",
      from: "10.0.0.9",
      detail: { folder: "INBOX", uid: 114 },
    });
    const paged = await api(client, "/api/admin/audit?who=subscriber&page=2&pageSize=100", token);
    assert.equal(paged.json.items.length, 20);
    const subscribe = await api(client, "/api/admin/audit?action=subscribe", token);
    assert.deepEqual(subscribe.json.items[0].detail, { mailboxes: ["4001", "4005"] });

    const bad = await api(client, "/api/admin/audit?from=2026-1-1&page=x", token);
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json.errors.map((e: { path: string }) => e.path), ["from", "page"]);

    const anonymous = await api(client, "/api/admin/audit");
    assert.equal(anonymous.status, 401);
  });
});

Deno.test("refused requests are audited: wrong CSRF token, cross-origin post, unknown message", async () => {
  await withEnv("audit-refused", FILE, async (env) => {
    const admin = await adminClient(env);
    const wrong = await admin.post("/admin/lockouts/clear", {
      kind: "mailbox",
      id: "4001",
      _csrf: "not-the-token",
    });
    assert.equal(wrong.status, 403);
    await wrong.body?.cancel();
    let [e] = await listAudit(env.state, 1);
    assert.equal(e.action, "request-refused");
    assert.equal(e.actor, "admin:admin");
    assert.equal(e.from, "127.0.0.1");
    assert.deepEqual(e.detail, {
      status: 403,
      reason: "csrf",
      method: "POST",
      path: "/admin/lockouts/clear",
    });

    const stranger = new PortalClient(env.app, { from: "192.0.2.7" });
    const cross = await stranger.post("/login?pin=1234", { mailbox: "4001", pin: "1234" }, {
      origin: "https://evil.example",
    });
    assert.equal(cross.status, 403);
    await cross.body?.cancel();
    [e] = await listAudit(env.state, 1);
    assert.equal(e.actor, "anonymous");
    assert.equal(e.from, "192.0.2.7");
    assert.deepEqual(e.detail, {
      status: 403,
      reason: "cross-origin",
      method: "POST",
      path: "/login",
    });
    assert.ok(!JSON.stringify(e).includes("1234"), "no PIN, from the body or the query");

    const sub = await subscriberClient(env, "4003");
    for (const path of ["/m/0/7-99", "/m/0/7-99/original/0", "/m/9/7-1"]) {
      const res = await sub.request(path);
      assert.equal(res.status, 404, path);
      await res.body?.cancel();
    }
    const unknown = (await listAudit(env.state, 3)).reverse();
    assert.deepEqual(unknown.map((x) => [x.actor, x.detail?.reason, x.detail?.path]), [
      ["subscriber:4003", "unknown message", "/m/0/7-99"],
      ["subscriber:4003", "unknown message", "/m/0/7-99/original/0"],
      ["subscriber:4003", "unknown message", "/m/9/7-1"],
    ]);
    // A page that does not exist is not a refusal.
    const missing = await sub.request("/no-such-page");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    assert.equal((await listAudit(env.state, 1))[0].detail?.path, "/m/9/7-1");

    // The admin finds them all with one filter.
    const found = await admin.page("/admin/audit?action=request-refused");
    assert.equal([...found.html.matchAll(/<td>request-refused<\/td>/g)].length, 5);
    assert.match(found.html, /reason=unknown message method=GET path=\/m\/0\/7-99/);
  });
});

Deno.test("a flood of refusals from one address is audited only up to the limit", async () => {
  await withEnv("audit-flood", FILE, async (env) => {
    const stranger = new PortalClient(env.app, { from: "192.0.2.8" });
    for (let i = 0; i < 40; i++) {
      const res = await stranger.post("/logout", {}, { origin: "https://evil.example" });
      assert.equal(res.status, 403);
      await res.body?.cancel();
    }
    const refused = (await listAudit(env.state, 100)).filter((e) => e.action === "request-refused");
    assert.ok(refused.length >= 30 && refused.length <= 40, `${refused.length}`);
  });
});

Deno.test("a mailbox's forwards, sent through a real SMTP listener, are found by its filter", async () => {
  const received: string[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ["STARTTLS", "AUTH"],
    authOptional: true,
    logger: false,
    onRcptTo(address, _session, callback) {
      received.push(address.address);
      callback();
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on("end", () => callback());
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.server.address() as { port: number }).port;
  try {
    const smtp = { host: "127.0.0.1", port, from: "vmirror@example.com", timeoutSeconds: 10 };
    await withEnv("audit-forward", { ...FILE, smtp }, async (env) => {
      for (
        const [mailbox, to] of [["4001", "a@example.com"], ["4002", "b@example.com"], [
          "4001",
          "c@example.com",
        ]]
      ) {
        const sub = await subscriberClient(env, mailbox);
        const res = await sub.post("/m/0/7-1/forward", { to });
        assert.equal(res.status, 303, `${mailbox} → ${to}`);
        await res.body?.cancel();
        const play = await sub.request("/m/0/7-1");
        await play.body?.cancel();
      }
      assert.deepEqual(received, ["a@example.com", "b@example.com", "c@example.com"]);

      const admin = await adminClient(env);
      const found = await admin.page("/admin/audit?mailbox=4001&action=forward");
      const rows = [...found.html.matchAll(/<tr><td><time[^]*?<\/tr>/g)].map((m) => m[0]);
      assert.equal(rows.length, 2);
      assert.match(rows[0], /<td>subscriber:4001<\/td><td>forward<\/td>.*to=c@example\.com/);
      assert.match(rows[1], /to=a@example\.com/);
      const csv = await admin.request("/admin/audit.csv?mailbox=4002&action=forward*");
      const lines = (await csv.text()).trim().split("\r\n");
      assert.equal(lines.length, 2);
      assert.match(lines[1], /,subscriber:4002,forward,10\.1\.1\.1,.*b@example\.com/);
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
