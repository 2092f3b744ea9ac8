/**
 * Directory sync against the lab's real slapd pair (production → backup). Every test restores
 * what it changes in the lab's directories, or works under its own OU and deletes it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  formatDirectoryReport,
  formatDirectoryRunLine,
  listDirectoryRuns,
  runDirectorySchedule,
  runDirectorySync,
} from "../engine/directory/mod.ts";
import { type AttrValue, type DirEntry, getAttr, sameValues } from "../engine/directory/mod.ts";
import {
  addEntry,
  closeLdap,
  deleteEntry,
  LdapError,
  type LdapSession,
  modifyEntry,
  openLdap,
  searchEntries,
} from "../engine/directory/mod.ts";
import { setLogSink } from "../engine/support/mod.ts";
import {
  addSubscriptions,
  closeState,
  getSubscription,
  listSubscriptions,
  openState,
} from "../engine/state/mod.ts";
import { freePort, lab, labConfig, ldapAdmin } from "./test_utils/mod.ts";

type Side = "prod" | "backup";
const BINARY = ["vmPin", "vmRecordedName"];
const enc = (s: string) => new TextEncoder().encode(s);
const DAY = 86_400_000;

// ---- lab directory helpers (as the lab's admin, not through vmirror) ----

function admin(side: Side): Promise<LdapSession> {
  return ldapAdmin(side);
}

async function withAdmin<T>(side: Side, fn: (s: LdapSession) => Promise<T>): Promise<T> {
  const s = await admin(side);
  try {
    return await fn(s);
  } finally {
    await closeLdap(s);
  }
}

function dnOf(side: Side, mailbox: string): string {
  return `uid=${mailbox},${lab().ldap[side].baseDn}`;
}

async function readEntry(side: Side, mailbox: string): Promise<DirEntry | undefined> {
  return await withAdmin(side, async (s) => {
    const found = await searchEntries(s, lab().ldap[side].baseDn, {
      filter: `(uid=${mailbox})`,
      pageSize: 100,
    });
    return found[0];
  });
}

async function modify(side: Side, mailbox: string, attrs: Record<string, AttrValue[]>) {
  await withAdmin(side, (s) =>
    modifyEntry(
      s,
      dnOf(side, mailbox),
      Object.entries(attrs).map(([attr, values]) => ({
        attr,
        op: values.length ? "replace" as const : "delete" as const,
        values,
      })),
    ));
}

/** Every entry under the subscribers OU, by lower-cased DN. */
async function snapshotSubtree(side: Side): Promise<Map<string, DirEntry>> {
  return await withAdmin(side, async (s) => {
    const entries = await searchEntries(s, lab().ldap[side].baseDn, {
      filter: "(objectClass=*)",
      pageSize: 500,
    });
    return new Map(entries.map((e) => [e.dn.toLowerCase(), e]));
  });
}

function sameEntry(a: DirEntry, b: DirEntry): boolean {
  const keys = (e: DirEntry) => Object.keys(e.attributes).map((k) => k.toLowerCase()).sort();
  const ka = keys(a);
  if (ka.join() !== keys(b).join()) return false;
  return ka.every((k) =>
    sameValues(getAttr(a, k), getAttr(b, k), BINARY.some((x) => x.toLowerCase() === k))
  );
}

/** Puts a subtree back as the snapshot had it: extra entries deleted, changed ones re-created. */
async function restoreSubtree(side: Side, snap: Map<string, DirEntry>): Promise<void> {
  const now = await snapshotSubtree(side);
  await withAdmin(side, async (s) => {
    for (const [dn, e] of now) {
      const want = snap.get(dn);
      if (want && sameEntry(want, e)) continue;
      await deleteEntry(s, e.dn);
      if (want) await addEntry(s, want.dn, want.attributes);
    }
    for (const [dn, e] of snap) if (!now.has(dn)) await addEntry(s, e.dn, e.attributes);
  });
  const after = await snapshotSubtree(side);
  assert.equal(after.size, snap.size, `${side} directory restored`);
}

async function config(dir: string, patch: (ldap: Record<string, unknown>) => void = () => {}) {
  return await labConfig(dir, (raw) => {
    const ldap = raw.ldap as Record<string, unknown>;
    ldap.provisionMissing = true;
    ldap.orphanGraceDays = 7;
    patch(ldap);
  });
}

/** Runs `fn` with a deadline, so a hung server fails the test instead of the whole suite. */
async function deadline<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([fn(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const MAPPED = [
  "displayName",
  "cn",
  "sn",
  "givenName",
  "mail",
  "vmClassOfService",
  "vmPin",
  "vmRecordedName",
];

async function assertMirrored(mailbox: string): Promise<void> {
  const p = await readEntry("prod", mailbox);
  const b = await readEntry("backup", mailbox);
  assert.ok(p && b, `${mailbox} on both sides`);
  for (const attr of MAPPED) {
    assert.ok(
      sameValues(getAttr(p, attr), getAttr(b, attr), BINARY.includes(attr)),
      `${mailbox} ${attr} differs`,
    );
  }
}

// ---- the tests ----

Deno.test({
  name: "directory sync mirrors the lab's production directory to the backup, pass after pass",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async (t) => {
    const l = lab();
    const prodSnap = await snapshotSubtree("prod");
    const backupSnap = await snapshotSubtree("backup");
    const dir = await Deno.makeTempDir({ prefix: "vmirror-directory-" });
    const state = await openState(":memory:");
    const logs: string[] = [];
    setLogSink((line) => logs.push(line));
    const progress: string[] = [];
    const onProgress = (line: string) => progress.push(line);
    const provisioned: string[] = [];
    const provisionMailbox = (mailbox: string) => {
      provisioned.push(mailbox);
      if (mailbox === "4012") return Promise.reject(new Error("lab refuses 4012"));
      return Promise.resolve();
    };
    const secrets: string[] = [];
    try {
      await deadline(120_000, async () => {
        const cfg = await config(dir);
        const mailboxes = l.mailboxes.map((m) => m.mailbox);
        secrets.push(l.trusted.password, ...l.mailboxes.map((m) => m.pin));

        await t.step("a dry run lists the plan and changes nothing", async () => {
          const r = await runDirectorySync(cfg, state, { dryRun: true, onProgress });
          assert.equal(r.ok, true, formatDirectoryReport(r));
          assert.equal(r.dryRun, true);
          assert.deepEqual(r.subscriptions.subscribe, mailboxes);
          assert.deepEqual(
            r.backup.changes.map((c) => `${c.op} ${c.mailbox} ${c.status}`),
            [
              ...mailboxes.slice(0, 6).map((m) => `modify ${m} planned`),
              ...mailboxes.slice(6).map((m) => `add ${m} planned`),
            ],
          );
          const text = formatDirectoryReport(r);
          assert.match(text, /dry run: nothing was changed/);
          assert.match(text, /Subscriptions \(planned\): 12 subscribed/);
          assert.match(text, /Backup directory \(planned\): 6 added, 6 modified/);
          assert.match(text, /vmPin changed \(value not shown\)/);
          assert.deepEqual(await listSubscriptions(state), []);
          assert.deepEqual(await listDirectoryRuns(state), []);
          const after = await snapshotSubtree("backup");
          assert.equal(after.size, backupSnap.size);
          for (const [dn, e] of backupSnap) assert.ok(sameEntry(e, after.get(dn)!), dn);
        });

        await t.step(
          "the first pass subscribes 12, fixes 4001..4006 and adds 4007..4012",
          async () => {
            const r = await runDirectorySync(cfg, state, { onProgress, provisionMailbox });
            assert.equal(r.counts.subscribed, 12);
            assert.equal(r.counts.modified, 6);
            assert.equal(r.counts.added, 6);
            assert.equal(r.counts.failed, 0, formatDirectoryReport(r));
            assert.equal(r.ok, true);
            const subs = await listSubscriptions(state);
            assert.deepEqual(subs.map((s) => s.mailbox), mailboxes);
            assert.ok(subs.every((s) => s.origin === "directory" && !s.orphanedSince));
            for (const m of mailboxes) await assertMirrored(m);
            // The IMAP target gets its mailbox provisioned; what happened is in the report.
            assert.deepEqual(provisioned.sort(), mailboxes.slice(6));
            const adds = r.backup.changes.filter((c) => c.op === "add");
            assert.equal(
              adds.find((c) => c.mailbox === "4007")?.mailboxProvisioning,
              "created on the backup MSS",
            );
            assert.match(
              adds.find((c) => c.mailbox === "4012")!.mailboxProvisioning!,
              /not created: lab refuses 4012/,
            );
          },
        );

        await t.step("a second pass changes nothing", async () => {
          const r = await runDirectorySync(cfg, state, { onProgress, provisionMailbox });
          assert.equal(r.ok, true);
          assert.deepEqual(r.backup.changes, []);
          assert.deepEqual(r.subscriptions.subscribe, []);
          assert.equal(r.counts.orphaned + r.counts.unsubscribed + r.counts.pending, 0);
          assert.equal(provisioned.length, 6);
        });

        await t.step(
          "a rename on production modifies only displayName and cn on the backup",
          async () => {
            await modify("prod", "4002", {
              displayName: ["Bruno Barros-Lima"],
              cn: ["Bruno Barros-Lima"],
            });
            const r = await runDirectorySync(cfg, state, { onProgress });
            assert.equal(r.ok, true);
            assert.deepEqual(
              r.backup.changes.map((c) => [c.mailbox, c.op, c.changes?.map((x) => x.attr)]),
              [["4002", "modify", ["displayName", "cn"]]],
            );
            assert.match(
              formatDirectoryReport(r),
              /displayName "Bruno Barros" → "Bruno Barros-Lima"/,
            );
            await assertMirrored("4002");
          },
        );

        await t.step("a new PIN is copied as stored and never shown", async () => {
          const pin = "771199";
          secrets.push(pin);
          await modify("prod", "4003", { vmPin: [enc(pin)] });
          const r = await runDirectorySync(cfg, state, { onProgress });
          assert.deepEqual(
            r.backup.changes.map((c) => [c.mailbox, c.changes?.map((x) => x.detail)]),
            [["4003", ["vmPin changed (value not shown)"]]],
          );
          const b = await readEntry("backup", "4003");
          assert.deepEqual(getAttr(b!, "vmPin"), [enc(pin)]);

          // A stored value that is not text (a hash, say) is copied byte for byte too.
          const raw = new Uint8Array([0x7b, 0x53, 0x48, 0x41, 0x7d, 0x00, 0xff, 0x80, 0xc3, 0x28]);
          await modify("prod", "4003", { vmPin: [raw] });
          await runDirectorySync(cfg, state, { onProgress });
          assert.deepEqual(getAttr((await readEntry("backup", "4003"))!, "vmPin"), [raw]);
        });

        await t.step("a new recorded name is copied byte for byte", async () => {
          const wav = new Uint8Array(20_044);
          wav.set(enc("RIFF"));
          crypto.getRandomValues(wav.subarray(4));
          await modify("prod", "4004", { vmRecordedName: [wav] });
          const r = await runDirectorySync(cfg, state, { onProgress });
          assert.equal(r.ok, true);
          const ch = r.backup.changes;
          assert.equal(ch.length, 1);
          assert.deepEqual(ch[0].changes?.map((x) => x.attr), ["vmRecordedName"]);
          assert.match(ch[0].changes![0].detail, /→ 20,044 bytes$/);
          assert.deepEqual(getAttr((await readEntry("backup", "4004"))!, "vmRecordedName"), [wav]);
        });

        await t.step(
          "a removed subscriber is orphaned, kept through its grace period, then unsubscribed",
          async () => {
            await addSubscriptions(state, ["4011", "9901"], { origin: "manual" });
            const saved = {
              "4010": (await readEntry("prod", "4010"))!,
              "4012": (await readEntry("prod", "4012"))!,
            };
            await withAdmin("prod", async (s) => {
              for (const m of ["4010", "4011", "4012"]) await deleteEntry(s, dnOf("prod", m));
            });
            const t0 = new Date();
            const r1 = await runDirectorySync(cfg, state, { onProgress, now: t0 });
            assert.deepEqual(r1.subscriptions.orphan, [
              { mailbox: "4010", reason: "not in the directory" },
              { mailbox: "4012", reason: "not in the directory" },
            ]);
            assert.equal(r1.counts.onlyOnBackup, 3, "backup entries are left alone");
            assert.equal((await getSubscription(state, "4012"))?.orphanedSince, t0.toISOString());
            assert.match(formatDirectoryReport(r1), /orphan 4012: not in the directory/);

            // 4010 comes back within the grace period: the mark goes, the subscription stays.
            await withAdmin("prod", (s) => addEntry(s, saved["4010"].dn, saved["4010"].attributes));
            const r2 = await runDirectorySync(cfg, state, {
              onProgress,
              now: new Date(t0.getTime() + 3 * DAY),
            });
            assert.deepEqual(r2.subscriptions.unorphan, ["4010"]);
            assert.deepEqual(r2.subscriptions.pending.map((p) => p.mailbox), ["4012"]);
            assert.equal((await getSubscription(state, "4010"))?.orphanedSince, undefined);
            assert.ok(await getSubscription(state, "4012"), "still subscribed in its grace period");

            const r3 = await runDirectorySync(cfg, state, {
              onProgress,
              now: new Date(t0.getTime() + 8 * DAY),
            });
            assert.deepEqual(r3.subscriptions.unsubscribe, [{
              mailbox: "4012",
              orphanedSince: t0.toISOString(),
            }]);
            assert.equal(await getSubscription(state, "4012"), null);
            // Manual subscriptions are never touched, in the directory or not.
            assert.deepEqual(
              [
                (await getSubscription(state, "4011"))?.origin,
                (await getSubscription(state, "9901"))?.origin,
              ],
              ["manual", "manual"],
            );
            assert.equal((await getSubscription(state, "4011"))?.orphanedSince, undefined);

            // Back in the directory: subscribed again.
            await withAdmin("prod", async (s) => {
              await addEntry(s, saved["4012"].dn, saved["4012"].attributes);
              const e4011 = prodSnap.get(dnOf("prod", "4011").toLowerCase())!;
              await addEntry(s, e4011.dn, e4011.attributes);
            });
            const r4 = await runDirectorySync(cfg, state, { onProgress });
            assert.deepEqual(r4.subscriptions.subscribe, ["4012"]);
          },
        );

        await t.step(
          "a schema violation on the backup is reported and the rest continues",
          async () => {
            // The backup entry of 4005 loses its vmSubscriber class: the backup refuses vm* values.
            await withAdmin("backup", async (s) => {
              await deleteEntry(s, dnOf("backup", "4005"));
              await addEntry(s, dnOf("backup", "4005"), {
                objectClass: ["inetOrgPerson"],
                uid: ["4005"],
                cn: ["Elena Esposito"],
                sn: ["Esposito"],
              });
            });
            await modify("prod", "4006", { mail: ["farid.farouk@new.corp.lab"] });
            const r = await runDirectorySync(cfg, state, { onProgress });
            assert.equal(r.ok, false);
            assert.equal(r.counts.failed, 1);
            const failed = r.backup.changes.find((c) => c.status === "failed")!;
            assert.equal(failed.mailbox, "4005");
            assert.match(
              failed.error!,
              /^Cannot modify "uid=4005,ou=subscribers,dc=backup,dc=lab" on "ldap:\/\/127\.0\.0\.1:\d+": object class violation/,
            );
            assert.deepEqual(
              r.backup.changes.filter((c) => c.status === "done").map((c) => c.mailbox),
              ["4006"],
            );
            await assertMirrored("4006");
            assert.match(formatDirectoryReport(r), /FAILED modify "uid=4005,/);
            assert.ok(progress.some((p) => p.startsWith("FAILED Cannot modify")));
          },
        );

        await t.step("each run is recorded for status, newest first", async () => {
          const runs = await listDirectoryRuns(state, 3);
          assert.equal(runs.length, 3);
          assert.equal(runs[0].ok, false);
          assert.equal(runs[0].counts.failed, 1);
          assert.match(formatDirectoryRunLine(runs[0]), /^directory\t\S+\tFAILED\t12 subscribers/);
          assert.ok(runs[0].startedAt >= runs[1].startedAt);
        });

        await t.step("serve's timer runs a pass when one is due, then waits", async () => {
          const fresh = await openState(":memory:");
          try {
            const ac = new AbortController();
            const loop = runDirectorySchedule(cfg, fresh, { signal: ac.signal });
            for (let i = 0; i < 200 && !(await listDirectoryRuns(fresh)).length; i++) {
              await new Promise((r) => setTimeout(r, 50));
            }
            await new Promise((r) => setTimeout(r, 200));
            ac.abort();
            await loop;
            const runs = await listDirectoryRuns(fresh);
            assert.equal(runs.length, 1, "one pass, the next one 6 hours later");
            assert.equal(runs[0].counts.subscribed, 12);
          } finally {
            closeState(fresh);
          }
        });

        await t.step(
          "no PIN and no password reaches the output, the logs or the records",
          async () => {
            const runs = await listDirectoryRuns(state, 100);
            const everything = [
              ...progress,
              ...logs,
              ...runs.map((r) => JSON.stringify(r)),
              ...runs.map(formatDirectoryReport),
            ].join("\n");
            for (const s of secrets) assert.ok(!everything.includes(s), "a secret was printed");
          },
        );
      });
    } finally {
      setLogSink((line) => console.error(line));
      closeState(state);
      await restoreSubtree("prod", prodSnap);
      await restoreSubtree("backup", backupSnap);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "directory sync reports a refused bind with the server and DN, never the password",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    const l = lab();
    const dir = await Deno.makeTempDir({ prefix: "vmirror-directory-" });
    const state = await openState(":memory:");
    const wrong = "Wr0ng-Passw0rd-4-test";
    try {
      await deadline(30_000, async () => {
        await Deno.writeTextFile(join(dir, "wrong.secret"), wrong);
        const source = await config(dir, (ldap) => {
          (ldap.source as Record<string, unknown>).bindPasswordFile = join(dir, "wrong.secret");
        });
        const r = await runDirectorySync(source, state);
        assert.equal(r.ok, false);
        assert.equal(
          r.error?.message,
          `Cannot bind to "${l.ldap.prod.url}" as "${l.ldap.prod.bindDn}": invalid credentials`,
        );
        assert.equal(r.error?.operation, "bind");
        assert.deepEqual(await listSubscriptions(state), [], "nothing changed");
        assert.ok(!JSON.stringify(r).includes(wrong));
        assert.match(formatDirectoryReport(r), /FAILED: Cannot bind to/);
        assert.equal((await listDirectoryRuns(state)).length, 1, "the failed run is recorded");

        // The library call throws an LdapError that says the same.
        await assert.rejects(
          () => openLdap(source.ldap!.source),
          (e: unknown) =>
            e instanceof LdapError && e.name === "LdapError" && e.operation === "bind" &&
            e.server === l.ldap.prod.url && e.code === 49 && !e.message.includes(wrong),
        );

        // The backup refusing the bind leaves subscriptions to follow production.
        const target = await config(dir, (ldap) => {
          (ldap.target as Record<string, unknown>).bindPasswordFile = join(dir, "wrong.secret");
        });
        const r2 = await runDirectorySync(target, state, { dryRun: true });
        assert.equal(r2.ok, false);
        assert.match(
          r2.backup.error!.message,
          /^Cannot bind to "ldap:\/\/[^"]+" as "cn=vmirror,dc=backup,dc=lab": invalid credentials$/,
        );
        assert.equal(r2.counts.subscribed, 12);
      });
    } finally {
      closeState(state);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "directory sync names the server it cannot reach",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "vmirror-directory-" });
    const state = await openState(":memory:");
    try {
      await deadline(30_000, async () => {
        // A port nobody listens on: bound, noted, released.
        const port = freePort();
        const cfg = await config(dir, (ldap) => {
          (ldap.source as Record<string, unknown>).url = `ldap://127.0.0.1:${port}`;
        });
        const r = await runDirectorySync(cfg, state);
        assert.equal(r.error?.operation, "connect");
        assert.match(
          r.error!.message,
          new RegExp(`^Cannot connect to "ldap://127\\.0\\.0\\.1:${port}": .*ECONNREFUSED`),
        );
        // StartTLS against a server without TLS fails instead of falling back to clear text.
        const tls = await config(dir, (ldap) => {
          (ldap.source as Record<string, unknown>).startTls = true;
        });
        const r2 = await runDirectorySync(tls, state);
        assert.equal(r2.error?.operation, "starttls");
        assert.match(r2.error!.message, /^Cannot start TLS with "ldap:\/\/127\.0\.0\.1:\d+": /);
      });
    } finally {
      closeState(state);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "directory sync of 5,000 entries pages through them and mirrors them",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    const N = 5000;
    const ou = (side: Side) => `ou=bulk,${lab().ldap[side].suffix}`;
    const mailbox = (i: number) => String(80000 + i);
    const dir = await Deno.makeTempDir({ prefix: "vmirror-directory-" });
    const state = await openState(":memory:");
    // A recorded name of realistic size: about 7 s of GSM 6.10 (≈1,625 B/s).
    const clip = new Uint8Array(11_400);
    clip.set(enc("RIFF"));
    crypto.getRandomValues(clip.subarray(4));
    try {
      await deadline(600_000, async () => {
        await removeBulk(); // left over by an interrupted run
        const tCreate = performance.now();
        await withAdmin("prod", async (s) => {
          await addEntry(s, ou("prod"), { objectClass: ["organizationalUnit"], ou: ["bulk"] });
          await parallel(N, 32, (i) =>
            addEntry(s, `uid=${mailbox(i)},${ou("prod")}`, {
              objectClass: ["inetOrgPerson", "vmSubscriber"],
              uid: [mailbox(i)],
              cn: [`Bulk Subscriber ${i}`],
              sn: [`Subscriber ${i}`],
              displayName: [`Bulk Subscriber ${i}`],
              mail: [`bulk${i}@corp.lab`],
              vmMailboxNumber: [mailbox(i)],
              vmClassOfService: [i % 3 ? "standard" : "basic"],
              vmPin: [enc(String(100000 + i))],
              vmRecordedName: [clip],
            }));
        });
        await withAdmin(
          "backup",
          (s) => addEntry(s, ou("backup"), { objectClass: ["organizationalUnit"], ou: ["bulk"] }),
        );
        const created = performance.now() - tCreate;

        const cfg = await config(dir, (ldap) => {
          (ldap.source as Record<string, unknown>).baseDn = ou("prod");
          (ldap.source as Record<string, unknown>).pageSize = 500;
          (ldap.target as Record<string, unknown>).baseDn = ou("backup");
        });
        let pages = 0;
        const onProgress = (line: string) => {
          if (/production: \d+ entries read/.test(line)) pages++;
        };
        const first = await runDirectorySync(cfg, state, { onProgress });
        assert.equal(first.ok, true, formatDirectoryReport(first).slice(0, 2000));
        assert.equal(first.source.entries, N);
        assert.ok(pages >= N / 500, `read in pages of 500 (${pages} pages)`);
        assert.equal(first.counts.subscribed, N);
        assert.equal(first.counts.added, N);
        assert.equal((await listSubscriptions(state)).length, N);
        const stored = (await listDirectoryRuns(state, 1))[0];
        assert.equal(stored.counts.added, N);
        assert.ok(stored.truncated, "the stored record is shortened, the counts are whole");

        const second = await runDirectorySync(cfg, state, { onProgress });
        assert.equal(second.ok, true);
        assert.deepEqual(second.backup.changes, []);
        assert.equal(second.target?.entries, N + 1, "the OU and every subscriber");

        // One changed entry among 5,000: one modify.
        await withAdmin("prod", (s) =>
          modifyEntry(s, `uid=${mailbox(4321)},${ou("prod")}`, [
            { attr: "displayName", op: "replace", values: ["Renamed"] },
          ]));
        const third = await runDirectorySync(cfg, state, { onProgress });
        assert.deepEqual(third.backup.changes.map((c) => c.mailbox), [mailbox(4321)]);

        console.log(
          `5,000 entries (recorded names of ${clip.length.toLocaleString("en-US")} bytes): ` +
            `created in ${(created / 1000).toFixed(1)} s; first pass (read, subscribe ${N}, ` +
            `add ${N} to the backup) ${(first.durationMs / 1000).toFixed(1)} s; ` +
            `second pass (read both, no change) ${(second.durationMs / 1000).toFixed(1)} s; ` +
            `one rename ${(third.durationMs / 1000).toFixed(1)} s`,
        );
      });
    } finally {
      closeState(state);
      await removeBulk();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Deletes the bulk OUs and everything under them (no error when absent). */
async function removeBulk(): Promise<void> {
  for (const side of ["prod", "backup"] as const) {
    const base = `ou=bulk,${lab().ldap[side].suffix}`;
    await withAdmin(side, async (s) => {
      const entries = await searchEntries(s, base, {
        filter: "(objectClass=*)",
        pageSize: 1000,
        attributes: ["1.1"],
      }).catch(() => [] as DirEntry[]);
      const leaves = entries.filter((e) => e.dn.toLowerCase() !== base.toLowerCase());
      await parallel(leaves.length, 32, (i) => deleteEntry(s, leaves[i].dn));
      if (entries.length) await deleteEntry(s, base);
    });
  }
}

async function parallel(n: number, width: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

Deno.test({
  name: "openLdap() verifies the server certificate over LDAPS and StartTLS (caFile)",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    // The lab's directories speak clear LDAP; a scratch slapd with the lab's certificate
    // (localhost / 127.0.0.1, signed by the lab CA) serves both TLS flavours.
    const tls = lab().tls;
    // The config reads a CA file once at load; an endpoint built by hand carries the PEM itself.
    const ca = await Deno.readTextFile(tls.caFile);
    const dir = await Deno.makeTempDir({ prefix: "vmirror-slapd-tls-" });
    const [plain, secure] = [freePort(), freePort()];
    const password = crypto.randomUUID();
    await Deno.mkdir(join(dir, "data"));
    await Deno.writeTextFile(
      join(dir, "slapd.conf"),
      [
        "include /etc/ldap/schema/core.schema",
        "modulepath /usr/lib/ldap",
        "moduleload back_mdb",
        `pidfile ${join(dir, "slapd.pid")}`,
        `TLSCACertificateFile ${tls.caFile}`,
        `TLSCertificateFile ${tls.certFile}`,
        `TLSCertificateKeyFile ${tls.keyFile}`,
        "database mdb",
        'suffix "dc=tls,dc=lab"',
        'rootdn "cn=admin,dc=tls,dc=lab"',
        `rootpw ${password}`,
        `directory ${join(dir, "data")}`,
        "",
      ].join("\n"),
    );
    const slapd = new Deno.Command("slapd", {
      args: [
        "-d",
        "0",
        "-f",
        join(dir, "slapd.conf"),
        "-h",
        `ldap://127.0.0.1:${plain}/ ldaps://127.0.0.1:${secure}/`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const endpoint = (over: Partial<Parameters<typeof openLdap>[0]>) => ({
      url: `ldaps://127.0.0.1:${secure}`,
      bindDn: "cn=admin,dc=tls,dc=lab",
      bindPassword: password,
      baseDn: "dc=tls,dc=lab",
      filter: "(objectClass=*)",
      startTls: false,
      pageSize: 100,
      timeoutSeconds: 10,
      ...over,
    });
    try {
      await deadline(30_000, async () => {
        await waitForPort(plain);
        await waitForPort(secure);
        for (
          const e of [
            endpoint({ caFile: tls.caFile, ca }),
            endpoint({ caFile: tls.caFile, ca, url: `ldaps://localhost:${secure}` }),
            endpoint({ caFile: tls.caFile, ca, url: `ldap://127.0.0.1:${plain}`, startTls: true }),
          ]
        ) {
          const s = await openLdap(e);
          assert.equal(s.encrypted, true, e.url);
          await closeLdap(s);
        }
        // Without the lab CA the certificate is refused, over both.
        await assert.rejects(() => openLdap(endpoint({})), (e: unknown) => {
          assert.ok(e instanceof LdapError);
          assert.equal(e.operation, "connect");
          assert.match(
            e.message,
            /^Cannot connect to "ldaps:\/\/127\.0\.0\.1:\d+": .*certificate/i,
          );
          return true;
        });
        await assert.rejects(
          () => openLdap(endpoint({ url: `ldap://127.0.0.1:${plain}`, startTls: true })),
          (e: unknown) => {
            assert.ok(e instanceof LdapError);
            assert.equal(e.operation, "starttls");
            assert.match(
              e.message,
              /^Cannot start TLS with "ldap:\/\/127\.0\.0\.1:\d+": .*certificate/i,
            );
            return true;
          },
        );
      });
    } finally {
      slapd.kill("SIGTERM");
      await slapd.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`Nothing listens on 127.0.0.1:${port}`);
}
