import assert from "node:assert/strict";
import { toPcmWav } from "./decode.ts";
import { ALAW_TO_LINEAR, decodeAlaw, decodeUlaw, ULAW_TO_LINEAR } from "./g711.ts";
import { damagedCopies, dataBytes } from "../../tests/test_utils/mod.ts";
import { assertSoxDecode, testdata } from "./test_util.ts";
import { parseWav, WAVE_FORMAT_ALAW, WAVE_FORMAT_MULAW } from "./wav.ts";

// What sox made of every one of the 256 codes, read as raw 8-bit G.711 (16-bit little-endian).
async function soxTable(name: string): Promise<Int16Array> {
  const bytes = await testdata(name);
  return new Int16Array(bytes.buffer, bytes.byteOffset, 256);
}

Deno.test("G.711 tables equal sox's for all 256 codes", async () => {
  assert.deepEqual(ULAW_TO_LINEAR, await soxTable("ulaw_table.raw"));
  assert.deepEqual(ALAW_TO_LINEAR, await soxTable("alaw_table.raw"));
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

Deno.test("toPcmWav() decodes µ-law and A-law WAVs as sox does, sample for sample", async (t) => {
  for (const [tag, format] of [["ulaw", WAVE_FORMAT_MULAW], ["alaw", WAVE_FORMAT_ALAW]] as const) {
    await t.step(`${tag}, speech`, async () => {
      const input = await testdata(`${tag}_speech.wav`);
      assert.equal(parseWav(input).formatTag, format);
      const ours = toPcmWav(input);
      await assertSoxDecode(`${tag}_speech.wav`, dataBytes(ours));
      assert.equal(ours.length, 44 + dataBytes(ours).length);
    });
    await t.step(`${tag}, trailing junk and a data size larger than the file`, async () => {
      const input = await testdata(`${tag}_speech.wav`);
      for (const [name, wav] of Object.entries(damagedCopies(input))) {
        await assertSoxDecode(`${tag}_speech_${name}.wav`, dataBytes(toPcmWav(wav)));
      }
    });
    await t.step(`${tag}, white noise`, async () => {
      const input = await testdata(`${tag}_noise.wav`);
      await assertSoxDecode(`${tag}_noise.wav`, dataBytes(toPcmWav(input)));
    });
  }
});
