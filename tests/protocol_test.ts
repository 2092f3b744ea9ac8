/**
 * What vmirror actually says to production, recorded by a TCP relay between vmirror and the
 * lab's production Dovecot: never a command that changes anything, and a pass with no change
 * costs one status-level round trip per mailbox.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeState, openState } from "../engine/state/mod.ts";
import { runSync } from "../engine/mirror/mod.ts";
import {
  appendRaw,
  assertReadOnly,
  lab,
  labConfig,
  scratchMailbox,
  snapshot,
  tempDir,
  variant,
  verb,
} from "./test_utils/mod.ts";

/** A relay to `port` that records every line the client sends (its commands). */
function relay(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const commands: string[] = [];
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.push(client, server);
      let pending = "";
      (async () => {
        try {
          for await (const chunk of client.readable.pipeThrough(new TransformStream())) {
            pending += new TextDecoder("latin1").decode(chunk as Uint8Array);
            const lines = pending.split("\r\n");
            pending = lines.pop()!;
            for (const l of lines) if (/^\S+ [A-Za-z]/.test(l)) commands.push(l);
            await server.write(chunk as Uint8Array);
          }
        } catch { /* closed */ }
        try {
          server.close();
        } catch { /* closed */ }
      })();
      (async () => {
        try {
          await server.readable.pipeTo(client.writable);
        } catch { /* closed */ }
      })();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    commands,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

Deno.test({
  name: "production only ever hears read-only commands; an unchanged pass is a STATUS per folder",
  async fn(t) {
    const mb = await scratchMailbox("7370");
    const seed = (await snapshot("prod", "4002", ["INBOX"])).folders.INBOX.messages;
    await appendRaw(
      "prod",
      mb,
      "INBOX",
      seed.slice(0, 4).map((m, i) => ({
        bytes: variant(m.bytes, i + 1),
        flags: m.flags,
        date: new Date(m.internalDate),
      })),
    );
    await appendRaw("prod", mb, lab().greetingsFolder, [{ bytes: variant(seed[0].bytes, 9) }]);
    const r = relay(lab().imap.prod.port);
    await using tmp = await tempDir("protocol");
    const dir = tmp.path;
    const config = await labConfig(dir, (raw) => {
      (raw.source as Record<string, unknown>).port = r.port;
    });
    const state = await openState(join(dir, "state.kv"));
    try {
      const first = await runSync(config, state, { mailboxes: [mb] });
      assert.equal(first.failed, 0, JSON.stringify(first.mailboxes[0].error));
      assert.ok(first.totals.copied > 0);
      await t.step("a full pass sends nothing that changes production", () => {
        assertReadOnly(r.commands);
        const verbs = new Set(r.commands.map(verb));
        assert.ok(verbs.has("EXAMINE"));
        // Bodies are fetched with BODY.PEEK, which leaves \Seen alone.
        const fetches = r.commands.filter((l) => /FETCH/i.test(l) && /BODY\[/i.test(l));
        assert.deepEqual(fetches, [], "a FETCH of BODY[] (not BODY.PEEK[]) would set \\Seen");
        // With nothing on the backup to adopt, the folder scan gives size and date and the
        // body gives the Message-ID: no message is read once more for its header.
        const headerFetches = r.commands.filter((l) => /FETCH/i.test(l) && /HEADER/i.test(l));
        assert.deepEqual(headerFetches, [], "a copy fetched headers besides the bodies");
      });
      await t.step(
        "a pass with no change costs one STATUS per folder and nothing else",
        async () => {
          r.commands.length = 0;
          const again = await runSync(config, state, { mailboxes: [mb] });
          assert.equal(again.failed, 0);
          const work = r.commands.map(verb).filter((v) =>
            ![
              "CAPABILITY",
              "ID",
              "AUTHENTICATE",
              "LOGIN",
              "ENABLE",
              "LOGOUT",
              "NAMESPACE",
              "COMPRESS",
            ]
              .includes(v)
          );
          assert.deepEqual(work, config.source.folders.map(() => "STATUS"), r.commands.join("\n"));
        },
      );
    } finally {
      closeState(state);
      r.close();
    }
  },
});
