/**
 * The subscriber's pages: the inbox (a folder, paged, searchable; heard or not, new since the
 * last visit), a message with its player, marking a message heard or unheard, and a folder (or
 * a search's result) as one ZIP of recordings.
 *
 * Isolation: no route takes a mailbox. The mailbox is the session's, and every identifier in a
 * URL (folder index, UIDVALIDITY-UID, voice part index) is looked up inside that mailbox only.
 * @module
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { archiveStream } from "./archive.ts";
import { actorOf, auditEvent, type PortalDeps, type PortalEnv } from "./context.ts";
import { heardOf, listingMarks, markHeard, noteVisit } from "./heard_marks.ts";
import { attachmentDisposition } from "./http.ts";
import { renderPage, type Viewer } from "./layout.tsx";
import type { MessageFilter, MessageSummary } from "./mailbox_reader.ts";
import { folderIndex, mayDownload, messageParams, withReader } from "./message_ref.ts";
import { csrfForm, requireRole } from "./middleware.ts";
import type { Session } from "./sessions.ts";
import {
  ARCHIVE_LIMIT,
  InboxPage,
  type InboxSearch,
  messageId,
  MessagePage,
  type MessagePageProps,
} from "./subscriber_pages.tsx";
import { currentTimeZone } from "./time.tsx";

/** Messages per inbox page: small enough to open at once, large enough to rarely page. */
export const PAGE_SIZE = 50;

/**
 * The subscriber's pages sub-app (mounted at "/"): `/inbox`, `/inbox/zip`, `/m/:f/:id` and
 * `POST /m/:f/:id/heard`.
 */
export function subscriberRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();

  app.get("/inbox", requireRole("subscriber"), async (c) => {
    const s = c.get("user");
    const f = folderIndex(c.req.query("f") ?? "0", deps);
    const page = Math.max(1, Math.min(1_000_000, Number(c.req.query("page") ?? "1") | 0 || 1));
    const search = searchParams(c.req.query());
    const list = await withReader(deps, s, (r) =>
      r.list(deps.folders[f].name, {
        offset: (page - 1) * PAGE_SIZE,
        limit: PAGE_SIZE,
        filter: { ...messageFilter(search), timeZone: currentTimeZone() },
      }));
    // A visit is a look at the messages; greetings are not what "new since" is about.
    const lastVisit = deps.folders[f].greetings ? undefined : await noteVisit(deps, s);
    const marks = await listingMarks(deps, s.subject, {
      items: list.items,
      since: lastVisit ?? null,
    });
    return c.html(renderPage(
      <InboxPage
        viewer={subscriberViewer(s)}
        folders={deps.folders}
        folderIndex={f}
        items={list.items}
        total={list.total}
        page={page}
        pageSize={PAGE_SIZE}
        search={search}
        marks={marks}
        lastVisit={lastVisit}
      />,
    ));
  });

  app.get("/inbox/zip", requireRole("subscriber", "error"), async (c) => {
    const s = c.get("user");
    const f = folderIndex(c.req.query("f") ?? "0", deps);
    const search = searchParams(c.req.query());
    const timeZone = currentTimeZone();
    const folder = deps.folders[f];
    // The reader stays open while the archive streams; the stream closes it.
    const reader = deps.openReader(s.subject);
    let list;
    try {
      list = await reader.list(folder.name, {
        offset: 0,
        limit: ARCHIVE_LIMIT,
        filter: { ...messageFilter(search), timeZone },
      });
    } catch (e) {
      await reader.close();
      throw e;
    }
    await auditEvent(c, deps, {
      actor: actorOf(s),
      action: "download-zip",
      detail: { folder: folder.name, messages: list.items.length, ...search },
    });
    // The listing says what was new before this download; downloaded is heard from now on.
    const marks = await listingMarks(deps, s.subject, { items: list.items, since: null });
    const included = list.items.filter((m) => m.voices.length > 0 && mayDownload(m, deps));
    if (!folder.greetings) await markHeard(deps, s.subject, included, true);
    const body = archiveStream(reader, list.items, {
      mayDownload: (m) => mayDownload(m, deps),
      timeZone,
      leftOut: Math.max(0, list.total - list.items.length),
      heard: (m) => marks.get(messageId(m))?.heard ?? m.flags.includes("\\Seen"),
      done: () => reader.close(),
    });
    const name = `voicemail-${s.subject}-${folder.label}-${new Date().toISOString().slice(0, 10)}`
      .replace(/[^A-Za-z0-9.-]+/g, "-");
    return new Response(body, {
      headers: {
        "Content-Type": "application/zip",
        "Content-Disposition": attachmentDisposition(`${name}.zip`),
        "Cache-Control": "private, no-store",
      },
    });
  });

  app.get("/m/:f/:id", requireRole("subscriber"), async (c) => {
    const s = c.get("user");
    const { f, uidValidity, uid } = messageParams(c, deps);
    const ref = { folder: deps.folders[f].name, uidValidity, uid };
    const m = await withReader(deps, s, (r) => r.get(ref));
    if (!m) throw new HTTPException(404, { message: "no such message" });
    const said = c.req.query("forwarded") === "1"
      ? "The message was forwarded."
      : c.req.query("heard") === "0"
      ? "Marked as unheard."
      : c.req.query("heard") === "1"
      ? "Marked as heard."
      : null;
    return c.html(
      await messagePage(deps, { s, f, m }, {
        notice: said ? { kind: "ok", text: said } : undefined,
      }),
    );
  });

  // The portal's own mark, set by hand: production and the mirror are not touched.
  app.post(
    "/m/:f/:id/heard",
    requireRole("subscriber", "error"),
    csrfForm(deps, "session"),
    (c) => {
      const s = c.get("user");
      const { f, uidValidity, uid } = messageParams(c, deps);
      const heard = c.get("form").heard === "1";
      const ref = { folder: deps.folders[f].name, uidValidity, uid };
      return withReader(deps, s, async (r) => {
        const m = await r.get(ref);
        if (!m) throw new HTTPException(404, { message: "no such message" });
        await markHeard(deps, s.subject, [m], heard);
        return c.redirect(`/m/${f}/${uidValidity}-${uid}?heard=${heard ? 1 : 0}#notice`, 303);
      });
    },
  );
  return app;
}

/** The message page of message `m` (folder index `f`) for session `s`, with a notice. */
export async function messagePage(
  deps: PortalDeps,
  shown: { s: Session; f: number; m: MessageSummary },
  more: Pick<MessagePageProps, "notice" | "to">,
): Promise<string> {
  const heard = await heardOf(deps, shown.s.subject, shown.m);
  return renderPage(
    <MessagePage
      viewer={subscriberViewer(shown.s)}
      folders={deps.folders}
      folderIndex={shown.f}
      m={shown.m}
      canMail={!!deps.config.smtp}
      canDownload={mayDownload(shown.m, deps)}
      heard={heard}
      {...more}
    />,
  );
}

/** The inbox search as the URL gives it: kept only when well-formed (it is shown again). */
export function searchParams(query: Record<string, string>): InboxSearch {
  const day = (v: string | undefined) =>
    v && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)) ? v : "";
  // Control characters could not be searched for anyway (IMAP quoted strings refuse them).
  const q = (query.q ?? "").replace(/\p{Cc}/gu, " ").trim().slice(0, 100);
  let from = day(query.from);
  let to = day(query.to);
  if (from && to && from > to) [from, to] = [to, from];
  return { q, from, to };
}

function messageFilter(p: InboxSearch): MessageFilter {
  return { text: p.q || undefined, fromDay: p.from || undefined, toDay: p.to || undefined };
}

function subscriberViewer(s: Session): Viewer {
  return { label: `Mailbox ${s.subject}`, csrf: s.csrf };
}
