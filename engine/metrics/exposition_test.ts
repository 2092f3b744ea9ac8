import assert from "node:assert/strict";
import parseText from "parse-prometheus-text-format";
import {
  escapeHelp,
  escapeLabelValue,
  EXPOSITION_CONTENT_TYPE,
  metricFamily,
  renderExposition,
} from "./exposition.ts";
import { Registry } from "./registry.ts";

// The parser ships no types: what it returns, as far as these tests read it (values as text).
interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  metrics: {
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }[];
}
const parsePrometheus = parseText as (text: string) => ParsedFamily[];

Deno.test("escaping: HELP escapes backslash and newline; label values also the double quote", () => {
  assert.equal(escapeHelp('a\\b\n"c"'), 'a\\\\b\\n"c"');
  assert.equal(escapeLabelValue('a\\b\n"c"'), 'a\\\\b\\n\\"c\\"');
});

Deno.test("the exposition is text format 0.0.4 that a real parser reads back", () => {
  const r = new Registry();
  const c = r.counter({ name: "t_logins_total", help: 'Logins\nby "role"', labelNames: ["role"] });
  c.inc({ role: 'odd "one"\\' });
  const h = r.histogram({ name: "t_pass_seconds", help: "Pass time.", buckets: [0.5, 2] });
  h.observe(0.25);
  h.observe(3);
  r.gauge({ name: "t_empty", help: "No samples yet.", labelNames: ["x"] });
  const text = renderExposition([
    ...r.collect(),
    metricFamily("t_up", { help: "Up.", type: "gauge", values: [{ value: Infinity }] }),
  ]);
  assert.equal(EXPOSITION_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
  assert.match(text, /^# HELP t_logins_total Logins\\nby "role"\n# TYPE t_logins_total counter\n/);
  assert.match(text, /\nt_pass_seconds_bucket\{le="\+Inf"\} 2\n/);
  assert.ok(text.endsWith("\n"));
  const parsed = parsePrometheus(text);
  const byName = new Map(parsed.map((f) => [f.name, f]));
  assert.equal(byName.get("t_logins_total")!.type, "COUNTER");
  assert.equal(byName.get("t_logins_total")!.help, 'Logins\nby "role"');
  assert.deepEqual(byName.get("t_logins_total")!.metrics[0].labels, { role: 'odd "one"\\' });
  const hist = byName.get("t_pass_seconds")!.metrics[0];
  assert.deepEqual(hist.buckets, { "0.5": "1", "2": "1", "+Inf": "2" });
  assert.equal(hist.count, "2");
  assert.equal(hist.sum, "3.25");
  assert.deepEqual(byName.get("t_empty")!.metrics, []);
  assert.equal(byName.get("t_up")!.metrics[0].value, "+Inf");
});

Deno.test("a family rendered twice, or a counter without _total, is refused", () => {
  const f = metricFamily("a_total", { help: "h", type: "counter", values: [{ value: 1 }] });
  assert.throws(() => renderExposition([f, f]), /rendered twice/);
  assert.throws(
    () => metricFamily("a", { help: "h", type: "counter", values: [{ value: 1 }] }),
    /_total/,
  );
});
