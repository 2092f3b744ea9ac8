/**
 * `deno task compile [--target TRIPLE]`: the single executable (`dist/vmirror` or
 * `dist/vmirror.exe`). `deno compile` needs a `denort` runtime for the target: set `DENORT_BIN`
 * to a local copy where it cannot be downloaded. Offline without one, `deno task bundle` makes
 * the single-file `dist/vmirror.js` that runs the same appliance with `deno run`.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { V8_FLAGS } from "./release/launchers.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({ args: Deno.args, options: { target: { type: "string" } } });
const target = values.target;
const windows = target ? target.includes("windows") : Deno.build.os === "windows";
const out = join(root, "dist", windows ? "vmirror.exe" : "vmirror");

const denort = Deno.env.get("DENORT_BIN");
if (denort) {
  try {
    await Deno.stat(denort);
  } catch {
    console.error(`DENORT_BIN is set to "${denort}", which does not exist`);
    Deno.exit(1);
  }
  console.error(`Using the denort runtime at "${denort}"`);
}

// No --env-file here: it would bake the build machine's variables into the binary.
const args = [
  "compile",
  "-A",
  "--unstable-kv",
  "--no-check=remote",
  V8_FLAGS,
  "-o",
  out,
  ...(target ? ["--target", target] : []),
  join(root, "main.ts"),
];
const res = await new Deno.Command(Deno.execPath(), {
  args,
  cwd: root,
  stdout: "inherit",
  stderr: "inherit",
})
  .output();
if (!res.success) {
  console.error(
    denort
      ? "deno compile failed (see above)"
      : "deno compile failed: it downloads a denort runtime for the target; set DENORT_BIN to a local denort, or use `deno task bundle` for the single-file build",
  );
  Deno.exit(res.code || 1);
}
console.log(`Built ${out}`);
