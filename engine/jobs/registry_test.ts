import assert from "node:assert/strict";
import {
  closeState,
  getJob,
  JOB_RECORD_MAX_BYTES,
  jobRecordBytes,
  listJobs,
  openState,
  putJob,
  type State,
} from "../state/mod.ts";
import {
  fitRecord,
  JobConflictError,
  type JobEvent,
  JobRegistry,
  MAX_PROGRESS_LINES,
} from "./registry.ts";

async function withState(fn: (state: State) => Promise<void>): Promise<void> {
  const state = await openState(":memory:");
  try {
    await fn(state);
  } finally {
    closeState(state);
  }
}

/** A job body that waits for `release()` after writing `lines`. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

Deno.test("JobRegistry runs a job, streams its lines to a watcher, and stores the outcome", async () => {
  await withState(async (state) => {
    const reg = new JobRegistry(state);
    const g = gate();
    const job = reg.start({
      kind: "sync",
      params: { mailboxes: ["4001"] },
      targets: ["4001"],
      startedBy: "admin:root",
      run: async (ctx) => {
        ctx.progress("one");
        await g.opened;
        ctx.progress("two\nthree");
        return { ok: true, result: { copied: 2 }, summary: "copied 2" };
      },
    });
    assert.equal(job.state, "running");
    const events: JobEvent[] = [];
    const watch = reg.follow(job.id, (e) => events.push(e));
    assert.ok(watch);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual((await reg.get(job.id))?.progress, ["one"]);
    assert.equal(reg.watchers(job.id), 1);
    g.open();
    const done = await reg.wait(job.id, 5000);
    assert.equal(done?.state, "done");
    assert.deepEqual(done?.result, { copied: 2 });
    assert.deepEqual(events.map((e) => e.type === "progress" ? `${e.n}:${e.line}` : e.type), [
      "1:one",
      "2:two",
      "3:three",
      "done",
    ]);
    // Stored, and no longer held in memory.
    const stored = await getJob(state, job.id);
    assert.equal(stored?.state, "done");
    assert.equal(stored?.lines, 3);
    assert.equal(reg.follow(job.id, () => {}), null);
    assert.equal((await reg.list())[0].id, job.id);
  });
});

Deno.test("JobRegistry refuses a second job of a kind on the same target while one runs", async () => {
  await withState(async (state) => {
    const reg = new JobRegistry(state);
    const g = gate();
    const spec = (targets: string[], kind: "sync" | "restore" = "sync") => ({
      kind,
      params: {},
      targets,
      startedBy: "admin:root",
      run: async () => {
        await g.opened;
        return { ok: true };
      },
    });
    const all = reg.start(spec(["*"]));
    assert.throws(() => reg.start(spec(["*"])), (e) => {
      assert.ok(e instanceof JobConflictError);
      assert.equal(e.running.id, all.id);
      assert.match(e.message, new RegExp(all.id));
      return true;
    });
    assert.throws(() => reg.start(spec(["4001"])), JobConflictError);
    // Another kind is another matter.
    const restore = reg.start(spec(["4001"], "restore"));
    assert.throws(() => reg.start(spec(["4001", "4002"], "restore")), JobConflictError);
    const other = reg.start(spec(["4002"], "restore"));
    assert.equal(reg.running().length, 3);
    g.open();
    await reg.idle();
    assert.equal(reg.running().length, 0);
    for (const id of [all.id, restore.id, other.id]) {
      assert.equal((await reg.get(id))?.state, "done");
    }
    // Free again.
    reg.start(spec(["*"]));
    await reg.idle();
  });
});

Deno.test("JobRegistry records a job that throws as failed, with its error", async () => {
  await withState(async (state) => {
    const reg = new JobRegistry(state);
    const finished: string[] = [];
    const job = reg.start({
      kind: "restore",
      params: { mailbox: "4001" },
      targets: ["4001"],
      startedBy: "admin:root",
      run: () => Promise.reject(new Error('Cannot open mailbox "4001" on "mss": NO')),
      onFinish: (j) => {
        finished.push(j.state);
      },
    });
    const out = await reg.wait(job.id, 5000);
    assert.equal(out?.state, "failed");
    assert.match(out!.error!, /Cannot open mailbox/);
    assert.match(out!.progress.at(-1)!, /^FAILED: /);
    assert.deepEqual(finished, ["failed"]);
  });
});

Deno.test("JobRegistry keeps the last 200 progress lines, counting all", async () => {
  await withState(async (state) => {
    const reg = new JobRegistry(state);
    const job = reg.start({
      kind: "sync",
      params: {},
      targets: ["*"],
      startedBy: "admin:root",
      run: (ctx) => {
        for (let i = 1; i <= 250; i++) ctx.progress(`line ${i}`);
        return Promise.resolve({ ok: true });
      },
    });
    const out = (await reg.wait(job.id, 5000))!;
    assert.equal(out.progress.length, MAX_PROGRESS_LINES);
    assert.equal(out.lines, 250);
    assert.equal(out.progress[0], "line 51");
  });
});

Deno.test("a job stored as running that this process does not run reads as interrupted", async () => {
  await withState(async (state) => {
    await putJob(state, {
      id: "20261202T101010000Z-0000abcd",
      kind: "sync",
      params: {},
      startedBy: "admin:root",
      startedAt: "2026-12-02T10:10:10.000Z",
      state: "running",
      progress: ["Syncing"],
      lines: 1,
    });
    const reg = new JobRegistry(state);
    const job = await reg.get("20261202T101010000Z-0000abcd");
    assert.equal(job?.state, "failed");
    assert.match(job!.error!, /interrupted/);
    assert.equal((await reg.list())[0].state, "failed");
    assert.equal(await reg.get("nonsense"), null);
  });
});

Deno.test("fitRecord() shortens a large job to fit the state store", async () => {
  const big = {
    id: "20261202T101010000Z-0000abcd",
    kind: "restore" as const,
    params: {},
    startedBy: "admin:root",
    startedAt: "2026-12-02T10:10:10.000Z",
    state: "done" as const,
    progress: Array.from({ length: 200 }, (_, i) => `line ${i} ${"x".repeat(200)}`),
    lines: 200,
    result: { items: Array.from({ length: 2000 }, (_, i) => ({ n: i, pad: "y".repeat(100) })) },
  };
  const compacted = fitRecord(
    big,
    (r, max) => ({
      items: (r as typeof big.result).items.slice(0, Math.floor(max / 200)),
      cut: true,
    }),
  );
  assert.ok(jobRecordBytes(compacted) <= JOB_RECORD_MAX_BYTES);
  assert.equal(compacted.progress.length, 50);
  assert.equal((compacted.result as { cut: boolean }).cut, true);
  const dropped = fitRecord(big);
  assert.ok(jobRecordBytes(dropped) <= JOB_RECORD_MAX_BYTES);
  assert.match(JSON.stringify(dropped.result), /too large/);
  await withState(async (state) => {
    await putJob(state, compacted);
    await assert.rejects(() => putJob(state, big), /at most/);
    assert.equal((await listJobs(state)).length, 1);
  });
});
