/**
 * The file-store target against rsync on the same disk, in one run. The same messages, exported
 * as .eml files, are copied by rsync (`-a`, and `-a --fsync`, which is as durable as vmirror);
 * vmirror mirrors them from production (Dovecot over IMAP) into a fresh file store: it writes
 * each message's directory (message.eml, its voice parts, meta.json), fsyncs them and renames it
 * into place. Each repetition runs rsync --fsync and vmirror back to back onto empty
 * destinations, so its ratio is paired; the median of the repetitions is reported.
 * @module
 */
import { join } from "node:path";
import type { LabInfo } from "../lab/types.ts";
import { REPO_DIR } from "../lab/paths.ts";
import { run } from "../lab/util.ts";
import { addLabUser } from "../lab.ts";
import { V8_FLAGS } from "../release/launchers.ts";
import { aptInstall } from "./proc.ts";
import { appendRaw, snapshot, variant, wipeMailbox } from "../../tests/test_utils/mod.ts";
import { assertOk, measure, type Measured } from "./measure.ts";
import { median } from "./report.ts";

/** Options of {@linkcode measureFiles}. */
export interface FilesBenchOptions {
  mailboxes: number;
  /** Messages per mailbox. */
  messages: number;
  concurrency: number;
  repeat: number;
  /** Dovecot masters whose CPU is measured during vmirror's runs. */
  servers?: number[];
  log?: (line: string) => void;
}

/** What {@linkcode measureFiles} measured. */
export interface FilesBenchResult {
  messages: number;
  bytes: number;
  mailboxes: number;
  concurrency: number;
  /** Wall seconds of `rsync -a` (no fsync), each repetition. */
  rsyncPlain: number[];
  /** Wall seconds of `rsync -a --fsync`, each repetition. */
  rsyncFsync: number[];
  /** vmirror's `sync --once` into a fresh file store, each repetition. */
  vmirror: Measured[];
}

// ext4's "recently deleted" window (RECENTCY_MIN, for an inode table block written back): 60 s.
const INODE_REUSE_SECONDS = 65;

/** First mailbox number of the file-store benchmark (apart from every other bench range). */
const FIRST_MAILBOX = 76000;

const BROADCAST = /^X-Message-Class:[ \t]*broadcast[ \t]*\r?$/im;

/** A message's header section as text. */
function headerOf(bytes: Uint8Array): string {
  const text = new TextDecoder("latin1").decode(bytes.subarray(0, 64 * 1024));
  const end = text.search(/\r?\n\r?\n/);
  return end < 0 ? text : text.slice(0, end);
}

/** Installs rsync with apt-get when it is missing. */
async function ensureRsync(log: (line: string) => void): Promise<void> {
  const probe = await run("rsync", ["--version"], { allowFail: true }).catch(() => null);
  if (probe?.code === 0) return;
  log("installing rsync with apt-get");
  await aptInstall("rsync");
}

/** Seeds production and the export, then times rsync and vmirror `repeat` times, paired. */
export async function measureFiles(
  lab: LabInfo,
  opts: FilesBenchOptions,
): Promise<FilesBenchResult> {
  const log = opts.log ?? (() => {});
  await ensureRsync(log);
  const work = await Deno.makeTempDir({ dir: lab.dir, prefix: "bench-files-" });
  try {
    // The lab's broadcasts are left out: vmirror skips them, and rsync must copy the same set.
    const seed = (await snapshot("prod", "4002", ["INBOX"])).folders.INBOX.messages
      .filter((m) => !BROADCAST.test(headerOf(m.bytes)));
    if (!seed.length) throw new Error("the lab's mailbox 4002 holds no INBOX messages to vary");
    const mailboxes = Array.from({ length: opts.mailboxes }, (_, i) => String(FIRST_MAILBOX + i));
    const exportDir = join(work, "export");
    let bytes = 0;
    log(`file store: seeding ${opts.mailboxes} × ${opts.messages} messages`);
    for (const [k, mb] of mailboxes.entries()) {
      await addLabUser("prod", mb, "1357");
      await wipeMailbox("prod", mb);
      const msgs = Array.from({ length: opts.messages }, (_, i) => ({
        bytes: variant(seed[i % seed.length].bytes, k * opts.messages + i + 1),
        date: new Date(Date.UTC(2026, 0, 1) + i * 1000),
      }));
      await appendRaw("prod", mb, "INBOX", msgs);
      await Deno.mkdir(join(exportDir, mb, "INBOX"), { recursive: true });
      for (const [i, m] of msgs.entries()) {
        await Deno.writeFile(join(exportDir, mb, "INBOX", `${i + 1}.eml`), m.bytes);
        bytes += m.bytes.length;
      }
    }
    const raw = JSON.parse(await Deno.readTextFile(lab.configs.files));
    raw.source.folders = ["INBOX"];
    delete raw.source.greetingsFolder;
    delete raw.ldap;
    raw.limits = { ...(raw.limits ?? {}), concurrency: opts.concurrency };
    const result: FilesBenchResult = {
      messages: opts.mailboxes * opts.messages,
      bytes,
      mailboxes: opts.mailboxes,
      concurrency: opts.concurrency,
      rsyncPlain: [],
      rsyncFsync: [],
      vmirror: [],
    };
    const timed = async (fn: () => Promise<unknown>) => {
      await run("sync", []); // no run pays for the previous one's writeback
      const t = performance.now();
      await fn();
      return (performance.now() - t) / 1000;
    };
    // ext4 without a journal (this lab's disk) will not hand out an inode freed in the last
    // minute without first scanning past it (recently_deleted() in its inode allocator): files
    // created right after a mass deletion (the seeding's wipe, a previous run's clean-up) cost
    // several times the CPU, the more files per message the more. A mirror at work does not
    // delete thousands of files before it stores, so the runs wait until the freed inodes are a
    // minute old (once synced), and nothing is deleted until the last run.
    await run("sync", []);
    log(`file store: waiting ${INODE_REUSE_SECONDS} s for the freed inodes to age`);
    await new Promise((r) => setTimeout(r, INODE_REUSE_SECONDS * 1000));
    for (let rep = 1; rep <= opts.repeat; rep++) {
      const dest = join(work, `run-${rep}`);
      await Deno.mkdir(dest);
      result.rsyncPlain.push(
        await timed(() => run("rsync", ["-a", `${exportDir}/`, join(dest, "rsync")])),
      );
      result.rsyncFsync.push(
        await timed(() => run("rsync", ["-a", "--fsync", `${exportDir}/`, join(dest, "rsync-f")])),
      );
      const root = join(dest, "store");
      await Deno.mkdir(root);
      const config = join(dest, "vmirror.json");
      await Deno.writeTextFile(config, JSON.stringify({ ...raw, target: { ...raw.target, root } }));
      const vm = (...args: string[]) => [
        "run",
        "-A",
        V8_FLAGS, // as the launchers and the executable run the appliance
        join(REPO_DIR, "main.ts"),
        ...args,
        "--config",
        config,
        "--data",
        join(dest, "data"),
      ];
      assertOk(
        "vmirror subscribe",
        await measure(Deno.execPath(), vm("subscribe", ...mailboxes), { cwd: REPO_DIR }),
      );
      await run("sync", []);
      const m = assertOk(
        "vmirror sync --once (files)",
        await measure(Deno.execPath(), vm("sync", "--once", "--json"), {
          cwd: REPO_DIR,
          servers: opts.servers,
        }),
      );
      const copied = (JSON.parse(m.stdout) as { totals: { copied: number } }).totals.copied;
      if (copied !== result.messages) {
        throw new Error(`vmirror stored ${copied} messages, expected ${result.messages}`);
      }
      result.vmirror.push(m);
      log(
        `file store ${rep}/${opts.repeat}: rsync -a ${
          fmt(result.rsyncPlain.at(-1)!)
        }, rsync -a --fsync ${fmt(result.rsyncFsync.at(-1)!)}, vmirror ${fmt(m.seconds)} (CPU ${
          m.cpuSeconds.toFixed(1)
        } s, peak RSS ${m.peakRssMb.toFixed(0)} MB)`,
      );
    }
    return result;
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

function fmt(s: number): string {
  return `${s.toFixed(2)} s`;
}

/** The report's lines: vmirror's file store against rsync, throughput ratios paired per run. */
export function filesLines(r: FilesBenchResult, target = 0.5): string[] {
  const vm = r.vmirror.map((m) => m.seconds);
  const rate = (s: number) => `${(r.messages / s).toFixed(0)} msgs/s`;
  const paired = vm.map((v, i) => r.rsyncFsync[i] / v);
  const ratio = median(paired);
  const verdict = ratio >= target ? "MET" : "NOT MET";
  return [
    `file store against rsync, ${r.messages} messages (${
      (r.bytes / 1e6).toFixed(1)
    } MB) of ${r.mailboxes} mailboxes, median of ${vm.length}:`,
    `  rsync -a ${fmt(median(r.rsyncPlain))} (${rate(median(r.rsyncPlain))}); rsync -a --fsync ${
      fmt(median(r.rsyncFsync))
    } (${rate(median(r.rsyncFsync))}); vmirror c=${r.concurrency} ${fmt(median(vm))} (${
      rate(median(vm))
    }, CPU ${median(r.vmirror.map((m) => m.cpuSeconds)).toFixed(1)} s, peak RSS ${
      Math.max(...r.vmirror.map((m) => m.peakRssMb)).toFixed(0)
    } MB)`,
    `  vmirror ÷ rsync --fsync (throughput), paired per run ${
      paired.map((x) => x.toFixed(2)).join(", ")
    }, median ${ratio.toFixed(2)}× (target ≥ ${target}×: ${verdict})`,
  ];
}
