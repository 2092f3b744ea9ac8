/**
 * The audio unit tests' reference: the committed goldens in `testdata/` (made by sox and
 * espeak-ng with scripts/audio_golden.ts), so these tests need neither tool. Test-only.
 * @module
 */
import assert from "node:assert/strict";
import { dataBytes, firstDifference, sha256Hex } from "../../tests/test_utils/mod.ts";

const TESTDATA = new URL("./testdata/", import.meta.url);

/** What sox decoded one input to: its sample count and the SHA-256 of its 16-bit PCM data. */
interface Golden {
  samples: number;
  sha256: string;
}

const GOLDENS: Record<string, Golden> = JSON.parse(
  await Deno.readTextFile(new URL("golden.json", TESTDATA)),
);

/** The bytes of a committed file in `testdata/`. */
export async function testdata(name: string): Promise<Uint8Array> {
  return await Deno.readFile(new URL(name, TESTDATA));
}

/** Asserts `pcm` (16-bit samples) is exactly what sox decoded the input `name` to. */
export async function assertSoxDecode(name: string, pcm: Uint8Array): Promise<void> {
  const golden = GOLDENS[name];
  assert.ok(golden, `no golden for "${name}": run scripts/audio_golden.ts`);
  assert.equal(pcm.length / 2, golden.samples, `${name}: sample count`);
  assert.equal(await sha256Hex(pcm), golden.sha256, `${name}: samples differ from sox's`);
}

/** Asserts `ours` (a PCM WAV) holds the same samples as the whole sox decode kept in `refName`. */
export async function assertSameSamples(ours: Uint8Array, refName: string): Promise<void> {
  const want = dataBytes(await testdata(refName));
  assert.ok(want.length > 0);
  assert.equal(firstDifference(dataBytes(ours), want), -1, "first differing byte");
}
