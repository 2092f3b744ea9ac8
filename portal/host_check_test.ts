import assert from "node:assert/strict";
import { Hono } from "hono";
import { allowedHosts, hostAllowed, hostCheck, type HostPolicy } from "./host_check.ts";

Deno.test("allowedHosts() adds publicUrl's host and normalises case and a trailing dot", () => {
  assert.deepEqual(
    allowedHosts({
      allowedHosts: ["VoiceMail.Example.com.", "10.0.0.5:8443"],
      publicUrl: "https://voicemail.example.com/",
    }),
    ["voicemail.example.com", "10.0.0.5:8443"],
  );
  assert.deepEqual(allowedHosts({ allowedHosts: [], publicUrl: "http://vm.lan:8080" }), [
    "vm.lan:8080",
  ]);
  assert.deepEqual(allowedHosts({ allowedHosts: [] }), []);
});

Deno.test("hostAllowed(): names, ports, IPv6 and wildcards", () => {
  const allowed = ["vm.example.com", "10.0.0.5:8443", "[::1]", "*.lan"];
  for (const ok of ["vm.example.com", "VM.example.com:8080", "vm.example.com.", "10.0.0.5:8443"]) {
    assert.equal(hostAllowed(ok, allowed), true, ok);
  }
  for (const ok of ["[::1]:8080", "[::1]", "a.lan", "b.c.lan:80"]) {
    assert.equal(hostAllowed(ok, allowed), true, ok);
  }
  for (
    const bad of [
      undefined,
      "",
      "evil.example",
      "vm.example.com.evil.example",
      "10.0.0.5",
      "10.0.0.5:80",
      "lan",
      "x.lan/../",
      "vm.example.com:80:80",
      "[::2]",
      "vm.example.com@evil",
    ]
  ) {
    assert.equal(hostAllowed(bad, allowed), false, String(bad));
  }
  assert.equal(hostAllowed("anything.example", []), true);
});

Deno.test("hostCheck() answers 421 to other hosts, 400 without one; health is exempt", async () => {
  let policy: HostPolicy = { allowedHosts: ["vm.example.com"] };
  const app = new Hono();
  app.use(hostCheck(() => policy));
  app.get("*", (c) => c.text("page"));
  const get = (path: string, host: string | null) => {
    const headers = new Headers();
    if (host !== null) headers.set("host", host);
    return app.request(`http://vm.example.com${path}`, { headers });
  };
  const ok = await get("/inbox", "vm.example.com");
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), "page");
  const other = await get("/inbox", "rebound.attacker.example");
  assert.equal(other.status, 421);
  assert.doesNotMatch(await other.text(), /attacker/);
  const bad = await get("/inbox", "not a host");
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
  const health = await get("/healthz", "10.9.9.9");
  assert.equal(health.status, 200);
  await health.body?.cancel();
  // The policy is read per request: a saved setting applies at once.
  policy = { allowedHosts: [] };
  const any = await get("/inbox", "rebound.attacker.example");
  assert.equal(any.status, 200);
  await any.body?.cancel();
});
