/**
 * The single-artifact build: `deno bundle` makes one file that runs the whole appliance
 * (mirror pass against the lab, portal) from outside the checkout.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { appendRaw, lab, scratchMailbox, snapshot, variant } from "./test_utils/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function run(args: string[], cwd: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test({
  name: "the bundled single file runs the appliance: sync and portal",
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "vmirror-bundle-" });
    const file = join(dir, "vmirror.js");
    try {
      const b = await run(
        ["bundle", "--platform", "deno", "-o", file, join(ROOT, "main.ts")],
        ROOT,
      );
      assert.equal(b.code, 0, b.stderr);
      // Run from an empty folder: nothing may be read from the checkout.
      const work = join(dir, "work");
      await Deno.mkdir(work);
      const vm = (...args: string[]) => run(["run", "-A", "--unstable-kv", file, ...args], work);

      await t.step("version and help", async () => {
        const v = await vm("version");
        assert.equal(v.code, 0, v.stderr);
        assert.match(v.stdout, /^vmirror \d+\.\d+\.\d+/);
        assert.equal((await vm("bogus")).code, 2);
      });

      await t.step("a mirror pass against the lab", async () => {
        const mb = await scratchMailbox("7320");
        const seed = (await snapshot("prod", "4002", ["INBOX"])).folders.INBOX.messages[0];
        await appendRaw(
          "prod",
          mb,
          "INBOX",
          [1, 2, 3].map((n) => ({
            bytes: variant(seed.bytes, n),
            flags: seed.flags,
            date: new Date(seed.internalDate),
          })),
        );
        const common = ["--config", lab().configs.imap, "--data", join(dir, "data")];
        assert.equal((await vm("subscribe", mb, ...common)).code, 0);
        const s = await vm("sync", "--once", "--json", ...common);
        assert.equal(s.code, 0, s.stderr);
        const summary = JSON.parse(s.stdout);
        assert.equal(summary.totals.copied, 3);
        const backup = await snapshot("backup", mb, ["INBOX"]);
        assert.equal(backup.folders.INBOX.messages.length, 3);
      });

      await t.step("the portal answers", async () => {
        const port = 18000 + Math.floor(Math.random() * 1000);
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            "--unstable-kv",
            file,
            "serve",
            "--listen",
            `127.0.0.1:${port}`,
            "--data",
            join(dir, "data2"),
          ],
          cwd: work,
          stdout: "null",
          stderr: "null",
        }).spawn();
        try {
          let body = "";
          for (let i = 0; i < 100; i++) {
            try {
              const r = await fetch(`http://127.0.0.1:${port}/healthz`);
              body = await r.text();
              if (r.ok) break;
            } catch {
              await new Promise((r) => setTimeout(r, 100));
            }
          }
          assert.match(body, /"ok":true/);
        } finally {
          child.kill("SIGTERM");
          await child.status;
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
