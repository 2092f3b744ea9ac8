import assert from "node:assert/strict";
import { MetricError, Registry } from "./registry.ts";

Deno.test("a counter counts per label set and refuses to go down", () => {
  const r = new Registry();
  const c = r.counter({ name: "x_events_total", help: "h", labelNames: ["result"] });
  c.inc({ result: "ok" });
  c.inc({ result: "ok" }, 2);
  c.inc({ result: "failed" });
  assert.equal(c.value({ result: "ok" }), 3);
  assert.equal(c.value({ result: "failed" }), 1);
  assert.throws(() => c.inc({ result: "ok" }, -1), MetricError);
  const [f] = r.collect();
  assert.equal(f.type, "counter");
  assert.deepEqual(f.samples.map((s) => [s.labels.result, s.value]), [["ok", 3], ["failed", 1]]);
});

Deno.test("instruments refuse bad names, wrong labels and a second registration", () => {
  const r = new Registry();
  assert.throws(() => r.counter({ name: "no_suffix", help: "h" }), /must end in "_total"/);
  assert.throws(() => r.gauge({ name: "1bad", help: "h" }), /Invalid metric name/);
  assert.throws(() => r.gauge({ name: "g", help: "h", labelNames: ["__x"] }), /Invalid label/);
  assert.throws(() => r.gauge({ name: "g", help: "h", labelNames: ["a", "a"] }), /repeated/);
  assert.throws(() => r.histogram({ name: "h", help: "h", labelNames: ["le"] }), /"le"/);
  assert.throws(() => r.histogram({ name: "h", help: "h", buckets: [2, 1] }), /increasing/);
  const g = r.gauge({ name: "g", help: "h", labelNames: ["a"] });
  assert.throws(() => g.set(1), /takes labels \[a\], got \[\]/);
  assert.throws(() => g.set(1, { a: "x", b: "y" }), MetricError);
  assert.throws(() => r.gauge({ name: "g", help: "h" }), /already registered/);
});

Deno.test("an unlabelled instrument is scraped as 0 before its first use", () => {
  const r = new Registry();
  r.counter({ name: "c_total", help: "h" });
  r.histogram({ name: "h_seconds", help: "h", buckets: [1] });
  r.counter({ name: "l_total", help: "h", labelNames: ["a"] });
  const [c, h, l] = r.collect();
  assert.deepEqual(c.samples.map((s) => s.value), [0]);
  assert.deepEqual(h.samples.map((s) => [s.name, s.value]), [
    ["h_seconds_bucket", 0],
    ["h_seconds_bucket", 0],
    ["h_seconds_sum", 0],
    ["h_seconds_count", 0],
  ]);
  assert.deepEqual(l.samples, []);
});

Deno.test("a gauge is set and moved", () => {
  const r = new Registry();
  const g = r.gauge({ name: "g_bytes", help: "h" });
  g.set(10);
  g.add(-3);
  assert.equal(r.collect()[0].samples[0].value, 7);
});

Deno.test("a histogram's buckets are cumulative and end at +Inf, with _sum and _count", () => {
  const r = new Registry();
  const h = r.histogram({ name: "d_seconds", help: "h", buckets: [1, 5], labelNames: ["k"] });
  for (const v of [0.5, 1, 3, 9]) h.observe(v, { k: "a" });
  const f = r.collect()[0];
  assert.equal(f.type, "histogram");
  assert.deepEqual(
    f.samples.map((s) => [s.name, s.labels.le ?? null, s.value]),
    [
      ["d_seconds_bucket", "1", 2],
      ["d_seconds_bucket", "5", 3],
      ["d_seconds_bucket", "+Inf", 4],
      ["d_seconds_sum", null, 13.5],
      ["d_seconds_count", null, 4],
    ],
  );
  assert.ok(f.samples.every((s) => s.labels.k === "a"));
});
