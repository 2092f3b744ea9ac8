import assert from "node:assert/strict";
import { acquireDataLock } from "../support/mod.ts";
import { fetchHealth, waitHealthy } from "./health.ts";
import { UpgradeError } from "./package.ts";
import { shellLine } from "./plan.ts";
import { runServiceCommand, takeDataDir } from "./service.ts";

Deno.test("runServiceCommand() names the command, its exit code and its last words", async () => {
  await runServiceCommand(shellLine("linux", "true"), "start");
  const e = await runServiceCommand(shellLine("linux", "echo no such unit >&2; exit 5"), "stop")
    .catch((x) => x);
  assert.ok(e instanceof UpgradeError);
  assert.equal(e.stage, "stop");
  assert.equal(
    e.message,
    "Cannot stop the service: sh -c 'echo no such unit >&2; exit 5' exited with 5: no such unit",
  );
  // A start command leaving a process behind that holds its stderr does not hang the upgrade.
  const t0 = Date.now();
  await runServiceCommand(shellLine("linux", "sleep 2 & exit 0"), "start");
  assert.ok(Date.now() - t0 < 1500);
  await assert.rejects(
    runServiceCommand(shellLine("linux", "sleep 5"), "stop", { timeoutMs: 200 }),
    /did not finish within 0 s/,
  );
});

Deno.test("takeDataDir() waits for the service to let go of the data directory", async () => {
  const data = await Deno.makeTempDir({ prefix: "vmirror-upgrade-lock-" });
  try {
    const held = await acquireDataLock(data, { verb: "serve" });
    setTimeout(() => held.release(), 400);
    const lock = await takeDataDir(data, { verb: "upgrade", seconds: 5 });
    lock.release();
    using _still = await acquireDataLock(data, { verb: "serve" });
    await assert.rejects(
      takeDataDir(data, { verb: "upgrade", seconds: 0.3 }),
      /The service did not stop within 0\.3 s: Another vmirror process/,
    );
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("waitHealthy() wants its own version on /healthz, then a pass since the start", async () => {
  let version = "1.0.0";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json({ ok: true, version }),
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}/healthz`;
    assert.deepEqual(await fetchHealth(url), { version: "1.0.0" });
    const since = new Date().toISOString();
    const base = {
      health: { url, pass: true, seconds: 0.5 },
      version: "1.1.0",
      since,
      baseline: null,
      intervalMs: 50,
    };
    await assert.rejects(
      waitHealthy({ ...base, passes: () => Promise.resolve([]) }),
      /did not answer as vmirror 1\.1\.0 within 0\.5 s \(it answers version "1\.0\.0"\)/,
    );
    version = "1.1.0";
    const failing = { startedAt: since, finishedAt: since, mailboxes: 2, failed: 2 };
    await assert.rejects(
      waitHealthy({ ...base, passes: () => Promise.resolve([failing]) }),
      /answers, but no mirror pass succeeded within 0\.5 s \(the last of 1 pass\(es\) since the start failed 2 of 2/,
    );
    const good = { ...failing, failed: 0 };
    const healthy = await waitHealthy({ ...base, passes: () => Promise.resolve([good, failing]) });
    assert.deepEqual(healthy.pass, good);
  } finally {
    await server.shutdown();
  }
});
