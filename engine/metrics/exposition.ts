/**
 * The Prometheus text exposition format 0.0.4: `# HELP` and `# TYPE` lines per family, then
 * its samples, with HELP text and label values escaped as the format says. Pure: no I/O.
 * @module
 */
import {
  checkNames,
  formatNumber,
  type Labels,
  MetricError,
  type MetricFamily,
  type MetricType,
  type Sample,
} from "./registry.ts";

/** The Content-Type of the exposition. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** HELP text: backslash and line feed escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A label value: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** One sample line. */
export function sampleLine(s: Sample): string {
  return `${s.name}${labelText(s.labels)} ${formatNumber(s.value)}`;
}

/**
 * Renders families as the text format. A family name given twice is a bug in the caller (a
 * scraper would reject the whole page), so it throws rather than render it.
 */
export function renderExposition(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const f of families) {
    if (seen.has(f.name)) throw new MetricError(`Metric family "${f.name}" rendered twice`);
    seen.add(f.name);
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    lines.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(sampleLine(s));
  }
  return lines.length ? `${lines.join("\n")}\n` : "";
}

/**
 * A family of values read at scrape time (a gauge of the state store, a persisted counter), its
 * names checked like a registered instrument's.
 */
export function metricFamily(
  name: string,
  opts: { help: string; type: MetricType; values: { labels?: Labels; value: number }[] },
): MetricFamily {
  const labelNames = opts.values.length ? Object.keys(opts.values[0].labels ?? {}) : [];
  checkNames(name, labelNames);
  if (opts.type === "counter" && !name.endsWith("_total")) {
    throw new MetricError(`Counter "${name}" must end in "_total"`);
  }
  return {
    name,
    help: opts.help,
    type: opts.type,
    samples: opts.values.map((v) => ({ name, labels: v.labels ?? {}, value: v.value })),
  };
}
