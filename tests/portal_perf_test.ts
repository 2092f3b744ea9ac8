/**
 * A mailbox of 2,000 messages opens fast: the inbox's first page, cold (nothing cached) and
 * warm, its last page, and a message, through the whole app — on the backup MSS (a "Bulk"
 * folder of mailbox 4008, filled here) and on a file store. Prints the figures.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeState, openState } from "../engine/state/mod.ts";
import { openFileTarget } from "../engine/files/mod.ts";
import { createApp } from "../portal/app.tsx";
import { messageLinks, PortalClient } from "../portal/test_util.ts";
import { appendRaw, lab, labConfig, snapshot, variant, withImap } from "./test_utils/mod.ts";

const COUNT = 2000;
const FOLDER = "Bulk";
const MAILBOX = "4008";

function pinOf(mailbox: string): string {
  return lab().mailboxes.find((m) => m.mailbox === mailbox)!.pin;
}

async function ms(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// 2,000 distinct messages one minute apart, made from one of 4008's seeded voicemails.
async function bulkMessages() {
  const prod = await snapshot("prod", MAILBOX, ["INBOX"]);
  const seed = prod.folders.INBOX.messages[0].bytes;
  const start = Date.UTC(2025, 0, 1);
  return Array.from({ length: COUNT }, (_, i) => ({
    bytes: variant(seed, i),
    flags: i % 3 ? ["\\Seen"] : [],
    date: new Date(start + i * 60_000),
  }));
}

async function ensureBulkFolder(): Promise<void> {
  const exists = await withImap("backup", MAILBOX, async (c) => {
    const list = await c.list();
    if (!list.some((f) => f.path === FOLDER)) return 0;
    const st = await c.status(FOLDER, { messages: true });
    return st ? st.messages ?? 0 : 0;
  });
  if (exists === COUNT) return;
  if (exists > 0) await withImap("backup", MAILBOX, (c) => c.mailboxDelete(FOLDER));
  await appendRaw("backup", MAILBOX, FOLDER, await bulkMessages());
}

async function measure(app: ReturnType<typeof createApp>, label: string) {
  const browser = new PortalClient(app);
  assert.equal((await browser.login(MAILBOX, pinOf(MAILBOX))).status, 303);
  const path = "/inbox?f=2";
  let html = "";
  const cold = await ms(async () => {
    html = (await browser.page(path)).html;
  });
  const links = messageLinks(html);
  assert.equal(links.length, 50);
  assert.match(html, new RegExp(`1–50 of ${COUNT}, newest first`));
  const warm: number[] = [];
  for (let i = 0; i < 5; i++) warm.push(await ms(() => browser.page(path)));
  const last = await ms(async () => {
    const page = await browser.page(`${path}&page=${COUNT / 50}`);
    assert.equal(messageLinks(page.html).length, 50);
  });
  const message = await ms(() => browser.page(links[0]));
  const audio = await ms(async () => {
    const res = await browser.request(`${links[0]}/audio/0`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });
  const figures = {
    firstPageColdMs: Math.round(cold),
    firstPageWarmMs: Math.round(median(warm)),
    lastPageColdMs: Math.round(last),
    messagePageMs: Math.round(message),
    audioMs: Math.round(audio),
  };
  console.log(`${label}, ${COUNT} messages: ${JSON.stringify(figures)}`);
  // Generous bounds: the point is "opens at once", not a benchmark on a loaded CI machine.
  assert.ok(figures.firstPageColdMs < 3000, JSON.stringify(figures));
  assert.ok(figures.firstPageWarmMs < 1000, JSON.stringify(figures));
  return figures;
}

Deno.test({
  name: `portal: an inbox of ${COUNT} messages opens fast (backup MSS and file store)`,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "vmirror-portal-perf-" });
    await Deno.writeTextFile(join(dir, "admin.pw"), "perf-admin-pw");
    const admin = (raw: Record<string, unknown>) => {
      raw.portal = { ...(raw.portal as object), adminPasswordFile: join(dir, "admin.pw") };
    };
    try {
      await t.step("backup MSS over IMAP", async () => {
        await ensureBulkFolder();
        const config = await labConfig(dir, (raw) => {
          const source = raw.source as { folders: string[] };
          source.folders = [...source.folders, FOLDER];
          admin(raw);
        });
        const state = await openState(join(dir, "imap.kv"));
        try {
          await measure(createApp({ config, state, adminIterations: 1000 }), "backup MSS");
        } finally {
          closeState(state);
        }
      });

      await t.step("file store", async () => {
        const root = join(dir, "store");
        await Deno.mkdir(root);
        const config = await labConfig(dir, (raw) => {
          const source = raw.source as { folders: string[] };
          source.folders = [...source.folders, FOLDER];
          raw.target = { type: "files", root };
          admin(raw);
        }, "files");
        const target = config.target!;
        assert.equal(target.type, "files");
        if (target.type !== "files") return;
        const store = await openFileTarget(target, MAILBOX, { utc: true });
        const folder = await store.openFolder(FOLDER);
        const fill = await ms(async () => {
          for (const m of await bulkMessages()) await folder.append(m.bytes, m.flags, m.date);
        });
        await store.close();
        console.log(`file store filled with ${COUNT} messages in ${Math.round(fill)} ms`);
        const state = await openState(join(dir, "files.kv"));
        try {
          await measure(createApp({ config, state, adminIterations: 1000 }), "file store");
        } finally {
          closeState(state);
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
