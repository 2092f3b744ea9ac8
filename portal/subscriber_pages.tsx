/**
 * The subscriber's pages: login, the inbox (messages and greetings, paged, newest first) and
 * one message with its player, downloads, thread and forward form. Server-rendered Preact;
 * no client script — the player is the browser's own `<audio controls>`.
 * @module
 */
import type { MessageSummary, ThreadNode } from "./mailbox_reader.ts";
import type { PortalFolder } from "./context.ts";
import { formatDuration, spokenDuration } from "./http.ts";
import { Page, type Viewer } from "./layout.tsx";
import { When } from "./time.tsx";

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

/** Props of {@link InboxPage}. */
export interface InboxPageProps {
  viewer: Viewer;
  folders: PortalFolder[];
  folderIndex: number;
  items: MessageSummary[];
  total: number;
  page: number;
  pageSize: number;
}

/** The list of one folder, newest first, paged. */
export function InboxPage(p: InboxPageProps) {
  const folder = p.folders[p.folderIndex];
  const pages = Math.max(1, Math.ceil(p.total / p.pageSize));
  const first = p.total ? (p.page - 1) * p.pageSize + 1 : 0;
  const last = Math.min(p.total, p.page * p.pageSize);
  const href = (page: number) => `/inbox?f=${p.folderIndex}${page > 1 ? `&page=${page}` : ""}`;
  return (
    <Page title={folder.label} viewer={p.viewer}>
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
      <p class="count" id="count">
        {p.total === 0
          ? (folder.greetings ? "No greetings." : "No messages.")
          : `${first}–${last} of ${p.total}, newest first`}
      </p>
      {p.items.length > 0 && (
        <ol class="msgs" aria-labelledby="count">
          {p.items.map((m) => (
            <MessageRow
              key={m.uid}
              m={m}
              folderIndex={p.folderIndex}
              greetings={folder.greetings}
            />
          ))}
        </ol>
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

function isUnread(m: MessageSummary): boolean {
  return !m.flags.includes("\\Seen");
}

function title(m: MessageSummary, greetings: boolean): string {
  if (greetings) return m.subject || "Greeting";
  return m.sender;
}

function Badges(p: { m: MessageSummary; greetings: boolean }) {
  const m = p.m;
  const reply = m.inReplyTo !== null;
  const forward = !reply && m.tree.children.length > 0;
  return (
    <span class="badges">
      {!p.greetings && isUnread(m) && <span class="badge new">New</span>}
      {m.urgent && <span class="badge urgent">Urgent</span>}
      {m.private && <span class="badge private">Private</span>}
      {reply && <span class="badge plain">Reply</span>}
      {forward && <span class="badge plain">Forwarded</span>}
      {m.flags.includes("\\Answered") && <span class="badge plain">Answered</span>}
      {m.placeholder && <span class="badge plain">Kept on the server</span>}
    </span>
  );
}

function MessageRow(p: { m: MessageSummary; folderIndex: number; greetings: boolean }) {
  const m = p.m;
  const unread = !p.greetings && isUnread(m);
  return (
    <li class={`msg${unread ? " unread" : ""}`}>
      <a href={`/m/${p.folderIndex}/${messageId(m)}`}>
        <span class="who">{title(m, p.greetings)}</span>
        <span class="dur">
          <span aria-hidden="true">{formatDuration(m.durationSeconds)}</span>
          <span class="sr">{spokenDuration(m.durationSeconds)}</span>
        </span>
        <span class="when">
          <When iso={m.date ?? m.internalDate} />
        </span>
        {!p.greetings && m.subject && <span class="subject">{m.subject}</span>}
        <Badges m={m} greetings={p.greetings} />
      </a>
      {m.tree.children.length > 0 && <ThreadList nodes={m.tree.children} />}
    </li>
  );
}

function ThreadList(p: { nodes: ThreadNode[] }) {
  return (
    <ul class="thread" aria-label="Earlier messages in this thread">
      {p.nodes.map((n, i) => (
        <li key={i}>
          <span class="node">{n.sender}</span>, <When iso={n.date} />
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
  notice?: { kind: "ok" | "error"; text: string };
  to?: string;
}

/** One message: facts, the player, downloads, its thread and the forward form. */
export function MessagePage(p: MessagePageProps) {
  const m = p.m;
  const folder = p.folders[p.folderIndex];
  const base = `/m/${p.folderIndex}/${messageId(m)}`;
  const heading = folder.greetings ? m.subject || "Greeting" : `Voice message from ${m.sender}`;
  return (
    <Page title={heading} viewer={p.viewer}>
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
        <Badges m={m} greetings={folder.greetings} />
      </p>
      <dl class="facts">
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
      </dl>
      <section class="play" aria-labelledby="listen">
        <h2 id="listen">Listen</h2>
        {m.placeholder && (
          <p class="note">
            This message was too long for the backup system; its recording is kept on the
            application server. Ask your administrator for it.
          </p>
        )}
        <Voices m={m} node={m.tree} base={base} label={heading} />
        {!m.placeholder && m.tree.voices.length === 0 && <p>This message has no recording.</p>}
      </section>
      {m.tree.children.length > 0 && (
        <section class="thread" aria-labelledby="thread">
          <h2 id="thread">Earlier in this thread</h2>
          <ThreadSection m={m} nodes={m.tree.children} base={base} />
        </section>
      )}
      {!folder.greetings && (
        <section class="forward" aria-labelledby="fwd">
          <h2 id="fwd">Forward by e-mail</h2>
          {m.private
            ? (
              <p class="note" id="private-note">
                This message is private: it cannot be forwarded.
              </p>
            )
            : !p.canMail
            ? <p>Forwarding by e-mail is not available on this system.</p>
            : (
              <form method="post" action={`${base}/forward`} class="stack">
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
                  The recording is sent as a WAV attachment with the caller's name and the date.
                </p>
                <button type="submit">Forward</button>
              </form>
            )}
        </section>
      )}
    </Page>
  );
}

function Voices(
  p: {
    m: MessageSummary;
    node: ThreadNode;
    base: string;
    label: string;
  },
) {
  const refs = p.node.voices.map((i) => p.m.voices[i]).filter((v) => v);
  return (
    <>
      {refs.map((v) => {
        const what = v.role === "Originator-Spoken-Name"
          ? "Caller's name"
          : v.role === "Spoken-Subject"
          ? "Spoken subject"
          : "Recording";
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
            <p>
              <a href={`${p.base}/original/${v.index}`} download>
                Download the original file ({what.toLowerCase()})
              </a>
              {v.seconds !== null && ` (${spokenDuration(v.seconds)})`}
            </p>
          </div>
        );
      })}
    </>
  );
}

function ThreadSection(p: { m: MessageSummary; nodes: ThreadNode[]; base: string }) {
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
          />
          {n.children.length > 0 && <ThreadSection m={p.m} nodes={n.children} base={p.base} />}
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
