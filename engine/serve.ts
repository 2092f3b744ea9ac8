/**
 * `vmirror serve`: serves HTTP with the handler it is given (the portal, built by the
 * composition root, main.ts) beside the continuous mirror loop and the directory timer, until
 * SIGINT/SIGTERM. Settings saved from the console restart the loops with the new configuration
 * at once (a pass under way finishes first); a new listen address or TLS certificate takes a
 * restart of the listener, which the console asks for. The engine knows no web: it only listens
 * and hands requests over.
 * @module
 */
import { type Config, LiveConfig, type ServingAt } from "./config/mod.ts";
import { log, redact, sleep } from "./support/mod.ts";
import type { State } from "./state/mod.ts";
import { runScheduler } from "./mirror/mod.ts";
import { runDirectorySchedule } from "./directory/mod.ts";
import { runMonitor } from "./monitor/mod.ts";
import { jobRegistry } from "./jobs/mod.ts";
import { pruneAudit } from "./state/mod.ts";

/** Answers one HTTP request (the portal app's `fetch`). */
export type HttpHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

/** Options for {@link serve}. */
export interface ServeOptions {
  /** The web front (the portal) that answers on `portal.listen`. */
  handler: HttpHandler;
  /** Overrides `portal.listen` (and then a saved address waits for the next start). */
  listen?: string;
  /** Resolves when the appliance should stop (tests); defaults to SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** Told where the portal listens, every time it starts listening. */
  onListen?: (address: Deno.NetAddr) => void;
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
export async function serve(
  configOrLive: Config | LiveConfig,
  state: State,
  opts: ServeOptions,
): Promise<void> {
  const live = configOrLive instanceof LiveConfig
    ? configOrLive
    : new LiveConfig(configOrLive, state);
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  opts.signal?.addEventListener("abort", stop);
  if (!opts.signal) {
    Deno.addSignalListener("SIGINT", stop);
    if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  }
  const work = Promise.all([
    runLoops(live, state, stopped.signal),
    // Server checks for the dashboard, /readyz and the alert mails; reads the live settings.
    runMonitor(live, state, { signal: stopped.signal }),
    pruneAuditDaily(live, state, stopped.signal),
  ]);
  try {
    // `--listen` holds for the first start; a restart asked for by the console goes to the
    // address the settings now name (that is what the admin asked for).
    let where = placeOf(live.current, opts.listen);
    let last: Place | null = null;
    while (!stopped.signal.aborted) {
      let restart: boolean;
      try {
        restart = await listenOnce(live, where, opts, stopped.signal);
      } catch (e) {
        // A saved address or certificate this machine cannot use must not take the portal
        // down with it (a service manager would restart it into the same failure): back to
        // where it listened, the console still saying a restart is pending.
        if (!last) throw e;
        log(
          "error",
          `Portal cannot listen on ${where.listen}: ${redact((e as Error).message)}; ` +
            `it stays on ${last.listen}`,
        );
        [where, last] = [last, null];
        continue;
      }
      if (!restart) break;
      log("info", "Portal restarting on the configured address");
      [where, last] = [placeOf(live.current), where];
    }
  } finally {
    stop();
    await work;
    // A sync or restore started from the console records how it ended before the store closes.
    await jobRegistry(state).idle();
    if (!opts.signal) {
      Deno.removeSignalListener("SIGINT", stop);
      if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGTERM", stop);
    }
  }
  log("info", "Stopped");
}

/** Where the portal listens: the address, the TLS material, and what `live.serving` says. */
interface Place {
  listen: string;
  tls: { cert: string; key: string } | Record<never, never>;
  serving: ServingAt;
}

function placeOf(config: Config, forced?: string): Place {
  const p = config.portal;
  return {
    listen: forced ?? p.listen,
    tls: p.tls ?? {},
    // An address forced on the command line is not the console's to change.
    serving: { listen: p.listen, tlsCertFile: p.tlsCertFile, tlsKeyFile: p.tlsKeyFile },
  };
}

// One listener, until the appliance stops (false) or the console asks for a restart (true).
async function listenOnce(
  live: LiveConfig,
  where: Place,
  opts: ServeOptions,
  stop: AbortSignal,
): Promise<boolean> {
  const { hostname, port } = parseListen(where.listen);
  const tls = where.tls;
  let restart = false;
  let server: Deno.HttpServer<Deno.NetAddr> | null = null;
  const force = new AbortController();
  let forceTimer: ReturnType<typeof setTimeout> | undefined;
  // shutdown(), not an abort: the request that asked for the restart gets its answer first;
  // a download or stream still open after 5 s is cut.
  const close = () =>
    setTimeout(() => {
      server?.shutdown();
      forceTimer ??= setTimeout(() => force.abort(), 5000);
    }, 0);
  stop.addEventListener("abort", close);
  const off = live.onRestart(() => {
    restart = true;
    close();
  });
  try {
    server = Deno.serve({
      hostname,
      port,
      signal: force.signal,
      ...tls,
      onListen: (a) => {
        log(
          "info",
          `Portal listening on ${"cert" in tls ? "https" : "http"}://${a.hostname}:${a.port}/`,
        );
        opts.onListen?.(a);
      },
    }, opts.handler);
    if (stop.aborted) close();
    live.serving = where.serving;
    await server.finished;
  } finally {
    clearTimeout(forceTimer);
    off();
    stop.removeEventListener("abort", close);
  }
  return restart && !stop.aborted;
}

// The mirror loop and the directory timer, started again with every configuration saved.
async function runLoops(live: LiveConfig, state: State, stop: AbortSignal): Promise<void> {
  let previous: Config | null = null;
  while (!stop.aborted) {
    const config = live.current;
    const ac = new AbortController();
    const onStop = () => ac.abort();
    stop.addEventListener("abort", onStop);
    const off = live.onChange(() => ac.abort());
    // A directory changed in the console is read at once, not hours later.
    const ldapChanged = previous !== null &&
      JSON.stringify(previous.ldap ?? null) !== JSON.stringify(config.ldap ?? null);
    try {
      const directory = runDirectorySchedule(config, state, {
        signal: ac.signal,
        runNow: ldapChanged,
      });
      const loop = config.source && config.target
        ? runScheduler({ ...config, source: config.source }, state, { signal: ac.signal })
        : (log("warn", "No source/target configured: the mirror is idle until they are set"),
          Promise.resolve());
      await Promise.all([loop, directory]);
      // Idle without a source and target: wait for the settings that bring them.
      if (!ac.signal.aborted) {
        await new Promise<void>((r) =>
          ac.signal.addEventListener("abort", () => r(), { once: true })
        );
      }
    } finally {
      off();
      stop.removeEventListener("abort", onStop);
    }
    if (!stop.aborted) log("info", "Settings changed: the mirror and directory loops use them now");
    previous = config;
  }
}

// The audit trail keeps `audit.retentionDays`; pruned at start and every 6 hours.
async function pruneAuditDaily(live: LiveConfig, state: State, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    const days = live.current.audit.retentionDays;
    try {
      const removed = await pruneAudit(state, new Date(Date.now() - days * 86_400_000));
      if (removed) log("info", `Audit log: removed ${removed} entries older than ${days} days`);
    } catch (e) {
      log("error", `Audit log pruning failed: ${redact((e as Error).message)}`);
    }
    await sleep(6 * 3_600_000, stop);
  }
}
