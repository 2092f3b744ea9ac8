/**
 * `deno task test`: starts the lab (installing what it needs), runs the whole suite against it,
 * with Deno's op and resource sanitizers on, and ends with the plain line `N passed, N failed`
 * that CI reads.
 * Extra arguments go to `deno test` (e.g. a file or `--filter NAME`).
 * @module
 */
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const deno = Deno.execPath();

async function run(args: string[], opts: { capture?: boolean } = {}) {
  const child = new Deno.Command(deno, {
    args,
    cwd: root,
    stdout: opts.capture ? "piped" : "inherit",
    stderr: "inherit",
  }).spawn();
  let out = "";
  if (opts.capture) {
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      await Deno.stdout.write(chunk);
      out += decoder.decode(chunk, { stream: true });
    }
  }
  const status = await child.status;
  return { code: status.code, out };
}

/** The counts from `deno test`'s closing line (steps are not tests). */
export function parseDenoTestSummary(out: string): { passed: number; failed: number } | null {
  // deno-lint-ignore no-control-regex -- strip ANSI colours before matching
  const plain = out.replace(/\x1b\[[0-9;]*m/g, "");
  const m = /^(?:ok|FAILED) \| (\d+) passed(?: \([^)]*\))? \| (\d+) failed/m.exec(plain);
  return m ? { passed: Number(m[1]), failed: Number(m[2]) } : null;
}

if (import.meta.main) {
  // A fresh lab each run: suites add and expunge messages, so a reused one drifts.
  console.error("== resetting the lab (real Dovecot, slapd, SMTP on 127.0.0.1)");
  const lab = await run(["run", "-A", "scripts/lab.ts", "reset"]);
  if (lab.code !== 0) {
    console.error("The lab did not start; see above");
    console.log("0 passed, 1 failed");
    Deno.exit(1);
  }
  const extra = Deno.args.length ? Deno.args : [];
  // Sanitizers on for every test; a test that drives a client leaking timers beyond our control
  // turns them off itself, with its reason.
  const res = await run(
    ["test", "-A", "--no-check=remote", "--sanitize-ops", "--sanitize-resources", ...extra],
    { capture: true },
  );
  const counts = parseDenoTestSummary(res.out);
  if (!counts) {
    console.error("deno test ended without a summary (a compile error?)");
    console.log("0 passed, 1 failed");
    Deno.exit(res.code || 1);
  }
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  Deno.exit(res.code);
}
