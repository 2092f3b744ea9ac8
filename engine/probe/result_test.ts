import assert from "node:assert/strict";
import { Probe, ProbeFailure, seconds } from "./result.ts";

Deno.test("Probe skips every step after a failure and is not ok", async () => {
  const p = new Probe("srv", 5000);
  assert.equal(await p.step("a", () => Promise.resolve({ detail: "fine" })), true);
  assert.equal(await p.step("b", () => Promise.reject(new ProbeFailure("broke", { x: 1 }))), false);
  let ran = false;
  await p.step("c", () => {
    ran = true;
    return Promise.resolve({ detail: "never" });
  });
  const r = p.result();
  assert.equal(ran, false);
  assert.equal(r.ok, false);
  assert.equal(r.server, "srv");
  assert.deepEqual(r.steps.map((s) => [s.step, s.ok, s.skipped ?? false]), [
    ["a", true, false],
    ["b", false, false],
    ["c", true, true],
  ]);
  assert.deepEqual(r.steps[1].info, { x: 1 });
  assert.match(r.steps[2].detail, /earlier step failed/);
});

Deno.test("Probe treats skipped steps and warnings as ok", async () => {
  const p = new Probe("srv");
  await p.step("a", () => Promise.resolve({ skipped: true, detail: "needs more" }));
  await p.step("b", () => Promise.resolve({ detail: "warning: slow" }));
  assert.equal(p.result().ok, true);
});

Deno.test("Probe turns a body that throws at once, or anything unexpected, into a failed step", async () => {
  const p = new Probe("srv");
  await p.step("a", () => {
    throw new Error("boom password=hunter2");
  });
  assert.equal(p.steps[0].ok, false);
  assert.match(p.steps[0].detail, /^unexpected error: boom/);
  assert.doesNotMatch(p.steps[0].detail, /hunter2/);
});

Deno.test("Probe ends a hanging step at the deadline and runs the cleanups", async () => {
  const p = new Probe("srv", 300);
  let cleaned = false;
  p.onTimeout(() => {
    cleaned = true;
  });
  const t0 = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await p.step(
    "hang",
    () => new Promise((r) => (timer = setTimeout(() => r({ detail: "late" }), 5000))),
  );
  clearTimeout(timer);
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(cleaned, true);
  assert.equal(p.steps[0].ok, false);
  assert.match(p.steps[0].detail, /no answer within 0\.3 s/);
});

Deno.test("seconds() rounds to a tenth", () => {
  assert.equal(seconds(1849), "1.8 s");
  assert.equal(seconds(15000), "15 s");
});
