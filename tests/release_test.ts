/**
 * The release build (`deno task release`): on this machine, with no compile runtime, a portable
 * package per target — the Deno runtime from the npm registry, the bundled appliance, a launcher —
 * with SHA256SUMS signed by the key given; the Linux package, unpacked anywhere, is the appliance:
 * it reports its build and mirrors a mailbox of the lab; `vmirror install` puts it in place as a
 * systemd service (checked by systemd-analyze), the installed appliance serves and mirrors, and
 * `vmirror uninstall` takes it away again.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { unzipSync } from "fflate";
import { publicKeyOf, ReleaseIntegrityError, verifyReleaseFile } from "../engine/release/mod.ts";
import { fillScratch, freePort, labConfig, runCommand } from "./test_utils/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const VERSION = "9.8.7-test";

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  return runCommand(cmd, args, { cwd, env, timeoutMs: 300_000 });
}

Deno.test({
  name: "deno task release builds signed portable packages that install and run the appliance",
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "vmirror-release-test-" });
    try {
      const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
        "sign",
        "verify",
      ]) as CryptoKeyPair;
      const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
      const keyFile = join(dir, "test-signing-key.pem");
      await Deno.writeTextFile(
        keyFile,
        `-----BEGIN PRIVATE KEY-----\n${pkcs8.toBase64()}\n-----END PRIVATE KEY-----\n`,
      );
      const publicKey = await publicKeyOf(pair.privateKey);
      const out = join(dir, "dist");
      const rel = join(out, VERSION);
      const linux = join(rel, `vmirror-${VERSION}-linux-x64.tar.gz`);
      const windows = join(rel, `vmirror-${VERSION}-windows-x64.zip`);

      await t.step("one command builds both targets", async () => {
        // This machine has no compile runtime: the portable form is what must come out.
        const r = await run(
          Deno.execPath(),
          [
            "run",
            "-A",
            "scripts/release.ts",
            "--target",
            "linux-x64",
            "--target",
            "windows-x64",
            "--version",
            VERSION,
            "--key",
            keyFile,
            "--key-name",
            "lab-test",
            "--out",
            out,
          ],
          ROOT,
          { DENORT_BIN: "" },
        );
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /linux-x64\tportable\t/);
        assert.match(r.stdout, /windows-x64\tportable\t/);
      });

      const sums = await Deno.readTextFile(join(rel, "SHA256SUMS"));
      const signature = await Deno.readTextFile(join(rel, "SHA256SUMS.sig"));

      await t.step("SHA256SUMS lists both packages and is signed by the given key", async () => {
        assert.equal(sums.trim().split("\n").length, 2);
        await verifyReleaseFile(linux, { sums, signature, publicKey });
        await verifyReleaseFile(windows, { sums, signature, publicKey });
        // The development key built into a checkout did not sign this release.
        await assert.rejects(verifyReleaseFile(linux, { sums, signature }), ReleaseIntegrityError);
      });

      await t.step(
        "the Windows package holds the runtime, the bundle and vmirror.cmd",
        async () => {
          const files = unzipSync(await Deno.readFile(windows));
          const base = `vmirror-${VERSION}-windows-x64/`;
          const exe = files[`${base}deno.exe`];
          assert.ok(exe && exe[0] === 0x4d && exe[1] === 0x5a, "deno.exe is a PE executable");
          assert.ok(files[`${base}vmirror.js`]?.length > 100_000);
          const cmd = new TextDecoder().decode(files[`${base}vmirror.cmd`]);
          assert.match(cmd, /^@echo off\r\n/);
          assert.match(cmd, /"%~dp0deno\.exe" run .*"%~dp0vmirror\.js" %\*\r\n/);
        },
      );

      const unpacked = join(dir, "installed");
      await Deno.mkdir(unpacked);
      const untar = await run("tar", ["-xzf", linux, "-C", unpacked], dir);
      assert.equal(untar.code, 0, untar.stderr);
      const vmirror = join(unpacked, `vmirror-${VERSION}-linux-x64`, "vmirror");
      // Run from an empty folder, outside the checkout: nothing may come from it.
      const work = join(dir, "work");
      await Deno.mkdir(work);

      await t.step("the unpacked package reports its build", async () => {
        const r = await run(vmirror, ["version", "--json"], work);
        assert.equal(r.code, 0, r.stderr);
        const info = JSON.parse(r.stdout);
        assert.equal(info.version, VERSION);
        assert.equal(info.target, "linux-x64");
        assert.equal(info.releaseKey, "lab-test");
        assert.equal(info.deno, Deno.version.deno);
        assert.match(info.commit, /^[0-9a-f]{7,}(-dirty)?$/);
        assert.ok(Date.parse(info.buildDate) > Date.now() - 3_600_000);
        const bad = await run(vmirror, ["bogus"], work);
        assert.equal(bad.code, 2);
      });

      await t.step("the unpacked package mirrors a mailbox of the lab", async () => {
        const mb = "7540";
        await fillScratch(mb, 3);
        const data = join(dir, "data");
        const config = await labConfig(data);
        const common = ["--config", config.file!, "--data", data];
        const s = await run(vmirror, ["subscribe", mb, ...common], work);
        assert.equal(s.code, 0, s.stderr);
        const r = await run(vmirror, ["sync", "--once", "--json", ...common], work);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).totals.copied, 3);
      });

      // Installed under a scratch root, as root (CI is), with the unit in a scratch systemd dir.
      const root = join(dir, "root");
      const layout = {
        prefix: join(root, "opt/vmirror"),
        data: join(root, "var/lib/vmirror"),
        config: join(root, "etc/vmirror"),
        systemd: join(root, "etc/systemd/system"),
      };
      const portalPort = freePort();
      const installArgs = [
        "--prefix",
        layout.prefix,
        "--data-dir",
        layout.data,
        "--config-dir",
        layout.config,
        "--systemd-dir",
        layout.systemd,
      ];

      await t.step(
        "install puts the release, the data and config dirs and the unit in place",
        async () => {
          const plan = await run(vmirror, ["install", "--dry-run", ...installArgs], work);
          assert.equal(plan.code, 0, plan.stderr);
          assert.match(plan.stdout, /link .*opt\/vmirror\/current -> .*releases\/9\.8\.7-test/);
          assert.equal(await exists(layout.prefix), false, "--dry-run changes nothing");
          const r = await run(vmirror, [
            "install",
            ...installArgs,
            "--user",
            "vmirror-lab",
            "--listen",
            `127.0.0.1:${portalPort}`,
            "--no-start",
          ], work);
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stdout, /vmirror 9\.8\.7-test installed in /);
          for (const f of ["vmirror", "deno", "vmirror.js"]) {
            assert.ok(await exists(join(layout.prefix, "releases", VERSION, f)), f);
          }
          assert.equal(
            await Deno.realPath(join(layout.prefix, "current")),
            await Deno.realPath(join(layout.prefix, "releases", VERSION)),
          );
          const data = await Deno.stat(layout.data);
          assert.equal(data.mode! & 0o777, 0o700);
          assert.notEqual(data.uid, 0, "the data dir belongs to the service user");
          const config = JSON.parse(await Deno.readTextFile(join(layout.config, "vmirror.json")));
          assert.deepEqual(config, { portal: { listen: `127.0.0.1:${portalPort}` } });
          const unit = await Deno.readTextFile(join(layout.systemd, "vmirror.service"));
          assert.match(
            unit,
            new RegExp(
              `^ExecStart=${layout.prefix}/current/vmirror serve --config ${layout.config}/vmirror.json --data ${layout.data}$`,
              "m",
            ),
          );
          for (
            const line of [
              "Restart=on-failure",
              "NoNewPrivileges=yes",
              "ProtectSystem=strict",
              "PrivateTmp=yes",
              `ReadWritePaths=${layout.data}`,
              "User=vmirror-lab",
            ]
          ) {
            assert.match(unit, new RegExp(`^${line}$`, "m"), line);
          }
        },
      );

      await t.step("systemd-analyze verify accepts the units", async () => {
        // The service, and the console's upgrades: a path unit watching the data directory
        // for a request and the root oneshot it starts.
        const units = ["vmirror.service", "vmirror-upgrade.path", "vmirror-upgrade.service"];
        const v = await run(
          "systemd-analyze",
          ["verify", ...units.map((u) => join(layout.systemd, u))],
          dir,
        );
        assert.equal(v.code, 0, v.stderr);
        const complaints = v.stderr.split("\n").filter((l) => l.includes("vmirror"));
        assert.deepEqual(complaints, []);
        const watch = await Deno.readTextFile(join(layout.systemd, "vmirror-upgrade.path"));
        assert.match(watch, new RegExp(`^PathExists=${layout.data}/upgrade/request\\.json$`, "m"));
      });

      await t.step("the installed appliance serves and mirrors", async () => {
        // The admin's setup, as a file: the lab's source and target beside the portal address.
        const mb = "7541";
        await fillScratch(mb, 2);
        const lab = await labConfig(join(dir, "lab-config"));
        const raw = JSON.parse(await Deno.readTextFile(lab.file!));
        raw.portal = { ...(raw.portal ?? {}), listen: `127.0.0.1:${portalPort}` };
        raw.schedule = { ...(raw.schedule ?? {}), syncSeconds: 1 };
        await Deno.writeTextFile(join(layout.config, "vmirror.json"), JSON.stringify(raw));
        const exe = join(layout.prefix, "current", "vmirror");
        const common = ["--config", join(layout.config, "vmirror.json"), "--data", layout.data];
        assert.equal((await run(exe, ["subscribe", mb, ...common], work)).code, 0);
        const child = new Deno.Command(exe, {
          args: ["serve", ...common],
          cwd: work,
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }).spawn();
        try {
          let mirrored = 0;
          for (let i = 0; i < 120 && mirrored < 2; i++) {
            await new Promise((r) => setTimeout(r, 500));
            const health = await fetch(`http://127.0.0.1:${portalPort}/healthz`).then(
              (r) => r.ok ? r.json() : null,
              () => null,
            );
            if (!health) continue;
            const st = await run(exe, ["status", "--json", ...common], work);
            const last = JSON.parse(st.stdout).mailboxes.find((m: { mailbox: string }) =>
              m.mailbox === mb
            );
            mirrored = last?.ok ? last.copied : 0;
          }
          assert.equal(mirrored, 2, "the service mirrored the mailbox");
        } finally {
          child.kill("SIGTERM");
          await child.status;
          await child.stderr.cancel();
        }
      });

      await t.step(
        "uninstall removes the program and keeps the data; --purge removes it",
        async () => {
          const keep = await run(vmirror, ["uninstall", ...installArgs], work);
          assert.equal(keep.code, 0, keep.stderr);
          assert.equal(await exists(layout.prefix), false);
          assert.equal(await exists(join(layout.systemd, "vmirror.service")), false);
          assert.equal(await exists(join(layout.systemd, "vmirror-upgrade.path")), false);
          assert.equal(await exists(join(layout.data, "state.kv")), true);
          const purge = await run(vmirror, ["uninstall", "--purge", ...installArgs], work);
          assert.equal(purge.code, 0, purge.stderr);
          assert.equal(await exists(layout.data), false);
          assert.equal(await exists(layout.config), false);
        },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
