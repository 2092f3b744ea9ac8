/**
 * `deno run -A scripts/bench_memory.ts [--messages N]`: peak memory of `vmirror sync --once`
 * against the lab, as a table: an empty mailbox (the baseline), one 50 MB message (streamed),
 * and a folder of N small messages (default 20,000). Peak RSS is sampled from /proc.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readLab, startLab } from "./lab.ts";
import { V8_FLAGS } from "./release/launchers.ts";
import { appendRaw, scratchMailbox, snapshot, variant } from "../tests/test_utils/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({ args: Deno.args, options: { messages: { type: "string" } } });
const COUNT = Number(values.messages ?? 20000);

/** Runs `vmirror sync --once` for one mailbox; returns seconds and peak RSS in MB. */
async function measure(mailbox: string, dataDir: string): Promise<{ s: number; rssMb: number }> {
  const lab = readLab();
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      V8_FLAGS, // as the launchers and the executable run the appliance
      join(ROOT, "main.ts"),
      "sync",
      "--once",
      "--mailbox",
      mailbox,
      "--config",
      lab.configs.imap,
      "--data",
      dataDir,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      const m = /VmHWM:\s+(\d+) kB/.exec(status);
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      // exited
    }
  }, 10);
  const err = new Response(child.stderr).text();
  const st = await child.status;
  clearInterval(sampler);
  if (!st.success) throw new Error(`sync failed: ${await err}`);
  return { s: (performance.now() - t0) / 1000, rssMb: peak / 1024 };
}

function bigMessage(mb: number): Uint8Array {
  const raw = new Uint8Array(Math.floor((mb * 1024 * 1024 * 3) / 4));
  for (let i = 0; i < raw.length; i += 65536) {
    crypto.getRandomValues(raw.subarray(i, Math.min(i + 65536, raw.length)));
  }
  let b64 = "";
  for (let i = 0; i < raw.length; i += 57000) {
    b64 += btoa(String.fromCharCode(...raw.subarray(i, i + 57000))).replace(/.{76}/g, "$&\r\n") +
      "\r\n";
  }
  return new TextEncoder().encode(
    `From: <15550199@mss.lab>\r\nSubject: big\r\nMessage-ID: <big-${crypto.randomUUID()}@bench>\r\n` +
      `MIME-Version: 1.0\r\nContent-Type: audio/wav\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}`,
  );
}

if (import.meta.main) {
  await startLab({ log: () => {} });
  const dir = await Deno.makeTempDir({ prefix: "vmirror-bench-mem-" });
  const rows: string[][] = [];
  try {
    const empty = await scratchMailbox("7390");
    const base = await measure(empty, join(dir, "a"));
    rows.push(["empty mailbox (baseline)", "0", base.s.toFixed(2), base.rssMb.toFixed(0), "—"]);

    // Two sizes: if memory is flat, the peak does not grow with the message.
    for (const size of [50, 200]) {
      const bigBox = await scratchMailbox(String(7393 + size));
      await appendRaw("prod", bigBox, "INBOX", [{ bytes: bigMessage(size), date: new Date() }]);
      const big = await measure(bigBox, join(dir, `b${size}`));
      rows.push([
        `one ${size} MB message`,
        "1",
        big.s.toFixed(2),
        big.rssMb.toFixed(0),
        (big.rssMb - base.rssMb).toFixed(0),
      ]);
    }

    const many = await scratchMailbox("7392");
    const seed = (await snapshot("prod", "4002", ["INBOX"])).folders.INBOX.messages[0];
    console.error(`seeding ${COUNT} messages…`);
    for (let i = 0; i < COUNT; i += 500) {
      await appendRaw(
        "prod",
        many,
        "INBOX",
        Array.from({ length: Math.min(500, COUNT - i) }, (_, k) => ({
          bytes: variant(seed.bytes, i + k + 1),
          date: new Date(Date.UTC(2026, 0, 1) + (i + k) * 1000),
        })),
      );
      console.error(`  ${Math.min(i + 500, COUNT)}/${COUNT}`);
    }
    const full = await measure(many, join(dir, "c"));
    rows.push([
      `a folder of ${COUNT} messages`,
      String(COUNT),
      full.s.toFixed(2),
      full.rssMb.toFixed(0),
      (full.rssMb - base.rssMb).toFixed(0),
    ]);
    const again = await measure(many, join(dir, "c"));
    rows.push([
      `  the same, no change`,
      "0",
      again.s.toFixed(2),
      again.rssMb.toFixed(0),
      (again.rssMb - base.rssMb).toFixed(0),
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const head = ["scenario", "messages copied", "seconds", "peak RSS MB", "over baseline MB"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join(" | ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
  for (const r of rows) console.log(line(r));
}
