/**
 * An in-process metrics registry: counters, gauges and histograms with labels, collected into
 * metric families for the exposition (exposition.ts). Names follow Prometheus's rules, checked
 * when an instrument is made, so a bad name fails at start-up and never at a scrape.
 * @module
 */

/** Label names to values of one sample. */
export type Labels = Record<string, string>;

/** The metric types the text format 0.0.4 knows (summaries are not made here). */
export type MetricType = "counter" | "gauge" | "histogram" | "untyped";

/** One line of the exposition: a full sample name (with `_bucket`, `_sum`…), labels, value. */
export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

/** A metric family: its HELP and TYPE lines and its samples. */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

/** What every instrument is made with. */
export interface MetricOptions {
  /** Base units in the name (`_seconds`, `_bytes`); counters end in `_total`. */
  name: string;
  help: string;
  /** The label names every sample of the instrument carries. */
  labelNames?: readonly string[];
}

/** A histogram's options: upper bounds of its buckets (`+Inf` is added). */
export interface HistogramOptions extends MetricOptions {
  buckets?: readonly number[];
}

/** A metric or label name Prometheus refuses, or an instrument used with the wrong labels. */
export class MetricError extends Error {
  override name = "MetricError";
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Prometheus's client libraries' default buckets (seconds). */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** Checks a metric name and its label names; throws {@link MetricError}. */
export function checkNames(name: string, labelNames: readonly string[] = []): void {
  if (!METRIC_NAME.test(name)) throw new MetricError(`Invalid metric name "${name}"`);
  const seen = new Set<string>();
  for (const l of labelNames) {
    // Names starting with "__" are reserved for Prometheus's own use.
    if (!LABEL_NAME.test(l) || l.startsWith("__")) {
      throw new MetricError(`Invalid label name "${l}" of metric "${name}"`);
    }
    if (seen.has(l)) throw new MetricError(`Label "${l}" repeated in metric "${name}"`);
    seen.add(l);
  }
}

// A stable key for one label set, in the declared order.
function labelKey(names: readonly string[], labels: Labels): string {
  return JSON.stringify(names.map((n) => labels[n]));
}

abstract class Instrument<V> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected readonly series = new Map<string, { labels: Labels; value: V }>();

  constructor(opts: MetricOptions) {
    checkNames(opts.name, opts.labelNames);
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames ?? [];
  }

  /** The series of a label set, made with `init` on first use. */
  protected get(labels: Labels, init: () => V): { labels: Labels; value: V } {
    const given = Object.keys(labels);
    if (
      given.length !== this.labelNames.length || !this.labelNames.every((n) => n in labels)
    ) {
      throw new MetricError(
        `Metric "${this.name}" takes labels [${this.labelNames.join(", ")}], got [${
          given.join(", ")
        }]`,
      );
    }
    const key = labelKey(this.labelNames, labels);
    let s = this.series.get(key);
    if (!s) {
      const copy: Labels = {};
      for (const n of this.labelNames) copy[n] = String(labels[n]);
      s = { labels: copy, value: init() };
      this.series.set(key, s);
    }
    return s;
  }

  /** A new series' value. */
  protected abstract zero(): V;

  /** Makes an unlabelled instrument's one series, so it is scraped (as 0) before first use. */
  initUnlabelled(): void {
    if (!this.labelNames.length) this.get({}, () => this.zero());
  }

  abstract collect(): MetricFamily;
}

/** A value that only goes up (resets with the process). */
export class Counter extends Instrument<number> {
  constructor(opts: MetricOptions) {
    if (!opts.name.endsWith("_total")) {
      throw new MetricError(`Counter "${opts.name}" must end in "_total"`);
    }
    super(opts);
  }

  /** Adds `by` (default 1) to the series of `labels`; `by` 0 makes the series appear. */
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new MetricError(`Counter "${this.name}" cannot go down (${by})`);
    this.get(labels, () => 0).value += by;
  }

  protected zero(): number {
    return 0;
  }

  /** The value of one series (0 when never increased). */
  value(labels: Labels = {}): number {
    return this.series.get(labelKey(this.labelNames, labels))?.value ?? 0;
  }

  /** The counter's family. */
  collect(): MetricFamily {
    const samples = [...this.series.values()].map((s) => ({
      name: this.name,
      labels: s.labels,
      value: s.value,
    }));
    return { name: this.name, help: this.help, type: "counter", samples };
  }
}

/** A value that goes up and down. */
export class Gauge extends Instrument<number> {
  /** Sets the series of `labels` to `value`. */
  set(value: number, labels: Labels = {}): void {
    this.get(labels, () => 0).value = value;
  }

  /** Adds `by` (may be negative) to the series of `labels`. */
  add(by: number, labels: Labels = {}): void {
    this.get(labels, () => 0).value += by;
  }

  protected zero(): number {
    return 0;
  }

  /** The gauge's family. */
  collect(): MetricFamily {
    const samples = [...this.series.values()].map((s) => ({
      name: this.name,
      labels: s.labels,
      value: s.value,
    }));
    return { name: this.name, help: this.help, type: "gauge", samples };
  }
}

interface HistogramValue {
  counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into cumulative buckets, with their sum and count. */
export class Histogram extends Instrument<HistogramValue> {
  readonly buckets: readonly number[];

  constructor(opts: HistogramOptions) {
    if (opts.labelNames?.includes("le")) {
      throw new MetricError(`Histogram "${opts.name}" cannot have a label "le"`);
    }
    super(opts);
    const b = [...(opts.buckets ?? DEFAULT_BUCKETS)].filter((x) => x !== Infinity);
    for (let i = 1; i < b.length; i++) {
      if (!(b[i] > b[i - 1])) {
        throw new MetricError(`Histogram "${opts.name}" needs increasing buckets`);
      }
    }
    this.buckets = b;
  }

  protected zero(): HistogramValue {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  /** Counts one observation into the series of `labels`. */
  observe(value: number, labels: Labels = {}): void {
    const s = this.get(labels, () => this.zero());
    // Each observation lands in its smallest bucket; collect() makes the counts cumulative.
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) s.value.counts[i]++;
    s.value.sum += value;
    s.value.count++;
  }

  /** The histogram's family: `_bucket{le}` (cumulative, ending at `+Inf`), `_sum`, `_count`. */
  collect(): MetricFamily {
    const samples: Sample[] = [];
    for (const { labels, value } of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += value.counts[i];
        samples.push({
          name: `${this.name}_bucket`,
          labels: { ...labels, le: formatNumber(b) },
          value: cumulative,
        });
      });
      samples.push({
        name: `${this.name}_bucket`,
        labels: { ...labels, le: "+Inf" },
        value: value.count,
      });
      samples.push({ name: `${this.name}_sum`, labels, value: value.sum });
      samples.push({ name: `${this.name}_count`, labels, value: value.count });
    }
    return { name: this.name, help: this.help, type: "histogram", samples };
  }
}

/** A number as the text format writes it: `+Inf`, `-Inf`, `NaN`, or JavaScript's shortest form. */
export function formatNumber(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

/** A set of instruments, each name registered once. */
export class Registry {
  readonly #instruments = new Map<string, Instrument<unknown>>();

  /** Makes and registers a counter. */
  counter(opts: MetricOptions): Counter {
    return this.#add(new Counter(opts));
  }

  /** Makes and registers a gauge. */
  gauge(opts: MetricOptions): Gauge {
    return this.#add(new Gauge(opts));
  }

  /** Makes and registers a histogram. */
  histogram(opts: HistogramOptions): Histogram {
    return this.#add(new Histogram(opts));
  }

  /** Every instrument's family, in the order they were registered. */
  collect(): MetricFamily[] {
    return [...this.#instruments.values()].map((i) => i.collect());
  }

  #add<T extends Instrument<unknown>>(i: T): T {
    if (this.#instruments.has(i.name)) {
      throw new MetricError(`Metric "${i.name}" is already registered`);
    }
    this.#instruments.set(i.name, i);
    i.initUnlabelled();
    return i;
  }
}
