/**
 * The hostile-world suite: a TCP fault proxy (tests/test_utils/fault_proxy.ts, a fake network named as
 * such) sits in front of each real lab server and cuts, stalls, freezes, delays, refuses and
 * drops connections while vmirror mirrors; deadlines must turn every stall into a clear,
 * retryable failure within the configured timeout, and after the faults stop one clean pass must
 * leave the mirror exactly equal to production: nothing lost, nothing duplicated.
 *
 * The random suite's seed is printed; rerun one with `VMIRROR_FAULT_SEED=<seed>`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Config, SourceConfig } from "../engine/config/mod.ts";
import { runDirectorySync } from "../engine/directory/mod.ts";
import { ImapError } from "../engine/imap/mod.ts";
import { MailError, sendMail } from "../engine/mail/mod.ts";
import { mirrorMailbox } from "../engine/mirror/mod.ts";
import { closeState, openState, type State } from "../engine/state/mod.ts";
import { runSync, targetOpener } from "../engine/mirror/mod.ts";
import { IdleWatchers } from "../engine/mirror/mod.ts";
import {
  appendRaw,
  assertMirrored,
  type Fault,
  type FaultProxy,
  isBroadcast,
  lab,
  labConfig,
  type MirrorSide,
  scratchMailbox,
  SIDES,
  type SnapMessage,
  snapshot,
  startFaultProxy,
  tempDir,
  variant,
  wipeMailbox,
  withImap,
} from "./test_utils/mod.ts";

/** Every deadline in this suite, so that a stall costs seconds, not minutes. */
const TIMEOUT_S = 2;
/** What a failing pass may take beyond its deadline (logout of the healthy side, KV, spool). */
const MARGIN_MS = 3000;
const PASSES = Number(Deno.env.get("VMIRROR_FAULT_PASSES") ?? 24);
const SEED = Number(Deno.env.get("VMIRROR_FAULT_SEED") ?? Math.floor(Math.random() * 2 ** 31));

/** Figures gathered for the README's reliability table, printed at the end. */
const figures: {
  side: string;
  passes: number;
  failedPasses: number;
  faults: number;
  compared: number;
  lost: number;
  duplicated: number;
}[] = [];

// mulberry32: small, fast and reproducible from the printed seed.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded voicemail that is neither a broadcast nor over-length (those have rules of their own). */
async function messagePool(): Promise<SnapMessage[]> {
  const seeded = await snapshot("prod", "4003", ["INBOX"]);
  const long = lab().longMessage.messageId;
  return seeded.folders.INBOX.messages.filter((m) => !isBroadcast(m.bytes) && m.messageId !== long);
}

/** A lab config whose IMAP endpoints go through the proxies, with the suite's short deadlines. */
async function faultyConfig(
  side: MirrorSide,
  dir: string,
  proxies: { prod: FaultProxy; backup?: FaultProxy },
): Promise<Config & { source: SourceConfig }> {
  return await side.config(dir, (raw) => {
    const source = raw.source as Record<string, unknown>;
    source.port = proxies.prod.port;
    source.commandTimeoutSeconds = TIMEOUT_S;
    source.connectTimeoutSeconds = TIMEOUT_S;
    const target = raw.target as Record<string, unknown>;
    if (target.type === "imap" && proxies.backup) {
      target.port = proxies.backup.port;
      target.commandTimeoutSeconds = TIMEOUT_S;
      target.connectTimeoutSeconds = TIMEOUT_S;
    }
    // One attempt per pass: the next pass is the retry, and a stall is seen as it happened.
    const limits = (raw.limits ??= {}) as Record<string, unknown>;
    limits.retries = 0;
    // This suite deletes a few messages per pass on a small mailbox; the mass-deletion guard is
    // tested on its own and must not hold what is the point here.
    limits.deleteGuard = { enabled: false };
  });
}

/** Counts lost and duplicated messages (by Message-ID), then asserts the exact comparison. */
async function compare(
  side: MirrorSide,
  config: Config,
  mailbox: string,
): Promise<{ compared: number; lost: number; duplicated: number }> {
  const folders = ["INBOX"];
  const prod = await snapshot("prod", mailbox, folders);
  const mirror = await side.read(config, mailbox, folders);
  const held = new Map<string, number>();
  for (const m of mirror.folders.INBOX?.messages ?? []) {
    held.set(m.messageId ?? "", (held.get(m.messageId ?? "") ?? 0) + 1);
  }
  const expected = prod.folders.INBOX.messages;
  const lost = expected.filter((m) => !held.has(m.messageId ?? "")).length;
  const duplicated = [...held.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
  assertMirrored(prod, mirror);
  return { compared: expected.length, lost, duplicated };
}

/** Runs `fn` with a scratch mailbox, a state store and proxies; cleans everything up. */
async function withScenario(
  side: MirrorSide,
  mailbox: string,
  fn: (s: {
    mb: string;
    config: Config & { source: SourceConfig };
    state: State;
    prod: FaultProxy;
    backup?: FaultProxy;
  }) => Promise<void>,
): Promise<void> {
  const l = lab();
  const mb = await scratchMailbox(mailbox);
  const prod = startFaultProxy({ targetPort: l.imap.prod.port });
  const backup = side.kind === "imap"
    ? startFaultProxy({ targetPort: l.imap.backup.port })
    : undefined;
  await using tmp = await tempDir("faults");
  const dir = tmp.path;
  const config = await faultyConfig(side, dir, { prod, backup });
  const state = await openState(join(dir, "state.kv"));
  try {
    await fn({ mb, config, state, prod, backup });
  } finally {
    closeState(state);
    await prod.close();
    await backup?.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await wipeMailbox("prod", mb);
    await wipeMailbox("backup", mb);
  }
}

/** Appends `n` fresh variants of pool messages to production; returns the next serial. */
async function addMessages(
  mb: string,
  pool: SnapMessage[],
  from: number,
  n: number,
): Promise<number> {
  await appendRaw(
    "prod",
    mb,
    "INBOX",
    Array.from({ length: n }, (_, k) => {
      const i = from + k;
      const m = pool[i % pool.length];
      return {
        bytes: variant(m.bytes, 9000 + i),
        flags: m.flags,
        date: new Date(Date.UTC(2026, 1, 1) + i * 1000),
      };
    }),
  );
  return from + n;
}

/**
 * One random fault (or none) for a proxy, drawn from `rand`; `scale` is what the last pass
 * moved each way, so that most faults land inside a pass rather than after its end.
 */
function randomFault(rand: () => number, scale: Record<"up" | "down", number>): Fault | null {
  // Two passes in five run clean on this side, so the mirror makes progress between faults.
  if (rand() < 0.4) return null;
  const kinds = ["cut", "stall", "freeze", "delay", "refuse"] as const;
  const kind = kinds[Math.floor(rand() * kinds.length)];
  if (kind === "refuse") return { kind };
  const direction = rand() < 0.5 ? "up" : "down";
  // Squared: most faults land early (login, STATUS, FETCH of flags), some deep in the bodies.
  const afterBytes = Math.floor(rand() ** 2 * Math.max(2000, scale[direction] * 1.2));
  if (kind === "delay") {
    return { kind, direction, afterBytes, ms: 100 + Math.floor(rand() * (TIMEOUT_S * 600)) };
  }
  return { kind, direction, afterBytes };
}

for (const [n, side] of SIDES.entries()) {
  Deno.test({
    name:
      `[${side.kind}] random cuts, stalls, freezes, delays, refusals and server drops over many passes lose and duplicate nothing`,
    async fn() {
      const rand = prng(SEED + n);
      const pool = await messagePool();
      await withScenario(
        side,
        String(7410 + n * 5),
        async ({ mb, config, state, prod, backup }) => {
          let serial = await addMessages(mb, pool, 0, 24);
          const proxies = [prod, ...(backup ? [backup] : [])];
          let failedPasses = 0;
          let drops = 0;
          let lastPass = proxies.map(() => ({ up: 2000, down: 2000 }));
          const log: string[] = [];
          for (let pass = 0; pass < PASSES; pass++) {
            // Production changes between passes: new voicemail, a deletion, a message heard.
            if (pass > 0) serial = await addMessages(mb, pool, serial, 1 + Math.floor(rand() * 3));
            if (pass > 0 && rand() < 0.5) {
              await withImap("prod", mb, async (c) => {
                const box = await c.mailboxOpen("INBOX");
                if (box.exists > 4) {
                  const seq = 1 + Math.floor(rand() * box.exists);
                  if (rand() < 0.5) await c.messageDelete(`${seq}`);
                  else await c.messageFlagsAdd(`${seq}`, ["\\Seen"]);
                }
              });
            }
            const faults = proxies.map((p, i) => {
              const f = randomFault(rand, lastPass[i]);
              p.setFault(f);
              return f;
            });
            const before = proxies.map((p) => ({ ...p.bytes }));
            // Now and then a server "restarts" while the pass runs: every connection dropped.
            const restartAfter = rand() < 0.2 ? 20 + Math.floor(rand() * 300) : null;
            const timer = restartAfter === null ? undefined : setTimeout(() => {
              drops++;
              proxies.forEach((p) => p.dropAll());
            }, restartAfter);
            const t0 = performance.now();
            const summary = await runSync(config, state, { mailboxes: [mb], retryDelayMs: 10 });
            const elapsed = performance.now() - t0;
            clearTimeout(timer);
            // The largest pass seen so far sets the scale (a failed pass moves only a few bytes).
            lastPass = proxies.map((p, i) => ({
              up: Math.max(lastPass[i].up, p.bytes.up - before[i].up),
              down: Math.max(lastPass[i].down, p.bytes.down - before[i].down),
            }));
            const r = summary.mailboxes[0];
            if (!r.ok) failedPasses++;
            log.push(
              `pass ${pass}: ${
                faults.map((f) => f ? `${f.kind}${"direction" in f ? `-${f.direction}` : ""}` : "-")
                  .join("/")
              }${restartAfter !== null ? ` drop@${restartAfter}ms` : ""} → ${
                r.ok ? "ok" : `failed (${r.error?.message})`
              } in ${Math.round(elapsed)} ms`,
            );
            // A pass never hangs: each stall costs one deadline (source, then target), no more.
            assert.ok(
              elapsed < 2 * TIMEOUT_S * 1000 + 2 * MARGIN_MS,
              `pass ${pass} took ${Math.round(elapsed)} ms:\n${log.join("\n")}`,
            );
          }
          for (const p of proxies) p.setFault(null);
          const clean = await runSync(config, state, { mailboxes: [mb] });
          assert.ok(
            clean.mailboxes[0].ok,
            `the clean pass failed: ${clean.mailboxes[0].error?.message}`,
          );
          const result = await compare(side, config, mb);
          const faults = proxies.reduce((sum, p) => sum + p.fired, 0) + drops;
          figures.push({
            side: side.kind,
            passes: PASSES + 1,
            failedPasses,
            faults,
            ...result,
          });
          console.log(
            `faults (${side.kind}, seed ${SEED}): ${
              PASSES + 1
            } passes, ${faults} faults injected, ${failedPasses} passes failed by them, ${result.compared} messages compared, lost ${result.lost}, duplicated ${result.duplicated}\n  ${
              log.join("\n  ")
            }`,
          );
        },
      );
    },
  });
}

/** A mailbox whose bodies outweigh the protocol chatter, so a byte count lands mid-FETCH. */
async function seedBodies(mb: string, pool: SnapMessage[], n: number): Promise<number> {
  await addMessages(mb, pool, 0, n);
  const snap = await snapshot("prod", mb, ["INBOX"]);
  return snap.folders.INBOX.messages.reduce((sum, m) => sum + m.size, 0);
}

for (const [n, side] of SIDES.entries()) {
  Deno.test({
    name:
      `[${side.kind}] production stalling mid-FETCH fails the mailbox within the deadline as a transient error; the next pass completes it`,
    async fn() {
      const pool = await messagePool();
      await withScenario(side, String(7411 + n * 5), async ({ mb, config, state, prod }) => {
        const bodies = await seedBodies(mb, pool, 16);
        assert.ok(bodies > 20_000, `only ${bodies} bytes of bodies`);
        // Past the login, STATUS, EXAMINE and flag scan (a few KB), inside the bodies.
        prod.setFault({ kind: "stall", direction: "down", afterBytes: 8_000 + bodies / 2 });
        const openTarget = await targetOpener(config);
        const t0 = performance.now();
        const err = await mirrorMailbox({ config, state, openTarget }, mb).then(
          () => null,
          (e) => e,
        );
        const elapsed = performance.now() - t0;
        assert.ok(err instanceof ImapError, `expected an ImapError, got ${err}`);
        assert.equal(err.transient, true, err.message);
        assert.equal(err.server, config.source.name);
        assert.equal(err.mailbox, mb);
        assert.match(err.operation, /fetch/);
        assert.match(err.message, /timeout: no answer from the server for 2 s/);
        assert.ok(elapsed >= TIMEOUT_S * 1000 - 50, `gave up after ${Math.round(elapsed)} ms`);
        assert.ok(elapsed < TIMEOUT_S * 1000 + MARGIN_MS, `took ${Math.round(elapsed)} ms`);
        const next = await runSync(config, state, { mailboxes: [mb] });
        assert.ok(next.mailboxes[0].ok, next.mailboxes[0].error?.message);
        const r = await compare(side, config, mb);
        assert.equal(r.compared, 16);
      });
    },
  });
}

Deno.test({
  name:
    "[imap] a backup that stops reading mid-APPEND of a large message fails the mailbox within the deadline; the next pass completes it",
  async fn() {
    const side = SIDES.find((s) => s.kind === "imap")!;
    await withScenario(side, "7420", async ({ mb, config, state, backup }) => {
      // 12 MB: streamed from the spool file in chunks (over 4 MB), more than loopback's socket
      // buffers hold, so the frozen peer blocks our writes and only the write deadline helps.
      const body = new Uint8Array(9 * 1024 * 1024);
      for (let i = 0; i < body.length; i += 65536) {
        crypto.getRandomValues(body.subarray(i, Math.min(body.length, i + 65536)));
      }
      const b64 = btoa(Array.from(body, (b) => String.fromCharCode(b)).join(""))
        .replace(/.{76}/g, "$&\r\n");
      const message = new TextEncoder().encode(
        `From: "Caller" <caller@lab.invalid>\r\nTo: ${mb}@mss.lab\r\nSubject: Large voicemail\r\n` +
          `Date: Sun, 01 Feb 2026 10:00:00 +0000\r\nMessage-ID: <large.${crypto.randomUUID()}@lab>\r\n` +
          `MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n` +
          `Content-Transfer-Encoding: base64\r\n\r\n${b64}\r\n`,
      );
      await appendRaw("prod", mb, "INBOX", [{ bytes: message, date: new Date("2026-02-01") }]);
      backup!.setFault({ kind: "freeze", direction: "up", afterBytes: 200_000 });
      const openTarget = await targetOpener(config);
      const t0 = performance.now();
      const err = await mirrorMailbox({ config, state, openTarget }, mb).then(
        () => null,
        (e) => e,
      );
      const elapsed = performance.now() - t0;
      assert.ok(err instanceof ImapError, `expected an ImapError, got ${err}`);
      assert.equal(err.transient, true, err.message);
      assert.equal(err.server, (config.target as { name: string }).name);
      assert.equal(err.mailbox, mb);
      assert.match(err.message, /timeout: /);
      console.log(`frozen backup: ${err.message} after ${Math.round(elapsed)} ms`);
      // Fetching 12 MB from production in 1 MB ranges takes a moment before the APPEND starts.
      assert.ok(elapsed < TIMEOUT_S * 1000 + 2 * MARGIN_MS, `took ${Math.round(elapsed)} ms`);
      backup!.setFault(null);
      const next = await runSync(config, state, { mailboxes: [mb] });
      assert.ok(next.mailboxes[0].ok, next.mailboxes[0].error?.message);
      const r = await compare(side, config, mb);
      assert.equal(r.compared, 1);
    });
  },
});

Deno.test({
  name: "a directory pass against a stalled slapd fails within ldap timeoutSeconds",
  async fn(t) {
    const l = lab();
    const proxy = startFaultProxy({ targetPort: l.ldap.prod.port });
    await using tmp = await tempDir("faults-ldap");
    const dir = tmp.path;
    const state = await openState(join(dir, "state.kv"));
    try {
      const config = await labConfig(dir, (raw) => {
        const source = (raw.ldap as Record<string, Record<string, unknown>>).source;
        source.url = `ldap://127.0.0.1:${proxy.port}`;
        source.timeoutSeconds = TIMEOUT_S;
      });
      // 0 bytes: the bind's answer never comes; 40 bytes: the bind succeeds, the search stalls.
      for (const afterBytes of [0, 40]) {
        await t.step(`stalled after ${afterBytes} bytes of answers`, async () => {
          proxy.setFault({ kind: "stall", direction: "down", afterBytes });
          const t0 = performance.now();
          const report = await runDirectorySync(config, state, { dryRun: true });
          const elapsed = performance.now() - t0;
          assert.ok(report.error, "the pass should have failed");
          assert.match(report.error.message, /timed out|timeout/i);
          assert.ok(elapsed < TIMEOUT_S * 1000 + MARGIN_MS, `took ${Math.round(elapsed)} ms`);
        });
      }
    } finally {
      closeState(state);
      await proxy.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "mail through a relay that stops answering fails within smtp timeoutSeconds",
  async fn() {
    const l = lab();
    const proxy = startFaultProxy({ targetPort: l.smtp.port });
    try {
      proxy.setFault({ kind: "stall", direction: "down", afterBytes: 0 });
      const t0 = performance.now();
      await assert.rejects(
        sendMail({
          host: "127.0.0.1",
          port: proxy.port,
          secure: false,
          requireTls: false,
          from: "vmirror@lab.invalid",
          timeoutSeconds: TIMEOUT_S,
        }, { to: "4001@mss.lab", subject: "stalled", text: "never delivered" }),
        // nodemailer's words for its greeting deadline.
        (e) => e instanceof MailError && /greeting never received/i.test(e.message),
      );
      const elapsed = performance.now() - t0;
      assert.ok(elapsed < TIMEOUT_S * 1000 + MARGIN_MS, `took ${Math.round(elapsed)} ms`);
    } finally {
      await proxy.close();
    }
  },
});

Deno.test({
  name:
    "an IDLE watcher stays connected while the server is quiet but healthy, and reconnects when it freezes",
  async fn() {
    const l = lab();
    const proxy = startFaultProxy({ targetPort: l.imap.prod.port });
    await using tmp = await tempDir("faults-idle");
    const dir = tmp.path;
    const watchers: IdleWatchers[] = [];
    try {
      const config = await labConfig(dir, (raw) => {
        const source = raw.source as Record<string, unknown>;
        source.port = proxy.port;
        // IDLE's quiet limit is five command timeouts: 5 s here.
        source.commandTimeoutSeconds = 1;
      });
      const w = new IdleWatchers(config.source, 1, () => {});
      watchers.push(w);
      w.touch("4001");
      const waitFor = async (cond: () => boolean, ms: number, what: string) => {
        const end = Date.now() + ms;
        while (!cond()) {
          if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await waitFor(() => proxy.accepted === 1 && proxy.bytes.down > 0, 5000, "the first login");
      // Longer than one quiet period: imapflow probes with a NOOP and keeps the connection.
      await new Promise((r) => setTimeout(r, 7000));
      assert.equal(proxy.accepted, 1, "a healthy quiet IDLE connection was replaced");
      proxy.stallAll();
      const t0 = performance.now();
      // Two quiet periods (the NOOP goes unanswered), then the watcher's 2 s back-off.
      await waitFor(() => proxy.accepted >= 2, 2 * 5000 + 2000 + MARGIN_MS, "a reconnect");
      console.log(`IDLE: a frozen server was left after ${Math.round(performance.now() - t0)} ms`);
    } finally {
      for (const w of watchers) w.stopAll();
      await proxy.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "fault suite figures",
  fn() {
    const rows = figures.map((f) =>
      `| ${f.side} | ${f.passes} | ${f.faults} | ${f.failedPasses} | ${f.compared} | ${f.lost} | ${f.duplicated} |`
    );
    console.log(
      [
        `fault suite, seed ${SEED}:`,
        "| target | passes | faults injected | passes failed by faults | messages compared | lost | duplicated |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        ...rows,
      ].join("\n"),
    );
    for (const f of figures) {
      assert.equal(f.lost, 0);
      assert.equal(f.duplicated, 0);
    }
  },
});
