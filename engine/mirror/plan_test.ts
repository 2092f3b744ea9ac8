import assert from "node:assert/strict";
import { type Action, decideCopy, plan, type PlanInput, type SourceMessage } from "./plan.ts";
import type { MapEntry } from "../state/mod.ts";
import { mirrorFlags, normalizeFlags, permanentFlagsFilter } from "../target/mod.ts";

const ALLOW_ALL = () => true;

// A copied message: source UID n sits at target UID n + 100 unless said otherwise.
function mapped(srcUid: number, over: Partial<MapEntry> = {}): MapEntry {
  return {
    srcUid,
    targetUid: srcUid + 100,
    kind: "copy",
    messageId: `<m${srcUid}@mss1>`,
    internalDate: "2024-05-01T10:00:00.000Z",
    size: 1000,
    flags: [],
    ...over,
  };
}

function skipped(srcUid: number): MapEntry {
  return mapped(srcUid, { kind: "skipped", reason: "broadcast", targetUid: 0 });
}

function src(uid: number, flags?: string[]): SourceMessage {
  return flags === undefined ? { uid } : { uid, flags };
}

function input(over: Partial<PlanInput>): PlanInput {
  const map = over.map ?? [];
  return {
    source: [],
    map,
    // By default the target holds exactly what the map says.
    targetUids: new Set(map.filter((e) => e.kind !== "skipped").map((e) => e.targetUid)),
    allowFlag: ALLOW_ALL,
    ...over,
  };
}

// Actions without the map entries, for compact comparisons.
function brief(actions: Action[]): string[] {
  return actions.map((a) => {
    switch (a.type) {
      case "copy":
        return `copy ${a.uid} ${a.reason}`;
      case "delete":
        return `delete ${a.srcUid}`;
      case "forget":
        return `forget ${a.srcUid}`;
      case "setFlags":
        return `setFlags ${a.srcUid} [${a.flags.join(" ")}]`;
    }
  });
}

Deno.test("plan() of an empty folder does nothing", () => {
  assert.deepEqual(plan(input({})), { actions: [], unknownOnTarget: [], refusedFlags: [] });
});

Deno.test("plan() does nothing when the mirror equals production", () => {
  const map = [mapped(1, { flags: ["\\Seen"] }), mapped(2)];
  const p = plan(input({ source: [src(1, ["\\Seen"]), src(2, [])], map }));
  assert.deepEqual(p, { actions: [], unknownOnTarget: [], refusedFlags: [] });
});

Deno.test("plan() copies new messages in UID order", () => {
  const p = plan(input({ source: [src(30), src(4), src(12, ["\\Seen"]), src(7)] }));
  assert.deepEqual(brief(p.actions), ["copy 4 new", "copy 7 new", "copy 12 new", "copy 30 new"]);
});

Deno.test("plan() copies only the messages the map does not know", () => {
  const p = plan(input({ source: [src(1), src(2), src(3)], map: [mapped(2)] }));
  assert.deepEqual(brief(p.actions), ["copy 1 new", "copy 3 new"]);
});

Deno.test("plan() deletes mapped messages gone from the source", () => {
  const map = [mapped(1), mapped(2), mapped(3)];
  const p = plan(input({ source: [src(2)], map }));
  assert.deepEqual(brief(p.actions), ["delete 1", "delete 3"]);
  const del = p.actions[0];
  assert.equal(del.type, "delete");
  assert.deepEqual(del.type === "delete" && del.entry, map[0], "the entry says what to delete");
});

Deno.test("plan() deletes a placeholder whose source message is gone", () => {
  const map = [mapped(1, { kind: "placeholder", targetMessageId: "<p1@vmirror>" })];
  assert.deepEqual(brief(plan(input({ map })).actions), ["delete 1"]);
});

Deno.test("plan() forgets a mapped message gone from both sides", () => {
  const map = [mapped(1), mapped(2)];
  const p = plan(input({ source: [], map, targetUids: new Set([102]) }));
  assert.deepEqual(brief(p.actions), ["delete 2", "forget 1"]);
});

Deno.test("plan() forgets skipped entries when the source message is gone", () => {
  const p = plan(input({ source: [], map: [skipped(5), skipped(3)] }));
  assert.deepEqual(brief(p.actions), ["forget 3", "forget 5"]);
});

Deno.test("plan() never copies a skipped message again", () => {
  const map = [skipped(1), skipped(2)];
  for (const targetUids of [new Set<number>(), null, new Set([0])]) {
    const p = plan(input({ source: [src(1, ["\\Seen"]), src(2)], map, targetUids }));
    assert.deepEqual(p.actions, [], `targetUids ${JSON.stringify(targetUids && [...targetUids])}`);
  }
});

Deno.test("plan() never sets flags on a skipped message", () => {
  const p = plan(input({ source: [src(1, ["\\Seen", "\\Flagged"])], map: [skipped(1)] }));
  assert.deepEqual(p.actions, []);
});

Deno.test("plan() changes flags that differ", () => {
  const map = [mapped(1, { flags: [] }), mapped(2, { flags: ["\\Seen"] }), mapped(3)];
  const p = plan(input({
    source: [src(1, ["\\Seen"]), src(2, []), src(3, ["\\Flagged", "\\Answered"])],
    map,
  }));
  assert.deepEqual(brief(p.actions), [
    "setFlags 1 [\\Seen]",
    "setFlags 2 []",
    "setFlags 3 [\\Answered \\Flagged]",
  ]);
  const set = p.actions[0];
  assert.equal(set.type === "setFlags" && set.entry, map[0]);
});

Deno.test("plan() compares flags case- and order-insensitively", () => {
  const map = [mapped(1, { flags: ["\\Seen", "$Heard"] }), mapped(2, { flags: ["\\seen"] })];
  const p = plan(input({
    source: [src(1, ["$heard", "\\SEEN"]), src(2, ["\\Seen", "\\Seen", "\\SEEN"])],
    map,
  }));
  assert.deepEqual(p.actions, []);
});

Deno.test("plan() leaves flags alone when the source reports them unchanged", () => {
  const map = [mapped(1, { flags: ["\\Seen"] }), mapped(2, { flags: [] })];
  const p = plan(input({ source: [src(1), src(2)], map }));
  assert.deepEqual(p.actions, []);
});

Deno.test("plan() copies a new message even without its flags", () => {
  assert.deepEqual(brief(plan(input({ source: [src(9)] })).actions), ["copy 9 new"]);
});

Deno.test("plan() re-copies a mapped message missing on the target", () => {
  const map = [mapped(1), mapped(2), mapped(3)];
  const p = plan(input({
    source: [src(1, ["\\Seen"]), src(2), src(3)],
    map,
    targetUids: new Set([102]),
  }));
  assert.deepEqual(brief(p.actions), ["copy 1 missing-on-target", "copy 3 missing-on-target"]);
  assert.deepEqual(p.unknownOnTarget, []);
});

Deno.test("plan() re-copies a missing placeholder too", () => {
  const map = [mapped(1, { kind: "placeholder" })];
  const p = plan(input({ source: [src(1)], map, targetUids: new Set() }));
  assert.deepEqual(brief(p.actions), ["copy 1 missing-on-target"]);
});

Deno.test("plan() reports target UIDs unknown to the map and never deletes them", () => {
  const map = [mapped(1), mapped(2)];
  const p = plan(input({
    source: [src(1)],
    map,
    targetUids: new Set([500, 101, 7, 102]),
  }));
  assert.deepEqual(p.unknownOnTarget, [7, 500]);
  assert.deepEqual(brief(p.actions), ["delete 2"]);
  for (const a of p.actions) {
    assert.ok(a.type !== "delete" || a.entry.targetUid === 102, "only mapped UIDs are deleted");
  }
});

Deno.test("plan() does not count a skipped entry's target UID as known", () => {
  const p = plan(input({ source: [src(1)], map: [skipped(1)], targetUids: new Set([0, 3]) }));
  assert.deepEqual(p.unknownOnTarget, [0, 3]);
});

Deno.test("plan() with targetUids null trusts the map", () => {
  const map = [mapped(1), mapped(2, { flags: [] })];
  const p = plan(input({ source: [src(2, ["\\Seen"]), src(3)], map, targetUids: null }));
  assert.deepEqual(brief(p.actions), ["delete 1", "copy 3 new", "setFlags 2 [\\Seen]"]);
  assert.deepEqual(p.unknownOnTarget, []);
});

Deno.test("plan() reports keywords the target refuses and does not write them", () => {
  const allowFlag = permanentFlagsFilter(new Set(["\\Seen", "\\Flagged"]));
  const map = [mapped(1, { flags: ["\\Seen"] }), mapped(2, { flags: [] })];
  const p = plan(input({
    source: [src(1, ["\\Seen", "$Heard"]), src(2, ["\\Flagged", "Urgent"]), src(3, ["$Junk"])],
    map,
    allowFlag,
  }));
  assert.deepEqual(brief(p.actions), ["copy 3 new", "setFlags 2 [\\Flagged]"]);
  assert.deepEqual(p.refusedFlags, ["$Heard", "$Junk", "Urgent"]);
});

Deno.test("plan() reports each refused keyword once", () => {
  const allowFlag = permanentFlagsFilter(new Set(["\\Seen"]));
  const p = plan(input({ source: [src(1, ["$X"]), src(2, ["$X"])], allowFlag }));
  assert.deepEqual(p.refusedFlags, ["$X"]);
});

Deno.test("plan() never mirrors \\Deleted or \\Recent", () => {
  const map = [mapped(1, { flags: ["\\Seen"] }), mapped(2, { flags: [] })];
  const p = plan(input({
    source: [src(1, ["\\Seen", "\\Deleted", "\\Recent"]), src(2, ["\\deleted"])],
    map,
    allowFlag: permanentFlagsFilter(new Set(["\\Seen"])),
  }));
  assert.deepEqual(p.actions, [], "no flag change and nothing deleted for \\Deleted");
  assert.deepEqual(p.refusedFlags, [], "never-mirrored flags are not refusals");
  const cleared = plan(input({
    source: [src(1, ["\\Deleted"])],
    map: [mapped(1, { flags: ["\\Seen"] })],
  }));
  assert.deepEqual(brief(cleared.actions), ["setFlags 1 []"]);
});

Deno.test("plan() orders actions: deletions, forgets, copies, then flag changes", () => {
  const map = [
    mapped(1, { flags: [] }), // flags change
    mapped(2), // gone from source → delete
    skipped(3), // gone from source → forget
    mapped(4), // missing on target → re-copy
    mapped(5), // gone from both → forget
    mapped(8, { flags: [] }), // flags change
    mapped(9), // gone from source → delete
  ];
  const p = plan(input({
    source: [src(10), src(1, ["\\Seen"]), src(4), src(8, ["\\Flagged"]), src(6)],
    map,
    targetUids: new Set([101, 102, 108, 109]),
  }));
  assert.deepEqual(brief(p.actions), [
    "delete 2",
    "delete 9",
    "forget 3",
    "forget 5",
    "copy 4 missing-on-target",
    "copy 6 new",
    "copy 10 new",
    "setFlags 1 [\\Seen]",
    "setFlags 8 [\\Flagged]",
  ]);
});

Deno.test("plan() does not change its input", () => {
  const map = [mapped(2, { flags: ["\\Seen"] }), mapped(1)];
  const source = [src(3, ["\\Seen"]), src(1, ["\\Flagged"])];
  const targetUids = new Set([101, 102, 900]);
  const before = JSON.stringify([map, source, [...targetUids]]);
  plan(input({ source, map, targetUids }));
  assert.equal(JSON.stringify([map, source, [...targetUids]]), before);
});

Deno.test("mirrorFlags() drops never-mirrored flags and splits allowed from refused", () => {
  const allow = (f: string) => f.startsWith("\\");
  assert.deepEqual(
    mirrorFlags(["$B", "\\Seen", "\\Recent", "$a", "\\DELETED", "\\Answered"], allow),
    {
      flags: ["\\Answered", "\\Seen"],
      refused: ["$a", "$B"],
    },
  );
  assert.deepEqual(mirrorFlags([], ALLOW_ALL), { flags: [], refused: [] });
  assert.deepEqual(mirrorFlags(new Set(["\\Seen"]), ALLOW_ALL).flags, ["\\Seen"]);
});

Deno.test("normalizeFlags() sorts and de-duplicates case-insensitively, keeping the first", () => {
  assert.deepEqual(normalizeFlags(["\\Seen", "$b", "\\SEEN", "$A", "$B"]), ["$A", "$b", "\\Seen"]);
  assert.deepEqual(normalizeFlags([]), []);
  assert.deepEqual(normalizeFlags(["b", "a", "C"]), ["a", "b", "C"]);
});

Deno.test("permanentFlagsFilter() without PERMANENTFLAGS allows everything", () => {
  const f = permanentFlagsFilter(undefined);
  for (const flag of ["\\Seen", "$Junk", "anything"]) assert.equal(f(flag), true);
});

Deno.test("permanentFlagsFilter() allows only the listed flags without \\*", () => {
  const f = permanentFlagsFilter(new Set(["\\Seen", "\\Flagged", "$Heard"]));
  assert.equal(f("\\Seen"), true);
  assert.equal(f("\\seen"), true, "case-insensitive");
  assert.equal(f("$heard"), true);
  assert.equal(f("\\Answered"), false);
  assert.equal(f("$Junk"), false);
  const none = permanentFlagsFilter(new Set());
  assert.equal(none("\\Seen"), false, "an empty PERMANENTFLAGS keeps nothing");
});

Deno.test("permanentFlagsFilter() with \\* allows any keyword but not unlisted system flags", () => {
  const f = permanentFlagsFilter(new Set(["\\Seen", "\\*"]));
  assert.equal(f("\\Seen"), true);
  assert.equal(f("$Junk"), true);
  assert.equal(f("Urgent"), true);
  assert.equal(f("\\Flagged"), false);
  assert.equal(f("\\Answered"), false);
});

const LIMITS = { maxMessageSeconds: 300, maxMessageBytes: 1_000_000, placeholders: true };

Deno.test("decideCopy() skips a broadcast whatever its size", () => {
  const msg = { broadcast: true, durationSeconds: 10, size: 10 };
  assert.deepEqual(decideCopy(msg, LIMITS), { kind: "skip", reason: "broadcast" });
  assert.deepEqual(decideCopy({ ...msg, size: 1e9 }, { ...LIMITS, placeholders: false }), {
    kind: "skip",
    reason: "broadcast",
  });
});

Deno.test("decideCopy() leaves a placeholder for a message too long", () => {
  const msg = { broadcast: false, durationSeconds: 301, size: 10 };
  assert.deepEqual(decideCopy(msg, LIMITS), { kind: "placeholder", reason: "too-long" });
  assert.deepEqual(decideCopy({ ...msg, durationSeconds: 300 }, LIMITS), { kind: "copy" });
  assert.deepEqual(decideCopy({ ...msg, size: 2_000_000 }, LIMITS), {
    kind: "placeholder",
    reason: "too-long",
  });
});

Deno.test("decideCopy() leaves a placeholder for a message too big", () => {
  const msg = { broadcast: false, durationSeconds: 10, size: 1_000_001 };
  assert.deepEqual(decideCopy(msg, LIMITS), { kind: "placeholder", reason: "too-big" });
  assert.deepEqual(decideCopy({ ...msg, size: 1_000_000 }, LIMITS), { kind: "copy" });
});

Deno.test("decideCopy() copies everything when placeholders are disabled", () => {
  const msg = { broadcast: false, durationSeconds: 9999, size: 1e9 };
  assert.deepEqual(decideCopy(msg, { ...LIMITS, placeholders: false }), { kind: "copy" });
});

Deno.test("decideCopy() treats an unknown duration as not too long", () => {
  const msg = { broadcast: false, durationSeconds: null, size: 10 };
  assert.deepEqual(decideCopy(msg, LIMITS), { kind: "copy" });
  assert.deepEqual(decideCopy({ ...msg, size: 2_000_000 }, LIMITS), {
    kind: "placeholder",
    reason: "too-big",
  });
});

Deno.test("decideCopy() with no limits copies", () => {
  const msg = { broadcast: false, durationSeconds: 1e6, size: 1e12 };
  const limits = { maxMessageSeconds: null, maxMessageBytes: null, placeholders: true };
  assert.deepEqual(decideCopy(msg, limits), { kind: "copy" });
});
