import assert from "node:assert/strict";
import { JsoncError, parseJsonc } from "./jsonc.ts";

// Parses `text` expecting a JsoncError and returns it.
function parseError(text: string): JsoncError {
  try {
    parseJsonc(text);
  } catch (e) {
    assert.ok(e instanceof JsoncError, `expected a JsoncError, got ${e}`);
    return e;
  }
  assert.fail(`expected ${JSON.stringify(text)} not to parse`);
}

Deno.test("parseJsonc() parses plain JSON like JSON.parse", () => {
  const text = '{"a": 1, "b": [true, false, null], "c": {"d": "e"}, "f": -1.5e3}';
  assert.deepEqual(parseJsonc(text), JSON.parse(text));
  assert.equal(parseJsonc("42"), 42);
  assert.equal(parseJsonc('"x"'), "x");
  assert.deepEqual(parseJsonc("[]"), []);
});

Deno.test("parseJsonc() drops line comments", () => {
  const text = `// leading
{
  "a": 1, // after a value
  // a whole line
  "b": 2
}
// trailing`;
  assert.deepEqual(parseJsonc(text), { a: 1, b: 2 });
});

Deno.test("parseJsonc() drops block comments, single- and multi-line", () => {
  const text = `/* header
   spanning lines */
{
  "a": /* inline */ 1,
  /*
   * a block
   */
  "b": [1, /* between */ 2]
}`;
  assert.deepEqual(parseJsonc(text), { a: 1, b: [1, 2] });
});

Deno.test("parseJsonc() leaves comment markers inside strings untouched", () => {
  const text = `{
    "url": "http://x", // a URL's // is not a comment
    "glob": "/* not a comment */",
    "path": "a//b/*c*/d"
  }`;
  assert.deepEqual(parseJsonc(text), {
    url: "http://x",
    glob: "/* not a comment */",
    path: "a//b/*c*/d",
  });
});

Deno.test("parseJsonc() keeps escaped quotes inside strings", () => {
  const text = String.raw`{"q": "say \"// hi\" /* there */", "bs": "C:\\", "n": 1}`;
  assert.deepEqual(parseJsonc(text), { q: 'say "// hi" /* there */', bs: "C:\\", n: 1 });
});

Deno.test("parseJsonc() accepts trailing commas in objects and arrays", () => {
  assert.deepEqual(parseJsonc('{"a": 1,}'), { a: 1 });
  assert.deepEqual(parseJsonc("[1, 2,]"), [1, 2]);
  assert.deepEqual(parseJsonc('{"a": [1, {"b": 2,},],\n}'), { a: [1, { b: 2 }] });
  assert.deepEqual(parseJsonc("[1,\n\t  \n]"), [1]);
});

Deno.test("parseJsonc() accepts a trailing comma with a comment before the bracket", () => {
  assert.deepEqual(parseJsonc('{"a": 1, // last one\n}'), { a: 1 });
  assert.deepEqual(parseJsonc('{"a": 1, /* last */ }'), { a: 1 });
  assert.deepEqual(parseJsonc("[1, 2, /* a\n b */ // c\n]"), [1, 2]);
});

Deno.test("parseJsonc() leaves commas and brackets inside strings alone", () => {
  assert.deepEqual(parseJsonc('{"s": ",}", "t": [",]",],}'), { s: ",}", t: [",]"] });
});

Deno.test("parseJsonc() still rejects a doubled comma", () => {
  parseError("[1,,]");
  parseError('{"a": 1,,}');
});

Deno.test("parseJsonc() reports the line and column of a missing comma", () => {
  const e = parseError('{\n  "a": 1\n  "b": 2\n}');
  assert.equal(e.line, 3);
  assert.equal(e.column, 3);
  assert.match(e.message, /at line 3, column 3$/);
});

Deno.test("parseJsonc() reports positions true to the file after comments", () => {
  const e = parseError('/* one\n two */ {\n "a": 1 // note\n "b": 2 }');
  assert.equal(e.line, 4);
  assert.equal(e.column, 2);
  const f = parseError('// header\n{"a" 1}');
  assert.equal(f.line, 2);
  assert.equal(f.column, 6);
});

Deno.test("parseJsonc() reports the position of an unterminated array", () => {
  const e = parseError('{"a": [1, 2');
  assert.equal(e.line, 1);
  assert.equal(e.column, 12);
});

Deno.test("parseJsonc() reports the position of text after the value", () => {
  const e = parseError('{"a": 1}\n}');
  assert.equal(e.line, 2);
  assert.equal(e.column, 1);
});

Deno.test("parseJsonc() reports the line and column of an unexpected token", () => {
  // V8 words this error without "position N"; the fault is the "}" on line 3, column 8.
  const e = parseError('{\n  "a": 1,\n  "b": }');
  assert.deepEqual([e.line, e.column], [3, 8]);
  const f = parseError('{\n  "source": {\n    "tls": tls\n  }\n}');
  assert.deepEqual([f.line, f.column], [3, 12]);
});

Deno.test("parseJsonc() names the position once, as line and column only", () => {
  const e = parseError('{"a": 1}\n}');
  assert.doesNotMatch(e.message, /position \d+/);
  assert.match(e.message, /at line 2, column 1$/);
});

Deno.test("JsoncError sets its name and carries line and column", () => {
  const e = new JsoncError("Bad", 2, 5);
  assert.equal(e.name, "JsoncError");
  assert.equal(e.message, "Bad at line 2, column 5");
  assert.equal(e.line, 2);
  assert.equal(e.column, 5);
  assert.ok(e instanceof Error);
});
