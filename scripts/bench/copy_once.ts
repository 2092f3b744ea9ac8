/**
 * One timed initial copy (200 × 25) by vmirror and, with `--mbsync`, by mbsync, on the
 * benchmark's lab (seeded by `deno task bench`): a quick loop for tuning the copy path.
 * `deno run -A scripts/bench/copy_once.ts [--mbsync] [--concurrency N] [--cpu-prof DIR]`.
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { readLab } from "../lab.ts";
import { benchPlan, wipe } from "./setup.ts";
import { subscribe, syncOnce, vmirrorArgs, writeVmirrorConfig } from "./vmirror.ts";
import { ensureMbsync, mbsyncRc, runMbsync, writeMbsyncRc } from "./mbsync.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mbsync: { type: "boolean", default: false },
    concurrency: { type: "string", default: "8" },
    "cpu-prof": { type: "string" },
  },
});
const lab = await readLab();
const plan = benchPlan();
const servers = [lab.imap.prod.pidFile, lab.imap.backup.pidFile].map((f) =>
  Number(Deno.readTextFileSync(f).trim())
);
const dir = join(lab.dir, "bench", "copy-once");
await wipe(lab, "backup", [...plan.heavy, ...plan.near.slice(0, plan.heavy.length)]);
const vm = await writeVmirrorConfig(lab, dir, { concurrency: Number(values.concurrency) });
await subscribe(vm, plan.heavy);
// As the benchmark does: no run pays for the previous one's writeback.
await new Deno.Command("sync").output();
if (values["cpu-prof"]) {
  const args = vmirrorArgs(vm, "sync", ["--once", "--json"]);
  args.splice(1, 0, "--cpu-prof", `--cpu-prof-dir=${values["cpu-prof"]}`);
  const t = performance.now();
  await new Deno.Command(Deno.execPath(), { args, stdout: "null" }).output();
  console.log(`vmirror (profiled): ${((performance.now() - t) / 1000).toFixed(2)} s`);
} else {
  const v = await syncOnce(vm, { servers });
  console.log(
    `vmirror: ${v.seconds.toFixed(2)} s, CPU ${v.cpuSeconds.toFixed(2)}, Dovecot ${
      v.serverCpuSeconds.toFixed(2)
    }, copied ${v.copied}`,
  );
}
if (values.mbsync) {
  const stateDir = join(dir, "mbsync-state");
  await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(stateDir, { recursive: true });
  const isync = await ensureMbsync((s) => console.error(s));
  const pairs = plan.heavy.map((far, i) => ({ far, near: plan.near[i] }));
  const rc = await writeMbsyncRc(
    dir,
    "mbsyncrc",
    mbsyncRc(lab, pairs, { version: isync, stateDir }),
  );
  await new Deno.Command("sync").output();
  const b = await runMbsync(rc, servers);
  console.log(
    `mbsync: ${b.seconds.toFixed(2)} s, CPU ${b.cpuSeconds.toFixed(2)}, Dovecot ${
      b.serverCpuSeconds.toFixed(2)
    }`,
  );
}
