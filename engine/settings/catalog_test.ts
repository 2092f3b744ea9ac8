import assert from "node:assert/strict";
import {
  EXCLUDED_PATHS,
  findSection,
  schemaLeaves,
  SECRET_PATHS,
  sectionFields,
  SETTINGS_SECTIONS,
} from "./catalog.ts";

const fields = SETTINGS_SECTIONS.flatMap((s) => sectionFields(s));

Deno.test("catalog covers every key of the config schema, or excludes it on purpose", () => {
  const offered = new Set(fields.map((f) => f.path));
  const missing = schemaLeaves().map((l) => l.path).filter((p) =>
    !offered.has(p) && !(p in EXCLUDED_PATHS)
  );
  assert.deepEqual(missing, [], "add these keys to engine/settings/catalog.ts");
});

Deno.test("catalog names no key the schema lacks, and the right target type for each", () => {
  const leaves = new Map(schemaLeaves().map((l) => [l.path, l]));
  for (const f of fields) {
    const leaf = leaves.get(f.path);
    assert.ok(leaf, `${f.path} is not in the schema`);
    if (f.variant) assert.deepEqual(leaf.variants, [f.variant], f.path);
    else if (f.path.startsWith("target.")) {
      assert.deepEqual(leaf.variants.sort(), ["files", "imap"]);
    }
  }
  for (const p of Object.keys(EXCLUDED_PATHS)) {
    assert.ok(leaves.has(p), `${p} is not in the schema`);
  }
});

Deno.test("catalog kinds and select options agree with the schema", () => {
  const leaves = new Map(schemaLeaves().map((l) => [l.path, l]));
  const want: Record<string, string[]> = {
    text: ["string"],
    secret: ["string"],
    number: ["number"],
    "nullable-number": ["number"],
    boolean: ["boolean"],
    list: ["array"],
    rules: ["array"],
    select: ["enum", "literal"],
  };
  for (const f of fields) {
    const leaf = leaves.get(f.path)!;
    assert.ok(want[f.kind].includes(leaf.type), `${f.path}: ${f.kind} for a ${leaf.type}`);
    if (f.kind === "select") {
      assert.deepEqual(f.options!.map((o) => o.value).sort(), [...leaf.values!].sort(), f.path);
    }
    assert.equal(f.kind === "secret", SECRET_PATHS.includes(f.path), f.path);
    assert.ok(f.label && f.help && !f.help.includes("\n"), f.path);
  }
});

Deno.test("catalog fields carry the schema's defaults", () => {
  const byPath = new Map(fields.map((f) => [`${f.variant ?? ""}${f.path}`, f]));
  assert.equal(byPath.get("smtp.port")?.default, 25);
  assert.equal(byPath.get("source.tls")?.default, "starttls");
  assert.equal(byPath.get("filestarget.createRoot")?.default, true);
  assert.equal(byPath.get("limits.maxMessageSeconds")?.default, null);
  assert.equal(byPath.get("source.host")?.default, undefined);
});

Deno.test("sections have unique ids and fields unique paths", () => {
  const ids = SETTINGS_SECTIONS.map((s) => s.id);
  assert.deepEqual(ids, [
    "source",
    "target",
    "ldap",
    "smtp",
    "schedule",
    "limits",
    "rules",
    "portal",
    "alerts",
    "general",
  ]);
  const paths = fields.map((f) => f.path);
  assert.equal(new Set(paths).size, paths.length);
  assert.equal(findSection("nope"), undefined);
  for (const s of SETTINGS_SECTIONS) {
    for (const r of s.removals ?? []) {
      for (const p of r.when) assert.ok(sectionFields(s).some((f) => f.path === p), p);
    }
  }
});
