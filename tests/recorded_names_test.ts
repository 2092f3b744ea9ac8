/**
 * With a file-store target, the directory pass keeps each subscriber's recorded name beside its
 * messages, as the production directory holds it (read here directly, as the lab's admin).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runDirectorySync } from "../engine/directory.ts";
import { getAttr } from "../engine/directory_plan.ts";
import { closeLdap, openLdap, searchEntries } from "../engine/ldap.ts";
import { closeState, openState } from "../engine/state.ts";
import { lab } from "./lab_client.ts";
import { filesSide, tempDir } from "./mirror_targets.ts";

Deno.test({
  name: "directory sync writes recorded names into the file store, and only when they change",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await tempDir("recorded-names");
    const config = await filesSide.config(dir, (raw) => {
      // The backup directory is not what this test is about.
      delete (raw.ldap as Record<string, unknown>).target;
    });
    assert.ok(config.target?.type === "files" && config.ldap);
    const state = await openState(":memory:");
    try {
      const first = await runDirectorySync(config, state, {});
      assert.ok(first.ok, JSON.stringify(first.error ?? first.warnings));
      const l = lab().ldap.prod;
      const session = await openLdap({
        ...config.ldap.source,
        bindDn: l.adminDn,
        bindPassword: l.adminPassword,
      }, {
        binaryAttributes: ["vmRecordedName"],
      });
      let expected = 0;
      try {
        const entries = await searchEntries(session, config.ldap.source.baseDn, {
          filter: "(objectClass=vmSubscriber)",
          pageSize: 500,
        });
        for (const e of entries) {
          const [mailbox] = getAttr(e, "vmMailboxNumber");
          const [audio] = getAttr(e, "vmRecordedName");
          if (typeof mailbox !== "string" || !(audio instanceof Uint8Array)) continue;
          expected++;
          const stored = await Deno.readFile(
            join(config.target.root, mailbox, "recorded-name.wav"),
          );
          assert.deepEqual(stored, audio, `recorded name of ${mailbox}`);
        }
      } finally {
        await closeLdap(session);
      }
      assert.ok(expected >= 12);
      assert.equal(first.recordedNames?.stored, expected);
      const again = await runDirectorySync(config, state, {});
      assert.deepEqual(again.recordedNames, { stored: 0, unchanged: expected });
    } finally {
      closeState(state);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
