/**
 * The page shell every portal page shares, rendered on the server: every action is a link or a
 * form. The subscriber pages add one small script (static/player.ts) that only enhances them.
 * @module
 */
import type { ComponentChildren, VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import { STYLE_CSS } from "../static/style.ts";
import { PLAYER_JS } from "../static/player.ts";
import { VERSION } from "../engine/version.ts";
import { zoneNote } from "./time.tsx";

/** Cache-busting version of the style sheet (its content hash, FNV-1a). */
export const STYLE_VERSION = fnv1a(STYLE_CSS);
/** Cache-busting version of the player script. */
export const PLAYER_VERSION = fnv1a(PLAYER_JS);

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** Who is signed in, for the header: the logout form needs the CSRF token. */
export interface Viewer {
  label: string;
  csrf: string;
  /** Links shown in the header besides logout. */
  links?: { href: string; label: string; current?: boolean }[];
}

/** Props of {@link Page}. */
export interface PageProps {
  title: string;
  viewer?: Viewer | null;
  /** Reloads the page every so many seconds (a job's progress: there is no client script). */
  refreshSeconds?: number;
  /** Loads the player script: plays from a list, one recording at a time. */
  player?: boolean;
  children: ComponentChildren;
}

/** One HTML page. */
export function Page(p: PageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {p.refreshSeconds ? <meta http-equiv="refresh" content={String(p.refreshSeconds)} /> : null}
        <title>{`${p.title} — Voicemail`}</title>
        <link rel="stylesheet" href={`/static/style.css?v=${STYLE_VERSION}`} />
        <link rel="icon" href="/static/icon.svg" type="image/svg+xml" />
        {p.player && <script src={`/static/player.js?v=${PLAYER_VERSION}`} defer />}
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/">Voicemail</a>
          {p.viewer && (
            <nav aria-label="Account">
              {(p.viewer.links ?? []).map((l) => (
                <a key={l.href} href={l.href} aria-current={l.current ? "page" : undefined}>
                  {l.label}
                </a>
              ))}
              <span>{p.viewer.label}</span>
              <form method="post" action="/logout">
                <input type="hidden" name="_csrf" value={p.viewer.csrf} />
                <button type="submit" class="quiet">Log out</button>
              </form>
            </nav>
          )}
        </header>
        <main id="main" tabIndex={-1}>{p.children}</main>
        <footer class="foot">
          <p>{zoneNote()}</p>
          {/* Which release answers: after an upgrade or a rollback, the operator sees it here. */}
          <p class="version">vmirror {VERSION}</p>
        </footer>
      </body>
    </html>
  );
}

/** Renders a page to a complete HTML document. */
export function renderPage(node: VNode): string {
  return `<!doctype html>${renderToString(node)}`;
}
