/**
 * Framing and deadlines of the wire against a fake socket (an in-memory script of read chunks),
 * for the edge cases a real server rarely produces on demand: lines and literals split anywhere.
 */
import assert from "node:assert/strict";
import { FLOOR_BYTES_PER_SECOND, ImapWire, type WireConn } from "./wire.ts";

const enc = new TextEncoder();

/** A fake socket: reads return `chunks` one by one, then block forever (or end, if `eof`). */
function fakeConn(chunks: Uint8Array[], opts: { eof?: boolean } = {}) {
  const written: Uint8Array[] = [];
  let closed = false;
  let wake: (() => void) | null = null;
  const conn: WireConn = {
    read: async (into) => {
      const next = chunks.shift();
      if (next) {
        const n = Math.min(into.length, next.length);
        into.set(next.subarray(0, n));
        if (n < next.length) chunks.unshift(next.subarray(n));
        return n;
      }
      if (opts.eof) return null;
      // Silent until closed, as a stalled server is: closing fails the read.
      await new Promise<void>((r) => wake = r);
      throw new Error("closed");
    },
    write: async (b) => {
      written.push(b.slice());
      return await Promise.resolve(b.length);
    },
    close: () => {
      closed = true;
      wake?.();
    },
  };
  return { conn, written, closed: () => closed };
}

/** `bytes` cut into pieces of `size`. */
function cut(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

Deno.test("readResponse frames lines and literals however the bytes are cut", async () => {
  const body = "line one\r\n* 9 EXISTS\r\nA1 OK fake {3}\r\n";
  const stream = enc.encode(
    `* 1 FETCH (UID 5 BODY[] {${body.length}}\r\n${body} FLAGS ())\r\nS1 OK done\n`,
  );
  for (const size of [1, 2, 5, 13, stream.length]) {
    const { conn } = fakeConn(cut(stream, size));
    const wire = new ImapWire(conn, 1000);
    wire.begin();
    const r = await wire.readResponse();
    assert.equal(
      r.text,
      `* 1 FETCH (UID 5 BODY[] {${body.length}}\u0000 FLAGS ())`,
      `size ${size}`,
    );
    assert.deepEqual(r.literals, [enc.encode(body)]);
    // A bare LF ends a line too.
    assert.deepEqual(await wire.readResponse(), { text: "S1 OK done", literals: [] });
  }
});

Deno.test("a literal of zero bytes and a non-synchronizing marker are framed", async () => {
  const { conn } = fakeConn([enc.encode("* 1 FETCH (BODY[] {0}\r\n)\r\n* X {2+}\r\nab\r\n")]);
  const wire = new ImapWire(conn, 1000);
  wire.begin();
  assert.deepEqual(await wire.readResponse(), {
    text: "* 1 FETCH (BODY[] {0}\u0000)",
    literals: [new Uint8Array(0)],
  });
  assert.deepEqual(await wire.readResponse(), {
    text: "* X {2+}\u0000",
    literals: [enc.encode("ab")],
  });
});

Deno.test("a silent server costs the quiet limit, then the wire stays dead", async () => {
  const { conn, closed } = fakeConn([enc.encode("* OK partial")]);
  const wire = new ImapWire(conn, 50);
  wire.begin();
  const started = Date.now();
  await assert.rejects(
    wire.readResponse(),
    /^Error: timeout: no answer from the server for [\d.]+ s$/,
  );
  assert.ok(Date.now() - started < 1000);
  assert.ok(closed(), "the socket was not closed");
  // Unusable afterwards, and it says so at once.
  await assert.rejects(wire.write(enc.encode("x")), /timeout/);
});

Deno.test("the server closing the connection is an error, not a hang", async () => {
  const { conn } = fakeConn([enc.encode("* OK half a li")], { eof: true });
  const wire = new ImapWire(conn, 1000);
  wire.begin();
  await assert.rejects(wire.readResponse(), /the server closed the connection/);
});

Deno.test("bytes moved extend the exchange's deadline at the floor rate", async () => {
  // Each read takes 30 ms against a 50 ms budget: without the extension the third read of a
  // 3-chunk exchange would be past the deadline.
  const chunk = new Uint8Array(Math.floor(FLOOR_BYTES_PER_SECOND / 10)).fill(0x61);
  let reads = 0;
  const conn: WireConn = {
    read: async (into) => {
      await new Promise((r) => setTimeout(r, 30));
      reads++;
      if (reads < 4) {
        into.set(chunk.subarray(0, Math.min(into.length, chunk.length)));
        return Math.min(into.length, chunk.length);
      }
      into.set(enc.encode("\r\n"));
      return 2;
    },
    write: (b) => Promise.resolve(b.length),
    close: () => {},
  };
  const wire = new ImapWire(conn, 50);
  wire.begin();
  const r = await wire.readResponse();
  assert.equal(r.text.length, 3 * chunk.length);
});
