/**
 * HTTP details of the portal that are pure functions: byte ranges (RFC 9110 §14), download
 * names, the client address and the security headers every response carries.
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

/** Headers on every response: no framing, no sniffing, no referrer, a strict CSP. */
export function securityHeaders(tls: boolean): Record<string, string> {
  const h: Record<string, string> = {
    "Content-Security-Policy": [
      "default-src 'none'",
      "style-src 'self'",
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
