/**
 * The portal's Hono app: health, admin status pages and the JSON API.
 * @module
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { renderToString } from "preact-render-to-string";
import type { Config } from "../engine/config.ts";
import { log, redact } from "../engine/log.ts";
import { listMailboxResults, listRuns, listSubscriptions, type State } from "../engine/state.ts";
import { VERSION } from "../engine/version.ts";
import { StatusPage } from "./status_page.tsx";

/** What the portal reads. */
export interface AppDeps {
  config: Config;
  state: State;
}

/** Builds the Hono app. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ ok: true, version: VERSION }));
  app.get("/api/status", async (c) => {
    const [subscriptions, mailboxes, runs] = await Promise.all([
      listSubscriptions(deps.state),
      listMailboxResults(deps.state),
      listRuns(deps.state, 10),
    ]);
    return c.json({ version: VERSION, subscriptions, mailboxes, runs });
  });
  app.get("/", async (c) => {
    const [subs, results, runs] = await Promise.all([
      listSubscriptions(deps.state),
      listMailboxResults(deps.state),
      listRuns(deps.state, 10),
    ]);
    const html = renderToString(
      <StatusPage
        version={VERSION}
        subscriptions={subs}
        results={results}
        runs={runs}
        configured={!!deps.config.source && !!deps.config.target}
      />,
    );
    return c.html(`<!doctype html>${html}`);
  });
  app.notFound((c) => c.text("Not found", 404));
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    // The client gets a generic answer; the detail, redacted, goes to the log.
    log("error", `Portal error on ${c.req.method} ${c.req.path}: ${redact(err.message)}`);
    return c.text("Internal error", 500);
  });
  return app;
}
