/**
 * Subscriptions in the admin console, in process: adding by a pasted list and by an uploaded
 * CSV (multipart), removing, invalid ids reported by line, search and paging, the CSV export's
 * round trip, the JSON API with a token, every change audited; the mailbox page after a real
 * mirror pass against the lab (counts on production and on the mirror, the kept original of an
 * over-length message downloaded and audited, production unreachable); and the list's timing
 * with 10,000 mailboxes (printed, not asserted).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Config, LiveConfig, type SourceConfig } from "../engine/config/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import {
  addSubscriptions,
  closeState,
  getSubscription,
  listAudit,
  listSubscriptions,
  openState,
  putMailboxResult,
  putSubscription,
  type State,
} from "../engine/state/mod.ts";
import { createApp } from "../portal/app.tsx";
import { createApiToken } from "../portal/admin_account.ts";
import { productionCounts } from "../portal/admin_subscriptions.tsx";
import { parseMailboxCsv } from "../portal/subscriptions_view.ts";
import { PortalClient } from "../portal/test_util.ts";
import {
  appendRaw,
  fillScratch,
  freePort,
  lab,
  snapshot,
  tempDir,
  wipeMailbox,
} from "./test_utils/mod.ts";

const PASSWORD = "correct horse battery";

interface Env {
  state: State;
  live: LiveConfig;
  app: ReturnType<typeof createApp>;
}

async function fresh(
  dir: string,
  patch?: (raw: Record<string, unknown>) => void,
  state?: State,
): Promise<Env> {
  let file: string | undefined;
  if (patch) {
    const raw = JSON.parse(await Deno.readTextFile(lab().configs.imap));
    patch(raw);
    file = join(dir, `vmirror-${crypto.randomUUID().slice(0, 8)}.json`);
    await Deno.writeTextFile(file, JSON.stringify(raw));
  }
  const dataDir = join(dir, "data");
  await Deno.mkdir(dataDir, { recursive: true });
  state ??= await openState(join(dataDir, "state.kv"));
  const live = await LiveConfig.open(state, { file, dataDir, env: {} });
  const app = createApp({ config: live.current, live, state, adminIterations: 1000 });
  return { state, live, app };
}

async function signIn(env: Env): Promise<PortalClient> {
  const admin = new PortalClient(env.app, { from: "127.0.0.1" });
  await admin.page("/admin/setup");
  const res = await admin.post("/admin/setup", { password: PASSWORD, confirm: PASSWORD });
  assert.equal(res.status, 303);
  await res.body?.cancel();
  await admin.page("/admin/subscriptions");
  return admin;
}

async function api(
  client: PortalClient,
  method: string,
  path: string,
  opts: { body?: unknown; raw?: string; token?: string } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await client.request(path, { method, headers, body });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}

async function upload(
  client: PortalClient,
  op: "add" | "remove",
  name: string,
  text: string,
): Promise<{ status: number; html: string }> {
  const form = new FormData();
  form.set("_csrf", client.csrf);
  form.set("op", op);
  form.set("csv", new File([text], name, { type: "text/csv" }));
  const res = await client.request("/admin/subscriptions", {
    method: "POST",
    headers: { origin: client.origin },
    body: form,
  });
  const html = await res.text();
  client.remember(html);
  return { status: res.status, html };
}

async function paste(
  client: PortalClient,
  op: "add" | "remove",
  mailboxes: string,
): Promise<{ status: number; html: string }> {
  const res = await client.post("/admin/subscriptions", { op, mailboxes });
  const html = await res.text();
  client.remember(html);
  return { status: res.status, html };
}

// Text as the page shows it: tags dropped, entities and spacing undone.
function text(html: string): string {
  return html.replace(/<[^>]+>/g, " ").replace(/&quot;/g, '"').replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&").replace(/\s+/g, " ");
}

async function subscribed(state: State): Promise<string[]> {
  return (await listSubscriptions(state)).map((s) => s.mailbox);
}

Deno.test("subscriptions console: paste, CSV upload, remove, invalid ids by line, audited", async () => {
  await using tmp = await tempDir("subs-console");
  const env = await fresh(tmp.path);
  try {
    const admin = await signIn(env);
    assert.match(text((await admin.page("/admin/subscriptions")).html), /No mailbox is mirrored/);

    const pasted = await paste(admin, "add", "4001, 4002\n4003 bad*id\n\n../x\n4001");
    assert.equal(pasted.status, 200);
    const shown = text(pasted.html);
    assert.match(shown, /Added 3 mailboxes: 4001, 4002, 4003\./);
    assert.match(shown, /Line 2: "bad\*id": not a mailbox id/);
    assert.match(shown, /Line 4: "\.\.\/x": not a mailbox id/);
    assert.deepEqual(await subscribed(env.state), ["4001", "4002", "4003"]);
    assert.equal((await getSubscription(env.state, "4001"))?.origin, "manual");

    const csv = 'Mailbox Number,Name\r\n5001,Ann\r\n"5002","Bo, B"\r\n50 03,Cy\r\n4001,Al\r\n';
    const up = await upload(admin, "add", "people.csv", csv);
    assert.equal(up.status, 200);
    const upShown = text(up.html);
    assert.match(upShown, /Added 2 mailboxes: 5001, 5002\. 1 already mirrored: 4001\./);
    assert.match(upShown, /Line 1 was read as the header \("Mailbox Number"\)/);
    assert.match(upShown, /Line 4 of people\.csv: "50 03": not a mailbox id/);

    const removed = await paste(admin, "remove", "4002 5002 9999");
    assert.match(text(removed.html), /Removed 2 mailboxes: 4002, 5002\. 1 not mirrored: 9999\./);
    const removedCsv = await upload(admin, "remove", "gone.csv", "4003\n");
    assert.match(text(removedCsv.html), /Removed 1 mailbox: 4003\./);
    assert.deepEqual(await subscribed(env.state), ["4001", "5001"]);

    // Nothing valid, nothing given, no op: 400 with the reason.
    const onlyBad = await paste(admin, "add", "no/slash");
    assert.equal(onlyBad.status, 400);
    assert.match(text(onlyBad.html), /Line 1: "no\/slash"/);
    assert.equal((await paste(admin, "add", "  ")).status, 400);
    assert.equal((await upload(admin, "add", "empty.csv", "mailbox\n")).status, 400);
    const noOp = await admin.post("/admin/subscriptions", { mailboxes: "4001" });
    assert.equal(noOp.status, 400);
    await noOp.body?.cancel();
    // Without the form's token: refused.
    const forged = await admin.post("/admin/subscriptions", {
      _csrf: "x",
      op: "add",
      mailboxes: "6666",
    });
    assert.equal(forged.status, 403);
    await forged.body?.cancel();

    const audit = (await listAudit(env.state, 50)).filter((e) =>
      e.action === "subscribe" || e.action === "unsubscribe"
    ).reverse();
    assert.deepEqual(
      audit.map((e) => [e.action, e.detail?.mailboxes, e.detail?.count, e.actor]),
      [
        ["subscribe", ["4001", "4002", "4003"], 3, "admin:admin"],
        ["subscribe", ["5001", "5002", "4001"], 3, "admin:admin"],
        ["unsubscribe", ["4002", "5002", "9999"], 3, "admin:admin"],
        ["unsubscribe", ["4003"], 1, "admin:admin"],
      ],
    );
    // Manual adds pin a directory-managed mailbox as manual.
    await addSubscriptions(env.state, ["7001"], { origin: "directory" });
    await paste(admin, "add", "7001");
    assert.equal(
      (await listSubscriptions(env.state)).find((s) => s.mailbox === "7001")?.origin,
      "manual",
    );
  } finally {
    closeState(env.state);
  }
});

Deno.test("subscriptions console: search, paging, who manages each, and the CSV export's round trip", async () => {
  await using tmp = await tempDir("subs-list");
  const env = await fresh(tmp.path);
  try {
    const admin = await signIn(env);
    const ids = Array.from({ length: 120 }, (_, i) => String(7000 + i));
    await addSubscriptions(env.state, ids.slice(0, 60), { origin: "directory" });
    await paste(admin, "add", ids.slice(60).join("\n"));
    const [orphan] = await listSubscriptions(env.state);
    await putSubscription(env.state, { ...orphan, orphanedSince: "2026-03-01T08:00:00.000Z" });

    const first = text((await admin.page("/admin/subscriptions")).html);
    assert.match(first, /1–50 of 120 mailboxes\./);
    const page3 = await admin.page("/admin/subscriptions?page=3");
    assert.match(text(page3.html), /101–120 of 120 mailboxes\./);
    assert.match(page3.html, /href="\/admin\/subscriptions\?page=3" aria-current="page"/);
    assert.match(page3.html, /href="\/admin\/subscriptions\/7119"/);
    // Past the end: the last page.
    assert.match(text((await admin.page("/admin/subscriptions?page=99")).html), /101–120 of 120/);

    const search = await admin.page("/admin/subscriptions?q=711");
    const found = text(search.html);
    assert.match(found, /1–10 of 10 mailboxes matching "711"\./);
    assert.doesNotMatch(search.html, /href="\/admin\/subscriptions\/7000"/);
    assert.match(search.html, /href="\/admin\/subscriptions\.csv\?q=711"/);
    const orphanRow = text((await admin.page("/admin/subscriptions?q=7000")).html);
    assert.match(orphanRow, /7000 directory orphaned since 2026-03-01/);
    assert.match(orphanRow, /never synced/);
    assert.match(text((await admin.page("/admin/subscriptions?q=7100")).html), /7100 manual/);
    assert.match(
      text((await admin.page("/admin/subscriptions?q=zzz")).html),
      /No mailbox matches "zzz"/,
    );

    // A failed last pass: the list, the API and the mailbox page name the server and operation.
    const at = "2026-03-02T09:00:00.000Z";
    const error = {
      message: 'Cannot select "INBOX" of mailbox "7005" on "mss-prod": NO [NONEXISTENT]',
      server: "mss-prod",
      operation: 'select "INBOX"',
      folder: "INBOX",
    };
    await putMailboxResult(env.state, {
      mailbox: "7005",
      ok: false,
      startedAt: at,
      finishedAt: at,
      copied: 0,
      deleted: 0,
      flagsUpdated: 0,
      placeholders: 0,
      skipped: {},
      warnings: [],
      error,
    });
    assert.match(
      text((await admin.page("/admin/subscriptions?q=7005")).html),
      /7005 directory failed Cannot select "INBOX" of mailbox "7005" on "mss-prod": NO \[NONEXISTENT\] 2026-03-02 09:00 UTC/,
    );
    const viaApi = await api(admin, "GET", "/api/admin/subscriptions?q=7005");
    assert.deepEqual((viaApi.json.items as Record<string, unknown>[])[0].error, error);
    assert.equal((viaApi.json.items as Record<string, unknown>[])[0].state, "failed");
    const failedPage = text((await admin.page("/admin/subscriptions/7005")).html);
    assert.match(failedPage, /Last pass failed, 2026-03-02 09:00 UTC/);
    assert.match(
      failedPage,
      /Last error Cannot select "INBOX" .* Server mss-prod Operation select "INBOX" Folder INBOX When 2026-03-02 09:00 UTC/,
    );
    assert.match(failedPage, /Production: unreachable: no production message store is configured/);
    assert.match(failedPage, /Mirrored yes, managed by the directory/);

    const res = await admin.request("/admin/subscriptions.csv");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/csv/);
    assert.match(
      res.headers.get("content-disposition") ?? "",
      /attachment; filename="vmirror-subscriptions-/,
    );
    const csv = await res.text();
    assert.match(csv, /^mailbox,managed_by,added_at,orphaned_since,state,last_pass_at,error\r\n/);
    assert.match(csv, /\r\n7000,directory,[^,]+,2026-03-01T08:00:00\.000Z,never,,\r\n/);
    assert.deepEqual(parseMailboxCsv(csv).entries.map((e) => e.value), ids);
    const filtered = await admin.request("/admin/subscriptions.csv?q=711");
    assert.equal(parseMailboxCsv(await filtered.text()).entries.length, 10);

    // The export uploads as it is into another appliance.
    await using tmp2 = await tempDir("subs-list-2");
    const other = await fresh(tmp2.path);
    try {
      const admin2 = await signIn(other);
      const up = await upload(admin2, "add", "export.csv", csv);
      assert.equal(up.status, 200);
      assert.match(text(up.html), /Added 120 mailboxes\./);
      assert.deepEqual(await subscribed(other.state), ids);
    } finally {
      closeState(other.state);
    }
  } finally {
    closeState(env.state);
  }
});

Deno.test("subscriptions API: GET with q and page, POST and DELETE with a token, 400 on a bad body", async () => {
  await using tmp = await tempDir("subs-api");
  const env = await fresh(tmp.path);
  try {
    const anon = new PortalClient(env.app, { from: "10.0.0.5" });
    assert.equal((await api(anon, "GET", "/api/admin/subscriptions")).status, 401);
    await signIn(env);
    const { token } = await createApiToken(env.state, "subs script");
    const ids = Array.from({ length: 130 }, (_, i) => String(8000 + i));
    const post = await api(anon, "POST", "/api/admin/subscriptions", {
      token,
      body: { mailboxes: [...ids, "no/slash", "8000", ""] },
    });
    assert.equal(post.status, 200);
    assert.deepEqual(post.json.added, ids);
    assert.deepEqual(post.json.unchanged, []);
    assert.deepEqual(
      (post.json.invalid as { value: string }[]).map((e) => e.value),
      ["no/slash", ""],
    );
    const again = await api(anon, "POST", "/api/admin/subscriptions", {
      token,
      body: { mailboxes: ["8000", "9000"] },
    });
    assert.deepEqual(again.json, { added: ["9000"], unchanged: ["8000"], invalid: [] });

    const page2 = await api(anon, "GET", "/api/admin/subscriptions?page=2", { token });
    assert.equal(page2.status, 200);
    assert.equal(page2.json.total, 131);
    assert.equal(page2.json.page, 2);
    assert.equal(page2.json.pageSize, 50);
    const items = page2.json.items as Record<string, unknown>[];
    assert.deepEqual(items.map((i) => i.mailbox), ids.slice(50, 100));
    assert.deepEqual(
      { ...items[0], addedAt: undefined },
      {
        mailbox: "8050",
        origin: "manual",
        addedAt: undefined,
        orphanedSince: null,
        state: "never",
        lastPassAt: null,
      },
    );
    const q = await api(anon, "GET", "/api/admin/subscriptions?q=812&pageSize=5", { token });
    assert.equal(q.json.total, 10);
    assert.deepEqual((q.json.items as { mailbox: string }[]).map((i) => i.mailbox), [
      "8120",
      "8121",
      "8122",
      "8123",
      "8124",
    ]);
    const past = await api(anon, "GET", "/api/admin/subscriptions?page=9", { token });
    assert.deepEqual(past.json.items, []);
    assert.equal(
      (await api(anon, "GET", "/api/admin/subscriptions?pageSize=0", { token })).status,
      400,
    );

    const del = await api(anon, "DELETE", "/api/admin/subscriptions", {
      token,
      body: { mailboxes: ["9000", "8000", "7777", "../x"] },
    });
    assert.equal(del.status, 200);
    assert.deepEqual(del.json.removed, ["9000", "8000"]);
    assert.deepEqual(del.json.unchanged, ["7777"]);
    assert.equal((del.json.invalid as unknown[]).length, 1);
    assert.equal((await subscribed(env.state)).length, 129);

    for (const raw of ["not json", "[]", '{"mailboxes":"8001"}', '{"mailboxes":[1]}', "{}"]) {
      for (const method of ["POST", "DELETE"]) {
        const r = await api(anon, method, "/api/admin/subscriptions", { token, raw });
        assert.equal(r.status, 400, `${method} ${raw}`);
        assert.match(String(r.json.error), /mailboxes/);
      }
    }
    const audit = (await listAudit(env.state, 20)).filter((e) =>
      e.actor === "admin:token:subs script"
    );
    assert.deepEqual(audit.map((e) => [e.action, e.detail?.count]).reverse(), [
      ["subscribe", 130],
      ["subscribe", 2],
      ["unsubscribe", 3],
    ]);
  } finally {
    closeState(env.state);
  }
});

Deno.test({
  name:
    "subscriptions console: the mailbox page after a mirror pass (counts, passes, kept original downloaded and audited)",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    await using tmp = await tempDir("subs-mailbox");
    const mailbox = "7613";
    // Four ordinary voicemails and the lab's over-length one (a placeholder on the backup).
    await fillScratch(mailbox, 4);
    const l = lab();
    const seeded = await snapshot("prod", l.longMessage.mailbox, [l.longMessage.folder]);
    const long = seeded.folders[l.longMessage.folder].messages.find((m) =>
      m.messageId === l.longMessage.messageId
    )!;
    assert.ok(long, "the lab's over-length message");
    await appendRaw("prod", mailbox, "INBOX", [{ bytes: long.bytes }]);
    await wipeMailbox("backup", mailbox);

    const env = await fresh(tmp.path, () => {});
    try {
      const admin = await signIn(env);
      const config = env.live.current as Config & { source: SourceConfig };
      await paste(admin, "add", mailbox);
      const before = text((await admin.page(`/admin/subscriptions/${mailbox}`)).html);
      assert.match(before, /Mirrored yes, added manually/);
      assert.match(before, /INBOX 5 0 0/);
      assert.match(before, /never synced/);

      const summary = await runSync(config, env.state, { mailboxes: [mailbox] });
      assert.equal(summary.ok, 1, JSON.stringify(summary.mailboxes[0]?.error));

      const page = await admin.page(`/admin/subscriptions/${mailbox}`);
      assert.equal(page.res.status, 200);
      const shown = text(page.html);
      assert.match(shown, /INBOX 5 5 \(1 placeholder\) 0/);
      assert.match(shown, /Greetings no such folder 0 0/);
      assert.match(shown, /Last pass ok, \d{4}-\d\d-\d\d \d\d:\d\d/);
      assert.match(shown, /Recent passes Finished Result Copied .* ok 4 \(1 placeholder\)/);
      assert.match(page.html, /href="\/admin\/jobs\?mailbox=7613"/);
      // Lag: when production last changed and when that reached the mirror (newer passes
      // record it; a result without it reads as not measured).
      const r = summary.mailboxes[0] as { lastChangeAt?: string | null; lagSeconds?: number };
      if (r.lastChangeAt) {
        assert.match(
          shown,
          /Production last changed \d{4}-\d\d-\d\d \d\d:\d\d UTC That change reached the mirror \d{4}-/,
        );
        assert.match(shown, /Newest copies' lag [^(]+ from arrival on production to the mirror/);
      } else {
        assert.match(shown, /Lag Not measured yet/);
      }
      assert.match(page.html, /<time dateTime="[^"]+"/i);

      const link =
        /href="(\/admin\/subscriptions\/7613\/original\?folder=INBOX&amp;file=(\d+-\d+\.eml))"/
          .exec(page.html);
      assert.ok(link, "a download link for the kept original");
      const res = await admin.request(link[1].replaceAll("&amp;", "&"));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "message/rfc822");
      assert.match(
        res.headers.get("content-disposition") ?? "",
        /attachment; filename="7613-INBOX-/,
      );
      const bytes = new Uint8Array(await res.arrayBuffer());
      assert.deepEqual(bytes, long.bytes);
      const [entry] = (await listAudit(env.state, 5)).filter((e) =>
        e.action === "original-download"
      );
      assert.equal(entry.detail?.mailbox, mailbox);
      assert.equal(entry.detail?.bytes, long.bytes.length);

      // Only the admin, only kept originals, no way out of the folder.
      const other = new PortalClient(env.app, { from: "10.0.0.9" });
      const anon = await other.request(link[1].replaceAll("&amp;", "&"));
      assert.equal(anon.status, 303);
      await anon.body?.cancel();
      for (
        const bad of [
          `/admin/subscriptions/${mailbox}/original?folder=INBOX&file=1-99999.eml`,
          `/admin/subscriptions/${mailbox}/original?folder=INBOX&file=../../state.kv`,
          `/admin/subscriptions/${mailbox}/original?folder=..&file=${link[2]}`,
          `/admin/subscriptions/..%2F..%2Fetc/original?folder=INBOX&file=${link[2]}`,
          "/admin/subscriptions/bad*id",
        ]
      ) {
        const r = await admin.request(bad);
        assert.equal(r.status, 404, bad);
        await r.body?.cancel();
      }

      // Production unreachable: the page says so with the reason, the mirror's counts stay.
      const closed = freePort();
      const down = await fresh(tmp.path, (raw) => {
        (raw.source as Record<string, unknown>).port = closed;
      }, env.state);
      const admin2 = new PortalClient(down.app, { from: "127.0.0.1" });
      for (const [k, v] of admin.cookies) admin2.cookies.set(k, v);
      const downPage = text((await admin2.page(`/admin/subscriptions/${mailbox}`)).html);
      assert.match(downPage, /Production: unreachable: Cannot reach the server of mailbox "7613"/);
      assert.match(downPage, /INBOX unreachable 5 \(1 placeholder\) 0/);
      const direct = await productionCounts(down.live.current, mailbox);
      assert.equal(direct.ok, false);
    } finally {
      closeState(env.state);
    }
  },
});

Deno.test("subscriptions console: the list with 10,000 mailboxes (timings printed)", async () => {
  await using tmp = await tempDir("subs-10k");
  const env = await fresh(tmp.path);
  try {
    const admin = await signIn(env);
    const ids = Array.from({ length: 10_000 }, (_, i) => String(100000 + i));
    let t = performance.now();
    await addSubscriptions(env.state, ids, { origin: "directory" });
    const seedMs = performance.now() - t;
    const timed = async (path: string, expect: RegExp) => {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        t = performance.now();
        const { res, html } = await admin.page(path);
        times.push(performance.now() - t);
        assert.equal(res.status, 200);
        assert.match(text(html), expect);
      }
      return times.map((x) => x.toFixed(0)).join("/");
    };
    const list = await timed("/admin/subscriptions", /1–50 of 10000 mailboxes\./);
    const deep = await timed("/admin/subscriptions?page=150", /7451–7500 of 10000/);
    const search = await timed(
      "/admin/subscriptions?q=10999",
      /1–10 of 10 mailboxes matching "10999"/,
    );
    t = performance.now();
    const res = await admin.request("/admin/subscriptions.csv");
    const csv = await res.text();
    const exportMs = performance.now() - t;
    assert.equal(parseMailboxCsv(csv).entries.length, 10_000);
    console.log(
      `10,000 mailboxes: seed ${
        seedMs.toFixed(0)
      } ms; list page 1 ${list} ms; page 150 ${deep} ms;` +
        ` search ${search} ms; CSV export ${
          exportMs.toFixed(0)
        } ms (three runs each: cold/warm/warm)`,
    );
  } finally {
    closeState(env.state);
  }
});
