/**
 * VPIM-style (RFC 3801) voicemail messages for the lab: what each mailbox gets (the plan) and how
 * a message is rendered. Pure: audio bytes come in through a callback.
 * @module
 */

import { type ClipRequest, wavInfo, wholeSeconds } from "./audio.ts";
import { EXTERNAL_CALLERS, SUBSCRIBERS } from "./subscribers.ts";
import type { AudioEncoding, VoicemailKind } from "./types.ts";

/** A name and address for From/To. */
export interface Party {
  name: string;
  address: string;
}

/** An earlier message carried inside another as `message/rfc822` (forward or reply chains). */
export interface EmbeddedSpec {
  from: Party;
  to: Party;
  subject: string;
  date: Date;
  messageId: string;
  encoding: AudioEncoding;
  text: string;
  /** A further, older message nested inside this one. */
  inner?: EmbeddedSpec;
}

/** Everything needed to render and append one voicemail. */
export interface VoicemailSpec {
  kind: VoicemailKind;
  folder: string;
  from: Party;
  to: Party;
  subject: string;
  /** Date header and INTERNALDATE. */
  date: Date;
  messageId: string;
  /** Encoding of the main voice part. */
  encoding: AudioEncoding;
  /** `multipart/voice-message` or `multipart/mixed` at the top. */
  container: "voice-message" | "mixed";
  audioType: "audio/wav" | "audio/x-wav";
  /** Spoken sentence of the main voice part. */
  text: string;
  /** Stretch the main voice part to this many seconds. */
  seconds?: number;
  /** Add an `Originator-Spoken-Name` part speaking this name. */
  spokenName?: string;
  /** How urgency is marked, if urgent. */
  urgent?: "importance" | "priority";
  private?: boolean;
  broadcast?: boolean;
  /** A greeting's type, as the store says it (see `greetingHeader`); none: an untyped greeting. */
  greetingType?: LabGreetingType;
  /**
   * Whether the type is also in an `X-Greeting-Type` header (and the file name); false: only the
   * subject's words say it — stores differ, and some say nothing at all.
   */
  greetingHeader?: boolean;
  /** A text/plain part before the audio. */
  comment?: string;
  /** Forwarded or replied-to message embedded as message/rfc822. */
  embedded?: EmbeddedSpec;
  inReplyTo?: string;
  flags: string[];
}

/** Greeting types the lab seeds. */
export type LabGreetingType = "busy" | "noanswer" | "extended-absence";

/** Reads a generated clip's bytes. */
export type AudioSource = (req: ClipRequest) => Uint8Array;

/** Header marking broadcast messages, and its value. */
export const BROADCAST_HEADER = { header: "X-Message-Class", value: "broadcast" } as const;

/** The folder greetings are stored in. */
export const GREETINGS_FOLDER = "Greetings";

/** Sentences spoken in messages; rotated so mailboxes differ. */
export const MESSAGE_TEXTS: string[] = [
  "Hi, it's me. Call me back about the quarterly numbers when you get a chance.",
  "Hello, this is a reminder that your appointment is tomorrow at nine thirty.",
  "Good morning. The delivery is at the loading dock, please send someone to sign for it.",
  "Hey, the meeting moved to room four. See you there at two o'clock.",
  "This is the help desk. Your ticket has been resolved, no action is needed.",
  "Quick question about the budget spreadsheet. Give me a ring when you are free.",
  "Hi, just checking in about the contract renewal. Talk soon.",
  "The server room alarm went off. Please call security right away.",
  "Your order has shipped and should arrive on Thursday.",
  "Can you cover my shift on Saturday morning? Let me know.",
];

const BROADCAST_TEXT =
  "Attention all staff. The building will be closed on Monday for electrical maintenance.";
const FORWARD_COMMENT = "Forwarding this one to you. Please handle it.";
const REPLY_TEXT = "Thanks for your message. I will take care of it this afternoon.";
const BROADCASTER: Party = { name: "System Broadcast", address: "9999@mss.lab" };

/** The clips a spec needs (main voice, spoken name, embedded chain). */
export function clipsFor(spec: VoicemailSpec): ClipRequest[] {
  const out: ClipRequest[] = [{ text: spec.text, encoding: spec.encoding, seconds: spec.seconds }];
  if (spec.spokenName) out.push({ text: spec.spokenName, encoding: "mulaw" });
  for (let e = spec.embedded; e; e = e.inner) out.push({ text: e.text, encoding: e.encoding });
  return out;
}

/** Subscriber as a mail party. */
function partyOf(s: { name: string; mailbox: string }): Party {
  return { name: s.name, address: `${s.mailbox}@mss.lab` };
}

/** Index of a mailbox among the lab's subscribers (hash for unknown numbers). */
function mailboxIndex(mailbox: string): number {
  const i = SUBSCRIBERS.findIndex((s) => s.mailbox === mailbox);
  if (i >= 0) return i;
  let h = 0;
  for (const c of mailbox) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h % 97;
}

/** The recipient party of a mailbox. */
function recipient(mailbox: string): Party {
  const s = SUBSCRIBERS.find((x) => x.mailbox === mailbox);
  return s ? partyOf(s) : { name: `Mailbox ${mailbox}`, address: `${mailbox}@mss.lab` };
}

/** The n-th internal caller of a mailbox: a subscriber other than itself. */
function internalCaller(mailbox: string, n: number): Party {
  const others = SUBSCRIBERS.filter((s) => s.mailbox !== mailbox);
  return partyOf(others[(mailboxIndex(mailbox) * 5 + n * 3) % others.length]);
}

/** The n-th external caller of a mailbox. */
function externalCaller(mailbox: string, n: number): Party {
  return EXTERNAL_CALLERS[(mailboxIndex(mailbox) + n) % EXTERNAL_CALLERS.length];
}

/** Options of {@linkcode planMailbox}. */
export interface PlanOptions {
  /** Arrival of the newest message; older ones spread over the preceding days. */
  now: Date;
  /** Makes Message-IDs unique per seeding. */
  nonce: string;
  /** Add the 150 s over-length message (the lab does for 4001). */
  long?: boolean;
}

/** The standard set of voicemails for one mailbox: INBOX messages plus two greetings. */
export function planMailbox(mailbox: string, opts: PlanOptions): VoicemailSpec[] {
  const i = mailboxIndex(mailbox);
  const to = recipient(mailbox);
  const text = (k: number) => MESSAGE_TEXTS[(i * 3 + k) % MESSAGE_TEXTS.length];
  const id = (k: number | string) => `<${opts.nonce}.${mailbox}.${k}@mss.lab>`;
  const from = (p: Party) => `Voice message from ${p.name}`;
  const base = (k: number, p: Party): Omit<VoicemailSpec, "kind" | "encoding" | "flags"> => ({
    folder: "INBOX",
    from: p,
    to,
    subject: from(p),
    date: opts.now,
    messageId: id(k),
    container: "voice-message",
    audioType: "audio/wav",
    text: text(k),
  });
  const c = (n: number) => internalCaller(mailbox, n);
  const x = (n: number) => externalCaller(mailbox, n);
  const orig1 = c(6);
  const orig2 = c(7);
  const replier = c(8);
  const inbox: VoicemailSpec[] = [
    { ...base(0, c(0)), kind: "voice", encoding: "gsm", spokenName: c(0).name, flags: [] },
    {
      ...base(1, x(0)),
      kind: "voice",
      encoding: "mulaw",
      container: "mixed",
      audioType: "audio/x-wav",
      flags: ["\\Seen", "$Forwarded"],
    },
    { ...base(2, c(1)), kind: "voice", encoding: "alaw", urgent: "importance", flags: [] },
    {
      ...base(3, c(2)),
      kind: "voice",
      encoding: "gsm",
      private: true,
      spokenName: c(2).name,
      flags: ["\\Seen"],
    },
    {
      ...base(4, x(1)),
      kind: "voice",
      encoding: "gsm",
      container: "mixed",
      audioType: "audio/x-wav",
      flags: ["\\Seen", "\\Answered"],
    },
    {
      ...base(5, c(3)),
      kind: "forwardChain",
      encoding: "gsm",
      container: "mixed",
      subject: `Fwd: ${from(orig1)}`,
      text: FORWARD_COMMENT,
      comment: `${c(3).name} forwarded a voice message from ${orig1.name}.`,
      embedded: {
        from: orig1,
        to: c(3),
        subject: from(orig1),
        date: new Date(opts.now.getTime() - 86_400_000 * 9),
        messageId: id("5.orig1"),
        encoding: "gsm",
        text: text(5),
        inner: {
          from: orig2,
          to: orig1,
          subject: from(orig2),
          date: new Date(opts.now.getTime() - 86_400_000 * 11),
          messageId: id("5.orig2"),
          encoding: "mulaw",
          text: text(6),
        },
      },
      flags: ["\\Seen"],
    },
    {
      ...base(6, replier),
      kind: "replyChain",
      encoding: "mulaw",
      subject: `Re: ${from(to)}`,
      text: REPLY_TEXT,
      inReplyTo: id("6.orig"),
      embedded: {
        from: to,
        to: replier,
        subject: from(to),
        date: new Date(opts.now.getTime() - 86_400_000 * 8),
        messageId: id("6.orig"),
        encoding: "gsm",
        text: text(7),
      },
      flags: [],
    },
    {
      ...base(7, BROADCASTER),
      kind: "broadcast",
      encoding: "gsm",
      subject: "Broadcast: building closed on Monday",
      text: BROADCAST_TEXT,
      broadcast: true,
      flags: [],
    },
  ];
  const extras: VoicemailSpec[] = [
    {
      ...base(8, x(2)),
      kind: "voice",
      encoding: "alaw",
      container: "mixed",
      urgent: "priority",
      flags: ["\\Seen"],
    },
    { ...base(9, c(4)), kind: "voice", encoding: "gsm", flags: ["\\Seen", "\\Flagged"] },
    {
      ...base(10, x(3)),
      kind: "voice",
      encoding: "mulaw",
      audioType: "audio/x-wav",
      private: true,
      flags: [],
    },
  ];
  inbox.push(...extras.slice(0, i % 4));
  if (opts.long) {
    inbox.splice(3, 0, {
      ...base(11, x(4)),
      kind: "voice",
      encoding: "gsm",
      text: text(9),
      seconds: 150,
      flags: [],
    });
  }
  // Spread arrival over past days, newest last; the step differs per mailbox so dates never align.
  const stepMs = (5 + (i % 7)) * 3_600_000 + i * 7 * 60_000;
  inbox.forEach((m, k) => {
    m.date = new Date(opts.now.getTime() - (inbox.length - k) * stepMs);
  });
  // Four greetings, each telling its type another way: a header and the subject (busy, no
  // answer), the subject's words only (extended absence), or nothing at all.
  const greeting = (
    k: number,
    g: { subject: string; text: string; type?: LabGreetingType; header?: boolean },
  ): VoicemailSpec => ({
    ...base(20 + k, to),
    folder: GREETINGS_FOLDER,
    kind: "greeting",
    encoding: "gsm",
    subject: g.subject,
    text: g.text,
    greetingType: g.type,
    greetingHeader: g.header ?? false,
    date: new Date(opts.now.getTime() - (40 + i + k) * 86_400_000),
    flags: ["\\Seen"],
  });
  return [
    ...inbox,
    greeting(0, {
      subject: "Greeting: busy",
      text: `Hello, you have reached ${to.name}. I am on the other line, please leave a message.`,
      type: "busy",
      header: true,
    }),
    greeting(1, {
      subject: "Greeting: no answer",
      text:
        `Hi, this is ${to.name}. I cannot take your call right now. Leave a message after the tone.`,
      type: "noanswer",
      header: true,
    }),
    greeting(2, {
      subject: "Extended absence greeting",
      text: `This is ${to.name}. I am away until the end of the month and will not hear messages.`,
      type: "extended-absence",
    }),
    greeting(3, {
      subject: "Greeting",
      text: `You have reached the voicemail of ${to.name}. Please leave a message.`,
    }),
  ];
}

/** Simple voice messages (for tests that need N messages or a big one). */
export function planVoiceMessages(
  mailbox: string,
  count: number,
  opts: PlanOptions & {
    folder?: string;
    encoding?: AudioEncoding;
    seconds?: number;
    flags?: string[];
  },
): VoicemailSpec[] {
  const encodings: AudioEncoding[] = ["gsm", "mulaw", "alaw"];
  const i = mailboxIndex(mailbox);
  return Array.from({ length: count }, (_, k) => {
    const caller = k % 2 ? externalCaller(mailbox, k) : internalCaller(mailbox, k);
    return {
      kind: "voice" as const,
      folder: opts.folder ?? "INBOX",
      from: caller,
      to: recipient(mailbox),
      subject: `Voice message from ${caller.name}`,
      date: new Date(opts.now.getTime() - (count - k) * 3_600_000),
      messageId: `<${opts.nonce}.${mailbox}.x${k}@mss.lab>`,
      encoding: opts.encoding ?? encodings[(i + k) % 3],
      container: k % 3 === 2 ? "mixed" as const : "voice-message" as const,
      audioType: k % 2 ? "audio/x-wav" as const : "audio/wav" as const,
      text: MESSAGE_TEXTS[(i + k * 7) % MESSAGE_TEXTS.length],
      seconds: opts.seconds,
      flags: opts.flags ?? (k % 2 ? ["\\Seen"] : []),
    };
  });
}

// ---- rendering -------------------------------------------------------------------------------

const CRLF = "\r\n";

/** RFC 5322 date-time in UTC. */
export function rfc5322Date(d: Date): string {
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
  ];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]}, ${d.getUTCDate()} ${
    months[d.getUTCMonth()]
  } ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Base64 wrapped at 76 characters (RFC 2045). */
function base64Lines(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  const b64 = btoa(bin);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join(CRLF);
}

/** A From/To value. */
function addr(p: Party): string {
  return `"${p.name.replaceAll('"', "")}" <${p.address}>`;
}

let boundaryCounter = 0;

/** A boundary that cannot occur in base64 or in our text. */
function boundary(): string {
  boundaryCounter++;
  return `=_vm_${boundaryCounter.toString(36)}_${crypto.randomUUID().slice(0, 8)}`;
}

/** One rendered body part: its headers and body. */
interface Part {
  headers: string[];
  body: string;
}

/** Renders a multipart body from parts. */
function multipart(type: string, parts: Part[], extraParams = ""): Part {
  const b = boundary();
  const body =
    parts.map((p) => `--${b}${CRLF}${p.headers.join(CRLF)}${CRLF}${CRLF}${p.body}${CRLF}`)
      .join("") + `--${b}--${CRLF}`;
  return { headers: [`Content-Type: ${type};${extraParams} boundary="${b}"`], body };
}

/** A voice part with Content-Duration taken from the WAV itself. */
function audioPart(
  wav: Uint8Array,
  type: string,
  voice: "Voice-Message" | "Originator-Spoken-Name",
  filename: string,
): { part: Part; seconds: number } {
  const seconds = wholeSeconds(wavInfo(wav));
  return {
    seconds,
    part: {
      headers: [
        `Content-Type: ${type}`,
        "Content-Transfer-Encoding: base64",
        `Content-Disposition: inline; voice=${voice}; filename="${filename}"`,
        `Content-Duration: ${seconds}`,
      ],
      body: base64Lines(wav),
    },
  };
}

/** A text/plain part. */
function textPart(text: string): Part {
  return {
    headers: ["Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit"],
    body: text,
  };
}

/** Renders a whole message from top-level headers and a body part. */
function message(headers: string[], body: Part): string {
  return [...headers, "MIME-Version: 1.0", ...body.headers].join(CRLF) + CRLF + CRLF + body.body;
}

/** Renders an embedded (forwarded / replied-to) message, recursively. */
function renderEmbedded(e: EmbeddedSpec, audio: AudioSource): string {
  const parts = [
    audioPart(
      audio({ text: e.text, encoding: e.encoding }),
      "audio/wav",
      "Voice-Message",
      "message.wav",
    ).part,
  ];
  if (e.inner) parts.push(rfc822Part(renderEmbedded(e.inner, audio)));
  return message(
    [
      `From: ${addr(e.from)}`,
      `To: ${addr(e.to)}`,
      `Subject: ${e.subject}`,
      `Date: ${rfc5322Date(e.date)}`,
      `Message-ID: ${e.messageId}`,
    ],
    multipart("multipart/voice-message", parts, " version=2.0;"),
  );
}

/** A message/rfc822 part. */
function rfc822Part(raw: string): Part {
  return {
    headers: ["Content-Type: message/rfc822", "Content-Disposition: inline"],
    body: raw.endsWith(CRLF) ? raw.slice(0, -2) : raw,
  };
}

/** A rendered voicemail and the duration of its main voice part. */
export interface RenderedVoicemail {
  raw: string;
  seconds: number;
  contentType: string;
}

/** Renders a spec as an RFC 5322 / VPIM message (CRLF line ends). */
export function renderVoicemail(spec: VoicemailSpec, audio: AudioSource): RenderedVoicemail {
  const parts: Part[] = [];
  if (spec.comment) parts.push(textPart(spec.comment));
  const main = audioPart(
    audio({ text: spec.text, encoding: spec.encoding, seconds: spec.seconds }),
    spec.audioType,
    "Voice-Message",
    spec.kind !== "greeting"
      ? "message.wav"
      : spec.greetingType && spec.greetingHeader
      ? `greeting-${spec.greetingType}.wav`
      : "greeting.wav",
  );
  parts.push(main.part);
  if (spec.spokenName) {
    parts.push(
      audioPart(
        audio({ text: spec.spokenName, encoding: "mulaw" }),
        "audio/wav",
        "Originator-Spoken-Name",
        "name.wav",
      ).part,
    );
  }
  if (spec.embedded) parts.push(rfc822Part(renderEmbedded(spec.embedded, audio)));
  const contentType = spec.container === "voice-message"
    ? "multipart/voice-message"
    : "multipart/mixed";
  const headers = [
    `From: ${addr(spec.from)}`,
    `To: ${addr(spec.to)}`,
    `Subject: ${spec.subject}`,
    `Date: ${rfc5322Date(spec.date)}`,
    `Message-ID: ${spec.messageId}`,
  ];
  if (spec.inReplyTo) {
    headers.push(`In-Reply-To: ${spec.inReplyTo}`, `References: ${spec.inReplyTo}`);
  }
  if (spec.urgent === "importance") headers.push("Importance: High", "X-Priority: 1");
  if (spec.urgent === "priority") headers.push("Priority: urgent");
  if (spec.private) headers.push("Sensitivity: Private");
  if (spec.broadcast) headers.push(`${BROADCAST_HEADER.header}: ${BROADCAST_HEADER.value}`);
  if (spec.greetingType && spec.greetingHeader) {
    headers.push(`X-Greeting-Type: ${spec.greetingType}`);
  }
  const body = multipart(
    contentType,
    parts,
    contentType === "multipart/voice-message" ? " version=2.0;" : "",
  );
  return { raw: message(headers, body), seconds: main.seconds, contentType };
}
