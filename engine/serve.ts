/**
 * `vmirror serve`: the portal plus the continuous mirror loop, until SIGINT/SIGTERM.
 * @module
 */
import type { Config } from "./config.ts";
import { log } from "./log.ts";
import type { State } from "./state.ts";
import { runScheduler } from "./scheduler.ts";
import { runDirectorySchedule } from "./directory.ts";
import { createApp } from "../portal/app.tsx";

/** Options for {@link serve}. */
export interface ServeOptions {
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
export async function serve(config: Config, state: State, opts: ServeOptions = {}): Promise<void> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  opts.signal?.addEventListener("abort", stop);
  if (!opts.signal) {
    Deno.addSignalListener("SIGINT", stop);
    if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  }
  const { hostname, port } = parseListen(opts.listen ?? config.portal.listen);
  const app = createApp({ config, state });
  const tls = config.portal.tlsCertFile && config.portal.tlsKeyFile
    ? {
      cert: await Deno.readTextFile(config.portal.tlsCertFile),
      key: await Deno.readTextFile(config.portal.tlsKeyFile),
    }
    : {};
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
  }, app.fetch);

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
