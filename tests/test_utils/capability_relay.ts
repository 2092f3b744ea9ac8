/**
 * A capability-filtering relay for the lab: a relay in front of the real Dovecot that hides
 * capabilities, emulating an older store (no SASL-IR, LITERAL+, MULTIAPPEND, UIDPLUS, CONDSTORE…),
 * and records the client's commands, so a test sees which fallbacks the engine took.
 * @module
 */
import { latin1 as latin1Bytes } from "./corpus.ts";

/** What an older store does not offer (IDLE and the rest stay). */
export const OLDER_STORE_HIDES = [
  "SASL-IR",
  "LITERAL+",
  "LITERAL-",
  "MULTIAPPEND",
  "UIDPLUS",
  "CONDSTORE",
  "QRESYNC",
  "ENABLE",
  "LIST-STATUS",
  "ID",
];

const latin1 = new TextDecoder("latin1");

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (!a.length) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * A byte stream cut into IMAP lines: `onLine` sees each line (CRLF included, latin1) and
 * returns what to send instead; `continued` is true for the rest of a command or response after
 * a literal. A line ending in `{n}` (or `{n+}`) is followed by n bytes of literal data, which
 * pass through untouched: a message body may hold anything, capability lines included.
 */
export function imapFramer(
  onLine: (line: string, continued: boolean) => string,
): TransformStream<Uint8Array, Uint8Array> {
  let pending: Uint8Array = new Uint8Array(0);
  let literal = 0;
  let continued = false;
  return new TransformStream({
    transform(chunk, out) {
      let pos = 0;
      while (pos < chunk.length) {
        if (literal > 0) {
          const n = Math.min(literal, chunk.length - pos);
          out.enqueue(chunk.slice(pos, pos + n));
          literal -= n;
          pos += n;
          continue;
        }
        const lf = chunk.indexOf(10, pos);
        if (lf < 0) {
          pending = concat(pending, chunk.subarray(pos));
          break;
        }
        const raw = concat(pending, chunk.subarray(pos, lf + 1));
        pending = new Uint8Array(0);
        pos = lf + 1;
        const text = latin1.decode(raw);
        const sent = onLine(text, continued);
        out.enqueue(sent === text ? raw : latin1Bytes(sent));
        const lit = /\{(\d+)\+?\}\r?\n$/.exec(text);
        literal = lit ? Number(lit[1]) : 0;
        continued = !!lit;
      }
    },
    flush(out) {
      if (pending.length) out.enqueue(pending);
    },
  });
}

/**
 * A server line with `hidden` capabilities taken out of its capability list; any other line
 * unchanged. `offered` collects what the real server announced.
 */
export function hideCapabilities(line: string, hidden: Set<string>, offered?: Set<string>): string {
  const m = /^(\* OK \[CAPABILITY |\* CAPABILITY |[^\s*+]+ OK \[CAPABILITY )([^\]\r\n]*)/i.exec(
    line,
  );
  if (!m) return line;
  const caps = m[2].split(" ").filter(Boolean);
  for (const c of caps) offered?.add(c.toUpperCase());
  const kept = caps.filter((c) => !hidden.has(c.toUpperCase()));
  return m[1] + kept.join(" ") + line.slice(m[0].length);
}

/**
 * A capability-filtering relay to the lab Dovecot on `port`: a relay in front of the real
 * Dovecot that hides capabilities, emulating an older store. `commands` holds every client
 * command as one line (the parts after a literal appended, literal data left out; SASL
 * responses, which are not commands, and credentials are not kept); `offered` what the server
 * announced before filtering, `announced` what the client was told.
 */
export function capabilityFilteringRelay(port: number, hidden: string[] = OLDER_STORE_HIDES) {
  const hide = new Set(hidden.map((c) => c.toUpperCase()));
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const commands: string[] = [];
  const offered = new Set<string>();
  const announced = new Set<string>();
  const conns: Deno.Conn[] = [];
  const closeAll = (...cs: Deno.Conn[]) => {
    for (const c of cs) {
      try {
        c.close();
      } catch { /* closed */ }
    }
  };
  (async () => {
    for await (const client of listener) {
      let server: Deno.Conn;
      try {
        server = await Deno.connect({ hostname: "127.0.0.1", port });
      } catch {
        closeAll(client);
        continue;
      }
      conns.push(client, server);
      // Per connection: the command a continuation line belongs to (-1: none kept).
      let current = -1;
      const up = client.readable
        .pipeThrough(imapFramer((line, continued) => {
          // Credentials are kept out of the record (failure messages print it).
          const text = line.replace(/\r?\n$/, "")
            .replace(/^(\S+ AUTHENTICATE \S+) \S+$/i, "$1 <initial-response>")
            .replace(/^(\S+ LOGIN \S+) .*$/i, "$1 <password>");
          if (continued) {
            if (current >= 0) commands[current] += text;
          } else if (/^\S+ [A-Za-z]/.test(text)) {
            current = commands.push(text) - 1;
          } else {
            current = -1;
          }
          return line;
        }))
        .pipeTo(server.writable);
      const down = server.readable
        .pipeThrough(imapFramer((line) => {
          const sent = hideCapabilities(line, hide, offered);
          hideCapabilities(sent, new Set(), announced);
          return sent;
        }))
        .pipeTo(client.writable);
      Promise.allSettled([up, down]).then(() => closeAll(client, server));
    }
  })().catch(() => {/* listener closed */});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    commands,
    offered,
    announced,
    close() {
      listener.close();
      closeAll(...conns);
    },
  };
}
