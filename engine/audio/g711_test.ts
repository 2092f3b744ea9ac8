import assert from "node:assert/strict";
import { toPcmWav } from "./decode.ts";
import { ALAW_TO_LINEAR, decodeAlaw, decodeUlaw, ULAW_TO_LINEAR } from "./g711.ts";
import {
  damagedCopies,
  dataBytes,
  firstDifference,
  run,
  soxDecode,
  soxEncode,
  speak,
  withTempDir,
} from "./test_util.ts";
import { parseWav, WAVE_FORMAT_ALAW, WAVE_FORMAT_MULAW } from "./wav.ts";

// What sox makes of every one of the 256 codes, read as raw 8-bit G.711.
async function soxTable(dir: string, encoding: string): Promise<Int16Array> {
  const codes = new Uint8Array(256).map((_, i) => i);
  await Deno.writeFile(`${dir}/codes.raw`, codes);
  const args = [
    "-t",
    "raw",
    "-e",
    encoding,
    "-b",
    "8",
    "-r",
    "8000",
    "-c",
    "1",
    `${dir}/codes.raw`,
  ];
  await run("sox", [...args, "-t", "raw", "-e", "signed", "-b", "16", `${dir}/linear.raw`]);
  const bytes = await Deno.readFile(`${dir}/linear.raw`);
  return new Int16Array(bytes.buffer, bytes.byteOffset, 256);
}

Deno.test("G.711 tables equal sox's for all 256 codes", async () => {
  await withTempDir(async (dir) => {
    assert.deepEqual(ULAW_TO_LINEAR, await soxTable(dir, "mu-law"));
    assert.deepEqual(ALAW_TO_LINEAR, await soxTable(dir, "a-law"));
  });
});

Deno.test("G.711 tables have the classic end points", () => {
  assert.equal(ULAW_TO_LINEAR[0x00], -32124);
  assert.equal(ULAW_TO_LINEAR[0x80], 32124);
  assert.equal(ULAW_TO_LINEAR[0xff], 0);
  assert.equal(ULAW_TO_LINEAR[0x7f], 0);
  assert.equal(ALAW_TO_LINEAR[0x55], -8);
  assert.equal(ALAW_TO_LINEAR[0xd5], 8);
  assert.equal(ALAW_TO_LINEAR[0x2a], -32256);
  assert.equal(ALAW_TO_LINEAR[0xaa], 32256);
});

Deno.test("decodeUlaw() and decodeAlaw() write at an offset and count samples", () => {
  const out = new Int16Array(5);
  assert.equal(decodeUlaw(new Uint8Array([0x00, 0x80]), out, 1), 2);
  assert.equal(decodeAlaw(new Uint8Array([0xd5]), out, 4), 1);
  assert.deepEqual([...out], [0, -32124, 32124, 0, 8]);
});

Deno.test("toPcmWav() decodes µ-law and A-law WAVs from sox sample for sample", async (t) => {
  await withTempDir(async (dir) => {
    const texts = [
      "Hi, it's me.",
      "The meeting moved to Thursday at three; the room is on the fourth floor, next to the lifts.",
    ];
    for (
      const [encoding, tag] of [["mu-law", WAVE_FORMAT_MULAW], ["a-law", WAVE_FORMAT_ALAW]] as const
    ) {
      for (const [i, text] of texts.entries()) {
        await t.step(`${encoding}, speech of ${text.length} characters`, async () => {
          const source = await speak(dir, `s${i}.wav`, text);
          const input = await soxEncode(source, `${dir}/in.wav`, encoding);
          assert.equal(parseWav(input).formatTag, tag);
          const ref = await soxDecode(`${dir}/in.wav`, `${dir}/ref.wav`);
          const ours = toPcmWav(input);
          assert.equal(firstDifference(dataBytes(ours), dataBytes(ref)), -1);
          assert.equal(ours.length, 44 + dataBytes(ref).length);
        });
      }
      await t.step(`${encoding}, trailing junk and a data size larger than the file`, async () => {
        const source = await speak(dir, "damaged.wav", "Goodbye.");
        const input = await soxEncode(source, `${dir}/in.wav`, encoding);
        for (const [name, wav] of Object.entries(damagedCopies(input))) {
          await Deno.writeFile(`${dir}/${name}.wav`, wav);
          const ref = await soxDecode(`${dir}/${name}.wav`, `${dir}/${name}-ref.wav`);
          assert.equal(firstDifference(dataBytes(toPcmWav(wav)), dataBytes(ref)), -1, name);
        }
      });
      await t.step(`${encoding}, white noise`, async () => {
        const noise = `${dir}/noise.wav`;
        await run("sox", ["-n", "-r", "8000", "-c", "1", noise, "synth", "3", "whitenoise"]);
        const input = await soxEncode(noise, `${dir}/in.wav`, encoding);
        const ref = await soxDecode(`${dir}/in.wav`, `${dir}/ref.wav`);
        assert.equal(firstDifference(dataBytes(toPcmWav(input)), dataBytes(ref)), -1);
      });
    }
  });
});
