/**
 * The IMAP connection test: name, TCP, TLS or STARTTLS (certificate shown and judged) on a
 * connection of its own, then the trusted-server login through engine/imap's `connectAs` (the
 * same SASL PLAIN authzid or LOGIN-with-separator the appliance uses), acting for a sample
 * mailbox, its folders and the server's capabilities.
 * @module
 */
import type { ImapFlow } from "imapflow";
import type { ImapEndpoint } from "../config/mod.ts";
import { configuredFolder, connectAs, disconnect, flowNamespace } from "../imap/mod.ts";
import { redact } from "../support/mod.ts";
import { describeTarget, dnsStep, ProbeConn } from "./net.ts";
import {
  errorText,
  Probe,
  ProbeFailure,
  type ProbeResult,
  seconds,
  settleWithin,
} from "./result.ts";

/** Options of {@link probeImap}. */
export interface ImapProbeOptions {
  /** A mailbox to act for; without one, impersonation and folders are skipped. */
  mailbox?: string;
  /** The folders the source mirrors (each should exist). */
  folders?: string[];
  /** The source's greetings folder (must exist). */
  greetingsFolder?: string;
  /** Which side the server is: capabilities are judged for what that side uses. */
  side?: "source" | "target";
  /** The whole test ends within this (default 15 s). */
  timeoutMs?: number;
}

// Logging in "for" a mailbox nobody has: tells a refused password (AUTHENTICATIONFAILED) from
// an accepted one (AUTHORIZATIONFAILED for the unknown mailbox) when no sample is given.
const NO_SUCH_MAILBOX = "vmirror-probe-no-such-mailbox";

/** Tests the way to one MSS over IMAP, layer by layer. */
export async function probeImap(
  e: ImapEndpoint,
  opts: ImapProbeOptions = {},
): Promise<ProbeResult> {
  const target = describeTarget(e.name, e.host, e.port);
  const { where } = target;
  const probe = new Probe(e.name, opts.timeoutMs);
  let conn: ProbeConn | null = null;
  let client: ImapFlow | null = null;
  let finished = false;
  probe.onTimeout(async () => {
    await conn?.close();
    client?.close();
  });
  try {
    await dnsStep(probe, e.host);
    let greeting = "";
    await probe.step("connect", async () => {
      conn = await ProbeConn.open(target, probe.deadline);
      const info = { ...conn.addresses };
      if (e.tls === "tls") return { detail: `connected to ${where}`, info };
      greeting = await readGreeting(conn, where);
      return {
        detail: `connected to ${where}; it greets with "${greetingText(greeting)}"`,
        info: { ...info, greeting: greetingText(greeting) },
      };
    });
    if (e.tls === "tls") {
      await probe.step("tls", async () => {
        const verdict = await conn!.startTls({ ca: e.ca });
        if (!verdict.ok) return verdict;
        greeting = await readGreeting(conn!, where);
        return { ...verdict, info: { ...verdict.info, greeting: greetingText(greeting) } };
      });
    } else if (e.tls === "starttls") {
      await probe.step("starttls", async () => {
        const caps = capabilityCode(greeting) ?? await capabilities(conn!, where);
        if (!caps.has("STARTTLS")) {
          throw new ProbeFailure(
            `${where} does not offer STARTTLS — use its TLS port with tls "tls", or tls "none"`,
            { capabilities: [...caps] },
          );
        }
        const answer = await command(conn!, "P2 STARTTLS", where);
        if (!/^OK\b/i.test(answer.tagged)) {
          throw new ProbeFailure(`${where} refused STARTTLS: ${redact(answer.tagged)}`);
        }
        return await conn!.startTls({ ca: e.ca });
      });
    } else {
      await probe.step("tls", () =>
        Promise.resolve({
          skipped: true,
          detail:
            `TLS is off (tls "none"): the trusted-server password crosses the network in clear`,
        }));
    }
    // The login runs on a connection of engine/imap's own; this one has done its part.
    const pre = conn as ProbeConn | null;
    conn = null;
    if (pre && !probe.failed) await pre.quit("P9 LOGOUT\r\n");
    else await pre?.close();

    const mailbox = opts.mailbox?.trim() || null;
    let refusedFor: string | null = null;
    await probe.step("login", async () => {
      const budget = probe.remainingMs() / 1000;
      try {
        const c = await connectAs(
          { ...e, connectTimeoutSeconds: budget, commandTimeoutSeconds: budget },
          mailbox ?? NO_SUCH_MAILBOX,
        );
        if (finished) c.close();
        else client = c;
      } catch (err) {
        const why = classifyLogin(err);
        if (why.kind !== "authz") {
          const within = seconds(budget * 1000);
          throw new ProbeFailure(loginWords(why, { where, user: e.trustedUser, mailbox, within }));
        }
        refusedFor = why.text;
      }
      return {
        detail: `${where} accepted the trusted-server login of "${e.trustedUser}" (${
          method(e, mailbox)
        })`,
        info: { user: e.trustedUser, method: method(e, mailbox) },
      };
    });
    const c = () => client as ImapFlow | null;
    if (!mailbox) {
      const need = "needs a sample mailbox: enter one to test acting for a mailbox";
      await probe.step("impersonate", () => Promise.resolve({ skipped: true, detail: need }));
      await probe.step("folders", () => Promise.resolve({ skipped: true, detail: need }));
    } else {
      await probe.step("impersonate", () => {
        if (refusedFor !== null) {
          throw new ProbeFailure(
            `${where} accepted the login of "${e.trustedUser}" but refused to act for mailbox "${mailbox}" (no such mailbox, or "${e.trustedUser}" may not act for it): ${refusedFor}`,
          );
        }
        return Promise.resolve({ detail: `acting for mailbox "${mailbox}"` });
      });
      await probe.step("folders", async () => {
        // Compared by configured name: Cyrus lists "INBOX.Greetings" for "Greetings".
        const ns = flowNamespace(c()!);
        const found = (await c()!.list()).map((f) => configuredFolder(f.path, ns));
        return judgeFolders(found, { ...opts, mailbox, where });
      });
    }
    if (c()) {
      await probe.step(
        "capabilities",
        () => Promise.resolve(judgeCapabilities([...c()!.capabilities.keys()], opts.side)),
      );
    } else {
      await probe.step("capabilities", () =>
        Promise.resolve({
          skipped: true,
          detail:
            "the server lists its capabilities after a login to a mailbox: give a sample mailbox",
        }));
    }
  } finally {
    finished = true;
    await probe.close();
    if (conn) await (conn as ProbeConn).close();
    // A LOGOUT left unanswered must not outlast the test's time limit.
    const last = client as ImapFlow | null;
    await settleWithin(disconnect(last), Math.max(300, probe.remainingMs()));
    last?.close();
  }
  return probe.result();
}

/** Why a login failed, from an engine/imap error (imapflow's or the lean session's). */
export interface LoginFailure {
  /** authn: the trusted credentials; authz: acting for the mailbox; refused: another NO; … */
  kind: "authn" | "authz" | "refused" | "timeout" | "network";
  /** The server's words (or the library's), redacted. */
  text: string;
}

/** Sorts a login failure: refused credentials, refused impersonation, or something else. */
export function classifyLogin(err: unknown): LoginFailure {
  const e = err as { message?: string; cause?: unknown };
  const cause = (e?.cause ?? e) as {
    code?: string;
    message?: string;
    responseText?: string;
    responseStatus?: string;
    serverResponseCode?: string;
  };
  const serverCode = cause?.serverResponseCode ?? "";
  const all = `${serverCode} ${cause?.message ?? ""} ${e?.message ?? ""}`;
  const text = redact(
    cause?.responseText
      ? `${cause.responseStatus ?? "NO"} ${
        serverCode ? `[${serverCode}] ` : ""
      }${cause.responseText}`
      : errorText(cause ?? err),
  );
  // The bracketed code is the server's; a bare word may be the library's own prefix.
  if (serverCode === "AUTHORIZATIONFAILED" || /\[AUTHORIZATIONFAILED\]/i.test(all)) {
    return { kind: "authz", text };
  }
  if (serverCode === "AUTHENTICATIONFAILED" || /AUTHENTICATIONFAILED/i.test(all)) {
    return { kind: "authn", text };
  }
  if (cause?.responseStatus === "NO" || cause?.responseStatus === "BAD") {
    return { kind: "refused", text };
  }
  if (/TIMEOUT/i.test(`${cause?.code ?? ""} ${all}`)) return { kind: "timeout", text };
  return { kind: "network", text };
}

/** A login failure in words (never the password). */
export function loginWords(
  why: LoginFailure,
  ctx: { where: string; user: string; mailbox: string | null; within?: string },
): string {
  switch (why.kind) {
    case "authn":
      return `${ctx.where} refused the trusted-server login of "${ctx.user}": authentication failed (wrong password, or not a trusted/master user there)`;
    case "authz":
      return `${ctx.where} refused to act for mailbox "${ctx.mailbox}": ${why.text}`;
    case "refused":
      return `${ctx.where} refused the login of "${ctx.user}": ${why.text}`;
    case "timeout":
      return `${ctx.where} stopped answering during the login: no answer within ${
        ctx.within ?? "the time allowed"
      } (${why.text})`;
    case "network":
      return `the login at ${ctx.where} failed: ${why.text}`;
  }
}

/** The capabilities the mirror cares about, and what going without each costs. */
export const WATCHED_CAPABILITIES: Record<
  string,
  { side: "source" | "target" | "both"; cost: string }
> = {
  CONDSTORE: {
    side: "source",
    cost: "each pass re-reads the flags of every message instead of only what changed",
  },
  QRESYNC: {
    side: "source",
    cost: "removed messages are found by listing every UID instead of being announced",
  },
  UIDPLUS: {
    side: "target",
    cost: "deletions on the backup wait while other messages are marked deleted",
  },
  MULTIAPPEND: {
    side: "target",
    cost: "messages are copied one per round trip (a slower first copy)",
  },
  IDLE: { side: "source", cost: "new voicemail is noticed at the next poll instead of at once" },
};

const EXTRA_CAPABILITIES = ["LITERAL+", "SASL-IR", "ID"];

/** The capabilities step: each watched one present or absent (absence is a warning). */
export function judgeCapabilities(
  list: string[],
  side?: "source" | "target",
): { ok: true; detail: string; info: Record<string, unknown> } {
  const caps = new Set(list.map((c) => c.toUpperCase()));
  const watched: Record<string, boolean> = {};
  const missing: string[] = [];
  for (const [name, what] of Object.entries(WATCHED_CAPABILITIES)) {
    watched[name] = caps.has(name);
    if (watched[name]) continue;
    const unused = side && what.side !== "both" && what.side !== side;
    missing.push(
      unused
        ? `no ${name} (not needed on the ${side === "source" ? "production side" : "backup"})`
        : `no ${name}: ${what.cost}`,
    );
  }
  const extras = Object.fromEntries(EXTRA_CAPABILITIES.map((c) => [c, caps.has(c)]));
  const present = Object.keys(watched).filter((c) => watched[c]);
  const detail = missing.length
    ? `${present.length ? `has ${present.join(", ")}; ` : ""}warning: ${missing.join("; ")}`
    : `has ${present.join(", ")}`;
  return { ok: true, detail, info: { watched, extras, all: [...caps].sort() } };
}

/** The folders step: the configured folders (greetings folder required) against LIST. */
export function judgeFolders(
  found: string[],
  opts: {
    mailbox: string;
    where: string;
    folders?: string[];
    greetingsFolder?: string;
    side?: "source" | "target";
  },
): { ok: boolean; detail: string; info: Record<string, unknown> } {
  const has = (f: string) =>
    f.toUpperCase() === "INBOX"
      ? found.some((x) => x.toUpperCase() === "INBOX")
      : found.includes(f);
  const listed = found.join(", ") || "none";
  const info: Record<string, unknown> = { found };
  if (opts.side === "target" || (!opts.folders && !opts.greetingsFolder)) {
    return {
      ok: true,
      detail: `mailbox "${opts.mailbox}" has ${count(found.length, "folder")}: ${listed}`,
      info,
    };
  }
  const wanted = [
    ...new Set([...(opts.folders ?? []), ...(opts.greetingsFolder ? [opts.greetingsFolder] : [])]),
  ];
  const missing = wanted.filter((f) => !has(f));
  info.configured = wanted;
  info.missing = missing;
  if (opts.greetingsFolder && missing.includes(opts.greetingsFolder)) {
    return {
      ok: false,
      detail:
        `mailbox "${opts.mailbox}" on ${opts.where} has no greetings folder "${opts.greetingsFolder}" (it has: ${listed}) — check greetingsFolder`,
      info,
    };
  }
  if (missing.length) {
    return {
      ok: true,
      detail: `mailbox "${opts.mailbox}" has ${listed}; warning: ${
        missing.map((f) => `"${f}"`).join(", ")
      } not found (nothing to mirror there for this mailbox)`,
      info,
    };
  }
  return {
    ok: true,
    detail: `mailbox "${opts.mailbox}" has every configured folder (${
      wanted.map((f) => `"${f}"`).join(", ")
    }); all folders: ${listed}`,
    info,
  };
}

function method(e: ImapEndpoint, mailbox: string | null): string {
  return e.impersonation === "authzid"
    ? "SASL PLAIN with an authorization id"
    : `LOGIN as "${mailbox ?? "<mailbox>"}${e.separator}${e.trustedUser}"`;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

async function readGreeting(conn: ProbeConn, where: string): Promise<string> {
  const line = await conn.readLine({
    what: "its greeting",
    timeout: (after) =>
      `${where} sent no greeting within ${after}: the connection is open, but the server says nothing (a TLS port needs tls "tls")`,
  });
  if (/^\* (OK|PREAUTH)\b/i.test(line)) return line;
  if (/^\* BYE\b/i.test(line)) {
    throw new ProbeFailure(`${where} turned the connection away: ${redact(line.slice(6))}`);
  }
  throw new ProbeFailure(
    `${where} does not speak IMAP (it said "${printable(line)}") — check the port`,
  );
}

// The greeting without its capability list, for the admin.
function greetingText(line: string): string {
  return printable(line.replace(/^\* \w+\s*/, "").replace(/\[CAPABILITY [^\]]*\]\s*/i, ""));
}

function printable(text: string): string {
  const t = text.replace(/[^\x20-\x7e]/g, "?");
  return t.length > 80 ? `${t.slice(0, 79)}…` : t;
}

function capabilityCode(line: string): Set<string> | null {
  const m = /\[CAPABILITY ([^\]]*)\]/i.exec(line);
  return m ? new Set(m[1].toUpperCase().split(/\s+/).filter(Boolean)) : null;
}

async function capabilities(conn: ProbeConn, where: string): Promise<Set<string>> {
  const answer = await command(conn, "P1 CAPABILITY", where);
  const caps = new Set<string>();
  for (const u of answer.untagged) {
    const m = /^\* CAPABILITY (.*)$/i.exec(u);
    if (m) { for (const c of m[1].toUpperCase().split(/\s+/)) if (c) caps.add(c); }
  }
  return caps;
}

// One pre-login command on the probe's own connection: its untagged lines and tagged answer.
async function command(
  conn: ProbeConn,
  line: string,
  where: string,
): Promise<{ untagged: string[]; tagged: string }> {
  const tag = line.split(" ")[0];
  const verb = line.split(" ")[1];
  await conn.write(`${line}\r\n`);
  const untagged: string[] = [];
  for (;;) {
    const l = await conn.readLine({
      what: `an answer to ${verb}`,
      timeout: (after) => `${where} did not answer ${verb} within ${after}`,
    });
    if (l.startsWith(`${tag} `)) return { untagged, tagged: l.slice(tag.length + 1) };
    untagged.push(l);
  }
}
