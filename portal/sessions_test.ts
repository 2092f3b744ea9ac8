import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createSession,
  endSession,
  getSession,
  hashPassword,
  isPasswordHash,
  loadAdminCredential,
  sameSecret,
  verifyAdmin,
  verifyPassword,
} from "./sessions.ts";
import { closeState, listPortalRecords, openState, putAdminHash } from "../engine/state/mod.ts";

Deno.test("sessions expire after their idle minutes and slide while used", async () => {
  const state = await openState(":memory:");
  try {
    const t0 = new Date("2026-01-01T10:00:00Z");
    const at = (min: number) => new Date(t0.getTime() + min * 60_000);
    const { token, session } = await createSession(
      state,
      { role: "subscriber", subject: "4006", from: "127.0.0.1" },
      { minutes: 30, now: t0 },
    );
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(session.csrf, token);
    assert.equal((await getSession(state, token, { minutes: 30, now: at(20) }))?.subject, "4006");
    // Used at minute 20, so it lives until minute 50.
    assert.ok(await getSession(state, token, { minutes: 30, now: at(45) }));
    assert.equal(await getSession(state, token, { minutes: 30, now: at(80) }), null);
    // Once expired it stays gone.
    assert.equal(await getSession(state, token, { minutes: 30, now: at(46) }), null);
  } finally {
    closeState(state);
  }
});

Deno.test("sessions end at logout and KV never holds the token itself", async () => {
  const state = await openState(":memory:");
  try {
    const { token } = await createSession(
      state,
      { role: "admin", subject: "admin", from: "::1" },
      { minutes: 5 },
    );
    const stored = JSON.stringify(await listPortalRecords(state));
    assert.ok(!stored.includes(token));
    await endSession(state, token);
    assert.equal(await getSession(state, token, { minutes: 5 }), null);
    assert.equal(await getSession(state, "not a token", { minutes: 5 }), null);
    assert.equal(await getSession(state, undefined, { minutes: 5 }), null);
  } finally {
    closeState(state);
  }
});

Deno.test("hashPassword() and verifyPassword() agree, and refuse others", async () => {
  const h = await hashPassword("correct horse", { iterations: 1000 });
  assert.ok(isPasswordHash(h));
  assert.ok(await verifyPassword("correct horse", h));
  assert.ok(!(await verifyPassword("correct horsf", h)));
  assert.ok(!(await verifyPassword("correct horse", "plain")));
  assert.ok(!(await verifyPassword("x", "pbkdf2-sha256$abc$x$y")));
  assert.ok(sameSecret("abc", "abc"));
  assert.ok(!sameSecret("abc", "abd"));
  assert.ok(!sameSecret("abc", "abcd"));
});

Deno.test("loadAdminCredential() waits for setup, then reads the stored hash only", async () => {
  const state = await openState(":memory:");
  try {
    const opts = { user: "admin", iterations: 1000 };
    assert.equal(await loadAdminCredential(state, opts), null);
    const hash = await hashPassword("chosen at setup", { iterations: 1000 });
    await putAdminHash(state, { hash, createdAt: new Date().toISOString() });
    const cred = await loadAdminCredential(state, opts);
    assert.equal(cred?.origin, "stored");
    assert.ok(await verifyAdmin(cred!, { user: "admin", password: "chosen at setup" }));
    assert.ok(!(await verifyAdmin(cred!, { user: "root", password: "chosen at setup" })));
    assert.ok(!JSON.stringify(await listPortalRecords(state)).includes("chosen at setup"));
  } finally {
    closeState(state);
  }
});

Deno.test("loadAdminCredential() takes a plain password or a hash from the file", async () => {
  const state = await openState(":memory:");
  const dir = await Deno.makeTempDir();
  try {
    const plain = join(dir, "plain");
    await Deno.writeTextFile(plain, "s3cret-pass\n");
    const a = await loadAdminCredential(state, {
      user: "ops",
      passwordFile: plain,
      iterations: 1000,
    });
    assert.equal(a?.origin, "file");
    assert.ok(await verifyAdmin(a!, { user: "ops", password: "s3cret-pass" }));
    const hashed = join(dir, "hash");
    await Deno.writeTextFile(hashed, await hashPassword("other", { iterations: 1000 }));
    const b = await loadAdminCredential(state, {
      user: "ops",
      passwordFile: hashed,
    });
    assert.ok(await verifyAdmin(b!, { user: "ops", password: "other" }));
    const empty = join(dir, "empty");
    await Deno.writeTextFile(empty, "");
    await assert.rejects(
      loadAdminCredential(state, { user: "ops", passwordFile: empty }),
      /is empty/,
    );
  } finally {
    closeState(state);
    await Deno.remove(dir, { recursive: true });
  }
});
