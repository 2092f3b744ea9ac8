/**
 * `deno run -A scripts/bench_files.ts [--mailboxes N] [--messages N] [--concurrency N]
 * [--repeat N]`: the file-store target against rsync on the same disk, in one run
 * (scripts/bench/files.ts; `deno task bench` prints the same lines).
 * @module
 */
import { parseArgs } from "node:util";
import { startLab } from "./lab.ts";
import { filesLines, measureFiles } from "./bench/files.ts";
import { intOption } from "./bench/args.ts";

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
  const opts = {
    mailboxes: intOption("mailboxes", values.mailboxes, 1, 1000),
    messages: intOption("messages", values.messages, 1, 10000),
    concurrency: intOption("concurrency", values.concurrency, 1, 64),
    repeat: intOption("repeat", values.repeat, 1, 10),
  };
  const lab = await startLab({ log: () => {} });
  const servers = [lab.imap.prod.pidFile].map((f) => Number(Deno.readTextFileSync(f).trim()));
  const result = await measureFiles(lab, { ...opts, servers, log: (l) => console.error(l) });
  console.log(filesLines(result).join("\n"));
}
