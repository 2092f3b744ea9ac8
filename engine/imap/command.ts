/**
 * What a command (commands/<verb>.ts) needs of the session: a runner that sends one command and
 * hands over what the server says, and how a command reports a refusal.
 * @module
 */
import type { CommandPart } from "./encode.ts";
import type { Response } from "./parse.ts";

/** The session as commands see it. */
export interface Runner {
  /**
   * Sends one command (its tag added, literals framed as the server allows), hands every
   * untagged response to `untagged`, and returns the tagged answer after the tag (`OK …`,
   * `NO …`, `BAD …`). A refused literal ends the command early with the refusal.
   */
  run(parts: CommandPart[], untagged?: (r: Response) => void): Promise<string>;
  /** Whether the server announced a capability. */
  has(capability: string): boolean;
  /** Messages in the selected folder, as the server last said. */
  readonly exists: number;
}

/** Throws `<VERB> failed: <answer>` unless the answer is OK. */
export function expectOk(verb: string, answer: string): void {
  if (!/^OK/i.test(answer)) throw new Error(`${verb} failed: ${answer}`);
}
