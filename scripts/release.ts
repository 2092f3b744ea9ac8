/**
 * `deno task release [--target linux-x64|windows-x64]... [--version V] [--key FILE]
 * [--key-name NAME] [--out DIR]`: builds `dist/<version>/` — per target the compiled executable
 * where a compile runtime is at hand (`DENORT_BIN`, for the host's target), else the portable
 * package (Deno runtime from the npm registry, the bundled appliance, a launcher) — with
 * SHA256SUMS and its Ed25519 signature. Without `--key` it signs with the development key
 * (scripts/release/dev-signing-key.pem): fine for the lab, never for customers.
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { importSigningKey } from "../engine/release/mod.ts";
import { buildRelease } from "./release/build.ts";
import { type ReleaseTarget, TARGETS } from "./release/launchers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEV_KEY = fileURLToPath(new URL("./release/dev-signing-key.pem", import.meta.url));
const USAGE = "usage: deno task release [--target linux-x64|windows-x64]... [--version V] " +
  "[--key FILE] [--key-name NAME] [--out DIR]";

if (import.meta.main) {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        target: { type: "string", multiple: true },
        version: { type: "string" },
        key: { type: "string" },
        "key-name": { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const names = values.target?.length ? values.target : Object.keys(TARGETS);
  const targets: ReleaseTarget[] = [];
  for (const n of names) {
    const t = TARGETS[n as ReleaseTarget["name"]];
    if (!t) {
      console.error(`--target: unknown target "${n}" (known: ${Object.keys(TARGETS).join(", ")})`);
      Deno.exit(2);
    }
    targets.push(t);
  }
  const keyFile = values.key ?? DEV_KEY;
  if (!values.key) {
    console.error("Signing with the development key: for the lab only (give --key for a release)");
  }
  let key: CryptoKey;
  try {
    key = await importSigningKey(await Deno.readTextFile(keyFile));
  } catch (e) {
    console.error(`Cannot use the signing key "${keyFile}": ${(e as Error).message}`);
    Deno.exit(1);
  }
  const denort = Deno.env.get("DENORT_BIN");
  if (denort && !(await Deno.stat(denort).catch(() => null))?.isFile) {
    console.error(`DENORT_BIN is set to "${denort}", which is not a file`);
    Deno.exit(1);
  }
  try {
    const result = await buildRelease({
      root: ROOT,
      targets,
      version: values.version,
      key,
      keyName: values["key-name"] ?? (values.key ? "release" : "development"),
      outDir: values.out ?? `${ROOT}dist`,
      denort,
      log: (line) => console.error(line),
    });
    for (const f of result.files) console.log(`${f.target}\t${f.form}\t${result.dir}/${f.name}`);
    console.log(`${result.dir}/SHA256SUMS`);
    console.log(`${result.dir}/SHA256SUMS.sig`);
  } catch (e) {
    console.error(`Release build failed: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
