/**
 * One writer per data directory, through the real CLI against the lab: two `sync --once` started
 * at the same moment, and a manual sync beside `serve`. One process mirrors, the other refuses
 * (exit 1, naming the holder), and the mirror holds each message exactly once — on both targets.
 * Production sits behind the fault proxy with a delayed greeting so that the two processes are
 * sure to overlap (a fast pass could otherwise end before the second process starts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../engine/config/mod.ts";
import { HOLDER_FILE, readHolder } from "../engine/support/mod.ts";
import {
  appendRaw,
  lab,
  type MirrorSide,
  scratchMailbox,
  SIDES,
  type Snapshot,
  snapshot,
  startFaultProxy,
  tempDir,
  variant,
  wipeMailbox,
} from "./test_utils/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MESSAGES = 24;
const REFUSAL =
  /^Another vmirror process \(pid (\d+), "([a-z-]+)", since [0-9T:.Z-]+\) is using the data directory "(.+)": stop it or wait for it to finish$/m;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function spawnCli(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "main.ts"), ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", VMIRROR_CONFIG: "", VMIRROR_DATA: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

// A child that hangs is killed after two minutes so the test fails instead of hanging.
async function finished(child: Deno.ChildProcess): Promise<Run> {
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  try {
    const out = await child.output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

function describe(r: Run): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** A scratch production mailbox with `MESSAGES` distinct voicemails (broadcasts left out). */
async function seedMailbox(mailbox: string): Promise<void> {
  await scratchMailbox(mailbox);
  const seeded = await snapshot("prod", "4003", ["INBOX"]);
  const b = lab().broadcast;
  const pool = seeded.folders.INBOX.messages.filter((m) =>
    !new RegExp(`^${b.header}:`, "im").test(
      new TextDecoder("latin1").decode(m.bytes.subarray(0, 4096)),
    )
  );
  await appendRaw(
    "prod",
    mailbox,
    "INBOX",
    Array.from({ length: MESSAGES }, (_, i) => ({
      bytes: variant(pool[i % pool.length].bytes, i + 1),
      flags: pool[i % pool.length].flags,
      date: new Date(Date.UTC(2026, 1, 1) + i * 1000),
    })),
  );
}

/** Asserts the mirror holds every production message of INBOX exactly once, byte-identical. */
async function assertExactlyOnce(
  side: MirrorSide,
  config: Config,
  mailbox: string,
): Promise<void> {
  const prod = await snapshot("prod", mailbox, ["INBOX"]);
  const mirror = await side.read(config, mailbox, ["INBOX"]);
  const count = (s: Snapshot) => {
    const out = new Map<string, number>();
    for (const m of s.folders.INBOX?.messages ?? []) {
      out.set(m.messageId ?? "", (out.get(m.messageId ?? "") ?? 0) + 1);
    }
    return out;
  };
  const p = count(prod);
  const m = count(mirror);
  assert.equal(p.size, MESSAGES);
  assert.deepEqual([...m].filter(([, n]) => n > 1), [], "duplicates on the mirror");
  assert.deepEqual([...p.keys()].filter((id) => !m.has(id)), [], "missing on the mirror");
  assert.equal(mirror.folders.INBOX.messages.length, MESSAGES);
  const bytes = new Map(prod.folders.INBOX.messages.map((x) => [x.messageId, x.bytes]));
  for (const x of mirror.folders.INBOX.messages) assert.deepEqual(x.bytes, bytes.get(x.messageId));
}

async function cleanUp(dir: string, mailbox: string): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await wipeMailbox("prod", mailbox);
  await wipeMailbox("backup", mailbox);
}

for (const [n, side] of SIDES.entries()) {
  Deno.test({
    name: `[${side.kind}] two syncs started together on one data directory: one mirrors, ` +
      `the other refuses naming it, and nothing is duplicated`,
    async fn() {
      const mb = String(7611 + n);
      await seedMailbox(mb);
      const proxy = startFaultProxy({ targetPort: lab().imap.prod.port });
      await using tmp = await tempDir("writers");
      const dir = tmp.path;
      try {
        // Every production connection waits 4 s for its greeting: the holder's pass outlasts
        // the other process's start-up, whatever the machine's load.
        proxy.setFault({ kind: "delay", direction: "down", afterBytes: 0, ms: 4000 }, {
          sticky: true,
        });
        const config = await side.config(dir, (raw) => {
          (raw.source as Record<string, unknown>).port = proxy.port;
        });
        const data = join(dir, "data");
        const args = ["sync", "--once", "--mailbox", mb, "--config", config.file!, "--data", data];
        const children = [spawnCli(args), spawnCli(args)];
        const runs = await Promise.all(children.map(finished));
        const winners = runs.filter((r) => r.code === 0);
        const refused = runs.filter((r) => r.code === 1);
        assert.equal(winners.length, 1, runs.map(describe).join("\n"));
        assert.equal(refused.length, 1, runs.map(describe).join("\n"));
        const m = REFUSAL.exec(refused[0].stderr);
        assert.ok(m, describe(refused[0]));
        const winner = children[runs.indexOf(winners[0])];
        assert.equal(Number(m[1]), winner.pid, "the refusal names the process that mirrors");
        assert.equal(m[2], "sync");
        assert.equal(m[3], data);
        assert.match(winners[0].stdout, new RegExp(`copied ${MESSAGES}\\b`));
        // The holder's note goes with the lock.
        await assert.rejects(() => Deno.stat(join(data, HOLDER_FILE)), Deno.errors.NotFound);
        await assertExactlyOnce(side, config, mb);

        // Both again at once: whichever runs finds nothing left to copy.
        const again = await Promise.all([spawnCli(args), spawnCli(args)].map(finished));
        assert.ok(again.some((r) => r.code === 0), again.map(describe).join("\n"));
        for (const r of again) assert.ok(r.code === 0 || REFUSAL.test(r.stderr), describe(r));
        await assertExactlyOnce(side, config, mb);
      } finally {
        await proxy.close();
        await cleanUp(dir, mb);
      }
    },
  });

  Deno.test({
    name: `[${side.kind}] a manual sync beside a running serve refuses with exit 1 naming ` +
      `serve, and serve's mirror has no duplicate`,
    async fn() {
      const mb = String(7621 + n);
      await seedMailbox(mb);
      await using tmp = await tempDir("writers-serve");
      const dir = tmp.path;
      let serve: Deno.ChildProcess | undefined;
      try {
        const config = await side.config(dir, (raw) => {
          raw.schedule = { syncSeconds: 2, idle: false };
          // serve's directory timer would change the lab's backup directory under other tests.
          delete raw.ldap;
        });
        const data = join(dir, "data");
        const common = ["--config", config.file!, "--data", data];
        // subscribe writes only the state store, safe beside a writer: it takes no lock.
        const sub = await finished(spawnCli(["subscribe", mb, ...common]));
        assert.equal(sub.code, 0, describe(sub));
        serve = spawnCli(["serve", "--listen", "127.0.0.1:0", ...common]);
        const deadline = Date.now() + 60_000;
        while ((await readHolder(data))?.verb !== "serve") {
          assert.ok(Date.now() < deadline, "serve never took the data directory");
          await new Promise((r) => setTimeout(r, 100));
        }
        const manual = await finished(
          spawnCli(["sync", "--once", "--mailbox", mb, ...common]),
        );
        assert.equal(manual.code, 1, describe(manual));
        const m = REFUSAL.exec(manual.stderr);
        assert.ok(m, describe(manual));
        assert.equal(Number(m[1]), serve.pid);
        assert.equal(m[2], "serve");
        // Read-only verbs still work beside the writer.
        const status = await finished(spawnCli(["status", ...common]));
        assert.equal(status.code, 0, describe(status));

        // Serve's own passes mirror everything, once.
        while (true) {
          const held = await side.read(config, mb, ["INBOX"]);
          if ((held.folders.INBOX?.messages.length ?? 0) >= MESSAGES) break;
          assert.ok(Date.now() < deadline, "serve did not mirror the mailbox in time");
          await new Promise((r) => setTimeout(r, 250));
        }
        // Let further polling passes run over the mirrored mailbox before comparing.
        await new Promise((r) => setTimeout(r, 4500));
        serve.kill("SIGTERM");
        const stopped = await finished(serve);
        serve = undefined;
        assert.equal(stopped.code, 0, describe(stopped));
        await assertExactlyOnce(side, config, mb);
        // The lock went with serve: a manual sync now runs and finds nothing to copy.
        const after = await finished(spawnCli(["sync", "--once", "--mailbox", mb, ...common]));
        assert.equal(after.code, 0, describe(after));
        assert.match(after.stdout, /copied 0\b/);
        await assertExactlyOnce(side, config, mb);
      } finally {
        if (serve) {
          serve.kill("SIGKILL");
          await serve.output().catch(() => {});
        }
        await cleanUp(dir, mb);
      }
    },
  });
}

Deno.test({
  name: "a writer killed with SIGKILL mid-pass leaves the data directory to the next one at once",
  ignore: Deno.build.os === "windows",
  async fn() {
    const mb = "7631";
    await seedMailbox(mb);
    const proxy = startFaultProxy({ targetPort: lab().imap.prod.port });
    await using tmp = await tempDir("writers-kill");
    const dir = tmp.path;
    const side = SIDES[0];
    try {
      proxy.setFault({ kind: "stall", direction: "down", afterBytes: 0 }, { sticky: true });
      const stalled = await side.config(dir, (raw) => {
        (raw.source as Record<string, unknown>).port = proxy.port;
      });
      const data = join(dir, "data");
      const holder = spawnCli([
        "sync",
        "--once",
        "--mailbox",
        mb,
        "--config",
        stalled.file!,
        "--data",
        data,
      ]);
      const deadline = Date.now() + 60_000;
      while ((await readHolder(data))?.pid !== holder.pid) {
        assert.ok(Date.now() < deadline, "the first sync never took the data directory");
        await new Promise((r) => setTimeout(r, 100));
      }
      holder.kill("SIGKILL");
      const killed = await finished(holder);
      assert.notEqual(killed.code, 0);
      proxy.setFault(null);
      const config = await side.config(dir);
      const next = await finished(
        spawnCli(["sync", "--once", "--mailbox", mb, "--config", config.file!, "--data", data]),
      );
      assert.equal(next.code, 0, describe(next));
      await assertExactlyOnce(side, config, mb);
    } finally {
      await proxy.close();
      await cleanUp(dir, mb);
    }
  },
});
