/**
 * With a file-store target, the directory pass keeps each subscriber's recorded name beside its
 * messages, as the production directory holds it (read here directly, as the lab's admin). The
 * operator's view is the CLI: `directory-sync --once` and its exit code.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type DirectoryReport, runDirectorySync } from "../engine/directory/mod.ts";
import { type AttrValue, type DirEntry, getAttr } from "../engine/directory/mod.ts";
import {
  addEntry,
  closeLdap,
  deleteEntry,
  type LdapSession,
  searchEntries,
} from "../engine/directory/mod.ts";
import { closeState, openState } from "../engine/state/mod.ts";
import { filesSide, lab, ldapAdmin, type Run, runCli, tempDir } from "./test_utils/mod.ts";

const MAILBOX_ATTR = "vmMailboxNumber";
const NAME_ATTR = "vmRecordedName";

// The real CLI in a child process; killed after two minutes so a hang fails the test.
function vmirror(args: string[]): Promise<Run> {
  return runCli(args);
}

function describe(r: Run): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** `directory-sync --once --json` with the test's config; the report parsed from stdout. */
async function directorySync(dir: string): Promise<{ run: Run; report: DirectoryReport }> {
  const run = await vmirror([
    "directory-sync",
    "--once",
    "--json",
    "--config",
    join(dir, "vmirror.json"),
    "--data",
    join(dir, "data"),
  ]);
  let report: DirectoryReport;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    throw new Error(`no JSON report: ${describe(run)}`);
  }
  return { run, report };
}

/** `directory-sync --once` as an operator reads it (text report on stdout). */
async function directorySyncText(dir: string): Promise<Run> {
  return await vmirror([
    "directory-sync",
    "--once",
    "--config",
    join(dir, "vmirror.json"),
    "--data",
    join(dir, "data"),
  ]);
}

/** A files-target config in `dir` without the backup directory (not what these tests are about). */
async function filesConfig(dir: string, target: Record<string, unknown>) {
  return await filesSide.config(dir, (raw) => {
    delete (raw.ldap as Record<string, unknown>).target;
    Object.assign(raw.target as Record<string, unknown>, target);
  });
}

function prodAdmin(): Promise<LdapSession> {
  return ldapAdmin("prod");
}

/** Production's subscribers with a recorded name: mailbox → audio bytes. */
async function productionNames(): Promise<{ names: Map<string, Uint8Array>; entries: DirEntry[] }> {
  const session = await prodAdmin();
  try {
    const entries = await searchEntries(session, lab().ldap.prod.baseDn, {
      filter: "(objectClass=vmSubscriber)",
      pageSize: 500,
    });
    const names = new Map<string, Uint8Array>();
    for (const e of entries) {
      const [mailbox] = getAttr(e, MAILBOX_ATTR);
      const [audio] = getAttr(e, NAME_ATTR);
      if (typeof mailbox === "string" && audio instanceof Uint8Array) names.set(mailbox, audio);
    }
    return { names, entries };
  } finally {
    await closeLdap(session);
  }
}

Deno.test({
  name: "directory sync writes recorded names into the file store, and only when they change",
  async fn() {
    await using tmp = await tempDir("recorded-names");
    const dir = tmp.path;
    const config = await filesConfig(dir, {});
    assert.ok(config.target?.type === "files" && config.ldap);
    const state = await openState(":memory:");
    try {
      const first = await runDirectorySync(config, state, {});
      assert.ok(first.ok, JSON.stringify(first.error ?? first.recordedNames ?? first.warnings));
      const { names } = await productionNames();
      for (const [mailbox, audio] of names) {
        const stored = await Deno.readFile(join(config.target.root, mailbox, "recorded-name.wav"));
        assert.deepEqual(stored, audio, `recorded name of ${mailbox}`);
      }
      assert.ok(names.size >= 12);
      assert.equal(first.recordedNames?.stored, names.size);
      const again = await runDirectorySync(config, state, {});
      assert.equal(again.recordedNames?.stored, 0);
      assert.equal(again.recordedNames?.unchanged, names.size);
      assert.deepEqual(again.recordedNames?.failed, []);
    } finally {
      closeState(state);
    }
  },
});

Deno.test({
  name: "a first directory-sync on a fresh install creates the file store's root with " +
    "createRoot and stores every recorded name (exit 0)",
  async fn() {
    await using tmp = await tempDir("recorded-names-fresh");
    const dir = tmp.path;
    const root = join(dir, "fresh-store");
    await filesConfig(dir, { root, createRoot: true });
    const { run, report } = await directorySync(dir);
    assert.equal(run.code, 0, describe(run));
    assert.ok(report.ok);
    const { names } = await productionNames();
    assert.ok(names.size >= 12);
    assert.equal(report.recordedNames?.stored, names.size, describe(run));
    for (const [mailbox, audio] of names) {
      assert.deepEqual(await Deno.readFile(join(root, mailbox, "recorded-name.wav")), audio);
    }
  },
});

Deno.test({
  name: "with createRoot false and no root (an unmounted share), directory-sync stores nothing, " +
    "says why once and exits 1",
  async fn() {
    await using tmp = await tempDir("recorded-names-share");
    const dir = tmp.path;
    const root = join(dir, "share", "vmirror");
    await filesConfig(dir, { root, createRoot: false });
    const { run, report } = await directorySync(dir);
    assert.equal(run.code, 1, describe(run));
    assert.equal(report.ok, false);
    assert.equal(report.recordedNames?.stored, 0);
    assert.match(report.recordedNames?.storeError?.message ?? "", /does not exist/);
    // Said once for the store, in the text report too, and the exit code is the same.
    const text = await directorySyncText(dir);
    assert.equal(text.code, 1, describe(text));
    const said = text.stdout.match(/FAILED recorded names not stored: .*is the share mounted\?/g);
    assert.equal(said?.length, 1, describe(text));
    await assert.rejects(() => Deno.stat(root), Deno.errors.NotFound);
    // Subscriptions do not depend on the store: they still follow the directory.
    const status = await vmirror([
      "subscriptions",
      "--config",
      join(dir, "vmirror.json"),
      "--data",
      join(dir, "data"),
    ]);
    assert.match(status.stdout, /^4001\tdirectory/m);
    // status shows the pass as failed, with the reason.
    const statusText = await vmirror([
      "status",
      "--config",
      join(dir, "vmirror.json"),
      "--data",
      join(dir, "data"),
    ]);
    assert.match(statusText.stdout, /^directory\t\S+\tFAILED\t.*error: Cannot /m);
  },
});

Deno.test({
  name: "a recorded name that cannot be written makes directory-sync exit 1 naming the mailbox, " +
    "the others are stored",
  async fn() {
    await using tmp = await tempDir("recorded-names-fail");
    const dir = tmp.path;
    const root = join(dir, "store");
    await filesConfig(dir, { root });
    const first = await directorySync(dir);
    assert.equal(first.run.code, 0, describe(first.run));
    // A directory (not empty) where 4002's recorded name should be replaced: the rename fails.
    const blocked = join(root, "4002", "recorded-name.wav");
    await Deno.remove(blocked);
    await Deno.mkdir(join(blocked, "in-the-way"), { recursive: true });
    await Deno.remove(join(root, "4003", "recorded-name.wav"));
    const { run, report } = await directorySync(dir);
    assert.equal(run.code, 1, describe(run));
    assert.equal(report.ok, false);
    assert.deepEqual(report.recordedNames?.failed.map((f) => f.mailbox), ["4002"]);
    assert.equal(report.recordedNames?.stored, 1, "4003's name is stored again");
    const text = await directorySyncText(dir);
    assert.equal(text.code, 1, describe(text));
    assert.match(text.stdout, /FAILED recorded name of "4002" not stored: Cannot /);
    const { names } = await productionNames();
    assert.deepEqual(
      await Deno.readFile(join(root, "4003", "recorded-name.wav")),
      names.get("4003"),
    );
    // A root that is a file: one failure for the store, exit 1.
    await Deno.remove(root, { recursive: true });
    await Deno.writeTextFile(root, "not a directory");
    const second = await directorySync(dir);
    assert.equal(second.run.code, 1, describe(second.run));
    assert.match(second.report.recordedNames?.storeError?.message ?? "", /not a directory/);
    assert.equal(second.report.recordedNames?.failed.length, 0);
  },
});

Deno.test({
  name: "a box number held by two directory entries is reported and its recorded name " +
    "left as it was, pass after pass",
  async fn() {
    await using tmp = await tempDir("recorded-names-dup");
    const dir = tmp.path;
    const { names, entries } = await productionNames();
    const [mailbox, original] = [...names].sort()[0];
    const source = entries.find((e) => getAttr(e, MAILBOX_ATTR)[0] === mailbox)!;
    const twinDn = `uid=twin${mailbox},${lab().ldap.prod.baseDn}`;
    const other = new Uint8Array([...original.subarray(0, 44), ...new Uint8Array(800).fill(0x55)]);
    const twin: Record<string, AttrValue[]> = {
      ...source.attributes,
      uid: [`twin${mailbox}`],
      [NAME_ATTR]: [other],
    };
    try {
      const root = join(dir, "store");
      await filesConfig(dir, { root });
      const file = join(root, mailbox, "recorded-name.wav");
      const first = await directorySync(dir);
      assert.equal(first.run.code, 0, describe(first.run));
      assert.deepEqual(await Deno.readFile(file), original);

      const admin = await prodAdmin();
      try {
        await addEntry(admin, twinDn, twin);
      } finally {
        await closeLdap(admin);
      }
      for (let pass = 0; pass < 3; pass++) {
        const { run, report } = await directorySync(dir);
        // Nothing the pass should have stored failed: a duplicate is reported, not an error.
        assert.equal(run.code, 0, describe(run));
        assert.deepEqual(report.recordedNames?.duplicates, [mailbox]);
        assert.deepEqual(report.recordedNames?.failed, []);
        assert.ok(
          report.warnings.some((w) =>
            w.includes(`Mailbox "${mailbox}" is in 2 production entries`) && w.includes(twinDn)
          ),
          JSON.stringify(report.warnings),
        );
        assert.deepEqual(await Deno.readFile(file), original, `pass ${pass}`);
      }
    } finally {
      const admin = await prodAdmin();
      try {
        await deleteEntry(admin, twinDn).catch(() => {});
      } finally {
        await closeLdap(admin);
      }
    }
  },
});
