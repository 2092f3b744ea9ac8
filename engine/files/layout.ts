/**
 * Names in the file store: path segments that are valid on Windows and Linux whatever a
 * message's headers say, message directory names a person can browse, and the fixed file names
 * of the layout `<root>/<mailbox>/<folder>/<date>_<time>_<sender>_<uid>/`. Pure logic, no I/O.
 * @module
 */

/** The source message, byte-identical, in each message directory. */
export const MESSAGE_FILE = "message.eml";
/** The description of a stored message (flags, dates, chain, UIDs). */
export const META_FILE = "meta.json";
/** A folder's state (original name, UIDVALIDITY, next UID); its presence marks the folder ours. */
export const FOLDER_STATE_FILE = ".vmirror-folder.json";
/** Taken (flock) while a UID is handed out, in case two vmirror processes share a folder. */
export const FOLDER_LOCK_FILE = ".vmirror-folder.lock";
/** A mailbox directory's marker, holding the mailbox's original name. */
export const MAILBOX_MARKER_FILE = ".vmirror-mailbox.json";
/** Where `onDelete: "move"` keeps deleted messages, below the mailbox directory. */
export const DELETED_DIR = "deleted";
/** The subscriber's recorded name, below the mailbox directory. */
export const RECORDED_NAME_FILE = "recorded-name.wav";
/** Prefix of work directories and files; hidden, never listed, removed when stale. */
export const TEMP_PREFIX = ".tmp-";
/** Longest path segment the store writes, in UTF-16 code units (Windows counts those). */
export const MAX_SEGMENT = 100;
/** Longest mailbox or folder segment: keeps whole paths well under Windows' 260 characters. */
export const MAX_CONTAINER_SEGMENT = 64;
/** Longest sender part of a message directory name. */
export const MAX_SENDER = 32;

/** Options for {@link portableName}. */
export interface PortableNameOptions {
  /** Most UTF-16 code units (default {@link MAX_SEGMENT}). */
  maxLength?: number;
  /** Most UTF-8 bytes (default 200; Linux file systems allow 255 per segment). */
  maxBytes?: number;
  /** What an empty result becomes (default "_"). */
  fallback?: string;
}

// Windows device names, also with an extension ("nul.txt") or spaces before it ("con .x").
// COM0/LPT0 and the superscript digits are reserved by newer Windows versions.
const DEVICE_NAME =
  /^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]|conin\$|conout\$|clock\$)\s*(\..*)?$/i;

const segmenter = new Intl.Segmenter("und", { granularity: "grapheme" });
const utf8 = new TextEncoder();

/** Whether Windows reserves this name for a device (with or without an extension). */
export function isReservedDeviceName(name: string): boolean {
  return DEVICE_NAME.test(name);
}

/** One path segment, valid on Windows and Linux, that cannot climb out of its directory. */
export function portableName(text: string, opts: PortableNameOptions = {}): string {
  const maxLength = Math.min(opts.maxLength ?? MAX_SEGMENT, MAX_SEGMENT);
  const maxBytes = opts.maxBytes ?? 200;
  const fallback = opts.fallback ?? "_";
  let s = String(text).normalize("NFC")
    // Lone surrogates cannot be encoded as a file name on either system.
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "_")
    // Format characters (bidi overrides, zero-width joiners, BOM) could disguise a name.
    .replace(/\p{Cf}/gu, "")
    // Controls (NUL included), line breaks and odd spaces read as one plain space.
    .replace(/[\p{Cc}\p{Zl}\p{Zp}\s]+/gu, " ")
    // Separators and what Windows forbids; a name then never holds a path.
    .replace(/[<>:"/\\|?*]/g, "_");
  s = trimEnds(s);
  s = truncate(s, maxLength, maxBytes);
  s = trimEnds(s);
  if (!s) s = truncate(fallback, maxLength, maxBytes);
  if (isReservedDeviceName(s)) s = truncate(`_${s}`, maxLength, maxBytes);
  return s;
}

// Leading dots would hide the entry on Linux ("." and ".." climb); Windows drops trailing dots
// and spaces, so two names could meet.
function trimEnds(s: string): string {
  return s.replace(/^[\s.]+/, "").replace(/[\s.]+$/, "");
}

// Whole graphemes only, so an accent or an emoji is never cut in half.
function truncate(s: string, maxLength: number, maxBytes: number): string {
  if (s.length <= maxLength && utf8.encode(s).length <= maxBytes) return s;
  let out = "";
  let bytes = 0;
  for (const { segment } of segmenter.segment(s)) {
    const b = utf8.encode(segment).length;
    if (out.length + segment.length > maxLength || bytes + b > maxBytes) break;
    out += segment;
    bytes += b;
  }
  return out;
}

/** `name` with `~n` appended for the n-th candidate (n ≥ 2), still within the length limit. */
export function withSuffix(name: string, n: number, maxLength: number = MAX_SEGMENT): string {
  if (n <= 1) return name;
  const suffix = `~${n}`;
  return `${trimEnds(truncate(name, maxLength - suffix.length, 200 - suffix.length))}${suffix}`;
}

// Names the store itself uses inside a mailbox directory; a folder must never take them.
const MAILBOX_RESERVED = new Set([DELETED_DIR, RECORDED_NAME_FILE].map((n) => n.toLowerCase()));

/**
 * The n-th candidate directory name for a mailbox or folder (n = 1, 2, …): the store tries them
 * in order and takes the first that is free or already marked with this exact name, so names
 * that sanitise alike, or differ only in case on a Windows share, never share a directory.
 */
export function containerSegment(name: string, n: number, opts: { folder?: boolean } = {}): string {
  const base = portableName(name, { maxLength: MAX_CONTAINER_SEGMENT });
  const reserved = opts.folder && MAILBOX_RESERVED.has(base.toLowerCase());
  return withSuffix(base, reserved ? n + 1 : n, MAX_CONTAINER_SEGMENT);
}

/** A sender as a person reads it: the display name, with the mailbox number when it is one. */
export function senderLabel(from: { name: string; address: string } | null): string {
  if (!from) return "unknown";
  const name = from.name.trim();
  const address = from.address.trim();
  const local = address.includes("@") ? address.slice(0, address.lastIndexOf("@")) : address;
  // A caller's number as the name ("+1 555 0177") already says what the local part would.
  if (name && /^\d+$/.test(local) && !name.replace(/\D/g, "").includes(local)) {
    return `${name} ${local}`;
  }
  if (name) return name;
  if (/^\d+$/.test(local)) return local;
  return address || "unknown";
}

/** Options for {@link messageDirName}. */
export interface MessageDirOptions {
  /** Write the time in UTC instead of the server's local time (tests, shared stores). */
  utc?: boolean;
}

/** `<date>_<time>_<sender>_<uid>`, e.g. `2024-05-01_14-03-22_Ann Lee 4021_12`. */
export function messageDirName(
  message: { date: Date; sender: string; uid: number },
  opts: MessageDirOptions = {},
): string {
  const sender = portableName(message.sender, { maxLength: MAX_SENDER, fallback: "unknown" });
  const uid = Number.isSafeInteger(message.uid) && message.uid >= 0 ? message.uid : 0;
  return `${timestamp(message.date, opts.utc ?? false)}_${sender}_${uid}`;
}

// Colons are forbidden on Windows, so the time uses dashes; sortable by name.
function timestamp(date: Date, utc: boolean): string {
  if (Number.isNaN(date.getTime())) return "0000-00-00_00-00-00";
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const [y, mo, d, h, mi, s] = utc
    ? [
      date.getUTCFullYear(),
      date.getUTCMonth() + 1,
      date.getUTCDate(),
      date.getUTCHours(),
      date.getUTCMinutes(),
      date.getUTCSeconds(),
    ]
    : [
      date.getFullYear(),
      date.getMonth() + 1,
      date.getDate(),
      date.getHours(),
      date.getMinutes(),
      date.getSeconds(),
    ];
  return `${p(Math.min(Math.max(y, 0), 9999), 4)}-${p(mo)}-${p(d)}_${p(h)}-${p(mi)}-${p(s)}`;
}

/** A voice part to name: its role, its IMAP section and whether it belongs to the top message. */
export interface VoiceFileSpec {
  role: "Voice-Message" | "Originator-Spoken-Name" | "Spoken-Subject";
  partPath: string;
  /** File extension without the dot, from {@link audioExtension}. */
  ext: string;
  /** False for a part of a forwarded or replied-to message embedded in this one. */
  topLevel: boolean;
}

const ROLE_BASE: Record<VoiceFileSpec["role"], string> = {
  "Voice-Message": "voice",
  "Originator-Spoken-Name": "spoken-name",
  "Spoken-Subject": "spoken-subject",
};

/**
 * File names for a message's voice parts, unique and in order: the first top-level part of a
 * role gets the plain name (`voice.wav`, `spoken-name.wav`); the others carry their section
 * (`voice-2.wav`, `voice-3.1.wav` for one inside a forwarded message).
 */
export function voiceFileNames(parts: readonly VoiceFileSpec[]): string[] {
  const used = new Set<string>(
    [MESSAGE_FILE, META_FILE].map((n) => n.toLowerCase()),
  );
  const out: string[] = [];
  for (const part of parts) {
    const base = ROLE_BASE[part.role] ?? "voice";
    const ext = /^[a-z0-9]{1,5}$/.test(part.ext) ? part.ext : "bin";
    const section = portableName(part.partPath.replace(/[^0-9.]/g, ""), {
      maxLength: 40,
      fallback: "0",
    });
    const candidates = part.topLevel
      ? [`${base}.${ext}`, `${base}-${section}.${ext}`]
      : [`${base}-${section}.${ext}`];
    let name = candidates.find((c) => !used.has(c.toLowerCase()));
    for (let n = 2; !name; n++) {
      const c = `${base}-${section}~${n}.${ext}`;
      if (!used.has(c.toLowerCase())) name = c;
    }
    used.add(name.toLowerCase());
    out.push(name);
  }
  return out;
}

/** The extension for an audio part: by its first bytes, else by its content type. */
export function audioExtension(contentType: string, head: Uint8Array): string {
  const magic = String.fromCharCode(...head.subarray(0, 4));
  if (magic === "RIFF") return "wav";
  if (magic === ".snd") return "au";
  const type = contentType.toLowerCase();
  if (/^audio\/(x-)?(wav|wave)$|^audio\/vnd\.wave$/.test(type)) return "wav";
  if (type === "audio/gsm") return "gsm";
  if (type === "audio/basic") return "au";
  return "bin";
}

/** Whether a directory entry is the store's own (hidden: state, markers, work in progress). */
export function isHiddenEntry(name: string): boolean {
  return name.startsWith(".");
}
