import assert from "node:assert/strict";
import {
  attachmentDisposition,
  clientAddress,
  clientAddressOf,
  formatDuration,
  formatIp,
  inBlock,
  parseIp,
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

Deno.test("clientAddressOf() believes X-Forwarded-For only from a trusted proxy", () => {
  const peer = (hostname: string) => ({ remoteAddr: { hostname } });
  const trusted = ["10.0.0.0/8", "2001:db8:ff::/48", "192.0.2.1"];
  // No proxies configured, or a peer that is not one: the header is anyone's invention.
  assert.equal(clientAddressOf(peer("10.1.2.3"), "198.51.100.7", []), "10.1.2.3");
  assert.equal(clientAddressOf(peer("203.0.113.5"), "198.51.100.7", trusted), "203.0.113.5");
  assert.equal(clientAddressOf(peer("192.0.2.2"), "198.51.100.7", trusted), "192.0.2.2");
  // A trusted peer: the right-most entry that is not itself trusted.
  assert.equal(clientAddressOf(peer("192.0.2.1"), "198.51.100.7", trusted), "198.51.100.7");
  assert.equal(
    clientAddressOf(peer("10.9.9.9"), "1.1.1.1, 198.51.100.7, 10.0.0.5,192.0.2.1", trusted),
    "198.51.100.7",
  );
  assert.equal(
    clientAddressOf(peer("2001:db8:ff:1::2"), "2001:DB8:0:0::7, 2001:db8:ff::9", trusted),
    "2001:db8::7",
  );
  // Ports and brackets some proxies write; IPv4-mapped peers.
  assert.equal(
    clientAddressOf(peer("::ffff:10.0.0.1"), "198.51.100.7:4431", trusted),
    "198.51.100.7",
  );
  assert.equal(clientAddressOf(peer("10.0.0.1"), "[2001:db8::1]:443", trusted), "2001:db8::1");
  // Every hop trusted: the left-most; garbage stops at the proxy that wrote it; no header.
  assert.equal(clientAddressOf(peer("10.0.0.1"), "10.0.0.2, 10.0.0.3", trusted), "10.0.0.2");
  assert.equal(clientAddressOf(peer("10.0.0.1"), "198.51.100.7, junk", trusted), "10.0.0.1");
  assert.equal(clientAddressOf(peer("10.0.0.1"), "1.2.3.4, junk, 10.0.0.2", trusted), "10.0.0.2");
  assert.equal(clientAddressOf(peer("10.0.0.1"), null, trusted), "10.0.0.1");
  assert.equal(clientAddressOf(peer("10.0.0.1"), " , ", trusted), "10.0.0.1");
  assert.equal(clientAddressOf(undefined, "198.51.100.7", trusted), "unknown");
});

Deno.test("IP addresses parse, print canonically and match CIDR blocks", () => {
  const p = (t: string) => parseIp(t)!;
  assert.equal(formatIp(p("192.0.2.1")), "192.0.2.1");
  assert.equal(formatIp(p("::ffff:192.0.2.1")), "192.0.2.1");
  assert.equal(formatIp(p("2001:0DB8:0000:0000:0001:0000:0000:0001")), "2001:db8::1:0:0:1");
  assert.equal(formatIp(p("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1");
  assert.equal(formatIp(p("::")), "::");
  assert.equal(formatIp(p("::1")), "::1");
  assert.equal(formatIp(p("fe80::1%eth0")), "fe80::1");
  assert.equal(formatIp(p("1:2:3:4:5:6:7::")), "1:2:3:4:5:6:7:0");
  assert.equal(formatIp(p("64:ff9b::192.0.2.33")), "64:ff9b::c000:221");
  for (const bad of ["256.1.1.1", "1.2.3", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "x", ""]) {
    assert.equal(parseIp(bad), null, bad);
  }
  assert.ok(inBlock(p("10.200.3.4"), "10.0.0.0/8"));
  assert.ok(!inBlock(p("11.0.0.1"), "10.0.0.0/8"));
  assert.ok(inBlock(p("192.0.2.130"), "192.0.2.128/25"));
  assert.ok(!inBlock(p("192.0.2.127"), "192.0.2.128/25"));
  assert.ok(inBlock(p("1.2.3.4"), "0.0.0.0/0"));
  assert.ok(inBlock(p("2001:db8:ab::1"), "2001:db8::/32"));
  assert.ok(!inBlock(p("2001:db9::1"), "2001:db8::/32"));
  assert.ok(inBlock(p("::1"), "::1"));
  assert.ok(!inBlock(p("127.0.0.1"), "::1/128"));
  assert.ok(!inBlock(p("10.0.0.1"), "10.0.0.0/33"));
  assert.ok(!inBlock(p("10.0.0.1"), "junk/8"));
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
