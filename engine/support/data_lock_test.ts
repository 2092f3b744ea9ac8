import assert from "node:assert/strict";
import { join } from "node:path";
import {
  acquireDataLock,
  busyMessage,
  DataDirBusyError,
  HOLDER_FILE,
  readHolder,
} from "./data_lock.ts";

async function scratch(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "vmirror-lock-" });
}

Deno.test("acquireDataLock() refuses a second writer and names the holder's pid and verb", async () => {
  const dir = await scratch();
  try {
    using held = await acquireDataLock(join(dir, "data"), {
      verb: "serve",
      now: new Date("2026-12-02T01:00:00Z"),
    });
    assert.equal(held.holder.pid, Deno.pid);
    await assert.rejects(
      () => acquireDataLock(join(dir, "data"), { verb: "sync" }),
      {
        name: "DataDirBusyError",
        message: `Another vmirror process (pid ${Deno.pid}, "serve", since ` +
          `2026-12-02T01:00:00.000Z) is using the data directory "${join(dir, "data")}": ` +
          "stop it or wait for it to finish",
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acquireDataLock() succeeds again once the holder releases, and drops its note", async () => {
  const dir = await scratch();
  try {
    const first = await acquireDataLock(dir, { verb: "sync" });
    assert.equal((await readHolder(dir))?.verb, "sync");
    first.release();
    first.release();
    assert.equal(await readHolder(dir), undefined);
    using second = await acquireDataLock(dir, { verb: "restore" });
    assert.equal((await readHolder(dir))?.verb, "restore");
    assert.equal(second.holder.verb, "restore");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a refusal without a readable holder note still says the directory is in use", async () => {
  const dir = await scratch();
  try {
    using _held = await acquireDataLock(dir, { verb: "serve" });
    await Deno.writeTextFile(join(dir, HOLDER_FILE), "{ not json");
    await assert.rejects(
      () => acquireDataLock(dir, { verb: "sync" }),
      (e: Error) =>
        e instanceof DataDirBusyError && e.holder === undefined &&
        e.message ===
          `Another vmirror process is using the data directory "${dir}": stop it or wait for it to finish`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("busyMessage() names the holder's host when it is another machine", () => {
  const msg = busyMessage("/d", {
    pid: 7,
    verb: "serve",
    since: "2026-01-01T00:00:00.000Z",
    hostname: "other-host-that-is-not-this-one.invalid",
  });
  assert.match(msg, /\(pid 7 on "other-host-that-is-not-this-one\.invalid", "serve", since/);
});

Deno.test({
  name: "a holder killed with SIGKILL leaves the data directory free at once",
  ignore: Deno.build.os === "windows",
  async fn() {
    const dir = await scratch();
    const moduleUrl = new URL("./data_lock.ts", import.meta.url).href;
    const code = `
      const { acquireDataLock } = await import(${JSON.stringify(moduleUrl)});
      await acquireDataLock(${JSON.stringify(dir)}, { verb: "sync" });
      console.log("locked");
      await new Promise(() => setInterval(() => {}, 1000));
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      const deadline = Date.now() + 30_000;
      while (!out.includes("locked")) {
        assert.ok(Date.now() < deadline, "the child never took the lock");
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      assert.match(out, /locked/);
      await assert.rejects(
        () => acquireDataLock(dir, { verb: "serve" }),
        (e: Error) => e instanceof DataDirBusyError && e.holder?.pid === child.pid,
      );
      child.kill("SIGKILL");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
      const t0 = performance.now();
      using held = await acquireDataLock(dir, { verb: "serve" });
      assert.ok(performance.now() - t0 < 1000);
      assert.equal(held.holder.pid, Deno.pid);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});
