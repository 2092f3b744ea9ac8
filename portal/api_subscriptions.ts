/**
 * The subscriptions API (mounted at /api/admin, behind requireApiAdmin): `GET /subscriptions`
 * (search and paging), `POST` and `DELETE /subscriptions` with `{"mailboxes": [...]}`. The
 * listing and the audited change are shared with the console's pages (admin_subscriptions.tsx).
 * @module
 */
import { Hono } from "hono";
import {
  addSubscriptions,
  getMailboxResults,
  listMailboxResults,
  listSubscriptionPage,
  removeSubscriptions,
  type State,
} from "../engine/state/mod.ts";
import { actorOf, auditEvent, type Ctx, type PortalDeps, type SignedInEnv } from "./context.ts";
import { inShard, type Shard, shardOf } from "../engine/config/mod.ts";
import {
  type CheckedList,
  checkEntries,
  type InvalidEntry,
  pageParam,
  type Paging,
  paging,
  type SubscriptionRow,
  subscriptionRow,
} from "./subscriptions_view.ts";

/** Rows per page unless asked otherwise. */
export const PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 500;

/** One page of the list: the matches' count, the paging (clamped) and the rows. */
export interface RowPage {
  total: number;
  paging: Paging;
  rows: SubscriptionRow[];
}

/**
 * One page of subscriptions matching `q`, each with its newest result. A page past the end
 * is clamped to the last one when `clamp` is set (the console), else it comes back empty.
 */
export async function subscriptionRowPage(
  state: State,
  opts: { q?: string; page?: number; pageSize?: number; clamp?: boolean },
): Promise<RowPage> {
  const pageSize = opts.pageSize ?? PAGE_SIZE;
  const page = opts.page ?? 1;
  const read = (offset: number) =>
    listSubscriptionPage(state, { q: opts.q, offset, limit: pageSize });
  let got = await read((page - 1) * pageSize);
  let p = paging(got.total, page, pageSize);
  if (opts.clamp && p.page !== page) got = await read(p.offset);
  if (!opts.clamp) p = { ...p, page, offset: (page - 1) * pageSize };
  const last = await getMailboxResults(state, got.items.map((s) => s.mailbox));
  return {
    total: got.total,
    paging: p,
    rows: got.items.map((s) => subscriptionRow(s, last.get(s.mailbox))),
  };
}

/** Every subscription matching `q` as a row (the CSV export). */
export async function allSubscriptionRows(state: State, q = ""): Promise<SubscriptionRow[]> {
  const [subs, results] = await Promise.all([
    listSubscriptionPage(state, { q, limit: Number.MAX_SAFE_INTEGER }),
    listMailboxResults(state),
  ]);
  const last = new Map(results.map((r) => [r.mailbox, r]));
  return subs.items.map((s) => subscriptionRow(s, last.get(s.mailbox)));
}

/** What an add or a remove did. */
export interface SubscriptionChange {
  op: "add" | "remove";
  /** Mailboxes added (or removed). */
  changed: string[];
  /** Valid mailboxes that were already (or were not) subscribed. */
  unchanged: string[];
  invalid: InvalidEntry[];
}

// An audit entry stays far below KV's 64 KiB per value: a long list takes several entries.
const AUDIT_CHUNK_CHARS = 24_000;

/**
 * Subscribes (origin "manual") or unsubscribes the valid mailboxes of `list` and audits it
 * ("subscribe"/"unsubscribe", detail {mailboxes, count}; a list of thousands over several
 * entries, each with its `part`). Invalid entries are passed through for the report.
 */
export async function changeSubscriptions<E extends SignedInEnv>(
  c: Ctx<E>,
  deps: PortalDeps,
  op: "add" | "remove",
  checked: CheckedList,
): Promise<SubscriptionChange> {
  const list = op === "add" ? withinShard(checked, deps.config.shard) : checked;
  const changed = op === "add"
    ? await addSubscriptions(deps.state, list.mailboxes, { origin: "manual" })
    : await removeSubscriptions(deps.state, list.mailboxes);
  const done = new Set(changed);
  const unchanged = list.mailboxes.filter((m) => !done.has(m));
  if (list.mailboxes.length) {
    const parts = auditParts(list.mailboxes);
    for (const [i, mailboxes] of parts.entries()) {
      await auditEvent(c, deps, {
        actor: actorOf(c.get("user")),
        action: op === "add" ? "subscribe" : "unsubscribe",
        detail: {
          mailboxes,
          count: list.mailboxes.length,
          changed: changed.length,
          ...(parts.length > 1 ? { part: `${i + 1}/${parts.length}` } : {}),
        },
      });
    }
  }
  return { op, changed, unchanged, invalid: list.invalid };
}

function auditParts(mailboxes: string[]): string[][] {
  const parts: string[][] = [[]];
  let size = 0;
  for (const m of mailboxes) {
    if (size + m.length + 3 > AUDIT_CHUNK_CHARS && parts.at(-1)!.length) {
      parts.push([]);
      size = 0;
    }
    parts.at(-1)!.push(m);
    size += m.length + 3;
  }
  return parts;
}

/** The subscriptions API (mounted at /api/admin). */
export function subscriptionApiRoutes(deps: PortalDeps): Hono<SignedInEnv> {
  const app = new Hono<SignedInEnv>();

  app.get("/subscriptions", async (c) => {
    const size = Number(c.req.query("pageSize") ?? PAGE_SIZE);
    if (!Number.isSafeInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
      return c.json({ error: `pageSize must be a whole number from 1 to ${MAX_PAGE_SIZE}` }, 400);
    }
    const out = await subscriptionRowPage(deps.state, {
      q: c.req.query("q") ?? "",
      page: pageParam(c.req.query("page")),
      pageSize: size,
    });
    return c.json({
      total: out.total,
      page: out.paging.page,
      pageSize: out.paging.pageSize,
      pages: out.paging.pages,
      items: out.rows,
    });
  });

  for (const [method, op] of [["post", "add"], ["delete", "remove"]] as const) {
    app[method]("/subscriptions", async (c) => {
      const mailboxes = await mailboxesBody(c.req.raw);
      if (!mailboxes) {
        return c.json({ error: 'the body must be {"mailboxes": [strings]}' }, 400);
      }
      const out = await changeSubscriptions(c, deps, op, checkEntries(mailboxes));
      return c.json({
        [op === "add" ? "added" : "removed"]: out.changed,
        unchanged: out.unchanged,
        invalid: out.invalid.map(({ value, reason }) => ({ value, reason })),
      });
    });
  }
  return app;
}

// {"mailboxes": [strings]} or null.
async function mailboxesBody(req: Request): Promise<string[] | null> {
  let value: unknown;
  try {
    value = JSON.parse(await req.text());
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const list = (value as { mailboxes?: unknown }).mailboxes;
  if (!Array.isArray(list) || !list.every((m) => typeof m === "string")) return null;
  return list;
}

/** Moves the mailboxes another appliance of the site mirrors (config `shard`) to the invalid ones. */
function withinShard(list: CheckedList, shard: Shard | null): CheckedList {
  if (!shard) return list;
  const invalid = [...list.invalid];
  const mailboxes = list.mailboxes.filter((m) => {
    if (inShard(m, shard)) return true;
    invalid.push({
      value: m,
      reason: `belongs to shard ${
        shardOf(m, shard.count)
      }/${shard.count}; this appliance is ${shard.index}/${shard.count}`,
    });
    return false;
  });
  return { mailboxes, invalid };
}
