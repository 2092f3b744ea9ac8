/**
 * HTTP details of the portal that are pure functions: byte ranges (RFC 9110 §14), download
 * names, the client address (behind trusted reverse proxies too) and the security headers every
 * response carries.
 *
 * The client address: from Deno.serve's peer; only when that peer is one of
 * `portal.trustedProxies` (addresses or CIDR blocks, IPv4 and IPv6) is `X-Forwarded-For` read,
 * right to left, skipping trusted proxies: the first entry that is not one is the client. Entries
 * further left were written by whoever is on the other side of the first untrusted hop, so they
 * are never believed. An entry that is not an IP address stops the walk at the proxy before it.
 * @module
 */

/** A satisfiable byte range: `start` inclusive, `end` exclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Reads a `Range` header against a representation of `size` bytes: null to send the whole
 * thing (no header, a unit other than bytes, several ranges, or syntax this server ignores),
 * "unsatisfiable" for a 416, else the one range to send as a 206.
 */
export function parseRange(
  header: string | null | undefined,
  size: number,
): ByteRange | null | "unsatisfiable" {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  // A multi-range or malformed request may be answered with the whole representation (§14.2).
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    // Suffix: the last N bytes.
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    return size === 0 ? "unsatisfiable" : { start: Math.max(0, size - n), end: size };
  }
  const start = Number(m[1]);
  if (!Number.isSafeInteger(start) || start >= size) return "unsatisfiable";
  const last = m[2] === "" ? size - 1 : Number(m[2]);
  if (!Number.isSafeInteger(last) || last < start) return null;
  return { start, end: Math.min(last + 1, size) };
}

/** A `Content-Disposition: attachment` value: ASCII fallback plus RFC 6266 UTF-8 name. */
export function attachmentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, "_").replace(/["\\;]/g, "_");
  const utf8 = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

/** The peer's address as Deno.serve reports it; never a forwarded-for header (spoofable). */
export function clientAddress(env: unknown): string {
  const addr = (env as { remoteAddr?: { hostname?: unknown } } | undefined)?.remoteAddr;
  return typeof addr?.hostname === "string" && addr.hostname ? addr.hostname : "unknown";
}

/**
 * The client's address: the peer's, or, when the peer is a trusted proxy, the right-most
 * `X-Forwarded-For` entry (`forwardedFor`, all headers joined by commas) that is not itself a
 * trusted proxy. IP addresses come back in canonical form (IPv4-mapped IPv6 as IPv4, IPv6
 * compressed in lower case), so one client is one string.
 */
export function clientAddressOf(
  env: unknown,
  forwardedFor: string | null | undefined,
  trustedProxies: readonly string[],
): string {
  const peer = clientAddress(env);
  const peerIp = parseIp(peer);
  if (!peerIp) return peer;
  const canonicalPeer = formatIp(peerIp);
  if (!trustedProxies.length || !forwardedFor) return canonicalPeer;
  const trusted = (ip: Uint8Array) => trustedProxies.some((block) => inBlock(ip, block));
  if (!trusted(peerIp)) return canonicalPeer;
  const hops = forwardedFor.split(",").map((h) => h.trim()).filter((h) => h);
  let client = canonicalPeer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = parseIp(stripPort(hops[i]));
    // Garbage written by a trusted proxy: the client is the hop that wrote it.
    if (!ip) return client;
    client = formatIp(ip);
    if (!trusted(ip)) return client;
  }
  // Every hop is a trusted proxy: the left-most is as far as anyone can tell.
  return client;
}

// "1.2.3.4:5678" and "[2001:db8::1]:443" are written by some proxies; a bare IPv6 keeps its colons.
function stripPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return bracketed[1];
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return v4 ? v4[1] : hop;
}

/**
 * An IP address as 4 bytes (IPv4, also for an IPv4-mapped IPv6 address) or 16 bytes (IPv6), or
 * null when `text` is not one. An IPv6 zone (`%eth0`) is ignored.
 */
export function parseIp(text: string): Uint8Array | null {
  const v4 = parseIpv4(text);
  if (v4) return v4;
  const v6 = parseIpv6(text.replace(/%[^%]*$/, ""));
  if (!v6) return null;
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

function parseIpv4(text: string): Uint8Array | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? Uint8Array.from(bytes) : null;
}

function parseIpv6(text: string): Uint8Array | null {
  if (!/^[0-9a-f:.]+$/i.test(text) || !text.includes(":")) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i];
      if (i === pieces.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  // A dotted quad may only end the address, so only the last half may hold one.
  if (halves.length === 2 && halves[0].includes(".")) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const all = [...head, ...new Array(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** An address in canonical text: dotted IPv4, or IPv6 as RFC 5952 writes it ("2001:db8::1"). */
export function formatIp(ip: Uint8Array): string {
  if (ip.length === 4) return ip.join(".");
  const g = Array.from({ length: 8 }, (_, i) => (ip[2 * i] << 8) | ip[2 * i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/**
 * Whether `ip` (from {@link parseIp}) is `block`: an address or a CIDR block ("10.0.0.0/8",
 * "2001:db8::/32"). A block that does not parse matches nothing.
 */
export function inBlock(ip: Uint8Array, block: string): boolean {
  const [addr, bitsText, extra] = block.split("/");
  const net = parseIp(addr);
  if (!net || extra !== undefined || net.length !== ip.length) return false;
  const bits = bitsText === undefined ? net.length * 8 : Number(bitsText);
  if (!/^\d{1,3}$/.test(bitsText ?? "0") || bits > net.length * 8) return false;
  for (let i = 0; i < net.length; i++) {
    const take = Math.max(0, Math.min(8, bits - 8 * i));
    const mask = (0xff << (8 - take)) & 0xff;
    if ((ip[i] & mask) !== (net[i] & mask)) return false;
  }
  return true;
}

/** Headers on every response: no framing, no sniffing, no referrer, a strict CSP. */
export function securityHeaders(tls: boolean): Record<string, string> {
  const h: Record<string, string> = {
    "Content-Security-Policy": [
      "default-src 'none'",
      "style-src 'self'",
      // The subscriber pages' player script (/static/player.js); nothing inline.
      "script-src 'self'",
      "img-src 'self'",
      "media-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join("; "),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    // same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on forms.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
  };
  if (tls) h["Strict-Transport-Security"] = "max-age=31536000";
  return h;
}

/** "m:ss" (or "h:mm:ss") for a duration in seconds; "" when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Words for a duration, for screen readers: "4 seconds", "1 minute 5 seconds". */
export function spokenDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  const parts = [];
  if (m) parts.push(`${m} minute${m === 1 ? "" : "s"}`);
  if (s % 60 || !m) parts.push(`${s % 60} second${s % 60 === 1 ? "" : "s"}`);
  return parts.join(" ");
}
