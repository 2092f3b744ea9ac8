/**
 * Sending mail through the configured SMTP relay (nodemailer): the portal's "forward by
 * e-mail", and any alert. Addresses are validated strictly and handed to nodemailer as
 * structured values, never as header text, so no input can add a header or a recipient.
 * @module
 */
import { Buffer } from "node:buffer";
import nodemailer from "nodemailer";
import type { SmtpConfig } from "../config/mod.ts";
import { replaceControls } from "../mime/mod.ts";
import { redact } from "../support/mod.ts";

/** A file attached to a mail. */
export interface MailAttachment {
  filename: string;
  contentType: string;
  content: Uint8Array;
}

/** One mail to one recipient. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  attachments?: MailAttachment[];
}

/** The relay refused the mail or could not be reached. */
export class MailError extends Error {
  override name = "MailError";
  /** Builds the error; `server` is host:port of the relay. */
  constructor(readonly server: string, detail: string, options?: ErrorOptions) {
    super(`Cannot send mail through "${server}": ${redact(detail)}`, options);
  }
}

// RFC 5321 dot-atom local part and an LDH host name with at least one dot: deliberately
// narrower than RFC 5322 (no quoted local parts, no comments, no address literals).
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Whether `text` is one plain e-mail address (`local@host.domain`), nothing else. */
export function isValidAddress(text: string): boolean {
  if (text.length > 254) return false;
  const at = text.lastIndexOf("@");
  if (at < 1 || at !== text.indexOf("@")) return false;
  const local = text.slice(0, at);
  const labels = text.slice(at + 1).split(".");
  return local.length <= 64 && LOCAL.test(local) && labels.length >= 2 &&
    labels.every((l) => LABEL.test(l)) && /[A-Za-z]/.test(labels[labels.length - 1]);
}

/** Text safe for one header line: controls removed, runs of space folded, length capped. */
export function headerText(text: string, max = 200): string {
  const s = replaceControls(text, " ").replace(/\s+/g, " ").trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Sends one mail; resolves with the relay's message id. */
export async function sendMail(smtp: SmtpConfig, mail: OutgoingMail): Promise<string> {
  const server = `${smtp.host}:${smtp.port}`;
  if (!isValidAddress(mail.to)) throw new MailError(server, `invalid recipient "${mail.to}"`);
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.requireTls,
    tls: {
      rejectUnauthorized: true,
      ...(smtp.ca ? { ca: smtp.ca } : {}),
      ...(/^[\d.]+$|:/.test(smtp.host) ? {} : { servername: smtp.host }),
    },
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? "" } } : {}),
    // The relay's deadlines: reach it, hear its greeting, and never wait longer than this for
    // its next word (a relay that stops answering mid-DATA fails the send instead of hanging).
    connectionTimeout: smtp.timeoutSeconds * 1000,
    greetingTimeout: smtp.timeoutSeconds * 1000,
    socketTimeout: smtp.timeoutSeconds * 1000,
    // After QUIT nodemailer would hold a 5 s close timer; the relay's own close suffices.
    socketCloseTimeout: 0,
    // Content only from memory: nothing in a mail may name a file or URL to be read.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  try {
    const info = await transport.sendMail({
      from: smtp.from,
      to: [{ name: "", address: mail.to }],
      envelope: { from: smtp.from, to: [mail.to] },
      subject: headerText(mail.subject),
      text: mail.text,
      attachments: (mail.attachments ?? []).map((a) => ({
        filename: headerText(a.filename, 100),
        contentType: a.contentType,
        content: Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength),
      })),
    });
    return String(info.messageId ?? "");
  } catch (e) {
    throw new MailError(server, (e as Error).message, { cause: e });
  } finally {
    transport.close();
  }
}
