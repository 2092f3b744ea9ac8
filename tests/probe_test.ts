/**
 * The admin console's connection tests (engine/probe) against the lab's real servers: every
 * layer reported in words, each failure in the step where it happens, every test ended within
 * its time limit, and no secret in any result. TLS variants (certificates of another CA,
 * expired, expiring, for another name) come from relays in front of the real servers, with
 * certificates made by openssl for the test.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import type {
  Config,
  FilesTargetConfig,
  ImapEndpoint,
  SourceConfig,
} from "../engine/config/mod.ts";
import {
  probeFiles,
  probeImap,
  probeLdap,
  type ProbeResult,
  probeSmtp,
} from "../engine/probe/mod.ts";
import { readSmtpInbox } from "../scripts/lab.ts";
import {
  capabilityFilteringRelay,
  freePort,
  lab,
  labConfig,
  startFaultProxy,
  type TempDir,
  tempDir,
} from "./test_utils/mod.ts";

/** Every result of this file, scanned for secrets at the end. */
const results: ProbeResult[] = [];
const WRONG_PASSWORD = "wrong-Pa55word-for-probe";

async function keep(r: Promise<ProbeResult>): Promise<ProbeResult> {
  const result = await r;
  results.push(result);
  return result;
}

function step(r: ProbeResult, name: string) {
  const s = r.steps.find((x) => x.step === name);
  assert.ok(s, `no step "${name}" in ${JSON.stringify(r.steps.map((x) => x.step))}`);
  return s;
}

function failedAt(r: ProbeResult): string | null {
  return r.steps.find((s) => !s.ok && !s.skipped)?.step ?? null;
}

function show(r: ProbeResult): string {
  return r.steps.map((s) => `${s.step}: ${s.ok ? "ok" : "FAIL"} ${s.detail}`).join("\n");
}

let scratch: TempDir | null = null;
let config: (Config & { source: SourceConfig }) | null = null;
async function cfg(): Promise<Config & { source: SourceConfig }> {
  scratch ??= await tempDir("probe");
  config ??= await labConfig(join(scratch.path, "data"));
  return config;
}

function caPem(): string {
  return Deno.readTextFileSync(lab().tls.caFile);
}

async function source(over: Partial<ImapEndpoint> = {}): Promise<ImapEndpoint> {
  return { ...(await cfg()).source, ...over };
}

const T = { sanitizeOps: true, sanitizeResources: true };

// ---- certificates and relays ----

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A CA of the test's own in `dir`: `ca.pem` and `ca.key`. */
async function makeCa(dir: string, name: string): Promise<string> {
  await openssl([
    "req",
    "-x509",
    ...EC,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "30",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  await Deno.mkdir(join(dir, "issued"), { recursive: true });
  await Deno.writeTextFile(join(dir, "index.txt"), "");
  await Deno.writeTextFile(join(dir, "serial"), "01\n");
  await Deno.writeTextFile(
    join(dir, "ca.cnf"),
    [
      "[ ca ]",
      "default_ca = d",
      "[ d ]",
      `database = ${join(dir, "index.txt")}`,
      `new_certs_dir = ${join(dir, "issued")}`,
      `serial = ${join(dir, "serial")}`,
      "default_md = sha256",
      "policy = p",
      "copy_extensions = copy",
      "unique_subject = no",
      "[ p ]",
      "commonName = supplied",
      "",
    ].join("\n"),
  );
  return await Deno.readTextFile(join(dir, "ca.pem"));
}

/** A server certificate for localhost/127.0.0.1 signed by the CA in `dir`, valid from/to. */
async function makeCert(
  dir: string,
  tag: string,
  from: Date,
  to: Date,
): Promise<{ cert: string; key: string }> {
  const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  await openssl([
    "req",
    "-new",
    ...EC,
    "-keyout",
    `${tag}.key`,
    "-out",
    `${tag}.csr`,
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ], dir);
  await openssl([
    "ca",
    "-batch",
    "-config",
    "ca.cnf",
    "-cert",
    "ca.pem",
    "-keyfile",
    "ca.key",
    "-in",
    `${tag}.csr`,
    "-out",
    `${tag}.pem`,
    "-startdate",
    stamp(from),
    "-enddate",
    stamp(to),
  ], dir);
  return {
    cert: await Deno.readTextFile(join(dir, `${tag}.pem`)),
    key: await Deno.readTextFile(join(dir, `${tag}.key`)),
  };
}

/** A relay to a lab port, on any loopback address, optionally terminating TLS itself. */
function relay(
  targetPort: number,
  opts: { hostname?: string; tls?: { cert: string; key: string } } = {},
) {
  const hostname = opts.hostname ?? "127.0.0.1";
  const listener = opts.tls
    ? Deno.listenTls({ hostname, port: 0, cert: opts.tls.cert, key: opts.tls.key })
    : Deno.listen({ hostname, port: 0 });
  const conns = new Set<Deno.Conn>();
  const pumps: Promise<unknown>[] = [];
  const close = (c: Deno.Conn) => {
    conns.delete(c);
    try {
      c.close();
    } catch { /* closed */ }
  };
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(32768);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch { /* either side went away */ }
    close(from);
    close(to);
  };
  const accepting = (async () => {
    for await (const client of listener) {
      conns.add(client);
      let server: Deno.Conn;
      try {
        server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      } catch {
        close(client);
        continue;
      }
      conns.add(server);
      pumps.push(pump(client, server), pump(server, client));
    }
  })().catch(() => {/* listener closed */});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      for (const c of [...conns]) close(c);
      await accepting;
      await Promise.allSettled(pumps);
    },
  };
}

/** A server that accepts TCP connections and never says a word. */
function silentServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) conns.push(c);
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await accepting;
    },
  };
}

// ---- IMAP ----

Deno.test({
  name: "probeImap() passes every step on a good source: plain+STARTTLS and the TLS port",
  ...T,
  async fn() {
    const l = lab();
    const opts = {
      side: "source" as const,
      mailbox: "4001",
      folders: l.folders,
      greetingsFolder: l.greetingsFolder,
    };
    const starttls = await keep(probeImap(await source({ tls: "starttls", ca: caPem() }), opts));
    assert.equal(starttls.ok, true, show(starttls));
    assert.equal(starttls.server, l.imap.prod.name);
    assert.deepEqual(starttls.steps.map((s) => s.step), [
      "dns",
      "connect",
      "starttls",
      "login",
      "impersonate",
      "folders",
      "capabilities",
    ]);
    const cert = step(starttls, "starttls");
    assert.match(cert.detail, /certificate for "localhost", issued by "vmirror lab CA"/);
    assert.equal(cert.info?.subject, "CN=localhost");
    assert.equal(typeof cert.info?.validTo, "string");
    assert.deepEqual(step(starttls, "folders").info?.missing, []);
    assert.equal(
      (step(starttls, "capabilities").info?.watched as Record<string, boolean>).QRESYNC,
      true,
    );

    const tls = await keep(
      probeImap(await source({ tls: "tls", port: l.imap.prod.imapsPort, ca: caPem() }), opts),
    );
    assert.equal(tls.ok, true, show(tls));
    assert.match(step(tls, "tls").detail, /^encrypted \(TLSv1\.[23]\); certificate for/);

    // By name (resolved through /etc/hosts), the backup side, in clear.
    const backup = await keep(
      probeImap({ ...(await cfg()).target as ImapEndpoint, host: "localhost" }, {
        side: "target",
        mailbox: "4001",
      }),
    );
    assert.equal(backup.ok, true, show(backup));
    assert.match(step(backup, "dns").detail, /"localhost" resolves to /);
    assert.equal(step(backup, "tls").skipped, true);
    assert.match(step(backup, "tls").detail, /password crosses the network in clear/);
  },
});

Deno.test({
  name: "probeImap() reports a wrong trusted password at the login step, naming the server",
  ...T,
  async fn() {
    const r = await keep(
      probeImap(await source({ trustedPassword: WRONG_PASSWORD }), { mailbox: "4001" }),
    );
    assert.equal(r.ok, false);
    assert.equal(failedAt(r), "login");
    assert.match(
      step(r, "login").detail,
      /^"mss-prod" \(127\.0\.0\.1:\d+\) refused the trusted-server login of "vmirror": authentication failed \(wrong password, or not a trusted\/master user there\)$/,
    );
    assert.equal(step(r, "impersonate").skipped, true);
    // Without a sample mailbox, the same refusal is still found.
    const bare = await keep(probeImap(await source({ trustedPassword: WRONG_PASSWORD })));
    assert.equal(failedAt(bare), "login");
  },
});

Deno.test({
  name: "probeImap() tells an unknown sample mailbox from a refused login",
  ...T,
  async fn() {
    const r = await keep(probeImap(await source(), { mailbox: "9999" }));
    assert.equal(failedAt(r), "impersonate");
    assert.equal(step(r, "login").ok, true);
    assert.match(
      step(r, "impersonate").detail,
      /accepted the login of "vmirror" but refused to act for mailbox "9999"/,
    );
    // The separator style of impersonation says the same.
    const sep = await keep(
      probeImap(await source({ impersonation: "separator" }), { mailbox: "9999" }),
    );
    assert.equal(failedAt(sep), "impersonate");
  },
});

Deno.test({
  name: "probeImap() without a sample mailbox tests the login and skips the rest with a reason",
  ...T,
  async fn() {
    const r = await keep(probeImap(await source()));
    assert.equal(r.ok, true, show(r));
    assert.equal(step(r, "login").ok, true);
    for (const name of ["impersonate", "folders", "capabilities"]) {
      assert.equal(step(r, name).skipped, true);
      assert.match(step(r, name).detail, /sample mailbox/);
    }
  },
});

Deno.test({
  name: "probeImap() fails the folders step when the greetings folder is missing",
  ...T,
  async fn() {
    const r = await keep(
      probeImap(await source(), {
        side: "source",
        mailbox: "4001",
        folders: ["INBOX", "Saved"],
        greetingsFolder: "Begruessungen",
      }),
    );
    assert.equal(failedAt(r), "folders");
    assert.match(step(r, "folders").detail, /no greetings folder "Begruessungen" \(it has: /);
    assert.deepEqual(step(r, "folders").info?.missing, ["Saved", "Begruessungen"]);
  },
});

Deno.test({
  name: "probeImap() warns, still ok, about capabilities an older store lacks",
  ...T,
  async fn() {
    const older = capabilityFilteringRelay(lab().imap.backup.port);
    try {
      const r = await keep(
        probeImap({ ...(await cfg()).target as ImapEndpoint, port: older.port }, {
          side: "target",
          mailbox: "4001",
        }),
      );
      assert.equal(r.ok, true, show(r));
      const caps = step(r, "capabilities");
      assert.match(
        caps.detail,
        /no UIDPLUS: deletions on the backup wait while other messages are marked deleted/,
      );
      assert.match(caps.detail, /no MULTIAPPEND: /);
      assert.equal((caps.info?.watched as Record<string, boolean>).IDLE, true);
    } finally {
      older.close();
    }
  },
});

Deno.test({
  name: "probeImap() says connection refused for a closed port",
  ...T,
  async fn() {
    const port = freePort();
    const r = await keep(probeImap(await source({ port })));
    assert.equal(failedAt(r), "connect");
    assert.equal(
      step(r, "connect").detail,
      `connection refused: nothing listens on 127.0.0.1:${port}`,
    );
    assert.ok(r.steps.slice(2).every((s) => s.skipped));
  },
});

Deno.test({
  name: "probeImap() gives up on a silent server within its time limit, in the step that hangs",
  ...T,
  async fn() {
    const silent = silentServer();
    try {
      for (const [tls, hung] of [["none", "connect"], ["starttls", "connect"], ["tls", "tls"]]) {
        const t0 = Date.now();
        const r = await keep(
          probeImap(await source({ port: silent.port, tls: tls as ImapEndpoint["tls"] }), {
            timeoutMs: 1500,
            mailbox: "4001",
          }),
        );
        const took = Date.now() - t0;
        assert.ok(took <= 1500, `took ${took} ms`);
        assert.equal(failedAt(r), hung, show(r));
        assert.match(
          step(r, hung).detail,
          hung === "tls"
            ? /no TLS handshake with "mss-prod" \(127\.0\.0\.1:\d+\) within 1\.\d s/
            : /"mss-prod" \(127\.0\.0\.1:\d+\) sent no greeting within 1\.\d s/,
        );
      }
    } finally {
      await silent.close();
    }
  },
});

Deno.test({
  name: "probeLdap() and probeSmtp() give up on a silent server within their time limit",
  ...T,
  async fn() {
    const silent = silentServer();
    const c = await cfg();
    try {
      const cases: [string, () => Promise<ProbeResult>, string, RegExp][] = [
        [
          "ldap",
          () =>
            probeLdap(
              { ...c.ldap!.source, url: `ldap://127.0.0.1:${silent.port}` },
              c.ldap!.attributes,
              {
                timeoutMs: 1500,
              },
            ),
          "bind",
          /stopped answering before the bind finished|no answer within/,
        ],
        [
          "ldaps",
          () =>
            probeLdap(
              { ...c.ldap!.source, url: `ldaps://127.0.0.1:${silent.port}` },
              c.ldap!.attributes,
              {
                timeoutMs: 1500,
              },
            ),
          "tls",
          /no TLS handshake with 127\.0\.0\.1:\d+ within 1\.\d s/,
        ],
        [
          "smtp",
          () => probeSmtp({ ...c.smtp!, port: silent.port }, { timeoutMs: 1500 }),
          "connect",
          /127\.0\.0\.1:\d+ sent no greeting within 1\.\d s/,
        ],
      ];
      for (const [what, run, hung, words] of cases) {
        const t0 = Date.now();
        const r = await keep(run());
        const took = Date.now() - t0;
        assert.ok(took <= 1500, `${what} took ${took} ms`);
        assert.equal(failedAt(r), hung, show(r));
        assert.match(step(r, hung).detail, words);
      }
    } finally {
      await silent.close();
    }
  },
});

Deno.test({
  name: "probeImap() ends within its time limit when the server hangs during the login",
  ...T,
  async fn() {
    // Every connection may send 12 bytes: the probe's own ("P9 LOGOUT") passes, the login's
    // commands are held.
    const proxy = startFaultProxy({ targetPort: lab().imap.prod.port });
    proxy.setFault({ kind: "stall", direction: "up", afterBytes: 12 }, { sticky: true });
    try {
      const t0 = Date.now();
      const r = await keep(
        probeImap(await source({ port: proxy.port }), { timeoutMs: 2000, mailbox: "4001" }),
      );
      const took = Date.now() - t0;
      assert.ok(took <= 2000, `took ${took} ms`);
      assert.equal(failedAt(r), "login", show(r));
      assert.match(
        step(r, "login").detail,
        /^"mss-prod" \(127\.0\.0\.1:\d+\) stopped answering during the login: no answer within 1\.\d s/,
      );
    } finally {
      await proxy.close();
    }
  },
});

Deno.test({
  name: "probeImap() says the CA is not trusted when caFile holds another CA",
  ...T,
  async fn() {
    await using dir = await tempDir("probe-ca");
    const other = await makeCa(dir.path, "Some Other CA");
    for (const over of [{ tls: "starttls" as const }, { tls: "tls" as const, port: 0 }]) {
      const port = over.port === 0 ? lab().imap.prod.imapsPort : undefined;
      const r = await keep(
        probeImap(await source({ ...over, ...(port ? { port } : {}), ca: other }), {
          mailbox: "4001",
        }),
      );
      const name = over.tls === "tls" ? "tls" : "starttls";
      assert.equal(failedAt(r), name, show(r));
      assert.match(
        step(r, name).detail,
        /signed by a CA this appliance does not trust \("vmirror lab CA", not the CA in caFile\) — set caFile to your CA/,
      );
      assert.equal(step(r, name).info?.issuer, "CN=vmirror lab CA");
    }
  },
});

Deno.test({
  name: "probeImap() names the certificate's names when the host is not among them",
  ...T,
  async fn() {
    // The lab certificate names localhost and 127.0.0.1; 127.0.0.2 is loopback too.
    const other = relay(lab().imap.prod.imapsPort, { hostname: "127.0.0.2" });
    try {
      const r = await keep(
        probeImap(await source({ host: "127.0.0.2", port: other.port, tls: "tls", ca: caPem() })),
      );
      assert.equal(failedAt(r), "tls", show(r));
      assert.match(
        step(r, "tls").detail,
        /the certificate is issued for localhost, 127\.0\.0\.1, not for host "127\.0\.0\.2"/,
      );
    } finally {
      await other.close();
    }
  },
});

Deno.test({
  name: "probeImap() fails an expired certificate and warns about one expiring soon",
  ...T,
  async fn() {
    await using dir = await tempDir("probe-dates");
    const ca = await makeCa(dir.path, "Probe Test CA");
    const day = 86_400_000;
    const now = Date.now();
    const expired = await makeCert(
      dir.path,
      "expired",
      new Date(now - 400 * day),
      new Date(now - 2 * day),
    );
    const soon = await makeCert(
      dir.path,
      "soon",
      new Date(now - day),
      new Date(now + 10 * day + 3_600_000),
    );
    const old = relay(lab().imap.prod.port, { tls: expired });
    const late = relay(lab().imap.prod.port, { tls: soon });
    try {
      const r1 = await keep(probeImap(await source({ port: old.port, tls: "tls", ca }), {}));
      assert.equal(failedAt(r1), "tls", show(r1));
      assert.match(
        step(r1, "tls").detail,
        /the certificate \(for "localhost"\) expired on \d{4}-\d\d-\d\d: renew it/,
      );
      const r2 = await keep(
        probeImap(await source({ port: late.port, tls: "tls", ca }), { mailbox: "4001" }),
      );
      assert.equal(r2.ok, true, show(r2));
      assert.match(
        step(r2, "tls").detail,
        /issued by "Probe Test CA".*warning: it expires in 10 days/,
      );
      assert.equal(step(r2, "tls").info?.daysLeft, 10);
    } finally {
      await old.close();
      await late.close();
    }
  },
});

// ---- files ----

function filesTarget(root: string): FilesTargetConfig {
  return {
    type: "files",
    name: "disk",
    root,
    onDelete: "remove",
    retentionDays: 30,
    createRoot: false,
  };
}

Deno.test({
  name: "probeFiles() checks the root, writes a test file and reports free space",
  ...T,
  async fn() {
    await using dir = await tempDir("probe-files");
    const t = filesTarget(dir.path);
    const r = await keep(probeFiles(t));
    assert.equal(r.ok, true, show(r));
    assert.deepEqual(r.steps.map((s) => s.step), ["root", "writable", "space"]);
    assert.match(step(r, "root").detail, /is a directory, on the same file system as /);
    assert.equal(typeof step(r, "space").info?.freeBytes, "number");
    assert.match(step(r, "space").detail, /\d.* (GiB|MiB|TiB) free of /);
    assert.deepEqual([...Deno.readDirSync(dir.path)], [], "the test file is gone");

    const later = await keep(probeFiles({ ...t, root: join(dir.path, "new"), createRoot: true }));
    assert.equal(later.ok, true, show(later));
    assert.match(step(later, "root").detail, /does not exist yet: it will be created in /);

    const missing = await keep(probeFiles({ ...t, root: join(dir.path, "new") }));
    assert.equal(failedAt(missing), "root");
    assert.match(step(missing, "root").detail, /does not exist \(is the share mounted\?\)/);

    // Root ignores modes, so the unwritable root is a path below a regular file.
    await Deno.writeTextFile(join(dir.path, "plain-file"), "x");
    const under = await keep(probeFiles({ ...t, root: join(dir.path, "plain-file", "store") }));
    assert.equal(failedAt(under), "root");
    assert.match(step(under, "root").detail, /a part of the path is a file, not a folder/);
  },
});

// sysfs refuses new files even to root: an existing folder nobody may write in (where the
// test runs without sysfs, or with a writable one, it is ignored).
const READ_ONLY_DIR = "/sys/kernel";
const readOnlyHere = (() => {
  try {
    if (!Deno.statSync(READ_ONLY_DIR).isDirectory) return false;
    Deno.writeTextFileSync(join(READ_ONLY_DIR, "vmirror-probe-check"), "x");
    Deno.removeSync(join(READ_ONLY_DIR, "vmirror-probe-check"));
    return false;
  } catch {
    return Deno.build.os === "linux";
  }
})();

Deno.test({
  name: "probeFiles() reports a root it cannot write in at the writable step",
  ignore: !readOnlyHere,
  ...T,
  async fn() {
    const r = await keep(probeFiles(filesTarget(READ_ONLY_DIR)));
    assert.equal(failedAt(r), "writable", show(r));
    assert.match(step(r, "writable").detail, /^cannot write in "\/sys\/kernel": permission denied/);
  },
});

// ---- LDAP ----

Deno.test({
  name: "probeLdap() binds, counts and shows a sample entry without its PIN",
  ...T,
  async fn() {
    const c = await cfg();
    const r = await keep(probeLdap(c.ldap!.source, c.ldap!.attributes));
    assert.equal(r.ok, true, show(r));
    assert.deepEqual(r.steps.map((s) => s.step), [
      "dns",
      "connect",
      "tls",
      "bind",
      "search",
      "sample",
    ]);
    assert.equal(step(r, "search").info?.count, lab().ldap.prod.subscribers.length);
    const sample = step(r, "sample");
    const who = lab().ldap.prod.subscribers.find((s) => s.mailbox === sample.info?.mailbox);
    assert.ok(who, show(r));
    assert.equal(sample.info?.name, who.name);
    assert.equal(sample.info?.email, who.email);
    assert.equal(sample.info?.classOfService, who.cos);
    assert.equal(sample.info?.pinPresent, true);
    assert.ok((sample.info?.recordedNameBytes as number) > 0);
    assert.match(sample.detail, /PIN attribute present: yes$/);
    assert.ok(!JSON.stringify(r).includes(who.pin), "the PIN is not shown");

    const capped = await keep(
      probeLdap({ ...c.ldap!.source, pageSize: 2 }, c.ldap!.attributes, { countCap: 3 }),
    );
    assert.match(step(capped, "search").detail, /^at least 4 entries match/);
  },
});

Deno.test({
  name: "probeLdap() reports a wrong bind password and a StartTLS the directory lacks",
  ...T,
  async fn() {
    const c = await cfg();
    const r = await keep(
      probeLdap({ ...c.ldap!.source, bindPassword: WRONG_PASSWORD }, c.ldap!.attributes),
    );
    assert.equal(failedAt(r), "bind");
    assert.match(
      step(r, "bind").detail,
      /^127\.0\.0\.1:\d+ refused the bind as "cn=vmirror,dc=prod,dc=lab" \(wrong password, or no such entry\)$/,
    );
    const tls = await keep(probeLdap({ ...c.ldap!.source, startTls: true }, c.ldap!.attributes));
    assert.equal(failedAt(tls), "starttls");
    assert.match(step(tls, "starttls").detail, /does not offer StartTLS/);
    const gone = freePort();
    const closed = await keep(
      probeLdap({ ...c.ldap!.source, url: `ldap://127.0.0.1:${gone}` }, c.ldap!.attributes),
    );
    assert.equal(
      step(closed, "connect").detail,
      `connection refused: nothing listens on 127.0.0.1:${gone}`,
    );
  },
});

Deno.test({
  name: "probeLdap() over LDAPS shows the certificate and reads through it",
  ...T,
  async fn() {
    const c = await cfg();
    const l = lab();
    const ldaps = relay(l.ldap.prod.port, {
      tls: {
        cert: Deno.readTextFileSync(l.tls.certFile),
        key: Deno.readTextFileSync(l.tls.keyFile),
      },
    });
    try {
      const r = await keep(
        probeLdap(
          { ...c.ldap!.source, url: `ldaps://localhost:${ldaps.port}`, ca: caPem() },
          c.ldap!.attributes,
        ),
      );
      assert.equal(r.ok, true, show(r));
      assert.match(
        step(r, "tls").detail,
        /certificate for "localhost", issued by "vmirror lab CA"/,
      );
    } finally {
      await ldaps.close();
    }
  },
});

// ---- SMTP ----

Deno.test({
  name: "probeSmtp() logs in and sends a test mail that arrives",
  ...T,
  async fn() {
    const l = lab();
    const smtp = {
      ...(await cfg()).smtp!,
      user: l.smtp.relayUser,
      password: l.smtp.relayPassword,
    };
    const to = `probe-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const r = await keep(probeSmtp(smtp, { to }));
    assert.equal(r.ok, true, show(r));
    assert.deepEqual(r.steps.map((s) => s.step), [
      "dns",
      "connect",
      "ehlo",
      "starttls",
      "auth",
      "send",
    ]);
    assert.ok((step(r, "ehlo").info?.extensions as string[]).some((e) => /^AUTH /.test(e)));
    assert.equal(step(r, "starttls").skipped, true);
    assert.match(step(r, "auth").detail, /logged in as "relay"/);
    const got = readSmtpInbox(l.dir).filter((m) => m.to.includes(to));
    assert.equal(got.length, 1);
    assert.match(got[0].raw, /^Subject: vmirror test message\r?$/m);
    assert.equal(got[0].authUser, l.smtp.relayUser);

    const noMail = await keep(probeSmtp((await cfg()).smtp!));
    assert.equal(noMail.ok, true, show(noMail));
    assert.equal(step(noMail, "auth").skipped, true);
    assert.equal(step(noMail, "send").skipped, true);
  },
});

Deno.test({
  name: "probeSmtp() reports a wrong port, a wrong password and a missing STARTTLS",
  ...T,
  async fn() {
    const l = lab();
    const smtp = (await cfg()).smtp!;
    const port = freePort();
    const closed = await keep(probeSmtp({ ...smtp, port }));
    assert.equal(failedAt(closed), "connect");
    assert.equal(
      step(closed, "connect").detail,
      `connection refused: nothing listens on 127.0.0.1:${port}`,
    );

    const imap = await keep(probeSmtp({ ...smtp, port: l.imap.prod.port }));
    assert.equal(failedAt(imap), "connect");
    assert.match(step(imap, "connect").detail, /does not speak SMTP/);

    const wrong = await keep(
      probeSmtp({ ...smtp, user: l.smtp.relayUser, password: WRONG_PASSWORD }),
    );
    assert.equal(failedAt(wrong), "auth");
    assert.match(
      step(wrong, "auth").detail,
      /refused the login of "relay" \(wrong user name or password\)/,
    );

    const strict = await keep(probeSmtp({ ...smtp, requireTls: true }));
    assert.equal(failedAt(strict), "starttls");
    assert.match(step(strict, "starttls").detail, /does not offer STARTTLS, but requireTls is set/);
  },
});

Deno.test({
  name: "probeSmtp() upgrades with STARTTLS and judges the relay's certificate",
  ...T,
  async fn() {
    const l = lab();
    const server = new SMTPServer({
      secure: false,
      key: Deno.readTextFileSync(l.tls.keyFile),
      cert: Deno.readTextFileSync(l.tls.certFile),
      authOptional: true,
      logger: false,
      onData(stream, _session, callback) {
        stream.resume();
        stream.on("end", () => callback());
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const port = (server.server.address() as { port: number }).port;
    try {
      const smtp = { ...(await cfg()).smtp!, host: "localhost", port, requireTls: true };
      const r = await keep(probeSmtp({ ...smtp, ca: caPem() }));
      assert.equal(r.ok, true, show(r));
      assert.match(
        step(r, "starttls").detail,
        /certificate for "localhost", issued by "vmirror lab CA"/,
      );
      const untrusted = await keep(probeSmtp(smtp));
      assert.equal(failedAt(untrusted), "starttls");
      assert.match(step(untrusted, "starttls").detail, /a CA this appliance does not trust/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  },
});

// ---- secrets ----

Deno.test({
  name: "no probe result holds a password or a PIN",
  ...T,
  async fn() {
    assert.ok(results.length >= 20, `only ${results.length} results gathered`);
    const l = lab();
    const json = JSON.stringify(results);
    const secrets = [
      l.trusted.password,
      l.smtp.relayPassword,
      l.ldap.prod.adminPassword,
      WRONG_PASSWORD,
      btoa(`\0${l.smtp.relayUser}\0${l.smtp.relayPassword}`),
    ];
    for (const s of secrets) assert.ok(!json.includes(s), "a password appears in a result");
    const ldap = JSON.stringify(results.filter((r) => r.server.startsWith("ldap")));
    for (const s of l.ldap.prod.subscribers) {
      assert.ok(!ldap.includes(s.pin), `the PIN of ${s.mailbox} appears in a result`);
    }
    await scratch?.[Symbol.asyncDispose]();
  },
});
