/**
 * The mail relay's connection test: a short SMTP dialogue of its own (greeting, EHLO, STARTTLS
 * or implicit TLS with the certificate judged, AUTH, QUIT), then — when an address is given —
 * a real test mail through engine/mail, the path every mail of the appliance takes.
 * @module
 */
import { Buffer } from "node:buffer";
import { hostname } from "node:os";
import type { SmtpConfig } from "../config/mod.ts";
import { isValidAddress, sendMail } from "../mail/mod.ts";
import { redact } from "../support/mod.ts";
import { describeTarget, dnsStep, ProbeConn } from "./net.ts";
import { errorText, Probe, ProbeFailure, type ProbeResult } from "./result.ts";

/** Options of {@link probeSmtp}. */
export interface SmtpProbeOptions {
  /** Send a real test mail to this address. */
  to?: string;
  /** The whole test ends within this (default 15 s). */
  timeoutMs?: number;
}

/** The subject of the test mail. */
export const TEST_SUBJECT = "vmirror test message";

/** One SMTP reply: the code and its lines' text. */
export interface SmtpReply {
  code: number;
  lines: string[];
}

/** Tests the relay layer by layer; sends a test mail when `to` is given. */
export async function probeSmtp(s: SmtpConfig, opts: SmtpProbeOptions = {}): Promise<ProbeResult> {
  const target = describeTarget(undefined, s.host, s.port);
  const { where } = target;
  const probe = new Probe(`${s.host}:${s.port}`, opts.timeoutMs);
  let conn: ProbeConn | null = null;
  probe.onTimeout(async () => await conn?.close());
  const c = () => conn as ProbeConn;
  try {
    await dnsStep(probe, s.host);
    await probe.step("connect", async () => {
      conn = await ProbeConn.open(target, probe.deadline);
      const info = { ...conn.addresses };
      if (s.secure) return { detail: `connected to ${where}`, info };
      const greeting = await readGreeting(c(), where);
      return { detail: `connected to ${where}; it greets with "${greeting}"`, info };
    });
    if (s.secure) {
      await probe.step("tls", async () => {
        const verdict = await c().startTls({ ca: s.ca });
        if (!verdict.ok) return verdict;
        await readGreeting(c(), where);
        return verdict;
      });
    }
    let ext = new Set<string>();
    let authLine = "";
    const ehlo = async () => {
      const r = await exchange(c(), `EHLO ${ehloName()}`, where);
      if (r.code !== 250) {
        throw new ProbeFailure(`${where} refused EHLO: ${replyText(r)}`);
      }
      const lines = r.lines.slice(1);
      ext = new Set(lines.map((l) => l.split(/[\s=]/)[0].toUpperCase()));
      authLine = lines.find((l) => /^AUTH[\s=]/i.test(l)) ?? "";
      return lines;
    };
    await probe.step("ehlo", async () => {
      const lines = await ehlo();
      return {
        detail: `${where} answers EHLO; extensions: ${lines.join(", ") || "none"}`,
        info: { extensions: lines },
      };
    });
    if (!s.secure) {
      await probe.step("starttls", async () => {
        if (!ext.has("STARTTLS")) {
          if (s.requireTls) {
            throw new ProbeFailure(
              `${where} does not offer STARTTLS, but requireTls is set — turn STARTTLS on at the relay, or use its TLS port with secure`,
            );
          }
          return {
            skipped: true,
            detail: `${where} does not offer STARTTLS: ${
              s.user ? "mail and the relay password cross" : "mail crosses"
            } the network in clear`,
          };
        }
        const r = await exchange(c(), "STARTTLS", where);
        if (r.code !== 220) throw new ProbeFailure(`${where} refused STARTTLS: ${replyText(r)}`);
        const verdict = await c().startTls({ ca: s.ca });
        if (!verdict.ok) return verdict;
        // What is offered after TLS (AUTH often is) counts from here on.
        await ehlo();
        return verdict;
      });
    }
    await probe.step("auth", async () => {
      if (!s.user) {
        return { skipped: true, detail: "no user set: the relay is used without a login" };
      }
      return await authenticate(c(), { user: s.user, password: s.password ?? "", authLine, where });
    });
    const pre = conn as ProbeConn | null;
    conn = null;
    if (pre && !probe.failed) await pre.quit("QUIT\r\n");
    else await pre?.close();

    await probe.step("send", async () => {
      const to = opts.to?.trim();
      if (!to) {
        return { skipped: true, detail: "no address given: enter one to send a test mail" };
      }
      if (!isValidAddress(to)) throw new ProbeFailure(`"${to}" is not an e-mail address`);
      const budget = probe.remainingMs() / 1000;
      try {
        const id = await sendMail({ ...s, timeoutSeconds: budget }, {
          to,
          subject: TEST_SUBJECT,
          text: `This is a test message from vmirror's admin console, sent ${
            new Date().toISOString()
          } to check the mail relay ${s.host}:${s.port}. Nothing needs to be done.\n`,
        });
        return {
          detail: `${where} accepted a test mail to "${to}" (subject "${TEST_SUBJECT}")`,
          info: { messageId: id },
        };
      } catch (e) {
        throw new ProbeFailure(`${where} did not take the test mail: ${redact(errorText(e))}`);
      }
    });
  } finally {
    await probe.close();
    if (conn) await (conn as ProbeConn).close();
  }
  return probe.result();
}

/** A refused AUTH in words (never the password). */
export function authWords(r: SmtpReply, ctx: { user: string; where: string }): string {
  if (r.code === 535) {
    return `${ctx.where} refused the login of "${ctx.user}" (wrong user name or password)`;
  }
  if (r.code === 534 || r.code === 538) {
    return `${ctx.where} refused the login of "${ctx.user}": it wants a stronger or encrypted login (${
      replyText(r)
    })`;
  }
  return `${ctx.where} refused the login of "${ctx.user}": ${replyText(r)}`;
}

/** A reply's code and text on one line, redacted. */
export function replyText(r: SmtpReply): string {
  return redact(`${r.code} ${r.lines.join(" ")}`.trim());
}

async function authenticate(
  conn: ProbeConn,
  ctx: { user: string; password: string; authLine: string; where: string },
) {
  const mechs = new Set(ctx.authLine.replace(/^AUTH[\s=]/i, "").toUpperCase().split(/\s+/));
  const b64 = (t: string) => Buffer.from(t, "utf8").toString("base64");
  let r: SmtpReply;
  let mech: string;
  if (!ctx.authLine) {
    throw new ProbeFailure(
      `${ctx.where} offers no login (AUTH), but a user is set — remove the user, or use the relay's submission port`,
    );
  }
  if (mechs.has("PLAIN")) {
    mech = "PLAIN";
    const token = b64(`\0${ctx.user}\0${ctx.password}`);
    r = await exchange(conn, `AUTH PLAIN ${token}`, ctx.where, "AUTH PLAIN");
  } else if (mechs.has("LOGIN")) {
    mech = "LOGIN";
    r = await exchange(conn, "AUTH LOGIN", ctx.where);
    if (r.code === 334) r = await exchange(conn, b64(ctx.user), ctx.where, "the user name");
    if (r.code === 334) r = await exchange(conn, b64(ctx.password), ctx.where, "the password");
  } else {
    throw new ProbeFailure(
      `${ctx.where} offers no login method vmirror knows (it offers ${
        [...mechs].join(", ") || "none"
      }; vmirror uses PLAIN or LOGIN)`,
    );
  }
  if (r.code !== 235) throw new ProbeFailure(authWords(r, ctx));
  return { detail: `logged in as "${ctx.user}" (AUTH ${mech})`, info: { mechanism: mech } };
}

// The name nodemailer announces too: the host name when it is qualified, else an address.
function ehloName(): string {
  try {
    const h = hostname();
    if (h.includes(".")) return h;
  } catch {
    // Without the permission to read it, the address literal will do.
  }
  return "[127.0.0.1]";
}

async function readGreeting(conn: ProbeConn, where: string): Promise<string> {
  const r = await readReply(conn, {
    what: "its greeting",
    timeout: (after) =>
      `${where} sent no greeting within ${after}: the connection is open, but the relay says nothing (a TLS port needs secure)`,
  });
  if (r.code === 220) return printable(r.lines.join(" "));
  if (r.code >= 400) throw new ProbeFailure(`${where} turned the connection away: ${replyText(r)}`);
  throw new ProbeFailure(`${where} does not speak SMTP (it said "${printable(replyText(r))}")`);
}

// One command and its reply. Messages name `verb` (default the command's first word), never
// the line itself: it may hold a credential.
async function exchange(
  conn: ProbeConn,
  line: string,
  where: string,
  verb = line.split(" ")[0],
): Promise<SmtpReply> {
  await conn.write(`${line}\r\n`);
  return await readReply(conn, {
    what: `an answer to ${verb}`,
    timeout: (after) => `${where} did not answer ${verb} within ${after}`,
  });
}

async function readReply(
  conn: ProbeConn,
  wait: { what: string; timeout: (after: string) => string },
): Promise<SmtpReply> {
  const lines: string[] = [];
  for (;;) {
    const l = await conn.readLine(wait);
    const m = /^(\d{3})([ -]?)(.*)$/.exec(l);
    if (!m) {
      throw new ProbeFailure(
        `${conn.target.where} does not speak SMTP (it said "${printable(l)}")`,
      );
    }
    lines.push(m[3]);
    if (m[2] !== "-") return { code: Number(m[1]), lines };
  }
}

function printable(text: string): string {
  const t = text.replace(/[^\x20-\x7e]/g, "?");
  return t.length > 80 ? `${t.slice(0, 79)}…` : t;
}
