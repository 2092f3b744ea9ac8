/**
 * Failures to HTTP statuses, in one place: the client gets a generic title and sentence (HTML
 * for pages, plain text for the API and scripts); the detail, redacted, goes to the log. A
 * refused request (a CSRF or cross-origin 403, an unknown message id) also goes to the audit log.
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { WavError } from "../engine/audio/mod.ts";
import { FileStoreError } from "../engine/files/mod.ts";
import { ImapError } from "../engine/imap/mod.ts";
import { audit, type State } from "../engine/state/mod.ts";
import { log, redact } from "../engine/support/mod.ts";
import { actorOf, type PortalEnv } from "./context.ts";
import type { Session } from "./sessions.ts";
import { renderPage } from "./layout.tsx";
import { MessageOnlyPage } from "./subscriber_pages.tsx";

/** The portal's `notFound` handler: the "Not found" page. */
export function notFoundPage(c: Context<PortalEnv>): Response | Promise<Response> {
  return c.html(
    renderPage(<MessageOnlyPage title="Not found" text="There is nothing here." back="/" />),
    404,
  );
}

/**
 * The portal's `onError` handler with refused requests audited (see {@link auditRefusal}): a
 * 403 (wrong CSRF token, cross-origin write) and a 404 for a message id that is not there.
 */
export function errorHandler(
  deps: { state: State },
): (err: Error, c: Context<PortalEnv>) => Promise<Response> {
  return async (err, c) => {
    const reason = refusalReason(err);
    if (reason) {
      await auditRefusal(deps.state, c, { status: (err as HTTPException).status, reason });
    }
    return await errorPage(err, c);
  };
}

/** Refused requests audited per client address and minute (per store); more are only logged. */
export const REFUSALS_PER_MINUTE = 30;

/**
 * Audits a refused request as "request-refused": the session's actor (else "anonymous") and
 * {status, reason, method, path} — never a body, query string or cookie. At most
 * {@link REFUSALS_PER_MINUTE} a minute per client address are written, so a flood cannot fill
 * the store; a failure to write is logged, never shown.
 */
export async function auditRefusal(
  state: State,
  c: Context,
  refusal: { status: number; reason: string },
): Promise<void> {
  const from: string = c.get("from") ?? "";
  if (!limiterOf(state)(from)) {
    log("debug", `Refused request not audited (over the limit): ${refusal.reason} from ${from}`);
    return;
  }
  const session: Session | null | undefined = c.get("session");
  try {
    await audit(state, {
      actor: session ? actorOf(session) : "anonymous",
      action: "request-refused",
      detail: {
        status: refusal.status,
        reason: refusal.reason.slice(0, 40),
        method: c.req.method.slice(0, 10),
        path: c.req.path.slice(0, 200),
      },
      from: from || undefined,
    });
  } catch (e) {
    log("error", `Cannot write the audit entry "request-refused": ${(e as Error).message}`);
  }
}

// The fixed words of the refusal; the exception's own message is ours, but a table keeps what
// reaches the audit log to known text.
function refusalReason(err: Error): string | null {
  if (!(err instanceof HTTPException)) return null;
  if (err.status === 403) {
    if (/csrf/i.test(err.message)) return "csrf";
    if (/cross-origin/i.test(err.message)) return "cross-origin";
    return "forbidden";
  }
  if (err.status === 404 && /^no such (message|recording|part|folder)$/.test(err.message)) {
    return "unknown message";
  }
  return null;
}

// One limiter per store: apps built on one store (tests make several) share its count.
const limiters = new WeakMap<State, (from: string) => boolean>();

function limiterOf(state: State): (from: string) => boolean {
  let limit = limiters.get(state);
  if (!limit) {
    let minute = 0;
    const counts = new Map<string, number>();
    limit = (from) => {
      const now = Math.floor(Date.now() / 60_000);
      if (now !== minute) {
        minute = now;
        counts.clear();
      }
      const n = (counts.get(from) ?? 0) + 1;
      // Past 10,000 addresses in a minute, new ones are not counted (and so not refused).
      if (counts.size < 10_000 || counts.has(from)) counts.set(from, n);
      return n <= REFUSALS_PER_MINUTE;
    };
    limiters.set(state, limit);
  }
  return limit;
}

/** The portal's `onError` handler (nothing audited; see {@link errorHandler}). */
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
