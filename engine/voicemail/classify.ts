/**
 * What vmirror needs to know about a voicemail (VPIM, RFC 3801): its identity, urgency,
 * privacy, broadcast status, voice parts and their durations, and its forward/reply chain.
 * Pure logic, no I/O; only a prefix of each voice part is decoded (to read its audio header).
 * @module
 */

import {
  type Address,
  type BodyRange,
  decodeBody,
  decodedLength,
  decodeHeaderWords,
  type Header,
  headerValue,
  headerValues,
  parseAddress,
  parseDate,
  parseMessage,
  type ParseOptions,
  type Part,
  replaceControls,
} from "../mime/mod.ts";
import { elidedWithin, type Elision } from "../mime/mod.ts";
import {
  parseWav,
  tryParseWavHeader,
  wavDurationSeconds,
  WavError,
  type WavInfo,
} from "../audio/mod.ts";

/** The role of a voice part (RFC 3801 `voice=` disposition parameter). */
export type VoiceRole = "Voice-Message" | "Originator-Spoken-Name" | "Spoken-Subject";

/** Where a voice part's duration came from. */
export type DurationSource = "content-duration" | "audio-header";

/** One audio body part of a message (not of a message embedded in it). */
export interface VoicePart {
  role: VoiceRole;
  /** Lower-case `type/subtype`, e.g. "audio/wav". */
  contentType: string;
  /** Sanitised base name from the disposition `filename` or the type's `name`, or null. */
  filename: string | null;
  /** IMAP section number, e.g. "2" or "1.2". */
  partPath: string;
  /** Body byte range in the message, still transfer-encoded. */
  start: number;
  end: number;
  transferEncoding: string;
  /** Content-Duration (RFC 3803): the sender's claim, whole seconds; null if absent/invalid. */
  claimedSeconds: number | null;
  /** Seconds computed from the audio header and the data size; null if unknown. */
  computedSeconds: number | null;
  /** The duration believed: the claim when plausible, otherwise the computed value. */
  seconds: number | null;
  durationSource: DurationSource | null;
}

/** A message of a forward/reply chain: the top message or one embedded as message/rfc822. */
export interface ChainNode {
  messageId: string | null;
  from: Address | null;
  date: Date | null;
  subject: string | null;
  /** "" for the top message, else the IMAP section of the message/rfc822 part. */
  partPath: string;
  voiceParts: VoicePart[];
  durationSeconds: number | null;
  children: ChainNode[];
}

/** A broadcast rule from the config: a header name and a RegExp source (case-insensitive). */
export interface BroadcastRule {
  header: string;
  pattern: string;
}

/** A validated broadcast rule with its compiled expression and its index in the config. */
export interface CompiledBroadcastRule extends BroadcastRule {
  index: number;
  regex: RegExp;
}

/** Options for classifyMessage. */
export interface ClassifyOptions {
  /** Raw rules are compiled (and may throw BroadcastRuleError); compile once for many calls. */
  broadcastRules?: readonly BroadcastRule[] | readonly CompiledBroadcastRule[];
  /** Guards passed on to parseMessage. */
  parse?: ParseOptions;
  /**
   * When `bytes` is a large message's skeleton (engine/mime/skeleton.ts): the decoded bytes
   * cut out of its bodies, added back to each voice part's length.
   */
  elided?: readonly Elision[];
}

/** What classifyMessage learns about a message. */
export interface Classified {
  /** The msg-id with its angle brackets, e.g. "<abc@mss1>", or null. */
  messageId: string | null;
  date: Date | null;
  from: Address | null;
  to: Address[];
  /** Decoded Subject, or null when absent. */
  subject: string | null;
  /** `Importance: High`, `X-Priority: 1` or `Priority: urgent`. */
  urgent: boolean;
  /** `Sensitivity: Private` or `Personal`; `Company-Confidential` is not private. */
  private: boolean;
  broadcast: boolean;
  /** Index of the first broadcast rule that matched, or null. */
  broadcastRule: number | null;
  /** Voice parts of the top message in document order, every role. */
  voiceParts: VoicePart[];
  /** The first Originator-Spoken-Name part of the top message, or null. */
  spokenName: VoicePart | null;
  /** Sum over the Voice-Message parts with a known duration; null when none is known. */
  durationSeconds: number | null;
  /** The chain tree from the top message; null when no message is embedded. */
  chain: ChainNode | null;
  inReplyTo: string | null;
  references: string[];
  /** The top-level header fields, as parsed. */
  headers: Header[];
}

/** A broadcast rule that cannot be used; carries the rule and its index in the config. */
export class BroadcastRuleError extends Error {
  override name = "BroadcastRuleError";
  /** Builds the error for rule `index`; the detail goes after a colon. */
  constructor(
    readonly index: number,
    readonly rule: BroadcastRule,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(
      `Invalid broadcast rule ${index} (header "${String(rule?.header)}", pattern "${
        String(rule?.pattern)
      }"): ${detail}`,
      options,
    );
  }
}

/** The content types (lower case) a part must have to count as a voice part. */
export const VOICE_TYPES: ReadonlySet<string> = new Set([
  "audio/wav",
  "audio/x-wav",
  "audio/wave",
  "audio/vnd.wave",
  "audio/gsm",
  "audio/basic",
]);

// The first bytes of the audio decoded to find the format and the data chunk; a WAV whose
// data chunk sits further in (large LIST chunks) gets a longer prefix, up to the cap.
const AUDIO_PREFIX = 512;
const AUDIO_PREFIX_CAP = 64 * 1024;

/** Validates and compiles broadcast rules; throws BroadcastRuleError naming the bad index. */
export function compileBroadcastRules(
  rules: readonly BroadcastRule[] | readonly CompiledBroadcastRule[],
): CompiledBroadcastRule[] {
  return rules.map((rule, index) => {
    if ("regex" in rule && rule.regex instanceof RegExp) return rule;
    if (typeof rule?.header !== "string" || !/^[\x21-\x39\x3b-\x7e]+$/.test(rule.header)) {
      throw new BroadcastRuleError(index, rule, "the header name is not a valid field name");
    }
    if (typeof rule.pattern !== "string") {
      throw new BroadcastRuleError(index, rule, "the pattern is not a string");
    }
    let regex: RegExp;
    try {
      regex = new RegExp(rule.pattern, "i");
    } catch (e) {
      throw new BroadcastRuleError(index, rule, (e as Error).message, { cause: e });
    }
    return { header: rule.header.toLowerCase(), pattern: rule.pattern, index, regex };
  });
}

/** Parses and classifies a voicemail message; cheap: only audio-header prefixes are decoded. */
export function classifyMessage(bytes: Uint8Array, opts: ClassifyOptions = {}): Classified {
  const rules = compileBroadcastRules(opts.broadcastRules ?? []);
  const root = parseMessage(bytes, opts.parse);
  const headers = root.headers;
  const top = describeMessage(bytes, root, "", opts.elided);
  const broadcastRule = matchBroadcast(headers, rules);
  return {
    messageId: top.messageId,
    date: top.date,
    from: top.from,
    to: headerValues(headers, "to").flatMap(parseAddress),
    subject: top.subject,
    urgent: isUrgent(headers),
    private: isPrivate(headers),
    broadcast: broadcastRule !== null,
    broadcastRule,
    voiceParts: top.voiceParts,
    spokenName: top.voiceParts.find((p) => p.role === "Originator-Spoken-Name") ?? null,
    durationSeconds: top.durationSeconds,
    chain: top.children.length > 0 ? top : null,
    inReplyTo: messageIds(headerValue(headers, "in-reply-to"))[0] ?? null,
    references: messageIds(headerValues(headers, "references").join(" ")),
    headers,
  };
}

/** The message as the root of its chain tree, also when no message is embedded in it. */
export function chainRoot(info: Classified): ChainNode {
  return info.chain ?? {
    messageId: info.messageId,
    from: info.from,
    date: info.date,
    subject: info.subject,
    partPath: "",
    voiceParts: info.voiceParts,
    durationSeconds: info.durationSeconds,
    children: [],
  };
}

function isUrgent(headers: readonly Header[]): boolean {
  const has = (name: string, test: RegExp) =>
    headerValues(headers, name).some((v) => test.test(withoutComments(v)));
  return has("importance", /^high$/i) || has("x-priority", /^1(?!\d)/) ||
    has("priority", /^urgent$/i);
}

// RFC 2156 Sensitivity: Personal and Private restrict forwarding on the MSS; Company-Confidential
// is a marking only, so it does not make a message private here.
function isPrivate(headers: readonly Header[]): boolean {
  return headerValues(headers, "sensitivity").some((v) =>
    /^(private|personal)$/i.test(withoutComments(v))
  );
}

function matchBroadcast(
  headers: readonly Header[],
  rules: readonly CompiledBroadcastRule[],
): number | null {
  for (const rule of rules) {
    for (const value of headerValues(headers, rule.header)) {
      // Match the raw value and the decoded one, so rules work whichever the operator wrote.
      if (rule.regex.test(value) || rule.regex.test(decodeHeaderWords(value))) return rule.index;
    }
  }
  return null;
}

function withoutComments(value: string): string {
  let out = "";
  let depth = 0;
  for (const c of value) {
    if (c === "(") depth++;
    else if (c === ")" && depth > 0) depth--;
    else if (depth === 0) out += c;
  }
  return out.trim();
}

// Some senders drop the angle brackets; the id is still worth keeping.
function messageId(value: string | null): string | null {
  const ids = messageIds(value);
  if (ids.length > 0) return ids[0];
  const bare = withoutComments(value ?? "");
  return /^[^<>\s]+$/.test(bare) ? `<${bare}>` : null;
}

function messageIds(value: string | null): string[] {
  if (!value) return [];
  return value.match(/<[^<>\s]+>/g) ?? [];
}

// One chain node per message: voice parts of this message only, embedded messages as
// children. Recursion follows the parser's depth guard, so it is bounded.
function describeMessage(
  bytes: Uint8Array,
  root: Part,
  partPath: string,
  elided: readonly Elision[] | undefined,
): ChainNode {
  const voiceParts: VoicePart[] = [];
  const children: ChainNode[] = [];
  const stack: Part[] = [root];
  while (stack.length > 0) {
    const part = stack.pop()!;
    if (part.message) {
      children.push(describeMessage(bytes, part.message, part.path, elided));
    } else if (part.children.length > 0) {
      for (let i = part.children.length - 1; i >= 0; i--) stack.push(part.children[i]);
    } else if (VOICE_TYPES.has(`${part.contentType.type}/${part.contentType.subtype}`)) {
      voiceParts.push(toVoicePart(bytes, part, elidedWithin(elided, part)));
    }
  }
  const headers = root.headers;
  const subject = headerValue(headers, "subject");
  return {
    messageId: messageId(headerValue(headers, "message-id")),
    from: parseAddress(headerValues(headers, "from").join(", "))[0] ?? null,
    date: parseDate(headerValue(headers, "date")),
    subject: subject === null ? null : decodeHeaderWords(subject),
    partPath,
    voiceParts,
    durationSeconds: sumVoiceMessage(voiceParts),
    children,
  };
}

function sumVoiceMessage(parts: readonly VoicePart[]): number | null {
  let total: number | null = null;
  for (const p of parts) {
    if (p.role === "Voice-Message" && p.seconds !== null) total = (total ?? 0) + p.seconds;
  }
  return total === null ? null : round3(total);
}

// `elided`: decoded bytes of this part cut out of a skeleton (0 for a whole message).
function toVoicePart(bytes: Uint8Array, part: Part, elided: number): VoicePart {
  const contentType = `${part.contentType.type}/${part.contentType.subtype}`;
  const voice = part.disposition?.params.voice ?? part.contentType.params.voice ?? "";
  const claimedSeconds = parseContentDuration(headerValue(part.headers, "content-duration"));
  const computedSeconds = audioSeconds(bytes, part, contentType, elided);
  const { seconds, source } = chooseDuration(
    plausibleClaim(claimedSeconds, part, elided),
    computedSeconds,
  );
  const name = part.disposition?.params.filename ?? part.contentType.params.name ?? null;
  return {
    role: voiceRole(voice),
    contentType,
    filename: name === null ? null : sanitizeFilename(decodeHeaderWords(name)),
    partPath: part.path,
    start: part.start,
    end: part.end,
    transferEncoding: part.transferEncoding,
    claimedSeconds,
    computedSeconds,
    seconds,
    durationSource: source,
  };
}

// No voice parameter means Voice-Message (RFC 3801 4.2.5); so do values this code does not
// know, e.g. Voice-Message-Notification, which carries a notification's spoken body.
function voiceRole(value: string): VoiceRole {
  const v = value.trim().toLowerCase();
  if (v === "originator-spoken-name") return "Originator-Spoken-Name";
  if (v === "spoken-subject") return "Spoken-Subject";
  return "Voice-Message";
}

// No voice codec an MSS stores uses fewer than ~1,000 bytes a second (GSM 6.10: 1,625): a claim
// longer than the part's bytes could hold even at 800 B/s is the sender's mistake, not audio.
const MIN_BYTES_PER_SECOND = 800;

function plausibleClaim(claimed: number | null, part: BodyRange, elided: number): number | null {
  if (claimed === null) return null;
  const encoded = Math.max(0, part.end - part.start);
  const upper = (part.transferEncoding.toLowerCase() === "base64" ? encoded * 0.75 : encoded) +
    elided;
  return claimed > upper / MIN_BYTES_PER_SECOND + 2 ? null : claimed;
}

/** Parses Content-Duration (RFC 3803): whole seconds, else null. */
export function parseContentDuration(value: string | null): number | null {
  if (value === null) return null;
  const m = /^(\d{1,9})$/.exec(withoutComments(value));
  return m ? Number(m[1]) : null;
}

// The claim is the sender's; it stands unless the audio says otherwise by more than
// max(2 s, 10 %) — enough slack for rounding and for headers rounded to whole seconds.
function chooseDuration(
  claimed: number | null,
  computed: number | null,
): { seconds: number | null; source: DurationSource | null } {
  if (computed === null) {
    return { seconds: claimed, source: claimed === null ? null : "content-duration" };
  }
  if (claimed === null || Math.abs(claimed - computed) > Math.max(2, computed * 0.1)) {
    return { seconds: computed, source: "audio-header" };
  }
  return { seconds: claimed, source: "content-duration" };
}

/** Keeps only a safe base name: no directories, controls, reserved characters or names. */
export function sanitizeFilename(name: string): string | null {
  // Bidi controls could disguise an extension; controls could break logs and headers.
  let s = replaceControls(name, "").replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "");
  s = s.split(/[\\/]/).pop() ?? "";
  s = s.replace(/[<>:"|?*]/g, "_").trim().replace(/^\.+/, "").replace(/[. ]+$/, "");
  if (!s) return null;
  if (/^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i.test(s)) s = `_${s}`;
  if (s.length > 200) {
    const dot = s.lastIndexOf(".");
    const ext = dot > 0 && s.length - dot <= 16 ? s.slice(dot) : "";
    s = s.slice(0, 200 - ext.length) + ext;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Audio headers

function audioSeconds(
  bytes: Uint8Array,
  part: BodyRange,
  contentType: string,
  elided: number,
): number | null {
  const prefix = decodeBody(bytes, part, { maxBytes: AUDIO_PREFIX });
  if (prefix.length >= 12 && ascii(prefix, 0, 4) === "RIFF") {
    const header = wavHeader(bytes, part, prefix);
    if (!header) return null;
    const seconds = wavDurationSeconds(header, {
      dataBytes: wavDataBytes(bytes, part, header, elided),
    });
    return seconds === null ? null : round3(seconds);
  }
  if (prefix.length >= 24 && ascii(prefix, 0, 4) === ".snd") {
    return auSeconds(bytes, part, prefix, elided);
  }
  // Raw streams: GSM 6.10 is 33 bytes per 160 samples at 8 kHz (1,650 B/s); audio/basic is
  // 8 kHz 8-bit µ-law (8,000 B/s).
  if (contentType === "audio/gsm") return round3((decodedLength(bytes, part) + elided) / 1650);
  if (contentType === "audio/basic") return round3((decodedLength(bytes, part) + elided) / 8000);
  return null;
}

// The WAV header of a voice part, reading more of the body (doubling, up to a cap) while the
// data chunk's header lies beyond the prefix; null when the header is broken or out of reach.
function wavHeader(bytes: Uint8Array, part: BodyRange, first: Uint8Array): WavInfo | null {
  let prefix = first;
  let asked = AUDIO_PREFIX;
  try {
    for (;;) {
      // A prefix shorter than asked for is the whole body: parse it as a complete file.
      if (prefix.length < asked) return parseWav(prefix);
      const info = tryParseWavHeader(prefix);
      if (info || asked >= AUDIO_PREFIX_CAP) return info ?? null;
      asked = Math.min(asked * 2, AUDIO_PREFIX_CAP);
      prefix = decodeBody(bytes, part, { maxBytes: asked });
    }
  } catch (e) {
    if (e instanceof WavError) return null;
    throw e;
  }
}

// Trust the declared data size unless it is a streaming placeholder (0 or 0xFFFFFFFF) or
// cannot fit in the body; only then count the body (no decoding) to get the real size. In a
// skeleton the body's cut-out bytes count too, so a large message's voice part has its real
// length, and a RIFF size claiming more than the body holds is still caught.
function wavDataBytes(bytes: Uint8Array, part: BodyRange, h: WavInfo, elided: number): number {
  const encoded = Math.max(0, part.end - part.start);
  const upper =
    (part.transferEncoding.toLowerCase() === "base64" ? Math.ceil((encoded * 3) / 4) : encoded) +
    elided;
  const declared = h.declaredDataLength;
  if (declared !== 0 && declared !== 0xffffffff && declared <= upper - h.dataOffset) {
    return declared;
  }
  const available = Math.max(0, decodedLength(bytes, part) + elided - h.dataOffset);
  return declared === 0 || declared === 0xffffffff ? available : Math.min(declared, available);
}

// Sun/NeXT .au (audio/basic may carry one): big-endian header with offset, size, encoding,
// rate and channels.
function auSeconds(
  bytes: Uint8Array,
  part: BodyRange,
  prefix: Uint8Array,
  elided: number,
): number | null {
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const offset = view.getUint32(4);
  let size = view.getUint32(8);
  const encoding = view.getUint32(12);
  const rate = view.getUint32(16);
  const channels = view.getUint32(20);
  const width: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 8, 27: 1 };
  const bytesPerSample = width[encoding];
  if (!bytesPerSample || rate === 0 || channels === 0) return null;
  if (size === 0xffffffff) size = Math.max(0, decodedLength(bytes, part) + elided - offset);
  return round3(size / (rate * channels * bytesPerSample));
}

function ascii(b: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...b.subarray(start, end));
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
