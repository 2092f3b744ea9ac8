/**
 * `deno bench -A engine/audio`: decoding a 60 s GSM (WAV49) voicemail to 16-bit PCM WAV with our
 * decoder vs. spawning sox for the same conversion, plus the µ-law path. Prints the × real time
 * figure for ours (the target is ≥ 500×: a 60 s message in < 120 ms).
 * @module
 */

import assert from "node:assert/strict";
import { pcmWavStream, toPcmWav } from "./decode.ts";
import {
  dataBytes,
  firstDifference,
  run,
  soxDecode,
  speak,
  tempDir,
} from "../../tests/test_utils/mod.ts";

const SECONDS = 60;
const TEXT =
  "Hello, this is Dana from the service desk. I am calling about the ticket you opened on " +
  "Monday regarding the voicemail backup. We restored the mailbox and the greetings, and the " +
  "messages from last week should be back in your inbox. Please listen to them and call me back " +
  "at extension four one two seven if anything is still missing. Thank you, and have a nice day.";

// Build the fixtures once: speech repeated past 60 s, trimmed, encoded by sox; sox's own decode
// serves as the check that the benchmarked path is the correct one.
const { gsm, ulaw } = await (async () => {
  await using tmp = await tempDir("audio");
  const dir = tmp.path;
  const speech = await speak(dir, "speech.wav", TEXT);
  const fixtures: Record<string, Uint8Array> = {};
  for (const [name, encoding] of [["gsm", "gsm-full-rate"], ["ulaw", "mu-law"]]) {
    const path = `${dir}/${name}.wav`;
    await run("sox", [
      speech,
      "-r",
      "8000",
      "-c",
      "1",
      "-e",
      encoding,
      path,
      "repeat",
      "9",
      "trim",
      "0",
      `${SECONDS}`,
    ]);
    fixtures[name] = await Deno.readFile(path);
    const ref = await soxDecode(path, `${dir}/${name}-ref.wav`);
    assert.equal(firstDifference(dataBytes(toPcmWav(fixtures[name])), dataBytes(ref)), -1);
  }
  return { gsm: fixtures.gsm, ulaw: fixtures.ulaw };
})();

async function soxPipe(input: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command("sox", {
    args: ["-t", "wav", "-", "-t", "wav", "-e", "signed", "-b", "16", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  // Feed stdin while stdout drains, or both pipes fill up and sox and we wait on each other.
  const writing = (async () => {
    const writer = child.stdin.getWriter();
    await writer.write(input);
    await writer.close();
  })();
  const [{ success, stdout }] = await Promise.all([child.output(), writing]);
  if (!success) throw new Error("sox failed");
  return stdout;
}

function streamOf(bytes: Uint8Array, chunkSize: number): ReadableStream<Uint8Array> {
  let pos = 0;
  return new ReadableStream({
    pull(controller) {
      if (pos >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(pos, pos + chunkSize));
      pos += chunkSize;
    },
  });
}

// A plain timing loop for the printed figure, alongside deno bench's own statistics.
function timeIt(fn: () => unknown, iterations: number): number {
  for (let i = 0; i < 20; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return (performance.now() - t0) / iterations;
}
const oursMs = timeIt(() => toPcmWav(gsm), 100);
const soxT0 = performance.now();
for (let i = 0; i < 10; i++) await soxPipe(gsm);
const soxMs = (performance.now() - soxT0) / 10;
console.log(
  `GSM 60 s → PCM WAV: ours ${oursMs.toFixed(2)} ms = ${
    Math.round(SECONDS * 1000 / oursMs)
  }× real time; ` +
    `sox (spawned) ${soxMs.toFixed(2)} ms = ${Math.round(SECONDS * 1000 / soxMs)}× real time; ` +
    `ours is ${(soxMs / oursMs).toFixed(1)}× faster`,
);

Deno.bench("toPcmWav(): 60 s GSM WAV49", { group: "gsm", baseline: true }, () => {
  toPcmWav(gsm);
});

Deno.bench("pcmWavStream(): 60 s GSM WAV49 in 16 KiB chunks", { group: "gsm" }, async () => {
  await new Response(pcmWavStream(streamOf(gsm, 16384))).arrayBuffer();
});

Deno.bench("sox (spawned, pipes): 60 s GSM WAV49", { group: "gsm" }, async () => {
  await soxPipe(gsm);
});

Deno.bench("toPcmWav(): 60 s µ-law", { group: "ulaw", baseline: true }, () => {
  toPcmWav(ulaw);
});

Deno.bench("sox (spawned, pipes): 60 s µ-law", { group: "ulaw" }, async () => {
  await soxPipe(ulaw);
});
