/**
 * A fake of the session's {@link Runner} for the commands' unit tests: it records each command
 * as the wire would carry it (literals written `{n}` followed by their bytes as latin1) and
 * plays the scripted untagged responses and tagged answer back. No socket: the framing itself
 * is tested against a fake peer in session_test.ts, real servers in tests/.
 */
import type { Runner } from "../command.ts";
import type { CommandPart } from "../encode.ts";
import type { Response } from "../parse.ts";

/** One scripted reply: untagged response texts (literals as `{n}\0` plus `literals`) and the answer. */
export interface FakeReply {
  untagged?: (string | Response)[];
  answer?: string;
}

/** A fake runner with capabilities `caps`, answering each command with the next reply. */
export function fakeRunner(caps: string[], replies: FakeReply[], exists = 1) {
  const sent: string[] = [];
  const latin1 = new TextDecoder("latin1");
  const runner: Runner = {
    run: async (parts: CommandPart[], untagged?: (r: Response) => void) => {
      let line = "";
      for (const p of parts) {
        if (typeof p === "string") line += p;
        else {
          const chunks: Uint8Array[] = [];
          await p.write((b) => Promise.resolve(void chunks.push(b.slice())));
          line += `{${p.size}}` + chunks.map((c) => latin1.decode(c)).join("");
        }
      }
      sent.push(line);
      const reply = replies.shift() ?? {};
      for (const u of reply.untagged ?? []) {
        untagged?.(typeof u === "string" ? { text: u, literals: [] } : u);
      }
      return reply.answer ?? "OK done";
    },
    has: (c) => caps.includes(c.toUpperCase()),
    exists,
  };
  return { runner, sent };
}
