/**
 * JSONC (JSON with comments and trailing commas) parsing for the config file.
 * @module
 */

/** A JSONC text that cannot be parsed; carries the line and column of the fault. */
export class JsoncError extends Error {
  override name = "JsoncError";
  /** Builds the error with the 1-based position of the fault. */
  constructor(message: string, readonly line: number, readonly column: number) {
    super(`${message} at line ${line}, column ${column}`);
  }
}

/** Parses JSONC: `//` and `/* *\/` comments and trailing commas are allowed. */
export function parseJsonc(text: string): unknown {
  const stripped = dropTrailingCommas(stripComments(text));
  try {
    return JSON.parse(stripped);
  } catch {
    // V8's message quotes the text around the fault (maybe a password) and often has no
    // position: find the fault ourselves and describe it without echoing content.
    const fault = locateFault(stripped);
    const before = stripped.slice(0, fault.pos).split("\n");
    throw new JsoncError(
      `Invalid JSON: ${fault.what}`,
      before.length,
      before[before.length - 1].length + 1,
    );
  }
}

// A small validating scanner, used only to report where JSON.parse failed.
function locateFault(t: string): { pos: number; what: string } {
  let i = 0;
  const ws = () => {
    while (i < t.length && " \t\r\n".includes(t[i])) i++;
  };
  const fail = (what: string): never => {
    throw { pos: i, what };
  };
  const value = (): void => {
    ws();
    const c = t[i];
    if (c === "{") {
      i++;
      ws();
      if (t[i] === "}") return void i++;
      for (;;) {
        ws();
        if (t[i] !== '"') fail("expected a quoted key");
        string();
        ws();
        if (t[i] !== ":") fail('expected ":" after a key');
        i++;
        value();
        ws();
        if (t[i] === ",") i++;
        else if (t[i] === "}") return void i++;
        else fail('expected "," or "}"');
      }
    } else if (c === "[") {
      i++;
      ws();
      if (t[i] === "]") return void i++;
      for (;;) {
        value();
        ws();
        if (t[i] === ",") i++;
        else if (t[i] === "]") return void i++;
        else fail('expected "," or "]"');
      }
    } else if (c === '"') string();
    else if (c !== undefined && /[-0-9]/.test(c)) {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(t.slice(i));
      if (!m) fail("invalid number");
      i += m![0].length;
    } else if (t.startsWith("true", i)) i += 4;
    else if (t.startsWith("false", i)) i += 5;
    else if (t.startsWith("null", i)) i += 4;
    else if (c === undefined) fail("unexpected end of file");
    else fail("expected a value (strings need double quotes)");
  };
  const string = () => {
    i++;
    while (i < t.length && t[i] !== '"') {
      if (t[i] === "\n") fail("unterminated string");
      i += t[i] === "\\" ? 2 : 1;
    }
    if (i >= t.length) fail("unterminated string");
    i++;
  };
  try {
    value();
    ws();
    if (i < t.length) fail("unexpected text after the end");
  } catch (e) {
    if (typeof e === "object" && e && "pos" in e) return e as { pos: number; what: string };
    throw e;
  }
  return { pos: 0, what: "not valid JSON" };
}

// Copies strings through untouched and lets `step` rewrite the rest: at position i it returns
// what to write and how many characters (at least one) it took.
function outsideStrings(text: string, step: (i: number) => [string, number]): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
    } else {
      const [piece, used] = step(i);
      out += piece;
      i += used;
    }
  }
  return out;
}

// Just past the closing quote of the string that opens at `start` (escapes skipped), or past
// the end of the text when the string is not closed.
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
  return i + 1;
}

// Comments become spaces (newlines kept) so positions in errors stay true to the file.
function stripComments(text: string): string {
  return outsideStrings(text, (i) => {
    if (text[i] === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? text.length : end;
      return [" ".repeat(stop - i), stop - i];
    }
    if (text[i] === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      return [text.slice(i, stop).replace(/[^\n]/g, " "), stop - i];
    }
    return [text[i], 1];
  });
}

// Runs after comments are gone, so a comment between a comma and a bracket does not hide it.
function dropTrailingCommas(text: string): string {
  return outsideStrings(text, (i) => {
    if (text[i] !== ",") return [text[i], 1];
    let j = i + 1;
    while (j < text.length && /\s/.test(text[j])) j++;
    return [text[j] === "}" || text[j] === "]" ? " " : ",", 1];
  });
}
