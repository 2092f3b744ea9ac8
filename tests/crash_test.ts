/**
 * Exactly once under kill -9: the CLI is killed at random moments while it mirrors a mailbox of
 * a few hundred messages; afterwards the mirror (backup MSS — Dovecot or Cyrus — or file store)
 * holds each message exactly once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  appendRaw,
  cyrusSide,
  lab,
  type MirrorSide,
  scratchMailbox,
  SIDES,
  type Snapshot,
  snapshot,
  variant,
  wipeMailbox,
} from "./test_utils/mod.ts";
import type { Config } from "../engine/config/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const COUNT = Number(Deno.env.get("VMIRROR_CRASH_MESSAGES") ?? 300);

function cli(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "main.ts"), ...args],
    cwd: ROOT,
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** How long the CLI takes to start on this machine now (a loaded machine is much slower). */
async function startupMs(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    await cli(["version"]).status;
    times.push(performance.now() - t0);
  }
  return Math.min(...times);
}

async function mirrorCount(side: MirrorSide, config: Config, mailbox: string): Promise<number> {
  const s = await side.read(config, mailbox, ["INBOX"]);
  return s.folders.INBOX?.messages.length ?? 0;
}

function byMessageId(s: Snapshot, folder: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of s.folders[folder]?.messages ?? []) {
    out.set(m.messageId ?? "", (out.get(m.messageId ?? "") ?? 0) + 1);
  }
  return out;
}

// The Dovecot backup and the file store, then Cyrus as the backup MSS.
for (const [n, side] of [...SIDES, cyrusSide].entries()) {
  const label = side.name === "cyrus" ? side.name : side.kind;
  Deno.test({
    name: `[${label}] kill -9 at random moments neither loses nor duplicates a message`,
    async fn() {
      const mb = await scratchMailbox(String(7311 + n * 5));
      const seeded = await snapshot("prod", "4003", ["INBOX"]);
      const b = lab().broadcast;
      const pool = seeded.folders.INBOX.messages.filter((m) =>
        !new RegExp(`^${b.header}:`, "im").test(
          new TextDecoder("latin1").decode(m.bytes.subarray(0, 4096)),
        )
      );
      let total = 0;
      const addMessages = async (n: number) => {
        await appendRaw(
          "prod",
          mb,
          "INBOX",
          Array.from({ length: n }, (_, k) => {
            const i = total + k;
            return {
              bytes: variant(pool[i % pool.length].bytes, i + 1),
              flags: pool[i % pool.length].flags,
              date: new Date(Date.UTC(2026, 0, 1) + i * 1000),
            };
          }),
        );
        total += n;
      };
      await addMessages(COUNT);
      const dir = await Deno.makeTempDir({ prefix: "vmirror-crash-" });
      try {
        const config = await side.config(dir);
        await side.wipe(config, mb);
        const args = ["sync", "--once", "--mailbox", mb, "--config", config.file!, "--data", dir];
        let kills = 0;
        const progress: string[] = [];
        let midCopy = 0;
        let lastCount = 0;
        let finished = false;
        const startup = await startupMs();
        for (let round = 0; round < 80 && (kills < 8 || midCopy < 3); round++) {
          // A pass that got through leaves nothing to do: give the next one fresh work to die in.
          if (finished) await addMessages(150);
          const child = cli(args);
          // Kill somewhere across start-up and copying, scaled by how long start-up takes here.
          const wait = Math.floor(startup * 0.5 + Math.random() * (startup + 600));
          const timer = setTimeout(() => {
            try {
              child.kill("SIGKILL");
              kills++;
            } catch { /* already exited */ }
          }, wait);
          const status = await child.status;
          clearTimeout(timer);
          finished = status.success;
          const held = await mirrorCount(side, config, mb);
          // A kill that left the mirror with more than before but not all: it hit mid-copy.
          if (!finished && held > lastCount && held < total) midCopy++;
          lastCount = held;
          progress.push(`${finished ? "done" : "kill"}@${wait}ms:${held}`);
        }
        assert.ok(midCopy >= 3, `only ${midCopy} kills landed mid-copy: ${progress.join(" ")}`);
        const final = await cli(args).status;
        assert.ok(final.success, "the last pass failed");
        const prod = await snapshot("prod", mb, ["INBOX"]);
        const backup = await side.read(config, mb, ["INBOX"]);
        const p = byMessageId(prod, "INBOX");
        const bk = byMessageId(backup, "INBOX");
        assert.equal(p.size, total);
        const dupes = [...bk].filter(([, n]) => n > 1);
        assert.deepEqual(dupes, [], "duplicates on the mirror");
        const missing = [...p.keys()].filter((id) => !bk.has(id));
        assert.deepEqual(missing, [], "messages missing on the mirror");
        assert.equal(bk.size, total);
        const prodBytes = new Map(prod.folders.INBOX.messages.map((m) => [m.messageId, m]));
        for (const m of backup.folders.INBOX.messages) {
          const o = prodBytes.get(m.messageId)!;
          assert.deepEqual(m.bytes, o.bytes);
          assert.equal(m.internalDate, o.internalDate);
          assert.deepEqual(m.flags, o.flags);
        }
        console.log(
          `crash test (${label}): ${kills} kills, ${total} messages, mirror exact; rounds ${
            progress.join(" ")
          }`,
        );
      } finally {
        if (side === cyrusSide) await side.wipe(await side.config(dir), mb);
        await Deno.remove(dir, { recursive: true });
        await wipeMailbox("prod", mb);
        await wipeMailbox("backup", mb);
      }
    },
  });
}
