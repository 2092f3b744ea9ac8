import assert from "node:assert/strict";
import {
  type AttrChange,
  type AttributeMap,
  describeChange,
  type DirectoryPlanInput,
  type DirEntry,
  mapDn,
  normalizeDn,
  planDirectory,
  sameValues,
  syncedAttributes,
} from "./plan.ts";
import type { Subscription } from "../state/mod.ts";

const ATTRS: AttributeMap = {
  mailbox: "vmMailboxNumber",
  name: "displayName",
  email: "mail",
  classOfService: "vmClassOfService",
  recordedName: "vmRecordedName",
  pin: "vmPin",
};
const PROD_BASE = "ou=subscribers,dc=prod,dc=lab";
const BACKUP_BASE = "ou=subscribers,dc=backup,dc=lab";
const NOW = new Date("2026-03-10T12:00:00.000Z");
const enc = (s: string) => new TextEncoder().encode(s);

function person(
  side: "prod" | "backup",
  mailbox: string,
  over: Partial<Record<string, (string | Uint8Array)[]>> = {},
): DirEntry {
  const attributes: Record<string, (string | Uint8Array)[]> = {
    objectClass: ["inetOrgPerson", "vmSubscriber"],
    uid: [mailbox],
    cn: [`Name ${mailbox}`],
    sn: [mailbox],
    displayName: [`Name ${mailbox}`],
    mail: [`m${mailbox}@corp.lab`],
    vmMailboxNumber: [mailbox],
    vmClassOfService: ["standard"],
    vmPin: [enc(`pin${mailbox}`)],
    vmRecordedName: [new Uint8Array([82, 73, 70, 70, Number(mailbox) % 256])],
  };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined || v.length === 0) delete attributes[k];
    else attributes[k] = v;
  }
  return {
    dn: `uid=${mailbox},${side === "prod" ? PROD_BASE : BACKUP_BASE}`,
    attributes,
  };
}

function sub(
  mailbox: string,
  origin: Subscription["origin"],
  orphanedSince?: string,
): Subscription {
  return { mailbox, origin, addedAt: "2026-01-01T00:00:00.000Z", orphanedSince };
}

function input(over: Partial<DirectoryPlanInput> = {}): DirectoryPlanInput {
  return {
    production: [],
    backup: null,
    subscriptions: [],
    now: NOW,
    graceDays: 7,
    attributes: ATTRS,
    sourceBaseDn: PROD_BASE,
    targetBaseDn: BACKUP_BASE,
    provisionMissing: false,
    ...over,
  };
}

Deno.test("planDirectory() subscribes every mailbox of a first pass, sorted", () => {
  const p = planDirectory(
    input({ production: ["4003", "4001", "4002"].map((m) => person("prod", m)) }),
  );
  assert.deepEqual(p.subscribe, ["4001", "4002", "4003"]);
  assert.deepEqual(p.managed, ["4001", "4002", "4003"]);
  assert.equal(p.entries, 3);
  assert.deepEqual([p.orphan, p.unorphan, p.unsubscribe, p.pending, p.warnings], [
    [],
    [],
    [],
    [],
    [],
  ]);
});

Deno.test("planDirectory() leaves existing subscriptions alone, whatever their origin", () => {
  const p = planDirectory(input({
    production: ["4001", "4002"].map((m) => person("prod", m)),
    subscriptions: [sub("4001", "manual"), sub("4002", "directory")],
  }));
  assert.deepEqual(p.subscribe, []);
  assert.deepEqual(p.orphan, []);
});

Deno.test("planDirectory() orphans a directory subscription that left the directory", () => {
  const p = planDirectory(input({
    production: [person("prod", "4001")],
    subscriptions: [sub("4001", "directory"), sub("4002", "directory")],
  }));
  assert.deepEqual(p.orphan, [{ mailbox: "4002", reason: "not in the directory" }]);
  assert.deepEqual(p.unsubscribe, []);
  assert.deepEqual(p.pending, [{
    mailbox: "4002",
    orphanedSince: NOW.toISOString(),
    unsubscribeAfter: "2026-03-17T12:00:00.000Z",
  }]);
});

Deno.test("planDirectory() keeps an orphan through its grace period, then unsubscribes it", () => {
  const since = "2026-03-05T12:00:00.000Z";
  const subs = [sub("4001", "directory"), sub("4002", "directory", since)];
  const prod = [person("prod", "4001")];
  const during = planDirectory(input({ production: prod, subscriptions: subs }));
  assert.deepEqual(during.orphan, []);
  assert.deepEqual(during.unsubscribe, []);
  assert.deepEqual(during.pending.map((x) => x.mailbox), ["4002"]);

  const exactly = planDirectory(input({
    production: prod,
    subscriptions: subs,
    now: new Date("2026-03-12T12:00:00.000Z"),
  }));
  assert.deepEqual(exactly.unsubscribe, [{ mailbox: "4002", orphanedSince: since }]);
  assert.deepEqual(exactly.pending, []);
});

Deno.test("planDirectory() with a zero grace period orphans and unsubscribes in one pass", () => {
  const p = planDirectory(input({
    production: [person("prod", "4001")],
    subscriptions: [sub("4002", "directory")],
    graceDays: 0,
  }));
  assert.deepEqual(p.orphan.map((o) => o.mailbox), ["4002"]);
  assert.deepEqual(p.unsubscribe.map((o) => o.mailbox), ["4002"]);
});

Deno.test("planDirectory() never orphans nor removes a manual subscription", () => {
  const p = planDirectory(input({
    production: [person("prod", "4001")],
    subscriptions: [sub("9001", "manual"), sub("9002", "manual", "2020-01-01T00:00:00.000Z")],
    graceDays: 0,
  }));
  assert.deepEqual([p.orphan, p.unorphan, p.unsubscribe, p.pending], [[], [], [], []]);
});

Deno.test("planDirectory() clears the orphan mark of a mailbox back in the directory", () => {
  const p = planDirectory(input({
    production: [person("prod", "4002")],
    subscriptions: [sub("4002", "directory", "2026-03-01T00:00:00.000Z")],
  }));
  assert.deepEqual(p.unorphan, ["4002"]);
  assert.deepEqual([p.orphan, p.unsubscribe, p.pending, p.subscribe], [[], [], [], []]);
});

Deno.test("planDirectory() narrows subscriptions by class of service, case-insensitively", () => {
  const p = planDirectory(input({
    production: [
      person("prod", "4001", { vmClassOfService: ["Executive"] }),
      person("prod", "4002", { vmClassOfService: ["basic"] }),
      person("prod", "4003", { vmClassOfService: [] }),
    ],
    subscriptions: [sub("4002", "directory")],
    classesOfService: ["executive", "standard"],
  }));
  assert.deepEqual(p.subscribe, ["4001"]);
  assert.deepEqual(p.managed, ["4001"]);
  assert.deepEqual(p.orphan, [{
    mailbox: "4002",
    reason: 'class of service "basic" is not subscribed',
  }]);
});

Deno.test("planDirectory() does not orphan anything when production returns no subscriber", () => {
  const p = planDirectory(input({
    production: [{ dn: PROD_BASE, attributes: { objectClass: ["organizationalUnit"] } }],
    subscriptions: [sub("4001", "directory"), sub("4002", "directory", "2026-01-01T00:00:00.000Z")],
  }));
  assert.deepEqual(p.orphan, []);
  assert.match(
    p.warnings.join("\n"),
    /returned no subscribers: 2 directory subscriptions neither orphaned nor removed/,
  );
  // One orphaned before keeps its clock but is not removed while the answer is empty.
  assert.deepEqual(p.unsubscribe, []);
  assert.deepEqual(p.pending.map((u) => u.mailbox), ["4002"]);
});

Deno.test("planDirectory() reports entries without a usable mailbox number and skips them", () => {
  const p = planDirectory(input({
    production: [
      { dn: PROD_BASE, attributes: { objectClass: ["organizationalUnit"] } },
      person("prod", "4001", { vmMailboxNumber: [] }),
      person("prod", "4002", { vmMailboxNumber: ["40 02"] }),
      person("prod", "4003", { vmMailboxNumber: ["4003", "4004"] }),
      person("prod", "4005", { vmMailboxNumber: [" 4005 "] }),
    ],
  }));
  assert.deepEqual(p.subscribe, ["4005"]);
  assert.equal(p.warnings.length, 3, p.warnings.join("\n"));
  assert.match(p.warnings[0], /"uid=4001,[^"]*" has no "vmMailboxNumber": skipped/);
  assert.match(p.warnings[1], /invalid mailbox number "40 02": skipped/);
  assert.match(p.warnings[2], /has 2 "vmMailboxNumber" values: skipped/);
});

Deno.test("planDirectory() reports a mailbox in two production entries and leaves its backup entry", () => {
  const twin = person("prod", "4001");
  twin.dn = `uid=alias4001,${PROD_BASE}`;
  const p = planDirectory(input({
    production: [person("prod", "4001", { displayName: ["New"] }), twin],
    backup: [person("backup", "4001")],
    provisionMissing: true,
  }));
  assert.deepEqual(p.subscribe, ["4001"]);
  assert.deepEqual(p.backupModifies, []);
  assert.deepEqual(p.backupAdds, []);
  assert.match(p.warnings.join("\n"), /Mailbox "4001" is in 2 production entries/);
});

Deno.test("planDirectory() lists a mailbox in two production entries even without a backup directory", () => {
  const twin = person("prod", "4001");
  twin.dn = `uid=alias4001,${PROD_BASE}`;
  const p = planDirectory(input({
    production: [person("prod", "4001"), person("prod", "4002"), twin],
    backup: null,
  }));
  assert.deepEqual(p.subscribe, ["4001", "4002"]);
  assert.deepEqual(p.duplicates, [
    { mailbox: "4001", dns: [`uid=4001,${PROD_BASE}`, `uid=alias4001,${PROD_BASE}`] },
  ]);
  assert.equal(p.warnings.filter((w) => /production entries/.test(w)).length, 1);
  assert.match(p.warnings[0], /Mailbox "4001" is in 2 production entries .*recorded name/);
});

Deno.test("planDirectory() reports a mailbox in two backup entries and changes neither", () => {
  const twin = person("backup", "4001");
  twin.dn = `uid=old4001,${BACKUP_BASE}`;
  const p = planDirectory(input({
    production: [person("prod", "4001", { displayName: ["New"] })],
    backup: [person("backup", "4001"), twin],
  }));
  assert.deepEqual(p.backupModifies, []);
  assert.match(p.warnings.join("\n"), /Mailbox "4001" is in 2 backup entries/);
});

Deno.test("planDirectory() modifies only the attributes that differ", () => {
  const p = planDirectory(input({
    production: [
      person("prod", "4001", { displayName: ["Alice Anderson"], cn: ["Alice Anderson"] }),
    ],
    backup: [person("backup", "4001", { displayName: ["Alice Oldname"], cn: ["Alice Oldname"] })],
  }));
  assert.equal(p.backupModifies.length, 1);
  const m = p.backupModifies[0];
  assert.equal(m.dn, `uid=4001,${BACKUP_BASE}`);
  assert.deepEqual(m.changes.map((c) => [c.attr, c.op, c.values]), [
    ["displayName", "replace", ["Alice Anderson"]],
    ["cn", "replace", ["Alice Anderson"]],
  ]);
});

Deno.test("planDirectory() changes nothing when both directories agree", () => {
  const prod = ["4001", "4002"].map((m) => person("prod", m));
  const backup = ["4001", "4002"].map((m) => person("backup", m));
  const p = planDirectory(input({ production: prod, backup, provisionMissing: true }));
  assert.deepEqual([p.backupModifies, p.backupAdds, p.missingOnBackup, p.onlyOnBackup], [
    [],
    [],
    [],
    [],
  ]);
});

Deno.test("planDirectory() compares binary attributes byte for byte and marks the PIN secret", () => {
  const p = planDirectory(input({
    production: [person("prod", "4001", {
      vmPin: [new Uint8Array([0x31, 0x32, 0x00, 0xff])],
      vmRecordedName: [new Uint8Array([1, 2, 3, 4])],
    })],
    backup: [person("backup", "4001", {
      vmPin: [new Uint8Array([0x31, 0x32, 0x00, 0xfe])],
      vmRecordedName: [new Uint8Array([1, 2, 3])],
    })],
  }));
  const changes = p.backupModifies[0].changes;
  assert.deepEqual(changes.map((c) => [c.attr, c.op, c.secret, c.binary]), [
    ["vmRecordedName", "replace", false, true],
    ["vmPin", "replace", true, true],
  ]);
  assert.deepEqual(changes[1].values, [
    new Uint8Array([0x31, 0x32, 0x00, 0xff]),
  ]);
});

Deno.test("planDirectory() treats a text PIN and the same bytes as equal", () => {
  const p = planDirectory(input({
    production: [person("prod", "4001", { vmPin: ["1234"] })],
    backup: [person("backup", "4001", { vmPin: [enc("1234")] })],
  }));
  assert.deepEqual(p.backupModifies, []);
});

Deno.test("planDirectory() adds what the backup lacks and deletes what production dropped", () => {
  const p = planDirectory(input({
    production: [person("prod", "4001", { mail: [], vmRecordedName: [enc("RIFF")] })],
    backup: [person("backup", "4001", { vmRecordedName: [] })],
  }));
  assert.deepEqual(p.backupModifies[0].changes.map((c) => [c.attr, c.op]), [
    ["mail", "delete"],
    ["vmRecordedName", "add"],
  ]);
});

Deno.test("planDirectory() never wipes the backup's PIN when production shows none", () => {
  const p = planDirectory(input({
    production: [person("prod", "4001", { vmPin: [] })],
    backup: [person("backup", "4001")],
  }));
  assert.deepEqual(p.backupModifies, []);
  assert.match(p.warnings.join("\n"), /production shows no "vmPin": the backup's is kept/);
});

Deno.test("planDirectory() compares multi-valued attributes in any order", () => {
  const p = planDirectory(input({
    production: [person("prod", "4001", { cn: ["A", "B"] })],
    backup: [person("backup", "4001", { cn: ["B", "A"] })],
  }));
  assert.deepEqual(p.backupModifies, []);
  const q = planDirectory(input({
    production: [person("prod", "4001", { cn: ["A", "B"] })],
    backup: [person("backup", "4001", { cn: ["A", "C"] })],
  }));
  assert.deepEqual(q.backupModifies[0].changes.map((c) => [c.attr, c.values]), [["cn", [
    "A",
    "B",
  ]]]);
});

Deno.test("planDirectory() finds backup attributes whatever their case", () => {
  const b = person("backup", "4001");
  b.attributes = Object.fromEntries(
    Object.entries(b.attributes).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const p = planDirectory(input({ production: [person("prod", "4001")], backup: [b] }));
  assert.deepEqual(p.backupModifies, []);
});

Deno.test("planDirectory() creates missing backup entries only with provisionMissing", () => {
  const prod = [person("prod", "4001"), person("prod", "4007")];
  const backup = [person("backup", "4001")];
  const off = planDirectory(input({ production: prod, backup }));
  assert.deepEqual(off.backupAdds, []);
  assert.deepEqual(off.missingOnBackup, [{ mailbox: "4007", dn: `uid=4007,${BACKUP_BASE}` }]);

  const on = planDirectory(input({ production: prod, backup, provisionMissing: true }));
  assert.deepEqual(on.missingOnBackup, []);
  assert.equal(on.backupAdds.length, 1);
  const add = on.backupAdds[0];
  assert.equal(add.dn, `uid=4007,${BACKUP_BASE}`);
  assert.deepEqual(add.attributes, prod[1].attributes);
  assert.deepEqual(add.secret, ["vmPin"]);
});

Deno.test("planDirectory() pairs a backup entry without a mailbox number by its DN", () => {
  const broken = person("backup", "4003", {
    vmMailboxNumber: [],
    vmPin: [],
    vmClassOfService: [],
    vmRecordedName: [],
  });
  broken.attributes.objectClass = ["inetOrgPerson"];
  const p = planDirectory(input({
    production: [person("prod", "4003")],
    backup: [broken],
    provisionMissing: true,
  }));
  assert.deepEqual(p.backupAdds, []);
  assert.deepEqual(p.backupModifies[0].changes.map((c) => c.attr), [
    "vmMailboxNumber",
    "vmClassOfService",
    "vmRecordedName",
    "vmPin",
  ]);
  assert.deepEqual(p.warnings, []);
});

Deno.test("planDirectory() lists mailboxes only the backup has and leaves them", () => {
  const p = planDirectory(input({
    production: [person("prod", "4001")],
    backup: [person("backup", "4001"), person("backup", "4999")],
  }));
  assert.deepEqual(p.onlyOnBackup, ["4999"]);
  assert.deepEqual(p.backupModifies, []);
});

Deno.test("planDirectory() does not change the attribute that names the backup entry", () => {
  const prod = person("prod", "4001", { cn: ["New Name"] });
  prod.dn = `cn=Old Name,${PROD_BASE}`;
  const backup = person("backup", "4001", { cn: ["Old Name"] });
  backup.dn = `cn=Old Name,${BACKUP_BASE}`;
  const p = planDirectory(input({ production: [prod], backup: [backup] }));
  assert.deepEqual(p.backupModifies, []);
  assert.match(p.warnings.join("\n"), /"cn" names the backup entry/);
});

Deno.test("planDirectory() without a backup directory plans subscriptions only", () => {
  const p = planDirectory(input({ production: [person("prod", "4001")], provisionMissing: true }));
  assert.deepEqual(p.subscribe, ["4001"]);
  assert.deepEqual([p.backupAdds, p.backupModifies, p.missingOnBackup], [[], [], []]);
});

Deno.test("syncedAttributes() lists the map and the companions once each", () => {
  assert.deepEqual(syncedAttributes({ ...ATTRS, name: "cn" }, ["cn", "sn", "givenName"]), [
    "vmMailboxNumber",
    "cn",
    "sn",
    "givenName",
    "mail",
    "vmClassOfService",
    "vmRecordedName",
    "vmPin",
  ]);
});

Deno.test("describeChange() never shows a secret value and sizes binary ones", () => {
  const base: AttrChange = {
    attr: "vmPin",
    op: "replace",
    values: [enc("482913")],
    before: [enc("593024")],
    secret: true,
    binary: true,
  };
  assert.equal(describeChange(base), "vmPin changed (value not shown)");
  assert.equal(describeChange({ ...base, op: "add", before: [] }), "vmPin set (value not shown)");
  assert.equal(
    describeChange({
      ...base,
      attr: "vmRecordedName",
      secret: false,
      values: [new Uint8Array(12345)],
      before: [],
    }),
    "vmRecordedName none → 12,345 bytes",
  );
  assert.equal(
    describeChange({
      attr: "displayName",
      op: "replace",
      values: ["Alice Anderson"],
      before: ["Alice Oldname"],
      secret: false,
      binary: false,
    }),
    'displayName "Alice Oldname" → "Alice Anderson"',
  );
});

Deno.test("sameValues() compares lists as multisets", () => {
  assert.equal(sameValues([], []), true);
  assert.equal(sameValues(["a"], ["A"]), false);
  assert.equal(sameValues(["a", "a"], ["a"]), false);
  assert.equal(sameValues(["a", "b"], ["b", "a"]), true);
  assert.equal(sameValues([enc("x"), enc("y")], [enc("y"), enc("x")], true), true);
});

Deno.test("mapDn() moves a DN between bases and normalizeDn() ignores case and spaces", () => {
  assert.equal(mapDn(`uid=4007,${PROD_BASE}`, PROD_BASE, BACKUP_BASE), `uid=4007,${BACKUP_BASE}`);
  assert.equal(
    mapDn("uid=4007,ou=East,OU=Subscribers, dc=prod,dc=lab", PROD_BASE, BACKUP_BASE),
    `uid=4007,ou=East,${BACKUP_BASE}`,
  );
  assert.equal(mapDn("uid=4007,dc=elsewhere", PROD_BASE, BACKUP_BASE), `uid=4007,${BACKUP_BASE}`);
  assert.equal(
    mapDn("cn=Smith\\, John,ou=x,dc=prod,dc=lab", "ou=x,dc=prod,dc=lab", "dc=b"),
    "cn=Smith\\, John,dc=b",
  );
  assert.equal(normalizeDn("UID=4001, OU=Subscribers ,DC=prod"), "uid=4001,ou=subscribers,dc=prod");
});
