import assert from "node:assert/strict";
import {
  countSkips,
  identityKey,
  MAX_UID_RANGE,
  type NotMirrored,
  parseRestoreDate,
  parseUidArgs,
  planRestore,
  type ProductionFolder,
  type RestoreCandidate,
  restoreFlags,
  type RestorePlan,
  sameMessage,
} from "./plan.ts";

const T0 = Date.UTC(2026, 0, 10, 9, 0, 0);

function cand(uid: number, over: Partial<RestoreCandidate> = {}): RestoreCandidate {
  return {
    folder: "INBOX",
    mirrorUid: uid,
    mirrorUidValidity: 77,
    sourceUid: uid + 100,
    kind: "copy",
    messageId: `<m${uid}@mss.lab>`,
    internalDate: new Date(T0 + uid * 60_000),
    size: 1000 + uid,
    flags: [],
    ...over,
  };
}

function onProd(c: RestoreCandidate, uid: number, over: Partial<RestoreCandidate> = {}) {
  return {
    uid,
    messageId: over.messageId !== undefined ? over.messageId : c.messageId,
    internalDate: over.internalDate ?? c.internalDate,
    size: over.size ?? c.size,
  };
}

function prod(folders: Record<string, ReturnType<typeof onProd>[]>) {
  const out: Record<string, ProductionFolder> = {};
  for (const [f, messages] of Object.entries(folders)) out[f] = { exists: true, messages };
  return out;
}

function appended(p: RestorePlan): string[] {
  return p.appends.map((a) => `${a.folder}:${a.candidate.mirrorUid}`);
}

function reasons(p: RestorePlan): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of p.skips) {
    if (s.reason === "never-mirrored") out[`lost:${s.message.sourceUid}`] = s.reason;
    else out[`${s.candidate.folder}:${s.candidate.mirrorUid}`] = s.reason;
  }
  return out;
}

Deno.test("planRestore() appends what production lacks with the mirror's flags and date", () => {
  const a = cand(1, { flags: ["\\Seen", "$Forwarded"] });
  const b = cand(2);
  const p = planRestore({ candidates: [a, b], production: prod({ INBOX: [] }) });
  assert.deepEqual(appended(p), ["INBOX:1", "INBOX:2"]);
  assert.deepEqual(p.appends[0].flags, ["$Forwarded", "\\Seen"]);
  assert.equal(p.appends[0].internalDate.getTime(), a.internalDate.getTime());
  assert.equal(p.appends[0].candidate, a);
  assert.deepEqual(p.skips, []);
  assert.deepEqual(p.createFolders, []);
  assert.deepEqual(p.unmatchedUids, []);
});

Deno.test("planRestore() skips what production already has, naming production's UID", () => {
  const a = cand(1);
  const b = cand(2);
  const p = planRestore({ candidates: [a, b], production: prod({ INBOX: [onProd(a, 40)] }) });
  assert.deepEqual(appended(p), ["INBOX:2"]);
  assert.deepEqual(p.skips, [{ reason: "on-production", candidate: a, productionUid: 40 }]);
});

Deno.test("planRestore() is idempotent: after its appends land, a second plan appends nothing", () => {
  const cs = [cand(1), cand(2), cand(3, { folder: "Greetings" })];
  const first = planRestore({ candidates: cs, production: {} });
  assert.equal(first.appends.length, 3);
  const landed: Record<string, ReturnType<typeof onProd>[]> = { INBOX: [], Greetings: [] };
  first.appends.forEach((a, i) => landed[a.folder].push(onProd(a.candidate, 500 + i)));
  const second = planRestore({ candidates: cs, production: prod(landed) });
  assert.deepEqual(second.appends, []);
  assert.deepEqual(countSkips(second.skips), { "on-production": 3 });
  assert.deepEqual(second.createFolders, []);
});

Deno.test("planRestore() compares identity by Message-ID, date to the second and size", () => {
  const base = cand(1);
  const cases: [string, Partial<RestoreCandidate>, boolean][] = [
    ["same", {}, true],
    ["milliseconds differ", { internalDate: new Date(base.internalDate.getTime() + 999) }, true],
    ["next second", { internalDate: new Date(base.internalDate.getTime() + 1000) }, false],
    ["size differs", { size: base.size + 1 }, false],
    ["Message-ID differs", { messageId: "<other@mss.lab>" }, false],
    ["production has no Message-ID", { messageId: null }, false],
  ];
  for (const [what, change, present] of cases) {
    const p = planRestore({
      candidates: [base],
      production: prod({ INBOX: [onProd(base, 9, change)] }),
    });
    assert.equal(p.appends.length, present ? 0 : 1, what);
  }
  // Both without a Message-ID: date and size decide.
  const bare = cand(2, { messageId: null });
  const p = planRestore({ candidates: [bare], production: prod({ INBOX: [onProd(bare, 9)] }) });
  assert.deepEqual(reasons(p), { "INBOX:2": "on-production" });
});

Deno.test("planRestore() looks for a message only in its own production folder", () => {
  const g = cand(1, { folder: "Greetings" });
  const p = planRestore({
    candidates: [g],
    production: prod({ INBOX: [onProd(g, 3)], Greetings: [] }),
  });
  assert.deepEqual(appended(p), ["Greetings:1"]);
});

Deno.test("planRestore() creates a folder production lacks, once, only when appending to it", () => {
  const cs = [
    cand(1, { folder: "Greetings" }),
    cand(2, { folder: "Greetings" }),
    cand(3, { folder: "Saved" }),
    cand(4),
  ];
  const p = planRestore({
    candidates: cs,
    production: {
      INBOX: { exists: true, messages: [] },
      Greetings: { exists: false, messages: [] },
      // Saved is absent from the input altogether: it does not exist either.
    },
  });
  assert.deepEqual(p.createFolders, ["Greetings", "Saved"]);
  const none = planRestore({
    candidates: [cand(5, { folder: "Greetings" })],
    production: { Greetings: { exists: false, messages: [] } },
    filter: { uids: [99] },
  });
  assert.deepEqual(none.createFolders, []);
});

Deno.test("planRestore() with --uid restores only those mirror UIDs, in every folder", () => {
  const cs = [cand(1), cand(2), cand(3), cand(2, { folder: "Greetings" })];
  const p = planRestore({ candidates: cs, production: {}, filter: { uids: [2, 3, 8, 9] } });
  assert.deepEqual(appended(p), ["INBOX:2", "INBOX:3", "Greetings:2"]);
  assert.deepEqual(reasons(p), { "INBOX:1": "uid-not-selected" });
  assert.deepEqual(p.unmatchedUids, [8, 9]);
  // An empty list is no filter.
  assert.equal(
    planRestore({ candidates: cs, production: {}, filter: { uids: [] } }).appends.length,
    4,
  );
});

Deno.test("planRestore() with --since restores messages at or after the instant", () => {
  const cs = [cand(1), cand(2), cand(3)];
  const p = planRestore({
    candidates: cs,
    production: {},
    filter: { since: cs[1].internalDate },
  });
  assert.deepEqual(appended(p), ["INBOX:2", "INBOX:3"]);
  assert.deepEqual(reasons(p), { "INBOX:1": "before-since" });
});

Deno.test("planRestore() reports the operator's filters before what production holds", () => {
  const a = cand(1);
  const b = cand(2);
  const p = planRestore({
    candidates: [a, b],
    production: prod({ INBOX: [onProd(a, 7), onProd(b, 8)] }),
    filter: { uids: [2], since: new Date(T0 + 10 * 60_000) },
  });
  assert.deepEqual(reasons(p), { "INBOX:1": "uid-not-selected", "INBOX:2": "before-since" });
});

Deno.test("planRestore() leaves the deleted area out unless asked, preferring a live twin", () => {
  const live = cand(1);
  const gone = cand(2, { deleted: true });
  const twin = cand(5, { ...live, mirrorUid: 5, deleted: true });
  const cs = [live, gone, twin];
  const p = planRestore({ candidates: cs, production: {} });
  assert.deepEqual(appended(p), ["INBOX:1"]);
  assert.deepEqual(reasons(p), { "INBOX:2": "deleted-on-mirror", "INBOX:5": "deleted-on-mirror" });
  const all = planRestore({ candidates: cs, production: {}, filter: { includeDeleted: true } });
  assert.deepEqual(appended(all), ["INBOX:1", "INBOX:2"]);
  assert.deepEqual(all.skips, [{ reason: "duplicate-on-mirror", candidate: twin, sameAs: 1 }]);
});

Deno.test("planRestore() appends a message the mirror holds twice only once", () => {
  const a = cand(7);
  const b = { ...a, mirrorUid: 3 };
  const c = { ...a, mirrorUid: 9, kind: "placeholder" as const };
  const p = planRestore({ candidates: [a, b, c], production: {} });
  assert.deepEqual(appended(p), ["INBOX:3"]);
  assert.deepEqual(reasons(p), {
    "INBOX:7": "duplicate-on-mirror",
    "INBOX:9": "duplicate-on-mirror",
  });
  // Already on production: every copy says so, none is a "duplicate".
  const q = planRestore({ candidates: [a, b], production: prod({ INBOX: [onProd(a, 1)] }) });
  assert.deepEqual(countSkips(q.skips), { "on-production": 2 });
});

Deno.test("planRestore() never appends a placeholder whose original is missing", () => {
  const ph = cand(1, { kind: "placeholder", unavailable: "the original is missing" });
  const p = planRestore({ candidates: [ph], production: {} });
  assert.deepEqual(p.appends, []);
  assert.deepEqual(p.skips, [{
    reason: "original-missing",
    candidate: ph,
    detail: "the original is missing",
  }]);
  assert.deepEqual(p.createFolders, []);
  // On production already: nothing is missing.
  const there = planRestore({ candidates: [ph], production: prod({ INBOX: [onProd(ph, 4)] }) });
  assert.deepEqual(reasons(there), { "INBOX:1": "on-production" });
  // A readable copy of the same message stands in for it.
  const copy = cand(1, { mirrorUid: 8 });
  const both = planRestore({ candidates: [ph, copy], production: {} });
  assert.deepEqual(appended(both), ["INBOX:8"]);
  assert.deepEqual(reasons(both), { "INBOX:1": "duplicate-on-mirror" });
});

Deno.test("planRestore() reports messages the mirror never held that production lost", () => {
  const nm = (uid: number, over: Partial<NotMirrored> = {}): NotMirrored => ({
    folder: "INBOX",
    sourceUid: uid,
    messageId: `<b${uid}@mss.lab>`,
    internalDate: new Date(T0 + uid * 1000),
    size: 500,
    reason: "broadcast",
    ...over,
  });
  const kept = nm(1);
  const lost = nm(2);
  const twice = { ...lost, sourceUid: 12 }; // the same message under an old UIDVALIDITY
  const old = nm(3, { internalDate: new Date(T0 - 86_400_000) });
  const mirrored = nm(4);
  const p = planRestore({
    candidates: [cand(50, { ...mirrored, mirrorUid: 50, sourceUid: 4 })],
    notMirrored: [kept, lost, twice, old, mirrored],
    production: prod({ INBOX: [{ uid: 1, ...kept }] }),
    filter: { since: new Date(T0 - 1000) },
  });
  assert.deepEqual(p.skips, [{ reason: "never-mirrored", message: lost }]);
  // With --uid the operator picked messages of the mirror: the never-mirrored are not listed.
  const q = planRestore({
    candidates: [],
    notMirrored: [lost],
    production: {},
    filter: { uids: [2] },
  });
  assert.deepEqual(q.skips, []);
  assert.deepEqual(q.unmatchedUids, [2]);
});

Deno.test("planRestore() appends folder by folder, oldest first, so UIDs follow arrival", () => {
  const cs = [
    cand(1, { folder: "Greetings", internalDate: new Date(T0) }),
    cand(2, { internalDate: new Date(T0 + 5000) }),
    cand(3, { internalDate: new Date(T0 + 1000) }),
    cand(4, { internalDate: new Date(T0 + 1000) }),
    cand(5, { folder: "Greetings", internalDate: new Date(T0 - 5000) }),
  ];
  assert.deepEqual(appended(planRestore({ candidates: cs, production: {} })), [
    "Greetings:5",
    "Greetings:1",
    "INBOX:3",
    "INBOX:4",
    "INBOX:2",
  ]);
});

Deno.test("planRestore() accounts for every candidate exactly once", () => {
  // A deterministic pseudo-random mix of every situation.
  let seed = 42;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let round = 0; round < 50; round++) {
    const cs: RestoreCandidate[] = [];
    const production: Record<string, ReturnType<typeof onProd>[]> = { INBOX: [], Greetings: [] };
    for (let i = 1; i <= 30; i++) {
      const folder = rnd(3) === 0 ? "Greetings" : "INBOX";
      const id = rnd(20);
      const c = cand(i, {
        folder,
        messageId: `<x${id}@lab>`,
        internalDate: new Date(T0 + id * 1000),
        size: 100 + id,
        deleted: rnd(5) === 0,
        ...(rnd(7) === 0 ? { unavailable: "gone" } : {}),
      });
      cs.push(c);
      if (rnd(3) === 0) production[folder].push(onProd(c, 1000 + i));
    }
    const p = planRestore({
      candidates: cs,
      production: prod(production),
      filter: {
        uids: rnd(2) ? undefined : [1, 3, 5, 7, 11, 13, 17, 19, 23, 29],
        since: rnd(2) ? undefined : new Date(T0 + 5000),
        includeDeleted: !!rnd(2),
      },
    });
    const seen = [
      ...p.appends.map((a) => a.candidate),
      ...p.skips.flatMap((s) => s.reason === "never-mirrored" ? [] : [s.candidate]),
    ];
    assert.equal(seen.length, cs.length, `round ${round}`);
    assert.equal(new Set(seen).size, cs.length, `round ${round}`);
    // No identity goes twice into one folder, and none that production holds.
    const keys = p.appends.map((a) => `${a.folder}|${identityKey(a.candidate)}`);
    assert.equal(new Set(keys).size, keys.length, `round ${round}`);
    for (const a of p.appends) {
      assert.ok(!production[a.folder].some((m) => sameMessage(m, a.candidate)));
      assert.equal(a.candidate.unavailable, undefined);
    }
  }
});

Deno.test("restoreFlags() drops \\Recent and \\Deleted and keeps keywords, sorted once each", () => {
  assert.deepEqual(
    restoreFlags(["\\Seen", "\\recent", "\\DELETED", "$Forwarded", "\\seen", "\\Flagged"]),
    ["$Forwarded", "\\Flagged", "\\Seen"],
  );
  assert.deepEqual(restoreFlags([]), []);
});

Deno.test("identityKey() is equal exactly when sameMessage() holds", () => {
  const ids = [null, "<a@x>", "<b@x>"];
  const dates = [T0, T0 + 400, T0 + 1000];
  const sizes = [10, 11];
  const all = ids.flatMap((messageId) =>
    dates.flatMap((d) => sizes.map((size) => ({ messageId, internalDate: new Date(d), size })))
  );
  for (const a of all) {
    for (const b of all) {
      assert.equal(identityKey(a) === identityKey(b), sameMessage(a, b), JSON.stringify([a, b]));
    }
  }
});

Deno.test("parseRestoreDate() reads dates, local times and times with a zone", () => {
  const now = () => new Date(Date.UTC(2030, 0, 1));
  assert.equal(parseRestoreDate("2026-03-05", now).getTime(), new Date(2026, 2, 5).getTime());
  assert.equal(
    parseRestoreDate(" 2026-03-05T14:30 ", now).getTime(),
    new Date(2026, 2, 5, 14, 30).getTime(),
  );
  assert.equal(
    parseRestoreDate("2026-03-05 14:30:15", now).getTime(),
    new Date(2026, 2, 5, 14, 30, 15).getTime(),
  );
  assert.equal(
    parseRestoreDate("2026-03-05T14:30:15Z", now).toISOString(),
    "2026-03-05T14:30:15.000Z",
  );
  assert.equal(
    parseRestoreDate("2026-03-05T14:30:15.250z", now).toISOString(),
    "2026-03-05T14:30:15.250Z",
  );
  assert.equal(
    parseRestoreDate("2026-03-05T14:30:00+02:00", now).toISOString(),
    "2026-03-05T12:30:00.000Z",
  );
  assert.equal(
    parseRestoreDate("2026-03-05T14:30:00-0530", now).toISOString(),
    "2026-03-05T20:00:00.000Z",
  );
  assert.equal(
    parseRestoreDate("2026-03-05T14:30:15.25Z", now).toISOString(),
    "2026-03-05T14:30:15.250Z",
  );
  assert.equal(parseRestoreDate("2024-02-29", now).getDate(), 29);
});

Deno.test("parseRestoreDate() refuses what is not a real past date, naming the value", () => {
  const now = () => new Date(Date.UTC(2030, 0, 1));
  for (
    const bad of [
      "",
      "yesterday",
      "2026-3-5",
      "05/03/2026",
      "2026-02-29",
      "2026-13-01",
      "2026-00-10",
      "2026-04-31",
      "2026-01-01T24:00",
      "2026-01-01T10:60",
      "2026-01-01T10:00:60",
      "2026-01-01T10:00+15:00",
      "2026-01-01T10:00+0260",
      "2026-01-01T10",
      "1767225600",
      "2031-01-01",
    ]
  ) {
    assert.throws(
      () => parseRestoreDate(bad, now),
      (e: Error) => e instanceof RangeError && e.message.startsWith(`Invalid date "${bad}"`),
      bad,
    );
  }
});

Deno.test("parseUidArgs() reads single UIDs, lists and ranges, sorted once each", () => {
  assert.deepEqual(parseUidArgs(["12"]), [12]);
  assert.deepEqual(parseUidArgs(["3,1", "2", " 7 "]), [1, 2, 3, 7]);
  assert.deepEqual(parseUidArgs(["5:3", "4"]), [3, 4, 5]);
  assert.deepEqual(parseUidArgs(["4294967295"]), [4294967295]);
  assert.deepEqual(parseUidArgs([]), []);
  assert.equal(parseUidArgs([`1:${MAX_UID_RANGE}`]).length, MAX_UID_RANGE);
});

Deno.test("parseUidArgs() refuses what is not a UID, naming the value", () => {
  for (
    const bad of ["", "0", "-1", "abc", "1.5", "1,,2", "1:", ":3", "0:4", "4294967296", "1e3", "*"]
  ) {
    assert.throws(
      () => parseUidArgs([bad]),
      (e: Error) => e instanceof RangeError && e.message.startsWith(`Invalid UID "${bad}"`),
      bad,
    );
  }
  assert.throws(() => parseUidArgs([`1:${MAX_UID_RANGE + 1}`]), /at most/);
});
