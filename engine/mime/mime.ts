/**
 * RFC 5322 / RFC 2045–2047 / RFC 2231 parsing on raw bytes: header fields, the MIME part tree
 * (as byte ranges into the original message), body decoding, encoded words, addresses and
 * dates — plus the few encoders needed to write safe headers. Pure logic, no I/O.
 *
 * Hand-written, not a library: the part tree is byte ranges into the original (no copies of
 * multi-megabyte voice parts, exact IMAP section bytes), which no maintained parser offers.
 * @module
 */

/** One header field: its name as written and its unfolded, trimmed, still-encoded value. */
export interface Header {
  name: string;
  value: string;
}

/** The header fields of an entity and `headerEnd`, the offset of the first body byte. */
export interface HeaderSection {
  headers: Header[];
  headerEnd: number;
}

/** Parameters with lower-case names; a null-prototype object so hostile names stay plain keys. */
export type Params = Record<string, string>;

/** A parsed Content-Type: lower-case type and subtype, and decoded parameters. */
export interface ContentType {
  type: string;
  subtype: string;
  params: Params;
}

/** A parsed Content-Disposition: lower-case type and decoded parameters. */
export interface Disposition {
  type: string;
  params: Params;
}

/** A body as a byte range of the message plus its Content-Transfer-Encoding. */
export interface BodyRange {
  start: number;
  end: number;
  transferEncoding: string;
}

/** One entity of the MIME tree; `start`/`end` delimit its (still encoded) body. */
export interface Part extends BodyRange {
  headers: Header[];
  contentType: ContentType;
  disposition: Disposition | null;
  /** IMAP section number (RFC 3501): "" for a multipart top level, "1", "1.2", … */
  path: string;
  /** Offset of the first header byte; `start` is the first body byte. */
  headerStart: number;
  children: Part[];
  /** For message/rfc822 (and message/global): the embedded message. */
  message?: Part;
  /** Set when the depth or part-count guard stopped parsing below this part. */
  truncated?: boolean;
}

/** Guards against hostile input; the defaults suit voicemail (a handful of parts). */
export interface ParseOptions {
  /** Deepest nesting of multiparts and embedded messages that is parsed (default 32). */
  maxDepth?: number;
  /** Most parts parsed in one message (default 1000). */
  maxParts?: number;
}

/** Options for decodeBody. */
export interface DecodeOptions {
  /** Stop after this many decoded bytes: reading a file header needs only a prefix. */
  maxBytes?: number;
}

/** A mailbox: display name (decoded, may be "") and address (may be a bare local part). */
export interface Address {
  name: string;
  address: string;
}

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;
const DASH = 45;
const EQUALS = 61;
const PERCENT = 37;
const UNDERSCORE = 95;

const latin1 = new TextDecoder("windows-1252");
const utf8Fatal = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Header section

/** Parses the header section in `bytes[start, end)`; CRLF or bare LF, garbage lines skipped. */
export function parseHeaders(
  bytes: Uint8Array,
  start = 0,
  end: number = bytes.length,
): HeaderSection {
  end = Math.min(end, bytes.length);
  start = Math.max(0, Math.min(start, end));
  const headers: Header[] = [];
  // The current field's value as one byte range, line breaks included; decoding waits until
  // the field is complete, so a field folded into many lines costs one decoder call.
  let valueStart = -1;
  let valueEnd = -1;
  let name = "";
  const flush = () => {
    if (valueStart < 0) return;
    headers.push({ name, value: unfold(bytes, valueStart, valueEnd).trim() });
    valueStart = -1;
  };
  let pos = start;
  while (pos < end) {
    const nl = indexOfByte(bytes, LF, pos, end);
    const next = nl < 0 ? end : nl + 1;
    let contentEnd = nl < 0 ? end : nl;
    if (contentEnd > pos && bytes[contentEnd - 1] === CR) contentEnd--;
    if (contentEnd === pos) {
      flush();
      return { headers, headerEnd: next };
    }
    const first = bytes[pos];
    if (first === SP || first === HT) {
      // Unfolding removes only the line break, so the leading blank stays (RFC 5322 2.2.3).
      // A continuation after a garbage line has no field to belong to and is dropped.
      if (valueStart >= 0) valueEnd = contentEnd;
    } else {
      flush();
      const colon = fieldNameEnd(bytes, pos, contentEnd);
      if (colon >= 0) {
        let nameEnd = colon;
        while (nameEnd > pos && (bytes[nameEnd - 1] === SP || bytes[nameEnd - 1] === HT)) nameEnd--;
        name = bytesToText(bytes, pos, nameEnd);
        valueStart = colon + 1;
        valueEnd = contentEnd;
      }
    }
    pos = next;
  }
  flush();
  return { headers, headerEnd: end };
}

/** The first value of header `name` (case-insensitive), or null. */
export function headerValue(headers: readonly Header[], name: string): string | null {
  const lower = name.toLowerCase();
  for (const h of headers) if (sameName(h.name, lower)) return h.value;
  return null;
}

/** Every value of header `name` (case-insensitive), in order. */
export function headerValues(headers: readonly Header[], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter((h) => sameName(h.name, lower)).map((h) => h.value);
}

// Comparing lengths first spares a lower-casing per field: a hostile message may carry
// hundreds of thousands of fields and each lookup visits them all.
function sameName(name: string, lower: string): boolean {
  return name.length === lower.length && name.toLowerCase() === lower;
}

/**
 * Field `name` of a fetched header block (`BODY[HEADER.FIELDS (…)]`) read as an id: its first
 * `<…>`, else its trimmed value ("" when empty); null when the field is absent.
 */
export function fetchedHeaderId(headers: Uint8Array | undefined, name: string): string | null {
  if (!headers) return null;
  const text = latin1.decode(headers).replace(/\r?\n[ \t]+/g, " ");
  const field = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`^${field}:[ \\t]*(.*)$`, "im").exec(text);
  if (!m) return null;
  const value = m[1].trim();
  return /<[^<>\s]+>/.exec(value)?.[0] ?? value;
}

/** The Message-ID of a fetched header block: its first `<…>`, else its bare value, else null. */
export function parseMessageId(headers: Uint8Array | undefined): string | null {
  return fetchedHeaderId(headers, "message-id") || null;
}

/**
 * A whole message's Message-ID as a FETCH of `HEADER.FIELDS (MESSAGE-ID)` gives it: the first
 * field of the top-level header only, so a forwarded message's id further down, or the field
 * after an empty one, does not count.
 */
export function topMessageId(bytes: Uint8Array): string | null {
  // Read from the raw header bytes exactly as a server's FETCH answer is read, so a Message-ID
  // with 8-bit bytes compares equal to what the server reports.
  return parseMessageId(bytes.subarray(0, parseHeaders(bytes).headerEnd));
}

// Returns the offset of the colon when the line starts with a valid field name
// (printable ASCII, optionally followed by blanks — obsolete syntax still seen), else -1.
function fieldNameEnd(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && bytes[i] > 32 && bytes[i] < 127 && bytes[i] !== COLON) i++;
  if (i === start) return -1;
  while (i < end && (bytes[i] === SP || bytes[i] === HT)) i++;
  return i < end && bytes[i] === COLON ? i : -1;
}

// A field's value with its line breaks removed (unfolding, RFC 5322 2.2.3): every LF and a CR
// just before one; a bare CR inside a line stays.
function unfold(bytes: Uint8Array, start: number, end: number): string {
  if (indexOfByte(bytes, LF, start, end) < 0) return bytesToText(bytes, start, end);
  const out = new Uint8Array(end - start);
  let o = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    if (c === LF || (c === CR && i + 1 < end && bytes[i + 1] === LF)) continue;
    out[o++] = c;
  }
  return bytesToText(out, 0, o);
}

// Raw header bytes are usually ASCII; 8-bit ones are UTF-8 (RFC 6532) or, from older mailers,
// a single-byte charset — windows-1252 is the least surprising guess. Short ASCII text, most
// names and values, is built directly: a TextDecoder call costs far more.
function bytesToText(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let text = "";
    for (let i = start; i < end; i++) {
      const c = bytes[i];
      if (c >= 0x80) return eightBitText(bytes.subarray(start, end));
      text += String.fromCharCode(c);
    }
    return text;
  }
  for (let i = start; i < end; i++) {
    if (bytes[i] >= 0x80) return eightBitText(bytes.subarray(start, end));
  }
  return latin1.decode(bytes.subarray(start, end));
}

function eightBitText(slice: Uint8Array): string {
  try {
    return utf8Fatal.decode(slice);
  } catch {
    return latin1.decode(slice);
  }
}

function indexOfByte(bytes: Uint8Array, byte: number, from: number, end: number): number {
  const i = bytes.indexOf(byte, from);
  return i < 0 || i >= end ? -1 : i;
}

// ---------------------------------------------------------------------------------------------
// Structured values: Content-Type, Content-Disposition, parameters

/** Parses a Content-Type value; absent or invalid values become `fallback` (RFC 2045 5.2). */
export function parseContentType(value: string | null, fallback = "text/plain"): ContentType {
  const [fbType, fbSubtype] = fallback.split("/");
  if (value === null) return defaultContentType(fbType, fbSubtype);
  const parsed = parseParameterized(value);
  const m = /^([a-z0-9!#$%&'*+.^_`{|}~-]+)\s*\/\s*([a-z0-9!#$%&'*+.^_`{|}~-]+)$/.exec(
    parsed.value.toLowerCase(),
  );
  if (!m) return { type: fbType, subtype: fbSubtype, params: parsed.params };
  return { type: m[1], subtype: m[2], params: parsed.params };
}

/** Parses a Content-Disposition value (RFC 2183); an empty type is read as "attachment". */
export function parseDisposition(value: string): Disposition {
  const parsed = parseParameterized(value);
  return { type: parsed.value.toLowerCase() || "attachment", params: parsed.params };
}

function defaultContentType(type: string, subtype: string): ContentType {
  const params: Params = Object.create(null);
  if (type === "text") params.charset = "us-ascii";
  return { type, subtype, params };
}

// Splits `value; a=b; c="d"` with comments removed and quoted strings honoured, then applies
// RFC 2231 (continuations, charsets) to the parameters.
function parseParameterized(value: string): { value: string; params: Params } {
  const segments = splitParameters(value);
  const head = (segments.shift() ?? "").trim();
  const plain = new Map<string, string>();
  for (const segment of segments) {
    const eq = segment.indexOf("=");
    if (eq <= 0) continue;
    const name = segment.slice(0, eq).trim().toLowerCase();
    if (!name || plain.has(name)) continue;
    plain.set(name, unquote(segment.slice(eq + 1).trim()));
  }
  return { value: head, params: applyRfc2231(plain) };
}

// One pass over the value: drop (nested, escaped) comments outside quotes, split on `;`
// outside quotes; quotes are kept so values can be unquoted afterwards.
function splitParameters(value: string): string[] {
  const out: string[] = [];
  let current = "";
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (depth > 0) {
      if (c === "\\") i++;
      else if (c === "(") depth++;
      else if (c === ")") depth--;
      continue;
    }
    if (quoted) {
      current += c;
      if (c === "\\" && i + 1 < value.length) current += value[++i];
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') {
      quoted = true;
      current += c;
    } else if (c === "(") {
      depth = 1;
    } else if (c === ";") {
      out.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  out.push(current);
  return out;
}

function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  let out = "";
  for (let i = 1; i < value.length; i++) {
    const c = value[i];
    if (c === "\\" && i + 1 < value.length) out += value[++i];
    else if (c === '"') break;
    else out += c;
  }
  return out;
}

interface Section {
  index: number;
  encoded: boolean;
  value: string;
}

function applyRfc2231(plain: Map<string, string>): Params {
  const params: Params = Object.create(null);
  const extended = new Map<string, Section[]>();
  for (const [name, value] of plain) {
    const m = /^(.+?)\*(?:(\d{1,4})(\*)?)?$/.exec(name);
    if (!m) {
      params[name] = value;
      continue;
    }
    const list = extended.get(m[1]) ?? [];
    // `name*` is a single encoded section; `name*N` plain and `name*N*` encoded continuations.
    list.push({ index: m[2] === undefined ? 0 : Number(m[2]), encoded: !m[2] || !!m[3], value });
    extended.set(m[1], list);
  }
  for (const [name, sections] of extended) {
    sections.sort((a, b) => a.index - b.index);
    let charset = "us-ascii";
    const chunks: Uint8Array[] = [];
    sections.forEach((s, i) => {
      let text = s.value;
      if (s.encoded && i === 0) {
        const first = text.indexOf("'");
        const second = first < 0 ? -1 : text.indexOf("'", first + 1);
        if (second >= 0) {
          charset = text.slice(0, first) || "us-ascii";
          text = text.slice(second + 1);
        }
      }
      chunks.push(s.encoded ? percentDecode(text) : encoder.encode(text));
    });
    // The RFC 2231 value wins over a plain one of the same name (it is the accurate one).
    params[name] = decodeCharset(concat(chunks), charset);
  }
  return params;
}

function percentDecode(text: string): Uint8Array {
  return Uint8Array.from(unescapeHex(text, PERCENT, false, []));
}

// Appends `text` as bytes to `out`, with the `<escape>XX` hex escapes decoded (and `_` as a
// space, for RFC 2047's Q encoding); characters beyond ASCII, which should not be there, become
// their UTF-8 bytes.
function unescapeHex(
  text: string,
  escape: number,
  underscoreIsSpace: boolean,
  out: number[],
): number[] {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === UNDERSCORE && underscoreIsSpace) {
      out.push(SP);
    } else if (
      c === escape && i + 2 < text.length && isHex(text.charCodeAt(i + 1)) &&
      isHex(text.charCodeAt(i + 2))
    ) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      out.push(c);
    } else {
      out.push(...encoder.encode(text[i]));
    }
  }
  return out;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

const decoders = new Map<string, TextDecoder | null>();

// TextDecoder knows the WHATWG labels (utf-8, iso-8859-1 → windows-1252, us-ascii, …); an
// unknown label falls back to UTF-8 when the bytes are valid UTF-8, else windows-1252.
function decodeCharset(bytes: Uint8Array, charset: string): string {
  const label = charset.split("*")[0].trim().toLowerCase();
  let decoder = decoders.get(label);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(label);
    } catch {
      decoder = null;
    }
    decoders.set(label, decoder);
  }
  if (decoder) return decoder.decode(bytes);
  try {
    return utf8Fatal.decode(bytes);
  } catch {
    return latin1.decode(bytes);
  }
}

// ---------------------------------------------------------------------------------------------
// The part tree

interface ParseContext {
  parts: number;
  maxDepth: number;
  maxParts: number;
}

/** Parses a whole message into a tree of parts whose bodies are byte ranges of `bytes`. */
export function parseMessage(bytes: Uint8Array, opts: ParseOptions = {}): Part {
  const ctx: ParseContext = {
    parts: 0,
    maxDepth: opts.maxDepth ?? 32,
    maxParts: opts.maxParts ?? 1000,
  };
  return parseEntity(bytes, 0, bytes.length, ctx, 0, "", true, "text/plain");
}

// Recursion is bounded by ctx.maxDepth, so hostile nesting cannot exhaust the stack.
function parseEntity(
  bytes: Uint8Array,
  start: number,
  end: number,
  ctx: ParseContext,
  depth: number,
  prefix: string,
  isMessage: boolean,
  defaultType: string,
): Part {
  ctx.parts++;
  // A body part whose first line is neither a header nor blank has lost its header section;
  // reading its body as headers would swallow it, so take the body as it is.
  const section = isMessage || startsWithHeader(bytes, start, end)
    ? parseHeaders(bytes, start, end)
    : { headers: [], headerEnd: start };
  const { headers, headerEnd } = section;
  const contentType = parseContentType(headerValue(headers, "content-type"), defaultType);
  const dispositionValue = headerValue(headers, "content-disposition");
  const encodingValue = headerValue(headers, "content-transfer-encoding");
  const transferEncoding = encodingValue === null
    ? "7bit"
    : (splitParameters(encodingValue)[0].trim().toLowerCase() || "7bit");
  const multipart = contentType.type === "multipart";
  // IMAP numbers a single-part message's body "1" (or "N.1" inside message/rfc822 "N").
  const path = isMessage && !multipart ? joinPath(prefix, "1") : prefix;
  const part: Part = {
    headers,
    contentType,
    disposition: dispositionValue === null ? null : parseDisposition(dispositionValue),
    transferEncoding,
    path,
    headerStart: start,
    start: headerEnd,
    end,
    children: [],
  };
  const boundary = contentType.params.boundary;
  if (multipart && boundary) {
    if (depth >= ctx.maxDepth) {
      part.truncated = true;
      return part;
    }
    const childDefault = contentType.subtype === "digest" ? "message/rfc822" : "text/plain";
    const ranges = splitMultipart(bytes, headerEnd, end, boundary);
    for (let i = 0; i < ranges.length; i += 2) {
      if (ctx.parts >= ctx.maxParts) {
        part.truncated = true;
        break;
      }
      const childPath = joinPath(path, String(i / 2 + 1));
      part.children.push(
        parseEntity(
          bytes,
          ranges[i],
          ranges[i + 1],
          ctx,
          depth + 1,
          childPath,
          false,
          childDefault,
        ),
      );
    }
  } else if (
    contentType.type === "message" &&
    (contentType.subtype === "rfc822" || contentType.subtype === "global") &&
    isIdentityEncoding(transferEncoding)
  ) {
    // An encoded message/rfc822 (forbidden by RFC 2046, but seen) is left as a leaf: its
    // offsets would not point into `bytes`.
    if (depth >= ctx.maxDepth || ctx.parts >= ctx.maxParts) {
      part.truncated = true;
      return part;
    }
    part.message = parseEntity(bytes, headerEnd, end, ctx, depth + 1, path, true, "text/plain");
  }
  return part;
}

function joinPath(prefix: string, n: string): string {
  return prefix === "" ? n : `${prefix}.${n}`;
}

function isIdentityEncoding(encoding: string): boolean {
  return encoding === "7bit" || encoding === "8bit" || encoding === "binary";
}

function startsWithHeader(bytes: Uint8Array, start: number, end: number): boolean {
  if (start >= end) return true;
  if (bytes[start] === LF || (bytes[start] === CR && bytes[start + 1] === LF)) return true;
  const nl = indexOfByte(bytes, LF, start, end);
  return fieldNameEnd(bytes, start, nl < 0 ? end : nl) >= 0;
}

// Returns [start0, end0, start1, end1, …] of the body parts between delimiter lines (RFC 2046
// 5.1.1): a delimiter starts a line, may carry trailing blanks, and owns the line break before
// it; preamble and epilogue are dropped; a missing close delimiter ends the last part at `end`.
function splitMultipart(bytes: Uint8Array, start: number, end: number, boundary: string): number[] {
  const delimiter = encoder.encode(`--${boundary}`);
  const ranges: number[] = [];
  let partStart = -1;
  let pos = start;
  while (pos < end) {
    // A voice part is hundreds of base64 lines without a single "-": jump from dash to dash
    // with the native byte search instead of visiting every line.
    let dash = bytes.indexOf(DASH, pos);
    while (dash >= 0 && dash < end && dash > start && bytes[dash - 1] !== LF) {
      dash = bytes.indexOf(DASH, dash + 1);
    }
    if (dash < 0 || dash >= end) break;
    pos = dash;
    if (matchesAt(bytes, pos, end, delimiter)) {
      let p = pos + delimiter.length;
      const close = p + 1 < end && bytes[p] === DASH && bytes[p + 1] === DASH;
      if (close) p += 2;
      while (p < end && (bytes[p] === SP || bytes[p] === HT)) p++;
      const lineEnds = p >= end || bytes[p] === LF ||
        (bytes[p] === CR && (p + 1 >= end || bytes[p + 1] === LF));
      if (lineEnds) {
        if (partStart >= 0) ranges.push(partStart, lineBreakStart(bytes, partStart, pos));
        if (close) return ranges;
        partStart = p >= end ? end : bytes[p] === CR ? Math.min(p + 2, end) : p + 1;
        pos = partStart;
        continue;
      }
    }
    const nl = indexOfByte(bytes, LF, pos, end);
    if (nl < 0) break;
    pos = nl + 1;
  }
  if (partStart >= 0) ranges.push(partStart, end);
  return ranges;
}

function matchesAt(bytes: Uint8Array, pos: number, end: number, needle: Uint8Array): boolean {
  if (pos + needle.length > end) return false;
  for (let i = 0; i < needle.length; i++) if (bytes[pos + i] !== needle[i]) return false;
  return true;
}

function lineBreakStart(bytes: Uint8Array, partStart: number, delimiterAt: number): number {
  let e = delimiterAt;
  if (e > partStart && bytes[e - 1] === LF) e--;
  if (e > partStart && bytes[e - 1] === CR) e--;
  return e;
}

// ---------------------------------------------------------------------------------------------
// Body decoding

const BASE64 = new Int16Array(256).fill(-1);
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".split("").forEach((c, i) =>
  BASE64[c.charCodeAt(0)] = i
);
// The URL-safe alphabet costs nothing to accept.
BASE64["-".charCodeAt(0)] = 62;
BASE64["_".charCodeAt(0)] = 63;

/** Decodes a body per its transfer encoding; identity encodings return a view, not a copy. */
export function decodeBody(
  bytes: Uint8Array,
  part: BodyRange,
  opts: DecodeOptions = {},
): Uint8Array {
  const max = opts.maxBytes ?? Infinity;
  const start = Math.max(0, part.start);
  const end = Math.min(bytes.length, part.end);
  if (end <= start) return new Uint8Array(0);
  switch (part.transferEncoding.toLowerCase()) {
    case "base64":
      return decodeBase64(bytes, start, end, max);
    case "quoted-printable":
      return decodeQuotedPrintable(bytes, start, end, max);
    default:
      // 7bit, 8bit, binary and unknown encodings (RFC 2049 says leave those as they are).
      return bytes.subarray(start, Math.min(end, start + max));
  }
}

/** The decoded size of a body without materialising it (base64 is counted, not decoded). */
export function decodedLength(bytes: Uint8Array, part: BodyRange): number {
  const start = Math.max(0, part.start);
  const end = Math.min(bytes.length, part.end);
  if (end <= start) return 0;
  const encoding = part.transferEncoding.toLowerCase();
  if (encoding === "quoted-printable") {
    return decodeQuotedPrintable(bytes, start, end, Infinity).length;
  }
  if (encoding !== "base64") return end - start;
  let n = 0;
  let bits = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    if (BASE64[c] >= 0) {
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        n++;
      }
    } else if (c === EQUALS) {
      bits = 0;
    }
  }
  return n;
}

// Whole bodies of clean base64 (the alphabet, line breaks, final padding) go to the runtime's
// decoder; anything it refuses, and prefixes, to the tolerant one below. Both give the same
// bytes wherever the runtime's decoder accepts the text.
function decodeBase64(bytes: Uint8Array, start: number, end: number, max: number): Uint8Array {
  if (max >= Math.floor(((end - start) * 3) / 4)) {
    const clean = decodeCleanBase64(bytes.subarray(start, end));
    if (clean) return clean;
  }
  return decodeBase64Tolerant(bytes, start, end, max);
}

const utf8 = new TextDecoder();

function decodeCleanBase64(encoded: Uint8Array): Uint8Array | null {
  try {
    // Non-ASCII bytes become U+FFFD, which the decoder refuses: such a body is not clean.
    return Uint8Array.fromBase64(utf8.decode(encoded));
  } catch (e) {
    if (e instanceof SyntaxError) return null;
    throw e;
  }
}

// Tolerant: skips anything outside the alphabet (line breaks, blanks, junk), decodes without
// padding, and treats `=` as the end of a quantum so concatenated base64 still decodes.
function decodeBase64Tolerant(
  bytes: Uint8Array,
  start: number,
  end: number,
  max: number,
): Uint8Array {
  const out = new Uint8Array(Math.min(max, Math.floor(((end - start) * 3) / 4) + 3));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = start; i < end && o < out.length; i++) {
    const c = bytes[i];
    const v = BASE64[c];
    if (v >= 0) {
      acc = ((acc << 6) | v) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out[o++] = (acc >> bits) & 0xff;
      }
    } else if (c === EQUALS) {
      acc = 0;
      bits = 0;
    }
  }
  return out.subarray(0, o);
}

function decodeQuotedPrintable(
  bytes: Uint8Array,
  start: number,
  end: number,
  max: number,
): Uint8Array {
  const out = new Uint8Array(Math.min(max, end - start));
  let o = 0;
  let i = start;
  while (i < end && o < out.length) {
    const c = bytes[i];
    if (c === EQUALS) {
      if (i + 2 < end && isHex(bytes[i + 1]) && isHex(bytes[i + 2])) {
        out[o++] = parseInt(String.fromCharCode(bytes[i + 1], bytes[i + 2]), 16);
        i += 3;
        continue;
      }
      // A soft line break, possibly with transport padding before it.
      let j = i + 1;
      while (j < end && (bytes[j] === SP || bytes[j] === HT)) j++;
      if (j >= end) {
        i = end;
        continue;
      }
      if (bytes[j] === LF) {
        i = j + 1;
        continue;
      }
      if (bytes[j] === CR) {
        i = j + 1 < end && bytes[j + 1] === LF ? j + 2 : j + 1;
        continue;
      }
      out[o++] = c; // A stray `=` is kept as it is (RFC 2045 6.7, note 1).
      i++;
    } else if (c === SP || c === HT) {
      // Blanks at the end of a line were added in transport and are removed (RFC 2045 6.7 (3)).
      let j = i;
      while (j < end && (bytes[j] === SP || bytes[j] === HT)) j++;
      if (j >= end || bytes[j] === LF || (bytes[j] === CR && j + 1 < end && bytes[j + 1] === LF)) {
        i = j;
        continue;
      }
      while (i < j && o < out.length) out[o++] = bytes[i++];
    } else {
      out[o++] = c;
      i++;
    }
  }
  return out.subarray(0, o);
}

// ---------------------------------------------------------------------------------------------
// Encoded words, addresses, dates

/** Decodes RFC 2047 encoded words (B and Q); blanks between adjacent encoded words are dropped. */
export function decodeHeaderWords(value: string): string {
  if (!value.includes("=?")) return value;
  // Encoded text may not contain `?`; blanks inside it are tolerated (broken mailers).
  const pattern = /=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=/g;
  let out = "";
  let last = 0;
  // Bytes of the run of adjacent words in one charset; one array, not one per word, so a field
  // of a hundred thousand words does not cost as many allocations.
  let pending: number[] = [];
  let words = 0;
  let pendingCharset = "";
  const flush = () => {
    if (words > 0) out += decodeCharset(Uint8Array.from(pending), pendingCharset);
    pending = [];
    words = 0;
  };
  for (const m of value.matchAll(pattern)) {
    const gap = value.slice(last, m.index);
    const adjacent = words > 0 && /^[ \t\r\n]*$/.test(gap);
    const charset = m[1].split("*")[0].toLowerCase();
    if (!adjacent) {
      flush();
      out += gap;
    } else if (charset !== pendingCharset) {
      flush();
    }
    // Bytes of adjacent words in one charset are joined before decoding, so a multi-byte
    // character split across two words survives.
    pendingCharset = charset;
    if (m[2] === "b" || m[2] === "B") appendBase64Text(m[3], pending);
    else unescapeHex(m[3], EQUALS, true, pending);
    words++;
    last = m.index + m[0].length;
  }
  flush();
  return out + value.slice(last);
}

// The same tolerant decoding as decodeBase64, straight from the text into `out`.
function appendBase64Text(text: string, out: number[]): void {
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 256 ? BASE64[c] : -1;
    if (v >= 0) {
      acc = ((acc << 6) | v) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push((acc >> bits) & 0xff);
      }
    } else if (c === EQUALS) {
      acc = 0;
      bits = 0;
    }
  }
}

interface AddressToken {
  text: string;
  quoted: boolean;
}

/** Parses an address list (RFC 5322 3.4): names decoded, groups flattened, comments as names. */
export function parseAddress(value: string): Address[] {
  const out: Address[] = [];
  let phrase: AddressToken[] = [];
  let angle: string | null = null;
  let comment = "";
  let inGroup = false;
  const flush = () => {
    let address = "";
    let name = "";
    if (angle !== null) {
      // Drop an obsolete source route (`<@a,@b:user@host>`).
      address = angle.replace(/^\s*(@[^:]*:)?/, "").replace(/\s+/g, "");
      name = phrase.map((t) => t.text).join(" ");
    } else if (phrase.length === 1 || phrase.some((t) => t.text.includes("@"))) {
      // An addr-spec; a lone word without `@` is kept as a local address (e.g. a mailbox number).
      address = phrase.map((t) => (t.quoted ? `"${t.text}"` : t.text)).join("");
    }
    if (!name && comment) name = comment;
    name = decodeHeaderWords(name).trim();
    if (address) out.push({ name, address });
    phrase = [];
    angle = null;
    comment = "";
  };
  let i = 0;
  const n = value.length;
  while (i < n) {
    const c = value[i];
    if (c === '"') {
      let text = "";
      i++;
      while (i < n && value[i] !== '"') {
        if (value[i] === "\\" && i + 1 < n) i++;
        text += value[i++];
      }
      i++;
      phrase.push({ text, quoted: true });
    } else if (c === "(") {
      let depth = 1;
      let text = "";
      i++;
      while (i < n && depth > 0) {
        const d = value[i];
        if (d === "\\" && i + 1 < n) {
          text += value[i + 1];
          i += 2;
          continue;
        }
        if (d === "(") depth++;
        else if (d === ")" && --depth === 0) break;
        text += d;
        i++;
      }
      i++;
      if (!comment) comment = text.trim();
    } else if (c === "<") {
      const close = value.indexOf(">", i + 1);
      angle = value.slice(i + 1, close < 0 ? n : close);
      i = close < 0 ? n : close + 1;
    } else if (c === ",") {
      flush();
      i++;
    } else if (c === ":" && angle === null && !inGroup) {
      // A group (`Team: a@x, b@y;`): its name is not a mailbox; its members are.
      phrase = [];
      comment = "";
      inGroup = true;
      i++;
    } else if (c === ";") {
      flush();
      inGroup = false;
      i++;
    } else if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++;
    } else {
      let j = i;
      while (j < n && !' \t\r\n"(<,;:'.includes(value[j])) j++;
      if (j === i) j++; // A lone `:` inside a group or after an angle address.
      phrase.push({ text: value.slice(i, j), quoted: false });
      i = j;
    }
  }
  flush();
  return out;
}

const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

// Obsolete zone names (RFC 5322 4.3), in minutes east of UTC; military letters count as 0.
const ZONES: Record<string, number> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  z: 0,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
};

/** Parses an RFC 5322 date (obsolete forms included); null when it cannot be understood. */
export function parseDate(value: string | null): Date | null {
  if (!value) return null;
  const clean = splitParameters(value).join(";").replace(/\s+/g, " ").trim();
  const m =
    /^(?:[a-z]+\s*,?\s*)?(\d{1,2})[\s-]+([a-z]{3})[a-z]*\.?[\s-]+(\d{2,4})\s+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?\s*([+-]\d{2}:?\d{2}|[a-z]+)?/i
      .exec(clean);
  if (m) {
    const month = MONTHS[m[2].toLowerCase()];
    let year = Number(m[3]);
    if (m[3].length === 2) year += year < 50 ? 2000 : 1900;
    else if (m[3].length === 3) year += 1900;
    const day = Number(m[1]);
    const hour = Number(m[4]);
    const minute = Number(m[5]);
    const second = m[6] === undefined ? 0 : Number(m[6]);
    if (month === undefined || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
      return null;
    }
    let offset = 0;
    const zone = m[7];
    if (zone && /^[+-]/.test(zone)) {
      const digits = zone.replace(":", "");
      offset = (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5))) *
        (zone[0] === "-" ? -1 : 1);
    } else if (zone) {
      offset = ZONES[zone.toLowerCase()] ?? 0;
    }
    const date = new Date(Date.UTC(year, month, day, hour, minute, second) - offset * 60_000);
    return Number.isNaN(date.getTime()) ? null : date;
  }
  const fallback = Date.parse(clean);
  return Number.isNaN(fallback) ? null : new Date(fallback);
}

const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
/** English month abbreviations, as RFC 5322 and IMAP dates write them. */
export const MONTH_NAMES = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];

/** Formats a date for a Date header (RFC 5322 3.3), in UTC. */
export function formatDate(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${DAY_NAMES[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${
    MONTH_NAMES[date.getUTCMonth()]
  } ${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${
    pad(date.getUTCSeconds())
  } +0000`;
}

// ---------------------------------------------------------------------------------------------
// Writing headers

/** Makes text safe as an unstructured header value: controls become blanks, non-ASCII B-words. */
export function encodeHeaderWords(text: string): string {
  // CR and LF never survive: a value must not be able to start a header of its own.
  const clean = replaceControls(text, " ");
  // Literal `=?` would be read back as an encoded word, so such text is encoded too.
  if (/^[\x20-\x7e]*$/.test(clean) && !clean.includes("=?")) return clean;
  const words: string[] = [];
  let chunk: number[] = [];
  for (const ch of clean) {
    const bytes = encoder.encode(ch);
    // 36 bytes make a 60-character word: within RFC 2047's 75, and short enough that a
    // folded line with the field name stays within 78.
    if (chunk.length + bytes.length > 36 && chunk.length > 0) {
      words.push(`=?UTF-8?B?${Uint8Array.from(chunk).toBase64()}?=`);
      chunk = [];
    }
    chunk.push(...bytes);
  }
  if (chunk.length > 0) words.push(`=?UTF-8?B?${Uint8Array.from(chunk).toBase64()}?=`);
  return words.join(" ");
}

/** Formats a mailbox for a header: the name quoted or RFC 2047-encoded as needed. */
export function formatAddress(addr: Address): string {
  // Nothing that could end the angle address or the field.
  const address = replaceControls(addr.address, "").replace(/[ <>]/g, "");
  const name = replaceControls(addr.name, " ").trim();
  if (!name) return address;
  let phrase: string;
  if (/[^\x20-\x7e]/.test(name) || name.includes("=?")) phrase = encodeHeaderWords(name);
  else if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(name)) phrase = name;
  else phrase = `"${name.replace(/[\\"]/g, "\\$&")}"`;
  return `${phrase} <${address}>`;
}

/** Formats `Name: value`, folding at blanks so lines stay within 78 characters where possible. */
export function foldHeader(name: string, value: string): string {
  const words = value.split(" ");
  const lines: string[] = [];
  let line = `${name}:`;
  for (const word of words) {
    if (line.length + 1 + word.length > 78 && line.length > name.length + 1 && word !== "") {
      lines.push(line);
      line = ` ${word}`;
    } else {
      line += ` ${word}`;
    }
  }
  lines.push(line);
  return lines.join("\r\n");
}

/** Replaces each run of C0 control characters (CR and LF included) and DEL with `by`. */
export function replaceControls(text: string, by: string): string {
  let out = "";
  let inRun = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 || c === 127) {
      if (!inRun) out += by;
      inRun = true;
    } else {
      out += text[i];
      inRun = false;
    }
  }
  return out;
}
