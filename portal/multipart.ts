/**
 * A `multipart/form-data` body read as it arrives (RFC 7578): each part's headers, then its bytes
 * handed on chunk by chunk, so an upload of a hundred megabytes goes to disk without ever being
 * held in memory (Hono's `parseBody` and `Request.formData()` hold the whole body). The body's
 * size is counted as it is read and stops at a limit.
 * @module
 */

/** A part's headers, as far as a form needs them. */
export interface PartHead {
  /** The form field's name. */
  name: string;
  /** The file's name as the client sent it (a file part), else null. */
  filename: string | null;
  contentType: string | null;
}

/** What to do with each part: return a sink for its bytes, which ends when the part does. */
export interface PartSink {
  write(chunk: Uint8Array): Promise<void> | void;
  close(): Promise<void> | void;
}

/** A body that cannot be read as multipart/form-data (a 400). */
export class MultipartError extends Error {
  override name = "MultipartError";
}

/** A body larger than the limit (a 413). */
export class BodyTooLarge extends Error {
  override name = "BodyTooLarge";
}

/** The boundary of a `multipart/form-data` content type, or null. */
export function boundaryOf(contentType: string | null | undefined): string | null {
  if (!contentType || !/^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : null;
}

/** Reads one header block's Content-Disposition and Content-Type. */
export function parsePartHead(block: string): PartHead {
  let name: string | null = null;
  let filename: string | null = null;
  let contentType: string | null = null;
  for (const line of block.split("\r\n")) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const key = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    if (key === "content-type") contentType = value;
    if (key !== "content-disposition") continue;
    if (!/^form-data\b/i.test(value)) throw new MultipartError("a part is not form-data");
    for (const m of value.matchAll(/;\s*([A-Za-z*]+)=(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g)) {
      const v = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3];
      if (m[1].toLowerCase() === "name") name = v;
      if (m[1].toLowerCase() === "filename") filename = v;
    }
  }
  if (name === null) throw new MultipartError("a part has no name");
  return { name, filename, contentType };
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const MAX_HEAD = 16 * 1024;

/**
 * Reads a multipart body: `onPart` is called with each part's headers and returns where its
 * bytes go (awaited chunk by chunk: a slow disk slows the reading). Throws
 * {@link BodyTooLarge} past `maxBytes`, {@link MultipartError} on a body that is not well formed.
 */
export async function readMultipart(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  onPart: (head: PartHead) => Promise<PartSink> | PartSink,
  opts: { maxBytes: number },
): Promise<void> {
  const reader = body.getReader();
  let buf: Uint8Array = new Uint8Array(0);
  let total = 0;
  let ended = false;
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const r = await reader.read();
    if (r.done) {
      ended = true;
      return false;
    }
    total += r.value.length;
    if (total > opts.maxBytes) {
      throw new BodyTooLarge(`the body is larger than ${opts.maxBytes} bytes`);
    }
    buf = buf.length ? concat(buf, r.value) : r.value;
    return true;
  };
  try {
    // The first delimiter: "--boundary" (whatever preamble comes before it is ignored).
    const first = enc.encode(`--${boundary}`);
    let at: number;
    while ((at = indexOf(buf, first, 0)) < 0) {
      if (buf.length > first.length) buf = buf.slice(buf.length - first.length);
      if (!(await more())) throw new MultipartError("no multipart boundary in the body");
    }
    buf = buf.slice(at + first.length);
    const delimiter = enc.encode(`\r\n--${boundary}`);
    for (;;) {
      // After a delimiter: "--" ends the body, CRLF starts a part.
      while (buf.length < 2) {
        if (!(await more())) throw new MultipartError("the body ends inside a delimiter");
      }
      if (buf[0] === 0x2d && buf[1] === 0x2d) return;
      if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw new MultipartError("a delimiter is malformed");
      buf = buf.slice(2);
      let end: number;
      while ((end = indexOf(buf, CRLFCRLF, 0)) < 0) {
        if (buf.length > MAX_HEAD) throw new MultipartError("a part's headers are too long");
        if (!(await more())) throw new MultipartError("the body ends inside a part's headers");
      }
      const head = parsePartHead(dec.decode(buf.subarray(0, end)));
      buf = buf.slice(end + 4);
      const sink = await onPart(head);
      for (;;) {
        const i = indexOf(buf, delimiter, 0);
        if (i >= 0) {
          if (i > 0) await sink.write(buf.slice(0, i));
          buf = buf.slice(i + delimiter.length);
          break;
        }
        // Everything but what could be the start of a delimiter split across chunks.
        const safe = buf.length - (delimiter.length - 1);
        if (safe > 0) {
          await sink.write(buf.slice(0, safe));
          buf = buf.slice(safe);
        }
        if (!(await more())) throw new MultipartError("the body ends inside a part");
      }
      await sink.close();
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

const CRLFCRLF = enc.encode("\r\n\r\n");

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

// The first byte is found natively; only its matches are compared further.
function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(first, from); i >= 0 && i <= last; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/** A sink that keeps a text field, refusing more than `max` bytes. */
export function textSink(max: number, done: (text: string) => void, what: string): PartSink {
  const chunks: Uint8Array[] = [];
  let size = 0;
  return {
    write(chunk) {
      size += chunk.length;
      if (size > max) throw new MultipartError(`the field "${what}" is larger than ${max} bytes`);
      chunks.push(chunk);
    },
    close() {
      done(dec.decode(chunks.reduce((a, c) => concat(a, c), new Uint8Array(0))));
    },
  };
}

/** A sink that drops what it is given. */
export const discardSink: PartSink = { write() {}, close() {} };
