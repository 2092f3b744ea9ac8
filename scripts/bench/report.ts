/**
 * The benchmark's result rows and their rendering as a plain-text table.
 * @module
 */

/** One measured scenario of one tool (seconds are the median of the repetitions). */
export interface Row {
  scenario: string;
  tool: string;
  mailboxes: number;
  /** Messages copied. */
  messages: number;
  /** Bytes copied (source RFC 822 sizes). */
  bytes: number;
  seconds: number;
  /** Every repetition's seconds, for the spread. */
  runs: number[];
  peakRssMb: number;
  /** CPU seconds of the tool (median). */
  cpu: number;
  /** CPU seconds of the servers meanwhile (median). */
  serverCpu: number;
  /** Speed relative to the baseline row of the scenario (higher is better); undefined for it. */
  ratio?: number;
}

/** The median of some numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Formats a number with fixed decimals, or "-" when not applicable. */
function num(v: number | undefined, digits: number): string {
  return v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits);
}

/** Renders rows as an aligned table (header, rule, rows). */
export function table(rows: Row[]): string {
  const head = [
    "scenario",
    "tool",
    "mailboxes",
    "messages",
    "MB",
    "seconds",
    "msgs/s",
    "MB/s",
    "mbx/s",
    "peak RSS MB",
    "CPU s",
    "Dovecot CPU s",
    "× mbsync",
  ];
  const body = rows.map((r) => [
    r.scenario,
    r.tool,
    String(r.mailboxes),
    String(r.messages),
    r.bytes ? num(r.bytes / 1e6, 1) : "-",
    num(r.seconds, 2),
    r.messages ? num(r.messages / r.seconds, 0) : "-",
    r.bytes ? num(r.bytes / 1e6 / r.seconds, 2) : "-",
    num(r.mailboxes / r.seconds, 0),
    num(r.peakRssMb, 1),
    num(r.cpu, 1),
    num(r.serverCpu, 1),
    r.ratio === undefined ? "1.00" : num(r.ratio, 2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("-|-"), ...body.map(line)].join("\n");
}
