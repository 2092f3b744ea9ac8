/**
 * Voicemail audio for the lab: espeak-ng speaks, sox encodes to what an MSS stores
 * (GSM 6.10 "WAV49", G.711 µ-law or A-law, 8 kHz mono). Each clip is generated once and cached.
 * @module
 */

import { createHash } from "node:crypto";
import type { AudioEncoding } from "./types.ts";
import { exists, LabError, pool, run } from "./util.ts";

/** A clip to produce: a sentence in one encoding, optionally stretched to a length. */
export interface ClipRequest {
  text: string;
  encoding: AudioEncoding;
  /** Repeat the sentence (with pauses) and cut to exactly this many seconds. */
  seconds?: number;
}

/** What a WAV header says. */
export interface WavInfo {
  /** WAVE format tag: 1 PCM, 6 A-law, 7 µ-law, 0x31 GSM 6.10. */
  formatTag: number;
  channels: number;
  sampleRate: number;
  byteRate: number;
  dataBytes: number;
  /** Sample count from the `fact` chunk (compressed formats), when present. */
  factSamples?: number;
  /** Exact duration in seconds. */
  duration: number;
}

const VOICES = ["en-us", "en-gb", "en-us+f3", "en+m3", "en-us+f2"];

const SOX_ENCODING: Record<AudioEncoding, string[]> = {
  gsm: ["-e", "gsm-full-rate"],
  mulaw: ["-e", "mu-law"],
  alaw: ["-e", "a-law"],
};

/** Stable short id of a text, used in cached file names. */
function textId(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/** The cached file for a clip request. */
export function clipPath(audioDir: string, req: ClipRequest): string {
  const len = req.seconds ? `-${req.seconds}s` : "";
  return `${audioDir}/clip-${textId(req.text)}${len}-${req.encoding}.wav`;
}

/** Speaks a text into a 22 kHz PCM WAV (cached); the voice varies with the text. */
async function speak(audioDir: string, text: string): Promise<string> {
  const id = textId(text);
  const out = `${audioDir}/speech-${id}.wav`;
  if (exists(out)) return out;
  const voice = VOICES[parseInt(id.slice(0, 4), 16) % VOICES.length];
  const tmp = `${out}.tmp-${crypto.randomUUID()}`;
  Deno.mkdirSync(audioDir, { recursive: true });
  await run("espeak-ng", ["-v", voice, "-s", "165", "-w", tmp, text]);
  // espeak-ng exits 0 even when it could not write the file.
  if (!exists(tmp)) throw new LabError(`espeak-ng wrote no audio for "${text}"`);
  Deno.renameSync(tmp, out);
  return out;
}

/** Produces one clip (if not cached) and returns its path. */
export async function ensureClip(audioDir: string, req: ClipRequest): Promise<string> {
  const out = clipPath(audioDir, req);
  if (exists(out)) return out;
  Deno.mkdirSync(audioDir, { recursive: true });
  const speech = await speak(audioDir, req.text);
  const effects = req.seconds
    ? [
      "pad",
      "0",
      "0.7",
      "repeat",
      String(Math.ceil(req.seconds / 2)),
      "trim",
      "0",
      String(req.seconds),
    ]
    : [];
  // Write to a temporary name first so a concurrent or interrupted run never sees half a file.
  const tmp = `${out}.tmp-${crypto.randomUUID()}.wav`;
  await run("sox", [
    speech,
    "-r",
    "8000",
    "-c",
    "1",
    ...SOX_ENCODING[req.encoding],
    tmp,
    ...effects,
  ]);
  Deno.renameSync(tmp, out);
  return out;
}

/** Produces many clips with bounded parallelism (espeak-ng and sox are single-threaded). */
export async function ensureClips(audioDir: string, reqs: ClipRequest[]): Promise<void> {
  const seen = new Map<string, ClipRequest>();
  for (const r of reqs) seen.set(clipPath(audioDir, r), r);
  // Speak each distinct sentence first so two encodings of one sentence do not race on it.
  const texts = [...new Set([...seen.values()].map((r) => r.text))];
  await pool(texts, 4, (t) => speak(audioDir, t));
  await pool([...seen.values()], 4, (r) => ensureClip(audioDir, r));
}

/** Parses a RIFF/WAVE header; throws on anything that is not a WAV. */
export function wavInfo(bytes: Uint8Array): WavInfo {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (o: number) => String.fromCharCode(...bytes.subarray(o, o + 4));
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") {
    throw new LabError("Not a RIFF/WAVE file");
  }
  let off = 12;
  let fmt: Omit<WavInfo, "dataBytes" | "duration" | "factSamples"> | undefined;
  let factSamples: number | undefined;
  let dataBytes: number | undefined;
  while (off + 8 <= bytes.length) {
    const id = tag(off);
    const size = dv.getUint32(off + 4, true);
    const body = off + 8;
    if (id === "fmt ") {
      fmt = {
        formatTag: dv.getUint16(body, true),
        channels: dv.getUint16(body + 2, true),
        sampleRate: dv.getUint32(body + 4, true),
        byteRate: dv.getUint32(body + 8, true),
      };
    } else if (id === "fact") {
      factSamples = dv.getUint32(body, true);
    } else if (id === "data") {
      dataBytes = Math.min(size, bytes.length - body);
      break;
    }
    off = body + size + (size % 2);
  }
  if (!fmt || dataBytes === undefined) throw new LabError("WAV file lacks a fmt or data chunk");
  const duration = factSamples !== undefined && fmt.sampleRate
    ? factSamples / fmt.sampleRate
    : dataBytes / fmt.byteRate;
  return { ...fmt, dataBytes, factSamples, duration };
}

/** Whole seconds for `Content-Duration` (at least 1). */
export function wholeSeconds(info: WavInfo): number {
  return Math.max(1, Math.round(info.duration));
}
