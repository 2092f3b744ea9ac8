import assert from "node:assert/strict";
import { berElementLength, connectWords, describeTarget, dnsWords, tlsErrorWords } from "./net.ts";

Deno.test("connectWords() tells refused from dropped from unreachable", () => {
  assert.equal(
    connectWords("ECONNREFUSED", "x", "10.0.0.1", 993),
    "connection refused: nothing listens on 10.0.0.1:993",
  );
  assert.match(connectWords("ETIMEDOUT", "x", "h", 1), /a firewall may drop it/);
  assert.match(connectWords("EHOSTUNREACH", "x", "h", 1), /no route to h:1/);
  assert.match(connectWords(undefined, "odd password=x", "::1", 1), /\[::1\]:1: odd password=\*+/);
});

Deno.test("dnsWords() quotes the name", () => {
  assert.match(dnsWords("mss.example", "ENOTFOUND"), /^cannot resolve host "mss\.example"/);
  assert.match(dnsWords("mss.example", "EAI_AGAIN"), /did not answer/);
});

Deno.test("tlsErrorWords() recognises a plain-text port", () => {
  assert.match(
    tlsErrorWords("ERR_SSL_WRONG_VERSION_NUMBER", "wrong version number", "x:1"),
    /did not answer in TLS: this port expects plain text/,
  );
  assert.match(
    tlsErrorWords(
      undefined,
      "Client network socket disconnected before secure TLS connection",
      "x",
    ),
    /closed the connection during the TLS handshake/,
  );
});

Deno.test("describeTarget() names the server and host:port", () => {
  assert.equal(describeTarget("mss", "h", 143).where, '"mss" (h:143)');
  assert.equal(describeTarget(undefined, "h", 389).where, "h:389");
});

Deno.test("berElementLength() reads short and long lengths", () => {
  assert.equal(berElementLength(Uint8Array.from([0x30])), null);
  assert.equal(berElementLength(Uint8Array.from([0x30, 0x05])), 7);
  assert.equal(berElementLength(Uint8Array.from([0x30, 0x82, 0x01])), null);
  assert.equal(berElementLength(Uint8Array.from([0x30, 0x82, 0x01, 0x00])), 260);
});
