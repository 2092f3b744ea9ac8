/**
 * `deno run -A scripts/bench_files.ts [--mailboxes N] [--messages N] [--concurrency N]
 * [--repeat N]`: the file-store target against rsync on the same disk, in one run
 * (scripts/bench/files.ts; `deno task bench` prints the same lines).
 * @module
 */
import { parseArgs } from "node:util";
import { startLab } from "./lab.ts";
import { filesLines, measureFiles } from "./bench/files.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      mailboxes: { type: "string", default: "20" },
      messages: { type: "string", default: "100" },
      concurrency: { type: "string", default: "8" },
      repeat: { type: "string", default: "3" },
    },
  });
  const int = (name: string, v: string, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      console.error(`--${name}: expected an integer 1–${max}, got "${v}"`);
      Deno.exit(2);
    }
    return n;
  };
  const opts = {
    mailboxes: int("mailboxes", values.mailboxes, 1000),
    messages: int("messages", values.messages, 10000),
    concurrency: int("concurrency", values.concurrency, 64),
    repeat: int("repeat", values.repeat, 10),
  };
  const lab = await startLab({ log: () => {} });
  const servers = [lab.imap.prod.pidFile].map((f) => Number(Deno.readTextFileSync(f).trim()));
  const result = await measureFiles(lab, { ...opts, servers, log: (l) => console.error(l) });
  console.log(filesLines(result).join("\n"));
}
