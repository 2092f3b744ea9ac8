/**
 * The subscriber's pages: login, the inbox (messages and greetings, paged, newest first; heard
 * or not, new since the last visit, a play control per row) and one message with its player,
 * downloads, heard mark, thread and forward form. Server-rendered Preact; the player is the
 * browser's own `<audio controls>`, and every page works without script — static/player.ts
 * only lets a list play in place, one recording at a time.
 * @module
 */
import type { MessageSummary, ThreadNode } from "./mailbox_reader.ts";
import type { PortalFolder } from "./context.ts";
import { greetingLabel, greetingSourceNote } from "./greeting_kind.ts";
import type { ListingMark } from "./heard.ts";
import { formatDuration, spokenDuration } from "./http.ts";
import { Page, type Viewer } from "./layout.tsx";
import { voiceLabel } from "./message_ref.ts";
import { When } from "./time.tsx";

/** Most messages in one ZIP download: a larger folder is narrowed by the search first. */
export const ARCHIVE_LIMIT = 200;

/** The message's own id in URLs: `<uidvalidity>-<uid>`. */
export function messageId(m: { uidValidity: number; uid: number }): string {
  return `${m.uidValidity}-${m.uid}`;
}

/** Props of {@link LoginPage}. */
export interface LoginPageProps {
  csrf: string;
  error?: string;
  mailbox?: string;
  admin?: boolean;
}

/** The subscriber's (or the admin's) login form. */
export function LoginPage(p: LoginPageProps) {
  const action = p.admin ? "/admin/login" : "/login";
  return (
    <Page title={p.admin ? "Administrator login" : "Log in"}>
      <h1>{p.admin ? "Administrator login" : "Listen to your voicemail"}</h1>
      {p.error && <p class="error" role="alert" id="login-error">{p.error}</p>}
      <form
        method="post"
        action={action}
        class="stack"
        aria-describedby={p.error ? "login-error" : undefined}
      >
        <input type="hidden" name="_csrf" value={p.csrf} />
        {p.admin
          ? (
            <>
              <label for="user">User name</label>
              <input
                type="text"
                id="user"
                name="user"
                required
                autocomplete="username"
                maxLength={64}
              />
              <label for="password">Password</label>
              <input
                type="password"
                id="password"
                name="password"
                required
                autocomplete="current-password"
                maxLength={256}
              />
            </>
          )
          : (
            <>
              <label for="mailbox">Mailbox number</label>
              <input
                type="text"
                id="mailbox"
                name="mailbox"
                required
                inputMode="numeric"
                pattern="[0-9]{1,20}"
                autocomplete="username"
                maxLength={20}
                value={p.mailbox ?? ""}
                aria-describedby="mailbox-hint"
              />
              <p class="hint" id="mailbox-hint">The number you dial to reach your voicemail.</p>
              <label for="pin">Voicemail PIN</label>
              <input
                type="password"
                id="pin"
                name="pin"
                required
                inputMode="numeric"
                autocomplete="current-password"
                maxLength={32}
              />
            </>
          )}
        <button type="submit">Log in</button>
      </form>
    </Page>
  );
}

/** The inbox search as entered: words, and first and last day (YYYY-MM-DD); "" for none. */
export interface InboxSearch {
  q: string;
  from: string;
  to: string;
}

/** Props of {@link InboxPage}. */
export interface InboxPageProps {
  viewer: Viewer;
  folders: PortalFolder[];
  folderIndex: number;
  items: MessageSummary[];
  total: number;
  page: number;
  pageSize: number;
  search?: InboxSearch;
  /** Heard and "new since your last visit" per message (by {@link messageId}). */
  marks?: Map<string, ListingMark>;
  /** When the previous visit last looked (ISO); null on the first visit, absent for greetings. */
  lastVisit?: string | null;
}

/** The query string of a folder's list: folder, search and page. */
export function inboxQuery(f: number, search: InboxSearch | undefined, page = 1): string {
  const q = new URLSearchParams({ f: String(f) });
  if (search?.q) q.set("q", search.q);
  if (search?.from) q.set("from", search.from);
  if (search?.to) q.set("to", search.to);
  if (page > 1) q.set("page", String(page));
  return q.toString();
}

/** The list of one folder, newest first, paged. */
export function InboxPage(p: InboxPageProps) {
  const folder = p.folders[p.folderIndex];
  const pages = Math.max(1, Math.ceil(p.total / p.pageSize));
  const first = p.total ? (p.page - 1) * p.pageSize + 1 : 0;
  const last = Math.min(p.total, p.page * p.pageSize);
  const href = (page: number) => `/inbox?${inboxQuery(p.folderIndex, p.search, page)}`;
  const searching = !!(p.search && (p.search.q || p.search.from || p.search.to));
  const mark = (m: MessageSummary) => p.marks?.get(messageId(m)) ?? defaultMark(m);
  const fresh = p.items.filter((m) => mark(m).fresh).length;
  return (
    <Page title={folder.label} viewer={p.viewer} player>
      <h1>{folder.label}</h1>
      {p.folders.length > 1 && (
        <nav aria-label="Folders">
          <ul class="tabs">
            {p.folders.map((f, i) => (
              <li key={f.name}>
                <a href={`/inbox?f=${i}`} aria-current={i === p.folderIndex ? "page" : undefined}>
                  {f.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      )}
      {!folder.greetings && p.lastVisit !== undefined && (
        <p class="visit" id="visit">
          {p.lastVisit === null
            ? "Welcome: from your next visit on, messages that arrived since are marked here."
            : (
              <>
                Your last visit: <When iso={p.lastVisit} relative />. {fresh === 0
                  ? "Nothing new since then on this page."
                  : `${fresh} new since then${pages > 1 ? " on this page" : ""}, marked below.`}
              </>
            )}
        </p>
      )}
      {!folder.greetings && <SearchForm f={p.folderIndex} search={p.search} active={searching} />}
      <p class="count" id="count" role={searching ? "status" : undefined}>
        {p.total === 0
          ? (searching ? "No messages match." : folder.greetings ? "No greetings." : "No messages.")
          : `${first}–${last} of ${p.total}${searching ? " matching" : ""}, newest first`}
      </p>
      {p.items.length > 0 && (
        <ol class="msgs" aria-labelledby="count">
          {p.items.map((m) => (
            <MessageRow
              key={m.uid}
              m={m}
              mark={mark(m)}
              folderIndex={p.folderIndex}
              greetings={folder.greetings}
            />
          ))}
        </ol>
      )}
      {!folder.greetings && p.total > 0 && (
        <p class="hint" id="heard-help">
          "New" and "heard" are kept by this portal for you; your voicemail system's own marks are
          never changed from here.
        </p>
      )}
      {p.total > 0 && (
        <p class="archive">
          <a href={`/inbox/zip?${inboxQuery(p.folderIndex, p.search)}`} download>
            {searching
              ? "Download these messages (ZIP of WAV files)"
              : `Download all ${folder.greetings ? "greetings" : "messages"} (ZIP of WAV files)`}
          </a>
          {p.total > ARCHIVE_LIMIT && ` — the newest ${ARCHIVE_LIMIT}; search to choose others`}
        </p>
      )}
      {pages > 1 && (
        <nav class="pager" aria-label="Pages">
          {p.page > 1 ? <a href={href(p.page - 1)} rel="prev">Newer</a> : <span />}
          <span>Page {p.page} of {pages}</span>
          {p.page < pages ? <a href={href(p.page + 1)} rel="next">Older</a> : <span />}
        </nav>
      )}
    </Page>
  );
}

// A GET form: a search is a link one can keep, and needs no CSRF token.
function SearchForm(p: { f: number; search?: InboxSearch; active: boolean }) {
  return (
    <form method="get" action="/inbox" class="search" role="search" aria-label="Search messages">
      <input type="hidden" name="f" value={String(p.f)} />
      <div class="q">
        <label for="q">Caller, number or subject</label>
        <input type="search" id="q" name="q" maxLength={100} value={p.search?.q ?? ""} />
      </div>
      <div>
        <label for="from">From day</label>
        <input type="date" id="from" name="from" value={p.search?.from ?? ""} />
      </div>
      <div>
        <label for="to">To day</label>
        <input type="date" id="to" name="to" value={p.search?.to ?? ""} />
      </div>
      <div class="go">
        <button type="submit">Search</button>
        {p.active && <a href={`/inbox?f=${p.f}`}>Show all</a>}
      </div>
    </form>
  );
}

// Without a stored mark: heard when production's read state says so; not new since a visit.
function defaultMark(m: MessageSummary): ListingMark {
  return { heard: m.flags.includes("\\Seen"), fresh: false };
}

function title(m: MessageSummary, greetings: boolean): string {
  if (greetings) return greetingLabel(m.greeting);
  return m.sender;
}

/**
 * The voice part a list's play control plays: the message's own recording (not the caller's
 * spoken name, nor an earlier message of its thread) when it has one; null with nothing to play.
 */
export function listPlayIndex(m: MessageSummary): number | null {
  if (m.voices.length === 0 || (m.placeholder && !m.keptOriginal)) return null;
  const own = m.tree.voices.map((i) => m.voices[i]).filter((v) => v);
  return (own.find((v) => v.role === "Voice-Message") ?? own[0] ?? m.voices[0]).index;
}

/** What a message is: a reply, a forward, or (null) a message of its own. */
export function messageKind(m: MessageSummary): "reply" | "forward" | null {
  if (m.inReplyTo !== null) return "reply";
  return m.tree.children.length > 0 ? "forward" : null;
}

/**
 * The state badges of a message, in the order shown: [class, words]. "New" is not heard yet
 * (`heard`: the portal's mark, production's read state by default).
 */
export function messageStates(
  m: MessageSummary,
  greetings: boolean,
  heard: boolean = defaultMark(m).heard,
): [string, string][] {
  const out: [string, string][] = [];
  if (!greetings && !heard) out.push(["new", "New"]);
  if (m.urgent) out.push(["urgent", "Urgent"]);
  if (m.private) out.push(["private", "Private"]);
  if (m.flags.includes("\\Answered")) out.push(["answered", "Answered"]);
  if (m.placeholder && !m.keptOriginal) out.push(["plain", "Not kept here"]);
  return out;
}

// Two groups: what the message is (outlined) and what state it is in (filled); then whether
// it arrived since the last visit.
function Badges(p: { m: MessageSummary; greetings: boolean; heard: boolean; fresh?: boolean }) {
  const kind = messageKind(p.m);
  const states = messageStates(p.m, p.greetings, p.heard);
  if (!kind && states.length === 0 && !p.fresh) return null;
  return (
    <span class="badges">
      {kind && <span class="badge kind">{kind === "reply" ? "Reply" : "Forward"}</span>}
      {states.map(([cls, words]) => <span key={cls} class={`badge ${cls}`}>{words}</span>)}
      {p.fresh && <span class="since">New since your last visit</span>}
    </span>
  );
}

function MessageRow(
  p: { m: MessageSummary; mark: ListingMark; folderIndex: number; greetings: boolean },
) {
  const m = p.m;
  const unread = !p.greetings && !p.mark.heard;
  const fresh = !p.greetings && p.mark.fresh;
  const href = `/m/${p.folderIndex}/${messageId(m)}`;
  const play = listPlayIndex(m);
  const who = title(m, p.greetings);
  // Greetings show the store's own subject under the type it was read as, when it says more.
  const subject = p.greetings ? (m.subject && m.subject !== who ? m.subject : null) : m.subject;
  return (
    <li class={`msg${unread ? " unread" : ""}${fresh ? " fresh" : ""}`}>
      <a href={href}>
        <span class="who">{who}</span>
        <span class="dur">
          <span aria-hidden="true">{formatDuration(m.durationSeconds)}</span>
          <span class="sr">{spokenDuration(m.durationSeconds)}</span>
        </span>
        <span class="when">
          <When iso={m.date ?? m.internalDate} relative />
        </span>
        {subject && <span class="subject">{subject}</span>}
        <Badges m={m} greetings={p.greetings} heard={p.mark.heard} fresh={fresh} />
      </a>
      {play !== null && (
        // Without script: the message page, at its player. With it: plays here (player.ts).
        <a class="play" href={`${href}#listen`} data-audio={`${href}/audio/${play}`}>
          <span class="play-icon" aria-hidden="true">▶</span>
          <span class="play-word">Play</span>
          <span class="sr">{` ${p.greetings ? who.toLowerCase() : `message from ${who}`}`}</span>
        </a>
      )}
      {m.tree.children.length > 0 && <ThreadList nodes={m.tree.children} />}
    </li>
  );
}

function ThreadList(p: { nodes: ThreadNode[] }) {
  return (
    <ul class="thread" aria-label="Earlier messages in this thread">
      {p.nodes.map((n, i) => (
        <li key={i}>
          <span class="node">{n.sender}</span>, <When iso={n.date} relative />
          {n.durationSeconds !== null && `, ${formatDuration(n.durationSeconds)}`}
          {n.children.length > 0 && <ThreadList nodes={n.children} />}
        </li>
      ))}
    </ul>
  );
}

/** Props of {@link MessagePage}. */
export interface MessagePageProps {
  viewer: Viewer;
  folders: PortalFolder[];
  folderIndex: number;
  m: MessageSummary;
  /** Whether an SMTP relay is configured. */
  canMail: boolean;
  /** Whether the recordings may be downloaded (private ones only when the config allows). */
  canDownload: boolean;
  /** Whether the subscriber has heard it (the portal's mark, else production's read state). */
  heard?: boolean;
  notice?: { kind: "ok" | "error"; text: string };
  to?: string;
}

/** One message: facts, the player, downloads, its thread and the forward form. */
export function MessagePage(p: MessagePageProps) {
  const m = p.m;
  const folder = p.folders[p.folderIndex];
  const base = `/m/${p.folderIndex}/${messageId(m)}`;
  const heading = folder.greetings ? greetingLabel(m.greeting) : `Voice message from ${m.sender}`;
  const kind = messageKind(m);
  const heard = p.heard ?? defaultMark(m).heard;
  return (
    <Page title={heading} viewer={p.viewer} player>
      <p>
        <a href={`/inbox?f=${p.folderIndex}`}>Back to {folder.label.toLowerCase()}</a>
      </p>
      <h1>{heading}</h1>
      {p.notice && (
        <p
          class={p.notice.kind}
          role={p.notice.kind === "error" ? "alert" : "status"}
          id="notice"
        >
          {p.notice.text}
        </p>
      )}
      <p>
        <Badges m={m} greetings={folder.greetings} heard={heard} />
      </p>
      <dl class="facts">
        {folder.greetings && (
          <>
            <dt>Type</dt>
            <dd>
              {greetingLabel(m.greeting)}
              <span class="hint" id="greeting-source">{greetingSourceNote(m.greeting)}</span>
            </dd>
          </>
        )}
        <dt>Received</dt>
        <dd>
          <When iso={m.date ?? m.internalDate} />
        </dd>
        <dt>Length</dt>
        <dd>{spokenDuration(m.durationSeconds) || "unknown"}</dd>
        {m.from && (
          <>
            <dt>From</dt>
            <dd>{m.from.name ? `${m.from.name} <${m.from.address}>` : m.from.address}</dd>
          </>
        )}
        {m.subject && (
          <>
            <dt>Subject</dt>
            <dd>{m.subject}</dd>
          </>
        )}
        {kind && (
          <>
            <dt>Kind</dt>
            <dd>
              {kind === "reply" ? "Reply to an earlier message" : "Forwarded message"}
            </dd>
          </>
        )}
      </dl>
      <section class="play" aria-labelledby="listen">
        <h2 id="listen">Listen</h2>
        {m.placeholder && m.keptOriginal && (
          <p class="note" id="kept-note">
            This message is longer than the backup system keeps; it plays from the copy kept on this
            server.
          </p>
        )}
        {m.placeholder && !m.keptOriginal && (
          <p class="note" id="kept-note">
            This message was too long for the backup system, and its recording is not kept on this
            server. Ask your administrator for it.
          </p>
        )}
        {m.private && !p.canDownload && m.voices.length > 0 && (
          <p class="note" id="private-download-note">
            This message is private: it can be played here, but not downloaded.
          </p>
        )}
        <Voices m={m} node={m.tree} base={base} label={heading} canDownload={p.canDownload} />
        {!m.placeholder && m.voices.length === 0 && <p>This message has no recording.</p>}
        {!folder.greetings && m.voices.length > 0 && (
          <HeardForm base={base} csrf={p.viewer.csrf} heard={heard} />
        )}
      </section>
      {m.tree.children.length > 0 && (
        <section class="thread" aria-labelledby="thread">
          <h2 id="thread">Earlier in this thread</h2>
          <ThreadSection m={m} nodes={m.tree.children} base={base} canDownload={p.canDownload} />
        </section>
      )}
      {!folder.greetings && (
        <section class="forward" aria-labelledby="fwd">
          <h2 id="fwd">Forward by e-mail</h2>
          <ForwardForm {...p} base={base} />
        </section>
      )}
    </Page>
  );
}

// The portal's own mark: playing or downloading sets it; this form undoes (or sets) it.
function HeardForm(p: { base: string; csrf: string; heard: boolean }) {
  return (
    <form method="post" action={`${p.base}/heard`} class="heard">
      <input type="hidden" name="_csrf" value={p.csrf} />
      <input type="hidden" name="heard" value={p.heard ? "0" : "1"} />
      <p id="heard-state">
        {p.heard ? "You have heard this message." : "You have not heard this message yet."}
      </p>
      <button type="submit" class="quiet" aria-describedby="heard-help">
        {p.heard ? "Mark as unheard" : "Mark as heard"}
      </button>
      <p class="hint" id="heard-help">
        Kept by this portal for you; your voicemail system's own marks are never changed from here.
      </p>
    </form>
  );
}

function ForwardForm(p: MessagePageProps & { base: string }) {
  const m = p.m;
  if (m.private) {
    return (
      <p class="note" id="private-note">
        This message is private: it cannot be forwarded.
      </p>
    );
  }
  if (m.voices.length === 0) {
    return <p id="no-recording-note">This message has no recording to forward.</p>;
  }
  if (!p.canMail) return <p>Forwarding by e-mail is not available on this system.</p>;
  const n = m.voices.length;
  return (
    <form method="post" action={`${p.base}/forward`} class="stack">
      <input type="hidden" name="_csrf" value={p.viewer.csrf} />
      <label for="to">E-mail address</label>
      <input
        type="email"
        id="to"
        name="to"
        required
        maxLength={254}
        autocomplete="email"
        value={p.to ?? ""}
        aria-describedby="to-hint"
      />
      <p class="hint" id="to-hint">
        {n === 1
          ? "The recording is sent as a WAV attachment with the caller's name and the date."
          : m.tree.children.length > 0
          ? `All ${n} recordings, this message's and the earlier ones in its thread, are sent as WAV attachments, each with its caller's name and date.`
          : `Its ${n} recordings are sent as WAV attachments with the caller's name and the date.`}
      </p>
      <button type="submit">Forward</button>
    </form>
  );
}

function Voices(
  p: {
    m: MessageSummary;
    node: ThreadNode;
    base: string;
    label: string;
    canDownload: boolean;
  },
) {
  const refs = p.node.voices.map((i) => p.m.voices[i]).filter((v) => v);
  return (
    <>
      {refs.map((v) => {
        const what = voiceLabel(v.role);
        return (
          <div key={v.index} class="voice">
            {refs.length > 1 && <p>{what}</p>}
            <audio
              controls
              // "none": the first byte-0 request is then a person pressing play, which is what
              // the audit log counts (a metadata preload would log every page view as a play).
              preload="none"
              src={`${p.base}/audio/${v.index}`}
              aria-label={`${what}: ${p.label}`}
            >
              <a href={`${p.base}/audio/${v.index}`}>Play the recording</a>
            </audio>
            {v.seconds !== null && <p class="hint">{spokenDuration(v.seconds)}</p>}
            {p.canDownload && (
              <p class="downloads">
                <a href={`${p.base}/download/${v.index}`} download>
                  Download<span class="sr">{` the ${what.toLowerCase()}`}</span> (WAV)
                </a>
                <a href={`${p.base}/original/${v.index}`} download>
                  Original format<span class="sr">{` of the ${what.toLowerCase()}`}</span>
                </a>
              </p>
            )}
          </div>
        );
      })}
    </>
  );
}

function ThreadSection(
  p: { m: MessageSummary; nodes: ThreadNode[]; base: string; canDownload: boolean },
) {
  return (
    <ol class="thread">
      {p.nodes.map((n, i) => (
        <li key={i}>
          <p class="node">
            From {n.sender}, <When iso={n.date} />
            {n.durationSeconds !== null && `, ${spokenDuration(n.durationSeconds)}`}
          </p>
          <Voices
            m={p.m}
            node={n}
            base={p.base}
            label={`message from ${n.sender}`}
            canDownload={p.canDownload}
          />
          {n.children.length > 0 && (
            <ThreadSection m={p.m} nodes={n.children} base={p.base} canDownload={p.canDownload} />
          )}
        </li>
      ))}
    </ol>
  );
}

/** A short page for an error the subscriber can act on (or not). */
export function MessageOnlyPage(
  p: { title: string; text: string; viewer?: Viewer | null; back?: string },
) {
  return (
    <Page title={p.title} viewer={p.viewer}>
      <h1>{p.title}</h1>
      <p>{p.text}</p>
      {p.back && (
        <p>
          <a href={p.back}>Go back</a>
        </p>
      )}
    </Page>
  );
}
