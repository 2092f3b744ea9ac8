import assert from "node:assert/strict";
import {
  attachmentDisposition,
  clientAddress,
  formatDuration,
  parseRange,
  spokenDuration,
} from "./http.ts";

Deno.test("parseRange() answers the forms a media player sends", () => {
  assert.equal(parseRange(undefined, 100), null);
  assert.deepEqual(parseRange("bytes=0-", 100), { start: 0, end: 100 });
  assert.deepEqual(parseRange("bytes=10-19", 100), { start: 10, end: 20 });
  assert.deepEqual(parseRange("bytes=90-200", 100), { start: 90, end: 100 });
  assert.deepEqual(parseRange("bytes=-10", 100), { start: 90, end: 100 });
  assert.deepEqual(parseRange("bytes=-1000", 100), { start: 0, end: 100 });
  assert.deepEqual(parseRange("BYTES = 5 - 6", 100), { start: 5, end: 7 });
});

Deno.test("parseRange() refuses what cannot be satisfied and ignores what it does not do", () => {
  assert.equal(parseRange("bytes=100-", 100), "unsatisfiable");
  assert.equal(parseRange("bytes=-0", 100), "unsatisfiable");
  assert.equal(parseRange("bytes=0-", 0), "unsatisfiable");
  // Whole representation: several ranges, other units, reversed or malformed ranges.
  assert.equal(parseRange("bytes=0-1,5-6", 100), null);
  assert.equal(parseRange("items=0-1", 100), null);
  assert.equal(parseRange("bytes=9-3", 100), null);
  assert.equal(parseRange("bytes=-", 100), null);
  assert.equal(parseRange("bytes=abc", 100), null);
});

Deno.test("attachmentDisposition() cannot be broken out of by a file name", () => {
  const v = attachmentDisposition('a";\r\nX-Evil: 1 é.wav');
  assert.ok(!/[\r\n]/.test(v));
  assert.match(
    v,
    /^attachment; filename="a__[^"]*"; filename\*=UTF-8''a%22%3B%0D%0AX-Evil%3A%201%20%C3%A9\.wav$/,
  );
});

Deno.test("clientAddress() reads Deno.serve's peer, nothing else", () => {
  assert.equal(clientAddress({ remoteAddr: { hostname: "192.0.2.7" } }), "192.0.2.7");
  assert.equal(clientAddress(undefined), "unknown");
  assert.equal(clientAddress({}), "unknown");
});

Deno.test("durations read as m:ss and in words", () => {
  assert.equal(formatDuration(4.2), "0:04");
  assert.equal(formatDuration(65), "1:05");
  assert.equal(formatDuration(3725), "1:02:05");
  assert.equal(formatDuration(null), "");
  assert.equal(spokenDuration(1), "1 second");
  assert.equal(spokenDuration(65), "1 minute 5 seconds");
  assert.equal(spokenDuration(120), "2 minutes");
  assert.equal(spokenDuration(0), "0 seconds");
});
