/**
 * Logging to stderr, one line per event, with secrets redacted.
 * @module
 */

/** Severity of a log line. */
export type Level = "debug" | "info" | "warn" | "error";

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold: Level = "info";
let sink: (line: string) => void = (line) => console.error(line);

/** Sets the lowest level written. */
export function setLogLevel(level: Level): void {
  threshold = level;
}

/** Redirects log lines (tests capture them to prove secrets never appear). */
export function setLogSink(fn: (line: string) => void): void {
  sink = fn;
}

/** Writes one line: time, level, message, then key=value fields. */
export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < ORDER[threshold]) return;
  const parts = [new Date().toISOString(), level.toUpperCase(), redact(message)];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const value = /pass|secret|pin|token|cookie/i.test(k) ? "********" : redact(String(v));
    parts.push(`${k}=${/\s/.test(value) ? JSON.stringify(value) : value}`);
  }
  sink(parts.join(" "));
}

/** Masks credentials that servers or libraries may echo inside error texts. */
export function redact(text: string): string {
  return text
    // IMAP LOGIN / AUTHENTICATE arguments, after a command tag (letters then digits, "A1"), so
    // ordinary prose ("admin login unavailable") is left alone.
    .replace(
      /(\b[A-Za-z]*\d[A-Za-z0-9.]*\s+LOGIN\s+(?:"(?:[^"\\]|\\.)*"|\S+)\s+)("(?:[^"\\]|\\.)*"|\S+)/gi,
      "$1********",
    )
    .replace(/(\b[A-Za-z]*\d[A-Za-z0-9.]*\s+AUTHENTICATE\s+PLAIN\s+)\S+/gi, "$1********")
    // URLs with user:password@
    .replace(/(\/\/[^/\s:@]+:)[^@\s/]+@/g, "$1********@")
    // key=value or "key": "value" pairs whose key names a secret
    .replace(
      /((?:pass(?:word)?|secret|pin|token)\w*["']?\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s"',}]+)/gi,
      // Quotes stay, so the redacted text keeps its shape (JSON stays JSON).
      (_m, key: string, v: string) =>
        `${key}${/^["']/.test(v) ? `${v[0]}********${v[0]}` : "********"}`,
    );
}
