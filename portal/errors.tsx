/**
 * Failures to HTTP statuses, in one place: the client gets a generic title and sentence (HTML
 * for pages, plain text for the API and scripts); the detail, redacted, goes to the log.
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { WavError } from "../engine/audio/mod.ts";
import { FileStoreError } from "../engine/files/mod.ts";
import { ImapError } from "../engine/imap/mod.ts";
import { log, redact } from "../engine/support/mod.ts";
import type { PortalEnv } from "./context.ts";
import { renderPage } from "./layout.tsx";
import { MessageOnlyPage } from "./subscriber_pages.tsx";

/** The portal's `notFound` handler: the "Not found" page. */
export function notFoundPage(c: Context<PortalEnv>): Response | Promise<Response> {
  return c.html(
    renderPage(<MessageOnlyPage title="Not found" text="There is nothing here." back="/" />),
    404,
  );
}

/** The portal's `onError` handler. */
export function errorPage(err: Error, c: Context<PortalEnv>): Response | Promise<Response> {
  const [status, title, text] = classify(err);
  if (status >= 500) {
    log("error", `Portal error on ${c.req.method} ${c.req.path}: ${redact(err.message)}`);
  } else {
    log("debug", `Portal ${status} on ${c.req.method} ${c.req.path}: ${redact(err.message)}`);
  }
  const accept = c.req.header("accept") ?? "";
  if (c.req.path.startsWith("/api/") || !accept.includes("text/html")) {
    return c.text(title, status);
  }
  return c.html(renderPage(<MessageOnlyPage title={title} text={text} back="/" />), status);
}

type ErrorStatus = 400 | 401 | 403 | 404 | 413 | 415 | 422 | 500 | 503;

// One table from failure to status and the words a person sees; nothing of the cause leaks.
function classify(err: Error): [ErrorStatus, string, string] {
  if (err instanceof HTTPException) {
    const s = err.status;
    if (s === 401) return [401, "Not signed in", "Please log in again."];
    if (s === 403) {
      return [403, "Forbidden", "This request was refused. Reload the page and try again."];
    }
    if (s === 404) return [404, "Not found", "There is nothing here."];
    if (s === 413) return [413, "Too large", "The request was too large."];
    return [400, "Bad request", "The request could not be understood."];
  }
  if (err instanceof WavError) {
    return err.kind === "unsupported"
      ? [415, "Cannot play", "This recording's format cannot be played in the browser."]
      : [422, "Cannot play", "This recording is damaged and cannot be played."];
  }
  if (err instanceof ImapError || err instanceof FileStoreError) {
    return [503, "Unavailable", "Your voicemail cannot be read right now. Try again later."];
  }
  return [500, "Internal error", "Something went wrong. Try again later."];
}
