/**
 * A TCP fault proxy for the hostile-world tests: it sits in front of a real lab server on
 * loopback and, on command, cuts a connection after N bytes in either direction, stalls it
 * (keeps it open and forwards nothing more), delays what the server says, or refuses new
 * connections. A fake network, named as such; the servers behind it are real.
 * @module
 */

/** Which way bytes flow: "up" = client → server, "down" = server → client. */
export type Direction = "up" | "down";

/** One fault, applied to the next connection(s) until cleared. */
export type Fault =
  /** Close both sockets once `afterBytes` more bytes have passed in `direction`. */
  | { kind: "cut"; direction: Direction; afterBytes: number }
  /** Forward `afterBytes` more bytes in `direction`, then hold the rest (connection stays open). */
  | { kind: "stall"; direction: Direction; afterBytes: number }
  /**
   * Forward `afterBytes` more bytes in `direction`, then stop reading that way: the sender's
   * writes block once the socket buffers fill (a peer that stopped reading).
   */
  | { kind: "freeze"; direction: Direction; afterBytes: number }
  /** Forward `afterBytes` more bytes in `direction`, then hold the rest for `ms` and go on. */
  | { kind: "delay"; direction: Direction; afterBytes: number; ms: number }
  /** Accept and close new connections at once. */
  | { kind: "refuse" };

/** Options for {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** The real server's port on 127.0.0.1. */
  targetPort: number;
}

/** A running fault proxy. */
export interface FaultProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Bytes forwarded so far, per direction, over all connections. */
  readonly bytes: Record<Direction, number>;
  /** How many faults fired (a cut, a stall or a delay that began, a refused connection). */
  readonly fired: number;
  /** Sets the fault for the next connection (one shot unless `sticky`), or clears it. */
  setFault(fault: Fault | null, opts?: { sticky?: boolean }): void;
  /** Drops every open connection at once (a server restart as the client sees it). */
  dropAll(): void;
  /** Stalls every open connection both ways, sockets left open (a server that froze). */
  stallAll(): void;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

interface Pending {
  fault: Fault;
  sticky: boolean;
}

/** Starts a fault proxy on an ephemeral loopback port in front of `targetPort`. */
export function startFaultProxy(opts: FaultProxyOptions): FaultProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const bytes: Record<Direction, number> = { up: 0, down: 0 };
  let accepted = 0;
  let fired = 0;
  // Widened on purpose: setFault() assigns it from a closure that narrowing cannot see.
  let pending = null as Pending | null;
  const held = new Set<{ held: boolean }>();
  const closeQuietly = (c: Deno.Conn) => {
    open.delete(c);
    try {
      c.close();
    } catch { /* closed already */ }
  };

  // A "delay" fault's pending waits: closing the proxy ends them at once (their pumps then
  // find the sockets closed), so no timer outlives the proxy.
  const delays = new Set<{ timer: ReturnType<typeof setTimeout>; done: () => void }>();
  const delay = (ms: number) =>
    new Promise<void>((done) => {
      const d = { timer: setTimeout(() => (delays.delete(d), done()), ms), done };
      delays.add(d);
    });
  const endDelays = () => {
    for (const d of delays) {
      clearTimeout(d.timer);
      d.done();
    }
    delays.clear();
  };

  const pump = async (
    from: Deno.Conn,
    to: Deno.Conn,
    dir: Direction,
    fault: Fault | null,
    stop: () => void,
    pair: { held: boolean; stopped: Promise<void> },
  ) => {
    let budget = fault && fault.kind !== "refuse" && fault.direction === dir
      ? fault.afterBytes
      : Infinity;
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        if (pair.held) continue;
        let chunk = buf.subarray(0, n);
        if (chunk.length > budget && fault && fault.kind !== "refuse") {
          const head = chunk.subarray(0, budget);
          if (head.length) await writeAll(to, head);
          bytes[dir] += head.length;
          chunk = chunk.subarray(budget);
          budget = Infinity;
          fired++;
          if (fault.kind === "cut") break;
          if (fault.kind === "freeze") return await pair.stopped;
          if (fault.kind === "stall") {
            // Hold everything from now on; the sockets stay open until someone closes them.
            for (;;) if ((await from.read(buf)) === null) return stop();
          }
          await delay(fault.ms);
        } else if (budget !== Infinity) {
          budget -= chunk.length;
        }
        await writeAll(to, chunk);
        bytes[dir] += chunk.length;
      }
    } catch { /* either side closed */ }
    stop();
  };

  (async () => {
    for await (const client of listener) {
      accepted++;
      const fault = pending?.fault ?? null;
      if (pending && !pending.sticky) pending = null;
      if (fault?.kind === "refuse") {
        fired++;
        closeQuietly(client);
        continue;
      }
      let server: Deno.Conn;
      try {
        server = await Deno.connect({ hostname: "127.0.0.1", port: opts.targetPort });
      } catch {
        closeQuietly(client);
        continue;
      }
      open.add(client);
      open.add(server);
      let stopped = false;
      let onStop = () => {};
      const pair = { held: false, stopped: new Promise<void>((r) => (onStop = r)) };
      held.add(pair);
      const stop = () => {
        if (stopped) return;
        stopped = true;
        held.delete(pair);
        onStop();
        closeQuietly(client);
        closeQuietly(server);
      };
      pump(client, server, "up", fault, stop, pair);
      pump(server, client, "down", fault, stop, pair);
    }
  })().catch(() => {/* listener closed */});

  return {
    port: (listener.addr as Deno.NetAddr).port,
    get accepted() {
      return accepted;
    },
    get bytes() {
      return bytes;
    },
    get fired() {
      return fired;
    },
    setFault(fault, o = {}) {
      pending = fault ? { fault, sticky: !!o.sticky } : null;
    },
    dropAll() {
      endDelays();
      for (const c of [...open]) closeQuietly(c);
    },
    stallAll() {
      for (const p of held) {
        if (!p.held) fired++;
        p.held = true;
      }
    },
    close() {
      try {
        listener.close();
      } catch { /* closed */ }
      endDelays();
      for (const c of [...open]) closeQuietly(c);
      return Promise.resolve();
    },
  };
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}
