import assert from "node:assert/strict";
import { closeState, openState } from "./kv.ts";
import { getHeardMarks, getVisit, setHeardMarks, updateVisit } from "./heard.ts";

Deno.test("heard marks: set and read per mailbox, more than one getMany's worth", async () => {
  const state = await openState(":memory:");
  try {
    const ids = Array.from({ length: 23 }, (_, i) => `id${i}`);
    await setHeardMarks(state, "4001", ids.slice(0, 15), { heard: true, at: "2026-11-20T10:00Z" });
    await setHeardMarks(state, "4001", ["id3"], { heard: false, at: "2026-11-20T11:00Z" });
    const marks = await getHeardMarks(state, "4001", [...ids, "id3"]);
    assert.equal(marks.size, 15);
    assert.deepEqual(marks.get("id3"), { heard: false, at: "2026-11-20T11:00Z" });
    assert.equal(marks.get("id14")?.heard, true);
    assert.equal(marks.has("id15"), false);
    // Another mailbox sees none of them.
    assert.equal((await getHeardMarks(state, "4002", ids)).size, 0);
  } finally {
    closeState(state);
  }
});

Deno.test("visits: read-modify-write per mailbox", async () => {
  const state = await openState(":memory:");
  try {
    assert.equal(await getVisit(state, "4001"), null);
    const a = await updateVisit(state, "4001", (cur) => {
      assert.equal(cur, null);
      return { session: "s1", since: null, seenAt: "2026-11-20T10:00:00.000Z" };
    });
    assert.equal(a.session, "s1");
    const b = await updateVisit(state, "4001", (cur) => ({
      session: "s2",
      since: cur!.seenAt,
      seenAt: "2026-11-21T10:00:00.000Z",
    }));
    assert.deepEqual(await getVisit(state, "4001"), b);
    assert.equal(b.since, "2026-11-20T10:00:00.000Z");
    assert.equal(await getVisit(state, "4002"), null);
  } finally {
    closeState(state);
  }
});
