/**
 * The house stays as built: reads the import graph (`deno info --json`) of every entry point and
 * fails on a broken rule — `engine/` by concern, each folder entered only through its `mod.ts`,
 * at most four loose modules at `engine/`'s top, no import cycle, an engine that knows no web and
 * no CLI, and Deno KV opened only by `engine/state/`.
 */
import assert from "node:assert/strict";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface InfoModule {
  specifier: string;
  dependencies?: {
    specifier: string;
    code?: { specifier?: string };
    type?: { specifier?: string };
  }[];
}

/** The project's own files (relative paths) and their local imports. */
async function importGraph(): Promise<Map<string, Set<string>>> {
  const entries = ["main.ts"];
  for (const dir of ["engine", "portal", "scripts", "tests"]) {
    for await (const f of walk(`${ROOT}${dir}`)) entries.push(relative(ROOT, f));
  }
  const graph = new Map<string, Set<string>>();
  // One `deno info` per batch of entry points keeps the run short.
  for (let i = 0; i < entries.length; i += 40) {
    const batch = entries.slice(i, i + 40);
    const root = `${ROOT}.house-${crypto.randomUUID()}.ts`;
    await Deno.writeTextFile(
      root,
      batch.map((e) => `import "./${e}";`).join("\n") + "\n",
    );
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["info", "--json", root],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
      for (const m of info.modules) {
        const from = local(m.specifier);
        if (!from || from.startsWith(".house-")) continue;
        const deps = graph.get(from) ?? new Set<string>();
        for (const d of m.dependencies ?? []) {
          for (const s of [d.code?.specifier, d.type?.specifier]) {
            const to = s ? local(s) : null;
            if (to) deps.add(to);
          }
        }
        graph.set(from, deps);
      }
    } finally {
      await Deno.remove(root);
    }
  }
  return graph;
}

function local(specifier: string): string | null {
  if (!specifier.startsWith("file://")) return null;
  const rel = relative(ROOT, fileURLToPath(specifier));
  return rel.startsWith("..") ? null : rel;
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(p);
    else if (/\.(ts|tsx)$/.test(e.name)) yield p;
  }
}

/** The engine folder a path belongs to ("mirror" for engine/mirror/x.ts), else null. */
function room(path: string): string | null {
  const m = /^engine\/([^/]+)\//.exec(path);
  return m ? m[1] : null;
}

const graph = await importGraph();

Deno.test("code outside an engine folder enters it only through its mod.ts", () => {
  const broken: string[] = [];
  for (const [from, deps] of graph) {
    for (const to of deps) {
      const r = room(to);
      if (r && room(from) !== r && !to.endsWith(`engine/${r}/mod.ts`)) {
        broken.push(`${from} → ${to}`);
      }
    }
  }
  assert.deepEqual(broken, [], `imports past a folder's door:\n${broken.join("\n")}`);
});

Deno.test("engine/ has folders by concern and at most four loose modules", async () => {
  const loose: string[] = [];
  const rooms: string[] = [];
  for await (const e of Deno.readDir(`${ROOT}engine`)) {
    if (e.isFile && e.name.endsWith(".ts")) loose.push(e.name);
    if (e.isDirectory) rooms.push(e.name);
  }
  assert.ok(loose.length <= 4, `loose modules at engine/'s top: ${loose.join(", ")}`);
  for (const r of rooms) {
    const mod = await Deno.stat(`${ROOT}engine/${r}/mod.ts`).catch(() => null);
    assert.ok(mod?.isFile, `engine/${r}/ has no mod.ts`);
  }
});

Deno.test("no import cycle between the project's modules", () => {
  // Tarjan's strongly connected components over the file graph.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) cycles.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.map((c) => c.join(" ↔ ")).join("\n")}`);
});

Deno.test("the engine knows no web and no CLI", async () => {
  const broken: string[] = [];
  for (const [from, deps] of graph) {
    if (!from.startsWith("engine/")) continue;
    for (const to of deps) {
      if (to === "main.ts" || to.startsWith("portal/")) broken.push(`${from} → ${to}`);
    }
    if (from.endsWith("_test.ts")) continue;
    const text = await Deno.readTextFile(`${ROOT}${from}`);
    if (/from "(hono|preact)[/"]/.test(text)) broken.push(`${from} → hono/preact`);
  }
  assert.deepEqual(broken, [], broken.join("\n"));
});

Deno.test("only engine/state/ opens Deno KV", async () => {
  const broken: string[] = [];
  for (const from of graph.keys()) {
    if (from.startsWith("engine/state/") || from.endsWith("house_test.ts")) continue;
    const text = await Deno.readTextFile(`${ROOT}${from}`);
    if (/Deno\.openKv\b|Deno\.Kv\b|\.kv\.(get|set|list|delete|atomic)\b/.test(text)) {
      broken.push(from);
    }
  }
  assert.deepEqual(broken, [], `Deno KV used outside engine/state/:\n${broken.join("\n")}`);
});
