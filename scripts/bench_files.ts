/**
 * `deno run -A scripts/bench_files.ts [--mailboxes N] [--messages N] [--concurrency N]`: the
 * file-store target against rsync on the same disk, in one run. The same messages, exported as
 * .eml files, are copied by rsync (plain, and with --fsync, which is as durable as vmirror);
 * vmirror mirrors them from production (Dovecot over IMAP) into a fresh file store.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readLab, startLab } from "./lab.ts";
import { addLabUser } from "./lab.ts";
import { V8_FLAGS } from "./release/launchers.ts";
import { appendRaw, snapshot, variant, wipeMailbox } from "../tests/test_utils/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({
  args: Deno.args,
  options: {
    mailboxes: { type: "string" },
    messages: { type: "string" },
    concurrency: { type: "string" },
  },
});
const MAILBOXES = Number(values.mailboxes ?? 20);
const PER = Number(values.messages ?? 100);
const CONCURRENCY = Number(values.concurrency ?? 8);

async function sh(cmd: string, args: string[], opts: { cwd?: string } = {}) {
  const out = await new Deno.Command(cmd, { args, cwd: opts.cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

async function ensureRsync() {
  try {
    await sh("rsync", ["--version"]);
  } catch {
    console.error("installing rsync…");
    await sh("apt-get", ["install", "-y", "rsync"]).catch(async () => {
      await sh("apt-get", ["update"]);
      await sh("apt-get", ["install", "-y", "rsync"]);
    });
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function dropCaches() {
  // Both tools read warm data: Dovecot's maildir and the exported files were just written.
  await sh("sync", []);
}

if (import.meta.main) {
  await ensureRsync();
  await startLab({ log: () => {} });
  const lab = readLab();
  const work = await Deno.makeTempDir({ dir: join(ROOT, ".lab"), prefix: "bench-files-" });
  try {
    const seed = (await snapshot("prod", "4002", ["INBOX"])).folders.INBOX.messages;
    const mailboxes = Array.from({ length: MAILBOXES }, (_, i) => String(76000 + i));
    const exportDir = join(work, "export");
    let bytes = 0;
    console.error(`seeding ${MAILBOXES} × ${PER} messages…`);
    for (const [k, mb] of mailboxes.entries()) {
      await addLabUser("prod", mb, "1357");
      await wipeMailbox("prod", mb);
      const msgs = Array.from({ length: PER }, (_, i) => ({
        bytes: variant(seed[i % seed.length].bytes, k * PER + i + 1),
        date: new Date(Date.UTC(2026, 0, 1) + i * 1000),
      }));
      await appendRaw("prod", mb, "INBOX", msgs);
      await Deno.mkdir(join(exportDir, mb, "INBOX"), { recursive: true });
      for (const [i, m] of msgs.entries()) {
        await Deno.writeFile(join(exportDir, mb, "INBOX", `${i + 1}.eml`), m.bytes);
        bytes += m.bytes.length;
      }
    }
    const total = MAILBOXES * PER;
    await dropCaches();
    const rsyncPlain = await timed(() => sh("rsync", ["-a", `${exportDir}/`, join(work, "r1")]));
    const rsyncFsync = await timed(() =>
      sh("rsync", ["-a", "--fsync", `${exportDir}/`, join(work, "r2")])
    );

    const root = join(work, "store");
    await Deno.mkdir(root);
    const raw = JSON.parse(await Deno.readTextFile(lab.configs.files));
    raw.target.root = root;
    raw.limits = { ...(raw.limits ?? {}), concurrency: CONCURRENCY };
    const cfg = join(work, "vmirror.json");
    await Deno.writeTextFile(cfg, JSON.stringify(raw));
    const data = join(work, "data");
    const vm = (...args: string[]) =>
      sh(Deno.execPath(), [
        "run",
        "-A",
        V8_FLAGS, // as the launchers and the executable run the appliance
        join(ROOT, "main.ts"),
        ...args,
        "--config",
        cfg,
        "--data",
        data,
      ]);
    await vm("subscribe", ...mailboxes);
    await dropCaches();
    const vmirror = await timed(() => vm("sync", "--once", "--json"));

    const mb = bytes / 1024 / 1024;
    const rows = [
      ["rsync -a", rsyncPlain],
      ["rsync -a --fsync", rsyncFsync],
      [`vmirror sync --once (files, concurrency ${CONCURRENCY})`, vmirror],
    ] as const;
    console.log(`${total} messages, ${mb.toFixed(1)} MB, ${MAILBOXES} mailboxes`);
    console.log("tool | seconds | msgs/s | MB/s | vmirror ÷ tool (throughput)");
    for (const [name, s] of rows) {
      console.log(
        `${name} | ${s.toFixed(2)} | ${(total / s).toFixed(0)} | ${(mb / s).toFixed(1)} | ${
          (s / vmirror).toFixed(2)
        }×`,
      );
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}
