import assert from "node:assert/strict";
import { floorLines, floorOf } from "./floor.ts";
import type { Measured } from "./measure.ts";

function run(seconds: number, cpu: number, store: number): Measured {
  return {
    code: 0,
    seconds,
    peakRssMb: 100,
    cpuSeconds: cpu,
    serverCpuSeconds: store,
    stdout: "",
    stderr: "",
  };
}

Deno.test("floorOf() divides the store's median CPU by the cores and compares the median wall time", () => {
  const f = floorOf([run(5, 2, 8), run(4, 1, 6), run(6, 3, 7)], 1000, 2)!;
  assert.equal(f.seconds, 5);
  assert.equal(f.storeCpu, 7);
  assert.equal(f.floor, 3.5);
  assert.equal(f.sharedFloor, 4.5);
  assert.equal(f.storeMsPerMessage, 7);
  assert.equal(f.ratio, 5 / 3.5);
  assert.equal(floorOf([], 1000, 2), null);
});

Deno.test("floorLines() says MET only within 15 % of the floor", () => {
  const met = floorLines({ vm: [run(4.5, 1, 8)], mb: [], messages: 100, cores: 2 });
  assert.match(met[1], /floor 4\.00 s, wall \+13 % \(target ≤ \+15 %: MET\)/);
  const notMet = floorLines({ vm: [run(4.7, 1, 8)], mb: [], messages: 100, cores: 2 });
  assert.match(notMet[1], /NOT MET/);
});

Deno.test("floorLines() sets mbsync beside vmirror and uses the lesser store CPU of the two", () => {
  const lines = floorLines({
    vm: [run(5, 1, 8)],
    mb: [run(10, 2, 12)],
    messages: 100,
    cores: 2,
  });
  assert.equal(lines.length, 4);
  assert.match(lines[2], /^ {2}mbsync: 10\.00 s; Dovecot CPU 12\.00 s \(120\.00 ms per message\)/);
  assert.match(
    lines[3],
    /lesser floor of both tools \(4\.00 s\): wall \+25 %; vmirror 2\.00× mbsync/,
  );
  assert.deepEqual(floorLines({ vm: [], mb: [], messages: 0, cores: 2 }), []);
});
