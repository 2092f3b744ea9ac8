/**
 * Malformed and hostile messages on the lab's real production Dovecot, mirrored to both targets:
 * a pass neither crashes nor hangs, every message production holds is on the mirror byte for
 * byte with its date and flags or is counted with a reason (a placeholder, a skip), nothing is
 * lost silently, a second pass changes nothing, and the portal's reader opens every copy.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openMailboxReader } from "../portal/mailbox_reader.ts";
import { closeState, openState } from "../engine/state/mod.ts";
import { runSync, type SyncSummary } from "../engine/mirror/mod.ts";
import {
  malformedCorpus,
  placeholderOf,
  scratchMailbox,
  SIDES,
  type SnapMessage,
  snapshot,
  tempDir,
  withImap,
} from "./test_utils/mod.ts";

// A pass over thirty small messages takes seconds; ten times that is a hang, not a slow server.
const PASS_DEADLINE_MS = 120_000;

async function withDeadline<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish in ${PASS_DEADLINE_MS} ms`)),
      PASS_DEADLINE_MS,
    );
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function digest(bytes: Uint8Array): Promise<string> {
  return Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/** Appends each corpus message on its own, so one refusal names itself and spares the rest. */
async function appendCorpus(mailbox: string): Promise<{ accepted: string[]; refused: string[] }> {
  const accepted: string[] = [];
  const refused: string[] = [];
  await withImap("prod", mailbox, async (client) => {
    for (const m of malformedCorpus()) {
      try {
        await client.append("INBOX", m.bytes, m.flags, m.date);
        accepted.push(m.name);
      } catch {
        refused.push(m.name);
      }
    }
  });
  return { accepted, refused };
}

function reported(summary: SyncSummary): number {
  const t = summary.totals;
  return t.placeholders + Object.values(t.skipped).reduce((a, b) => a + b, 0);
}

/**
 * Production's messages against the mirror's, as multisets of content digests: every production
 * message has one byte-identical copy with its date and flags, or is one of `reportedCount`
 * messages the pass reported; the mirror holds nothing else but placeholders.
 */
async function assertMirroredOrReported(
  prod: SnapMessage[],
  mirror: SnapMessage[],
  reportedCount: number,
): Promise<void> {
  const copies = new Map<string, SnapMessage[]>();
  for (const m of mirror) {
    const key = await digest(m.bytes);
    copies.set(key, [...(copies.get(key) ?? []), m]);
  }
  const missing: SnapMessage[] = [];
  for (const p of prod) {
    const list = copies.get(await digest(p.bytes)) ?? [];
    // Byte-identical deliveries are told apart by what else the mirror kept of them.
    const sameFlags = (c: SnapMessage) => JSON.stringify(c.flags) === JSON.stringify(p.flags);
    const i = list.findIndex((c) => c.internalDate === p.internalDate && sameFlags(c));
    if (i < 0) {
      assert.deepEqual(
        list.map((c) => ({ date: new Date(c.internalDate).toISOString(), flags: c.flags })),
        [],
        `UID ${p.uid} (${p.messageId}, ${new Date(p.internalDate).toISOString()} ${p.flags}): ` +
          "a copy with another date or other flags",
      );
      missing.push(p);
    } else {
      list.splice(i, 1);
    }
  }
  const extra = [...copies.values()].flat();
  assert.ok(
    extra.every((m) => placeholderOf(m.bytes) !== null),
    `the mirror holds messages production does not: ${extra.map((m) => m.uid).join(", ")}`,
  );
  assert.equal(
    missing.length,
    reportedCount,
    `not on the mirror: UIDs ${missing.map((m) => `${m.uid} ${m.messageId}`).join(", ")}`,
  );
  assert.equal(extra.length <= missing.length, true, "more placeholders than reported messages");
}

for (const [n, side] of SIDES.entries()) {
  Deno.test({
    name:
      `[${side.kind}] malformed messages are mirrored byte for byte or reported, never lost or duplicated`,
    async fn(t) {
      const mb = await scratchMailbox(String(7390 + n));
      await using tmp = await tempDir(`malformed-${side.kind}`);
      const dir = tmp.path;
      const config = await side.config(dir);
      await side.wipe(config, mb);
      const state = await openState(join(dir, "state.kv"));
      try {
        const { accepted, refused } = await appendCorpus(mb);
        await t.step("production takes the corpus (a refusal is the server's, not ours)", () => {
          // Dovecot refuses NUL bytes in an APPEND literal (RFC 3501 forbids them there); the
          // parsers meet them in the unit tests instead.
          assert.deepEqual(refused.filter((r) => r !== "nul-bytes"), []);
          assert.ok(accepted.length >= malformedCorpus().length - 1);
        });
        const prod = (await snapshot("prod", mb, ["INBOX"])).folders.INBOX.messages;
        assert.equal(prod.length, accepted.length);

        const first = await withDeadline(
          "the first pass",
          runSync(config, state, { mailboxes: [mb] }),
        );
        await t.step("the pass succeeds", () => {
          assert.equal(first.failed, 0, JSON.stringify(first.mailboxes[0].error));
        });
        await t.step("every message is on the mirror byte for byte, or reported", async () => {
          const mirror = (await side.read(config, mb, ["INBOX"])).folders.INBOX?.messages ?? [];
          assert.equal(first.totals.copied + reported(first), prod.length);
          await assertMirroredOrReported(prod, mirror, reported(first));
          // A file store keeps every message whole: nothing there may be left out.
          if (side.kind === "files") assert.equal(reported(first), 0);
        });
        await t.step("a second pass changes nothing", async () => {
          const again = await withDeadline(
            "the second pass",
            runSync(config, state, { mailboxes: [mb] }),
          );
          assert.equal(again.failed, 0, JSON.stringify(again.mailboxes[0].error));
          const x = again.totals;
          assert.deepEqual([x.copied, x.deleted, x.flagsUpdated, x.placeholders], [0, 0, 0, 0]);
          const mirror = (await side.read(config, mb, ["INBOX"])).folders.INBOX?.messages ?? [];
          await assertMirroredOrReported(prod, mirror, reported(first));
        });
        await t.step("the portal's reader lists, opens and plays every copy", async () => {
          const reader = openMailboxReader(config, mb, { state });
          try {
            const page = await reader.list("INBOX", { offset: 0, limit: 200 });
            const held = (await side.read(config, mb, ["INBOX"])).folders.INBOX?.messages ?? [];
            assert.equal(page.total, held.length);
            assert.equal(page.items.length, held.length);
            for (const item of page.items) {
              const ref = { folder: "INBOX", uidValidity: page.uidValidity, uid: item.uid };
              const one = await reader.get(ref);
              assert.ok(one, `UID ${item.uid} listed but cannot be opened`);
              for (const v of one.voices) {
                // A voice part may be undecodable; asking for it must answer, not throw.
                await reader.voice(ref, v.index);
              }
            }
          } finally {
            await reader.close();
          }
        });
      } finally {
        closeState(state);
      }
    },
  });
}
