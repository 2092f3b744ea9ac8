/**
 * Sync now, directory sync and restore from the admin console and its API, against the lab's
 * real Dovecot pair and slapd pair: jobs with progress (pages, JSON, server-sent events), one
 * job of a kind per target, dry runs first, the outcome in the audit log.
 * Scratch mailboxes 7460–7469 belong to these tests.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LiveConfig } from "../engine/config/mod.ts";
import { closeLdap, getAttr, modifyEntry } from "../engine/directory/mod.ts";
import { jobRegistry } from "../engine/jobs/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import {
  addSubscriptions,
  closeState,
  listAudit,
  listSubscriptions,
  openState,
  type State,
} from "../engine/state/mod.ts";
import { createApp } from "../portal/app.tsx";
import { PortalClient } from "../portal/test_util.ts";
import {
  fillScratch,
  lab,
  labConfig,
  ldapAdmin,
  restoreDirectory,
  snapshot,
  snapshotDirectory,
  tempDir,
  withImap,
} from "./test_utils/mod.ts";

const PASSWORD = "correct horse battery";
const TIMEOUT_MS = 120_000;

interface Env {
  state: State;
  live: LiveConfig;
  app: ReturnType<typeof createApp>;
  admin: PortalClient;
}

async function withEnv(tag: string, fn: (env: Env) => Promise<void>): Promise<void> {
  await using tmp = await tempDir(tag);
  const dataDir = join(tmp.path, "data");
  await labConfig(dataDir);
  const state = await openState(join(dataDir, "state.kv"));
  try {
    const live = await LiveConfig.open(state, {
      file: join(dataDir, "vmirror.json"),
      dataDir,
      env: {},
    });
    const app = createApp({ config: live.current, live, state, adminIterations: 1000 });
    const admin = new PortalClient(app, { from: "127.0.0.1" });
    await admin.page("/admin/setup");
    const res = await admin.post("/admin/setup", { password: PASSWORD, confirm: PASSWORD });
    assert.equal(res.status, 303);
    await res.body?.cancel();
    await admin.page("/admin/jobs");
    await deadline(TIMEOUT_MS, () => fn({ state, live, app, admin }));
  } finally {
    await jobRegistry(state).idle();
    closeState(state);
  }
}

async function deadline<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

type Json = Record<string, unknown>;

async function api(
  client: PortalClient,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json; headers: Headers }> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") headers["x-csrf-token"] = client.csrf;
  const res = await client.request(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {}, headers: res.headers };
}

/** Reads a job's page until the job has ended (the page stops reloading itself). */
async function pageWhenDone(client: PortalClient, path: string): Promise<string> {
  for (;;) {
    const { res, html } = await client.page(path);
    assert.equal(res.status, 200);
    if (!html.includes('http-equiv="refresh"')) return html;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function auditOf<T extends { action: string; detail?: Json }>(
  entries: T[],
  action: string,
  job?: string,
): T[] {
  return entries.filter((e) => e.action === action && (!job || e.detail?.job === job));
}

Deno.test({
  name: "sync now: one mailbox mirrored by a job; a second sync of all is refused while it runs",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    await withEnv("jobs-sync", async ({ state, admin }) => {
      const mb = "7460";
      await fillScratch(mb, 3);
      await addSubscriptions(state, [mb], { origin: "manual" });

      const first = await api(admin, "POST", "/api/admin/sync", { mailboxes: [mb] });
      assert.equal(first.status, 202, JSON.stringify(first.json));
      assert.equal(first.json.state, "running");
      const id = first.json.id as string;
      assert.equal(first.json.url, `/api/admin/jobs/${id}`);
      assert.equal(first.headers.get("location"), `/api/admin/jobs/${id}`);

      // "Sync all" takes in the running job's mailbox: 409, naming the job.
      const second = await api(admin, "POST", "/api/admin/sync", {});
      assert.equal(second.status, 409, JSON.stringify(second.json));
      assert.match(second.json.error as string, new RegExp(id));
      assert.equal((second.json.running as Json).id, id);

      // The stream replays what was written, follows the rest, and ends with "done".
      const res = await admin.request(`/api/admin/jobs/${id}/events`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
      const stream = await res.text();
      assert.match(stream, /^data: Syncing 1 mailbox$/m);
      assert.match(stream, new RegExp(`^data: \\[1/1\\] ${mb} ok: copied 3, deleted 0`, "m"));
      const done = /event: done\ndata: (.*)\n\n$/.exec(stream);
      assert.ok(done, stream);
      assert.equal(JSON.parse(done[1]).state, "done");

      const job = await api(admin, "GET", `/api/admin/jobs/${id}`);
      assert.equal(job.json.state, "done");
      const result = job.json.result as {
        totals: { copied: number };
        mailboxes: { mailbox: string; copied: number }[];
      };
      assert.equal(result.totals.copied, 3);
      assert.deepEqual(result.mailboxes.map((m) => [m.mailbox, m.copied]), [[mb, 3]]);
      const backup = await snapshot("backup", mb, ["INBOX"]);
      assert.equal(backup.folders.INBOX.messages.length, 3);

      // Finished: the stream still gives the lines, then "done", at once.
      const again = await (await admin.request(`/api/admin/jobs/${id}/events`)).text();
      assert.match(again, /event: done/);
      const resumed = await (await admin.request(`/api/admin/jobs/${id}/events`, {
        headers: { "last-event-id": "1" },
      })).text();
      assert.doesNotMatch(resumed, /^data: Syncing/m);

      // With ?wait, a short job answers with its report.
      const waited = await api(admin, "POST", "/api/admin/sync?wait=30", { mailboxes: [mb] });
      assert.equal(waited.status, 200);
      assert.equal((waited.json.result as { totals: { copied: number } }).totals.copied, 0);

      // Requests that cannot run.
      const bad = await api(admin, "POST", "/api/admin/sync", { mailboxes: ["no such"] });
      assert.equal(bad.status, 400);
      assert.equal((bad.json.errors as Json[])[0].path, "mailboxes/0");
      const unknown = await api(admin, "POST", "/api/admin/sync", { mailboxes: ["7469"] });
      assert.equal(unknown.status, 400);
      assert.match(JSON.stringify(unknown.json), /not subscribed/);
      const noCsrf = await admin.request("/api/admin/sync", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(noCsrf.status, 403);
      await noCsrf.body?.cancel();

      const list = await api(admin, "GET", "/api/admin/jobs");
      const jobs = list.json.jobs as Json[];
      assert.ok(jobs.some((j) => j.id === id && j.state === "done" && !("result" in j)));

      const entries = await listAudit(state);
      const mine = auditOf(entries, "sync-now", id);
      assert.deepEqual(mine.map((e) => e.detail?.stage).sort(), ["finished", "started"]);
      const finished = mine.find((e) => e.detail?.stage === "finished")!;
      assert.equal(finished.detail?.copied, 3);
      assert.equal(finished.detail?.dryRun, false);
    });
  },
});

Deno.test({
  name: "jobs: the page reloads while a job runs; a stream closed by its client lets go",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    await withEnv("jobs-watch", async ({ state, admin }) => {
      const registry = jobRegistry(state);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const job = registry.start({
        kind: "sync",
        params: { mailboxes: ["7468"] },
        targets: ["7468"],
        startedBy: "admin:test",
        run: async (ctx) => {
          ctx.progress("waiting for the gate");
          await gate;
          return { ok: true, summary: "through" };
        },
      });
      try {
        // Two browsers watch the same job.
        const other = new PortalClient(admin.app, { from: "127.0.0.1" });
        for (const [k, v] of admin.cookies) other.cookies.set(k, v);
        for (const client of [admin, other]) {
          const { html } = await client.page(`/admin/jobs/${job.id}`);
          assert.match(html, /<meta http-equiv="refresh" content="2"/);
          assert.match(html, /waiting for the gate/);
        }

        const res = await admin.request(`/api/admin/jobs/${job.id}/events`);
        const reader = res.body!.getReader();
        const { value } = await reader.read();
        assert.match(new TextDecoder().decode(value), /retry: /);
        assert.equal(registry.watchers(job.id), 1);
        await reader.cancel();
        assert.equal(registry.watchers(job.id), 0);
      } finally {
        release();
      }
      await registry.idle();
      const html = await pageWhenDone(admin, `/admin/jobs/${job.id}`);
      assert.match(html, /Done: through/);
    });
  },
});

// ---- directory sync ----

Deno.test({
  name: "directory sync: the preview shows the plan and changes nothing; the confirmed run applies",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    const backupSnap = await snapshotDirectory("backup");
    try {
      await withEnv("jobs-directory", async ({ state, admin }) => {
        const l = lab();
        const who = l.ldap.prod.subscribers[2];
        const dn = `uid=${who.mailbox},${l.ldap.backup.baseDn}`;
        const s = await ldapAdmin("backup");
        try {
          await modifyEntry(s, dn, [{
            attr: "displayName",
            op: "replace",
            values: ["Wrong Name"],
          }]);
        } finally {
          await closeLdap(s);
        }

        // The page: preview, then the plan with its confirm form.
        const res = await admin.post("/admin/jobs/directory-sync", {});
        assert.equal(res.status, 303);
        await res.body?.cancel();
        const page = await pageWhenDone(admin, res.headers.get("location")!);
        assert.match(page, /What would change/);
        assert.match(page, new RegExp(`modify &quot;${dn}&quot;|modify "${dn}"`));
        assert.match(page, /Confirm directory sync/);
        assert.equal((await listSubscriptions(state)).length, 0, "a preview subscribes nobody");

        // The API: a dry run answers with the plan.
        const dry = await api(admin, "POST", "/api/admin/directory-sync", { dryRun: true });
        assert.equal(dry.status, 200, JSON.stringify(dry.json));
        const plan = dry.json.result as {
          dryRun: boolean;
          counts: { subscribed: number };
          backup: { changes: { dn: string; op: string; status: string }[] };
        };
        assert.equal(plan.dryRun, true);
        assert.ok(plan.counts.subscribed > 0);
        assert.ok(plan.backup.changes.some((c) => c.dn === dn && c.status === "planned"));
        assert.equal((await listSubscriptions(state)).length, 0);

        const real = await api(admin, "POST", "/api/admin/directory-sync?wait=60", {
          dryRun: false,
        });
        assert.equal(real.status, 200, JSON.stringify(real.json));
        assert.equal(real.json.state, "done", JSON.stringify(real.json.progress));
        const subs = (await listSubscriptions(state)).map((x) => x.mailbox);
        assert.ok(subs.includes(who.mailbox));
        const fixed = (await snapshotDirectory("backup")).get(dn.toLowerCase());
        assert.deepEqual(getAttr(fixed!, "displayName"), [who.name]);

        const entries = auditOf(await listAudit(state), "directory-sync");
        const finished = entries.filter((e) => e.detail?.stage === "finished");
        assert.deepEqual(finished.map((e) => e.detail?.dryRun).sort(), [false, true, true]);
        assert.ok(
          finished.some((e) => e.detail?.dryRun === false && Number(e.detail.modified) >= 1),
        );
      });
    } finally {
      await restoreDirectory("backup", backupSnap);
    }
  },
});

// ---- restore ----

async function deleteOnProduction(mailbox: string, count: number): Promise<string[]> {
  const before = await snapshot("prod", mailbox, ["INBOX"]);
  const gone = before.folders.INBOX.messages.slice(0, count);
  await withImap("prod", mailbox, async (c) => {
    await c.mailboxOpen("INBOX");
    await c.messageDelete(gone.map((m) => m.uid).join(","), { uid: true });
  });
  return gone.map((m) => m.messageId!);
}

Deno.test({
  name:
    "restore via the API: the dry run lists what production lost, the real run puts it back once",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    await withEnv("jobs-restore", async ({ state, admin }) => {
      const mb = "7461";
      await fillScratch(mb, 4);
      await addSubscriptions(state, [mb], { origin: "manual" });
      const synced = await api(admin, "POST", "/api/admin/sync?wait=60", { mailboxes: [mb] });
      assert.equal(synced.json.state, "done");
      const lost = await deleteOnProduction(mb, 2);

      // Requests that cannot run.
      for (
        const [body, path] of [
          [{ mailbox: mb, from: "files" }, "from"],
          [{ mailbox: "a/b" }, "mailbox"],
          [{ mailbox: mb, since: "2999-01-01" }, "since"],
          [{ mailbox: mb, folders: "INBOX" }, "folders"],
          [{ mailbox: mb, dryrun: false }, "dryrun"],
        ] as const
      ) {
        const r = await api(admin, "POST", "/api/admin/restore", body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal((r.json.errors as Json[])[0].path, path, JSON.stringify(r.json));
      }

      const dry = await api(admin, "POST", "/api/admin/restore", { mailbox: mb, dryRun: true });
      assert.equal(dry.status, 200, JSON.stringify(dry.json));
      const plan = dry.json.result as {
        appended: number;
        items: { outcome: string; messageId: string }[];
      };
      assert.equal(plan.appended, 2);
      assert.deepEqual(
        plan.items.filter((i) => i.outcome === "would-append").map((i) => i.messageId).sort(),
        [...lost].sort(),
      );
      assert.equal((await snapshot("prod", mb, ["INBOX"])).folders.INBOX.messages.length, 2);

      const real = await api(admin, "POST", "/api/admin/restore?wait=60", {
        mailbox: mb,
        dryRun: false,
      });
      assert.equal(real.status, 200, JSON.stringify(real.json));
      assert.equal(real.json.state, "done");
      assert.equal((real.json.result as { appended: number }).appended, 2);
      const after = await snapshot("prod", mb, ["INBOX"]);
      assert.equal(after.folders.INBOX.messages.length, 4);

      const twice = await api(admin, "POST", "/api/admin/restore?wait=60", {
        mailbox: mb,
        dryRun: false,
      });
      assert.equal((twice.json.result as { appended: number }).appended, 0);
      assert.equal((await snapshot("prod", mb, ["INBOX"])).folders.INBOX.messages.length, 4);

      const entries = auditOf(await listAudit(state), "restore");
      assert.ok(entries.some((e) => e.detail?.stage === "started" && e.detail?.dryRun === true));
      assert.ok(entries.some((e) => e.detail?.stage === "finished" && e.detail?.dryRun === true));
      // The restore that wrote is recorded by the engine with its counts, by the admin.
      const wrote = entries.filter((e) => e.detail?.appended === 2 && !e.detail?.stage);
      assert.equal(wrote.length, 1);
      assert.match(wrote[0].actor, /^admin:/);
    });
  },
});

Deno.test({
  name:
    "restore in the console: preview lists subjects and dates, confirm puts them back (unsubscribed mailbox)",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    await withEnv("jobs-restore-page", async ({ state, live, admin }) => {
      const mb = "7462";
      await fillScratch(mb, 3);
      // Mirrored once, then no longer subscribed: a restore is still allowed.
      const config = live.current;
      const s = await runSync({ ...config, source: config.source! }, state, { mailboxes: [mb] });
      assert.equal(s.failed, 0);
      const lost = await deleteOnProduction(mb, 1);

      const form = await admin.page("/admin/jobs");
      assert.match(form.html, /name="folder:0" value="INBOX"/);
      const res = await admin.post("/admin/jobs/restore", {
        mailbox: mb,
        from: "backup",
        since: "",
        "folder:0": "INBOX",
      });
      assert.equal(res.status, 303);
      await res.body?.cancel();
      const preview = await pageWhenDone(admin, res.headers.get("location")!);
      assert.match(preview, /What would go back/);
      assert.match(preview, /would go back/);
      assert.match(preview, /<time dateTime=/i);
      assert.match(preview, /Confirm restore/);
      // The subject comes from the mirror's copy of the lost message.
      const lostBytes = (await snapshot("backup", mb, ["INBOX"])).folders.INBOX.messages.find((m) =>
        m.messageId === lost[0]
      )!.bytes;
      const subject = /^subject:[ \t]*(.*)$/im.exec(new TextDecoder().decode(lostBytes))?.[1]
        .trim();
      assert.ok(subject, "the seeded voicemail has a subject");
      assert.ok(preview.includes(escapeHtml(subject)), `subject "${subject}" shown`);
      assert.equal((await snapshot("prod", mb, ["INBOX"])).folders.INBOX.messages.length, 2);

      admin.remember(preview);
      const confirm = await admin.post("/admin/jobs/restore", {
        confirm: "1",
        mailbox: mb,
        from: "backup",
        "folder:0": "INBOX",
      });
      assert.equal(confirm.status, 303);
      await confirm.body?.cancel();
      const done = await pageWhenDone(admin, confirm.headers.get("location")!);
      assert.match(done, /What went back/);
      assert.match(done, />restored</);
      assert.equal((await snapshot("prod", mb, ["INBOX"])).folders.INBOX.messages.length, 3);

      // A form with nothing to act on is shown again with its errors.
      const empty = await admin.post("/admin/jobs/restore", { mailbox: mb });
      assert.equal(empty.status, 400);
      assert.match(await empty.text(), /Choose at least one folder/);
      const jobs = await admin.page("/admin/jobs");
      assert.match(jobs.html, new RegExp(`Restore of mailbox ${mb}`));
    });
  },
});

function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll(
    '"',
    "&quot;",
  );
}
