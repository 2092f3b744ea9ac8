import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { elidedWithin, type Skeleton, SkeletonBuilder } from "./skeleton.ts";
import { classifyMessage } from "../voicemail/mod.ts";

// ---------------------------------------------------------------------------------------------
// Builders: long WAVs as an MSS stores them, in VPIM messages (base64, 76-character lines).

const MULAW = { format: 7, byteRate: 8000, blockAlign: 1, bits: 8, perSecond: 8000 };
const ALAW = { format: 6, byteRate: 8000, blockAlign: 1, bits: 8, perSecond: 8000 };
// GSM 6.10 "WAV49": 65-byte blocks of 320 samples, 25 blocks a second.
const GSM = { format: 0x31, byteRate: 1625, blockAlign: 65, bits: 0, perSecond: 1625 };

type Codec = typeof MULAW;

function wav(codec: Codec, seconds: number, opts: { declared?: number } = {}): Uint8Array {
  const ext = codec.format === 0x31 ? [2, 0, 0x40, 0x01] : [];
  const dataBytes = codec.perSecond * seconds;
  const out = new Uint8Array(12 + 8 + 16 + ext.length + 8 + dataBytes);
  const v = new DataView(out.buffer);
  const tag = (o: number, s: string) => out.set([...s].map((c) => c.charCodeAt(0)), o);
  tag(0, "RIFF");
  v.setUint32(4, out.length - 8, true);
  tag(8, "WAVE");
  tag(12, "fmt ");
  v.setUint32(16, 16 + ext.length, true);
  v.setUint16(20, codec.format, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, 8000, true);
  v.setUint32(28, codec.byteRate, true);
  v.setUint16(32, codec.blockAlign, true);
  v.setUint16(34, codec.bits, true);
  out.set(ext, 36);
  const data = 36 + ext.length;
  tag(data, "data");
  v.setUint32(data + 4, opts.declared ?? dataBytes, true);
  for (let i = data + 8; i < out.length; i++) out[i] = (i * 31 + (i >> 9)) & 0xff;
  return out;
}

function base64Lines(bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join("\r\n");
}

function voicePart(audio: Uint8Array, claimed: number | null, role = "Voice-Message"): string {
  return [
    "Content-Type: audio/wav",
    "Content-Transfer-Encoding: base64",
    `Content-Disposition: inline; voice=${role}; filename=msg.wav`,
    ...(claimed === null ? [] : [`Content-Duration: ${claimed}`]),
    "",
    base64Lines(audio),
  ].join("\r\n");
}

function vpim(parts: string[]): Uint8Array {
  const text = [
    "From: Caller <4021@mss1>",
    "To: 4022@mss1",
    "Subject: long message",
    "Message-ID: <long@mss1>",
    "MIME-Version: 1.0",
    'Content-Type: multipart/voice-message; boundary="b1"',
    "",
    ...parts.flatMap((p) => ["--b1", p]),
    "--b1--",
    "",
  ].join("\r\n");
  return new TextEncoder().encode(text);
}

function skeletonOf(bytes: Uint8Array, chunk = 1024 * 1024): Skeleton {
  const b = new SkeletonBuilder();
  for (let i = 0; i < bytes.length; i += chunk) b.push(bytes.slice(i, i + chunk));
  return b.finish();
}

function durationViaSkeleton(bytes: Uint8Array): number | null {
  const s = skeletonOf(bytes);
  return classifyMessage(s.bytes, { elided: s.elisions }).durationSeconds;
}

// ---------------------------------------------------------------------------------------------

Deno.test("a 400 s µ-law voicemail of 4.3 MB classifies as 400 s from a skeleton under 200 kB", () => {
  const msg = vpim([voicePart(wav(MULAW, 400), 400)]);
  assert.ok(msg.length > 4 * 1024 * 1024, `${msg.length}`);
  const s = skeletonOf(msg);
  assert.ok(s.bytes.length < 200_000, `skeleton of ${s.bytes.length} bytes`);
  assert.equal(classifyMessage(s.bytes, { elided: s.elisions }).durationSeconds, 400);
  assert.equal(classifyMessage(msg).durationSeconds, 400);
});

Deno.test("a large voice part without Content-Duration gets its length from the WAV header", () => {
  for (const [codec, seconds] of [[MULAW, 400], [ALAW, 550], [GSM, 2700]] as const) {
    const msg = vpim([voicePart(wav(codec, seconds), null)]);
    assert.equal(durationViaSkeleton(msg), seconds, `format ${codec.format}`);
  }
});

Deno.test("a voice part lying entirely past the first megabyte still counts", () => {
  const msg = vpim([voicePart(wav(MULAW, 200), 200), voicePart(wav(ALAW, 250), null)]);
  assert.equal(durationViaSkeleton(msg), 450);
});

Deno.test("a lying RIFF size cannot stretch a large voice part beyond its body", () => {
  // The data chunk claims 1,000 s; the body holds 400 s.
  const lying = vpim([voicePart(wav(MULAW, 400, { declared: 8000 * 1000 }), null)]);
  assert.equal(durationViaSkeleton(lying), 400);
  // A streaming writer's placeholder size (0xFFFFFFFF): the body is counted.
  const streamed = vpim([voicePart(wav(MULAW, 400, { declared: 0xffffffff }), null)]);
  assert.equal(durationViaSkeleton(streamed), 400);
});

Deno.test("a Content-Duration far below the audio of a large part loses to the audio", () => {
  const msg = vpim([voicePart(wav(MULAW, 400), 30)]);
  assert.equal(durationViaSkeleton(msg), 400);
});

Deno.test("the skeleton does not depend on how the message is chunked", () => {
  const msg = vpim([voicePart(wav(GSM, 3000), null), voicePart(wav(MULAW, 10), 10)]);
  const whole = skeletonOf(msg, msg.length);
  for (const size of [1, 77, 4096, 65_537]) {
    const s = skeletonOf(msg.subarray(0, 400_000), size);
    const w = skeletonOf(msg.subarray(0, 400_000), 400_000);
    assert.deepEqual(s, w, `chunks of ${size}`);
  }
  assert.deepEqual(skeletonOf(msg, 333_333), whole);
});

Deno.test("a small message's skeleton is the message itself", () => {
  const msg = vpim([voicePart(wav(MULAW, 5), 5)]);
  const s = skeletonOf(msg, 1000);
  assert.deepEqual(s.bytes, msg);
  assert.deepEqual(s.elisions, []);
});

Deno.test("cuts sit strictly inside the body they came from", () => {
  const msg = vpim([voicePart(wav(MULAW, 100), null), voicePart(wav(MULAW, 100), null)]);
  const s = skeletonOf(msg);
  assert.equal(s.elisions.length, 2);
  const text = new TextDecoder("latin1").decode(s.bytes);
  const starts = [...text.matchAll(/\r\n\r\nUklGR/g)].map((m) => m.index! + 4);
  const ends = [...text.matchAll(/\r\n--b1/g)].map((m) => m.index!).slice(1);
  for (const [i, e] of s.elisions.entries()) {
    assert.ok(e.at > starts[i] && e.at < ends[i], `cut ${i} at ${e.at}`);
    assert.equal(elidedWithin(s.elisions, { start: starts[i], end: ends[i] }), e.decodedBytes);
  }
});

Deno.test("past its size cap the skeleton counts the rest as one cut of raw bytes", () => {
  const binary = new Uint8Array(300_000).fill(0x80);
  const msg = new Uint8Array([...new TextEncoder().encode("Subject: x\r\n\r\n"), ...binary]);
  const b = new SkeletonBuilder({ maxBytes: 100_000 });
  b.push(msg);
  const s = b.finish();
  assert.ok(s.bytes.length <= 100_000);
  const cut = s.elisions.reduce((n, e) => n + e.decodedBytes, 0);
  assert.equal(s.bytes.length + cut, msg.length);
});
