import assert from "node:assert/strict";
import {
  BodyTooLarge,
  boundaryOf,
  MultipartError,
  parsePartHead,
  type PartHead,
  readMultipart,
} from "./multipart.ts";

const enc = new TextEncoder();

/** A body as the browser sends it, cut into chunks of `size` bytes. */
function streamOf(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(ctrl) {
      if (at >= bytes.length) return ctrl.close();
      ctrl.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

async function formBody(
  fields: [string, string | Blob][],
): Promise<{ bytes: Uint8Array; type: string }> {
  const form = new FormData();
  for (const [k, v] of fields) {
    if (typeof v === "string") form.append(k, v);
    else form.append(k, v, "vmirror-1.0.0-linux-x64.tar.gz");
  }
  const req = new Request("http://x/", { method: "POST", body: form });
  return {
    bytes: new Uint8Array(await req.arrayBuffer()),
    type: req.headers.get("content-type")!,
  };
}

async function collect(body: Uint8Array, type: string, chunk: number, max = 1 << 30) {
  const parts: { head: PartHead; bytes: Uint8Array; chunks: number }[] = [];
  await readMultipart(streamOf(body, chunk), boundaryOf(type)!, (head) => {
    const got: Uint8Array[] = [];
    return {
      write: (c) => void got.push(c),
      close: () => {
        const all = new Uint8Array(got.reduce((n, c) => n + c.length, 0));
        let off = 0;
        for (const c of got) all.set(c, (off += c.length) - c.length);
        parts.push({ head, bytes: all, chunks: got.length });
      },
    };
  }, { maxBytes: max });
  return parts;
}

Deno.test("readMultipart hands on fields and a file byte for byte, whatever the chunking", async () => {
  // Bytes that look like delimiters' beginnings, split anywhere, must come through unchanged.
  const file = new Uint8Array(40_000);
  for (let i = 0; i < file.length; i++) file[i] = (i * 7919) % 251;
  file.set(enc.encode("\r\n--\r\n-"), 1000);
  const { bytes, type } = await formBody([
    ["_csrf", "tok"],
    ["file", new Blob([file])],
    ["sha256", "ab".repeat(32)],
  ]);
  for (const chunk of [1, 7, 70, 1000, 4096, bytes.length]) {
    const parts = await collect(bytes, type, chunk);
    assert.deepEqual(parts.map((p) => p.head.name), ["_csrf", "file", "sha256"], `chunk ${chunk}`);
    assert.equal(new TextDecoder().decode(parts[0].bytes), "tok");
    assert.equal(parts[1].head.filename, "vmirror-1.0.0-linux-x64.tar.gz");
    assert.deepEqual(parts[1].bytes, file, `chunk ${chunk}`);
    assert.equal(new TextDecoder().decode(parts[2].bytes), "ab".repeat(32));
  }
  // Streamed: a large file arrives in many pieces, never as one buffer.
  const pieces = (await collect(bytes, type, 1000))[1].chunks;
  assert.ok(pieces > 30, `${pieces} pieces`);
});

Deno.test("readMultipart stops a body over the limit and refuses a malformed one", async () => {
  const { bytes, type } = await formBody([["file", new Blob([new Uint8Array(100_000)])]]);
  await assert.rejects(collect(bytes, type, 4096, 50_000), BodyTooLarge);
  const cut = bytes.slice(0, bytes.length - 200);
  await assert.rejects(collect(cut, type, 4096), MultipartError);
  await assert.rejects(collect(enc.encode("no parts here"), type, 4096), MultipartError);
});

Deno.test("boundaries and part headers are read as browsers and curl write them", () => {
  assert.equal(boundaryOf("multipart/form-data; boundary=----abc"), "----abc");
  assert.equal(boundaryOf('multipart/form-data; charset=utf-8; boundary="x y"'), "x y");
  assert.equal(boundaryOf("application/json"), null);
  assert.equal(boundaryOf(null), null);
  assert.deepEqual(
    parsePartHead(
      'Content-Disposition: form-data; name="file"; filename="a \\"b\\".tar.gz"\r\nContent-Type: application/gzip',
    ),
    { name: "file", filename: 'a "b".tar.gz', contentType: "application/gzip" },
  );
  assert.throws(() => parsePartHead("Content-Type: text/plain"), /no name/);
});
