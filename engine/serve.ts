/**
 * `vmirror serve`: serves HTTP with the handler it is given (the portal, built by the
 * composition root, main.ts) beside the continuous mirror loop and the directory timer, until
 * SIGINT/SIGTERM. The engine knows no web: it only listens and hands requests over.
 * @module
 */
import type { Config } from "./config/mod.ts";
import { log } from "./support/mod.ts";
import type { State } from "./state/mod.ts";
import { runScheduler } from "./mirror/mod.ts";
import { runDirectorySchedule } from "./directory/mod.ts";

/** Answers one HTTP request (the portal app's `fetch`). */
export type HttpHandler = (request: Request) => Response | Promise<Response>;

/** Options for {@link serve}. */
export interface ServeOptions {
  /** The web front (the portal) that answers on `portal.listen`. */
  handler: HttpHandler;
  /** Overrides `portal.listen`. */
  listen?: string;
  /** Resolves when the appliance should stop (tests); defaults to SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

/** Splits "host:port" (IPv6 in brackets) into its parts. */
export function parseListen(listen: string): { hostname: string; port: number } {
  const i = listen.lastIndexOf(":");
  return {
    hostname: listen.slice(0, i).replace(/^\[|\]$/g, ""),
    port: Number(listen.slice(i + 1)),
  };
}

/** Runs the appliance until stopped. */
export async function serve(config: Config, state: State, opts: ServeOptions): Promise<void> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  opts.signal?.addEventListener("abort", stop);
  if (!opts.signal) {
    Deno.addSignalListener("SIGINT", stop);
    if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  }
  const { hostname, port } = parseListen(opts.listen ?? config.portal.listen);
  const tls = config.portal.tls ?? {};
  const server = Deno.serve({
    hostname,
    port,
    signal: ac.signal,
    ...tls,
    onListen: (a) =>
      log(
        "info",
        `Portal listening on ${"cert" in tls ? "https" : "http"}://${a.hostname}:${a.port}/`,
      ),
  }, opts.handler);

  // Directory sync on its own timer (schedule.directoryHours); a no-op without an "ldap" section.
  const directory = runDirectorySchedule(config, state, { signal: ac.signal });
  const loop = config.source && config.target
    ? runScheduler({ ...config, source: config.source }, state, { signal: ac.signal })
    : (log("warn", "No source/target configured: the mirror is idle until they are set"),
      Promise.resolve());
  await server.finished;
  await loop;
  await directory;
  log("info", "Stopped");
}
