/**
 * Reading the commands a relay recorded between vmirror and a lab server: shared by the tests
 * that assert what production hears.
 * @module
 */
import assert from "node:assert/strict";

/** The command name of a recorded line ("S5 UID FETCH …" → "UID FETCH"). */
export function verb(line: string): string {
  const [, cmd, sub] = line.split(" ");
  const c = (cmd ?? "").toUpperCase();
  return c === "UID" ? `UID ${(sub ?? "").toUpperCase()}` : c;
}

/** Commands that change a mailbox: production must never hear one from the mirror. */
export const WRITE_COMMANDS = [
  "STORE",
  "UID STORE",
  "EXPUNGE",
  "UID EXPUNGE",
  "APPEND",
  "SELECT",
  "COPY",
  "UID COPY",
  "MOVE",
  "UID MOVE",
  "DELETE",
  "RENAME",
  "CREATE",
  "SETACL",
  "SETMETADATA",
];

/** Fails when any recorded command could change a mailbox. */
export function assertReadOnly(commands: string[]): void {
  const verbs = new Set(commands.map(verb));
  for (const w of WRITE_COMMANDS) assert.ok(!verbs.has(w), `production received ${w}`);
}
