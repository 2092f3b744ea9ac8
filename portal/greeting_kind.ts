/**
 * Which greeting is which — standard, busy, no answer, extended absence… — as far as the
 * message store says it. An MSS documents no marker for a greeting's type over IMAP, so three
 * places are read, in order: a header naming the type (`X-Greeting-Type` by default; the list
 * is an option), the subject's words, and the voice part's file name. When none says anything,
 * the answer is null and the page says "Greeting (unknown type)": never a guess.
 * Pure: no I/O.
 * @module
 */

/** The greeting types the portal names. */
export type GreetingType =
  | "standard"
  | "busy"
  | "no-answer"
  | "extended-absence"
  | "out-of-hours"
  | "internal"
  | "external"
  | "temporary";

/** Where the type was read. */
export type GreetingSource = "header" | "subject" | "file name";

/**
 * A greeting's type as the store says it: a known `type`, or (`type` null) the words of a header
 * naming a type the portal does not know, shown as they are.
 */
export interface GreetingKind {
  type: GreetingType | null;
  /** The store's own words (a header's value, clipped), for a type the portal does not know. */
  words?: string;
  source: GreetingSource;
}

/** What a greeting's type is read from. */
export interface GreetingFacts {
  /** Looks a top-level header up by name (null when absent). */
  header: (name: string) => string | null;
  subject: string | null;
  /** The file names of its voice parts (Content-Disposition / Content-Type `name`). */
  filenames: readonly (string | null)[];
}

/** Options of {@link greetingKind}. */
export interface GreetingKindOptions {
  /** Headers that name a greeting's type, first found wins. */
  headers?: readonly string[];
}

/** The header names read by default. */
export const DEFAULT_GREETING_HEADERS: readonly string[] = ["X-Greeting-Type"];

// Most specific first: "no answer" before "answer", "extended absence" before "absence".
const WORDS: [GreetingType, RegExp][] = [
  ["extended-absence", /\b(extended absence|ext abs|absence|out of office|vacation)\b/],
  ["out-of-hours", /\b(out of hours|after hours|outside hours|off hours|closed)\b/],
  ["no-answer", /\b(no ?answer|unanswered|ring ?no ?answer|rna)\b/],
  ["busy", /\b(busy|engaged)\b/],
  ["internal", /\binternal\b/],
  ["external", /\bexternal\b/],
  ["temporary", /\b(temporary|temp)\b/],
  ["standard", /\b(standard|primary|default|all calls|normal|main)\b/],
];

/** Lower case, separators as single spaces: "Greeting-NoAnswer.wav" → "greeting no answer wav". */
export function normalizeWords(text: string): string {
  return text
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}

/** The type named by some words, or null when they name none. */
export function typeOfWords(text: string): GreetingType | null {
  const words = normalizeWords(text);
  for (const [type, re] of WORDS) if (re.test(words)) return type;
  return null;
}

/** A greeting's type from its header, subject or file name, in that order; null when unsaid. */
export function greetingKind(
  facts: GreetingFacts,
  opts: GreetingKindOptions = {},
): GreetingKind | null {
  for (const name of opts.headers ?? DEFAULT_GREETING_HEADERS) {
    const value = facts.header(name)?.trim();
    if (!value) continue;
    const type = typeOfWords(value);
    // The store named a type: said even when the portal does not know the word.
    return type ? { type, source: "header" } : {
      type: null,
      words: value.replace(/\p{Cc}/gu, " ").trim().slice(0, 40),
      source: "header",
    };
  }
  const subject = facts.subject ? typeOfWords(facts.subject) : null;
  if (subject) return { type: subject, source: "subject" };
  for (const name of facts.filenames) {
    const type = name ? typeOfWords(name.replace(/\.[A-Za-z0-9]{1,5}$/, "")) : null;
    if (type) return { type, source: "file name" };
  }
  return null;
}

const LABELS: Record<GreetingType, string> = {
  standard: "Standard greeting",
  busy: "Busy greeting",
  "no-answer": "No-answer greeting",
  "extended-absence": "Extended absence greeting",
  "out-of-hours": "Out-of-hours greeting",
  internal: "Greeting for internal calls",
  external: "Greeting for external calls",
  temporary: "Temporary greeting",
};

/** How a page names a greeting: "Busy greeting", "Greeting (“7”)", "Greeting (unknown type)". */
export function greetingLabel(kind: GreetingKind | null | undefined): string {
  if (kind?.type) return LABELS[kind.type];
  if (kind?.words) return `Greeting (“${kind.words}”)`;
  return "Greeting (unknown type)";
}

/** Where the label came from, for the message page: "from its subject". */
export function greetingSourceNote(kind: GreetingKind | null | undefined): string {
  if (!kind) return "The message store does not say which greeting this is.";
  return kind.source === "header"
    ? "As the message store's greeting-type header says."
    : kind.source === "subject"
    ? "As its subject says."
    : "As its file name says.";
}
