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
  } catch (e) {
    // JSON.parse reports a character offset; translate it so the operator can find the spot.
    const m = /position (\d+)/.exec(String(e));
    const pos = m ? Number(m[1]) : 0;
    const before = stripped.slice(0, pos).split("\n");
    throw new JsoncError(
      `Invalid JSON: ${String((e as Error).message).replace(/ in JSON at position \d+.*$/, "")}`,
      before.length,
      before[before.length - 1].length + 1,
    );
  }
}

// Comments become spaces (newlines kept) so positions in errors stay true to the file.
function stripComments(text: string): string {
  let out = "";
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      const start = i++;
      while (i < n && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      out += text.slice(start, ++i);
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < n && text[i] !== "\n") {
        out += " ";
        i++;
      }
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

// Runs after comments are gone, so a comment between a comma and a bracket does not hide it.
function dropTrailingCommas(text: string): string {
  let out = "";
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      const start = i++;
      while (i < n && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      out += text.slice(start, ++i);
      continue;
    }
    if (c === ",") {
      let j = i + 1;
      while (j < n && /\s/.test(text[j])) j++;
      out += text[j] === "}" || text[j] === "]" ? " " : ",";
    } else {
      out += c;
    }
    i++;
  }
  return out;
}
