/**
 * `deno run -A scripts/audio_golden.ts`: regenerates engine/audio/testdata/, the golden files the
 * audio unit tests compare against instead of running sox and espeak-ng. Inputs are encoded by
 * sox as an MSS stores them; for each input (and each damaged or random variant the tests derive
 * in code) `golden.json` records sox's own decode: its sample count and the SHA-256 of its 16-bit
 * PCM data. `gsm_hello_sox.wav` keeps one decode whole, so a failure there shows the first
 * differing sample. tests/audio_sox_test.ts still compares with sox live.
 * @module
 */
import { fileURLToPath } from "node:url";
import {
  damagedCopies,
  dataBytes,
  gsmWav,
  pseudoRandomBytes,
  run,
  sha256Hex,
  soxDecode,
  soxEncode,
  speak,
  tempDir,
} from "../tests/test_utils/mod.ts";

const OUT = fileURLToPath(new URL("../engine/audio/testdata/", import.meta.url));

/** What sox decodes an input to, as the tests compare it. */
interface Golden {
  samples: number;
  sha256: string;
}

async function golden(ref: Uint8Array): Promise<Golden> {
  const pcm = dataBytes(ref);
  return { samples: pcm.length / 2, sha256: await sha256Hex(pcm) };
}

if (import.meta.main) {
  await using tmp = await tempDir("audio-golden");
  const dir = tmp.path;
  const goldens: Record<string, Golden> = {};
  const decode = async (name: string, bytes: Uint8Array) => {
    await Deno.writeFile(`${dir}/${name}`, bytes);
    goldens[name] = await golden(await soxDecode(`${dir}/${name}`, `${dir}/${name}-ref.wav`));
  };
  const keep = async (name: string, bytes: Uint8Array) => {
    await Deno.writeFile(`${OUT}${name}`, bytes);
    await decode(name, bytes);
  };
  const synth = async (name: string, args: string[]) => {
    await run("sox", ["-n", "-r", "8000", "-c", "1", `${dir}/${name}`, "synth", ...args]);
    return `${dir}/${name}`;
  };

  // GSM 6.10 (WAV49): speech, a pad byte, damage, silence, noise, saturating synthesis.
  const hello = await speak(dir, "hello.wav", "Hello.");
  await keep("gsm_hello.wav", await soxEncode(hello, `${dir}/e.wav`, "gsm-full-rate"));
  await Deno.writeFile(
    `${OUT}gsm_hello_sox.wav`,
    await soxDecode(`${OUT}gsm_hello.wav`, `${dir}/hello-ref.wav`),
  );
  const sentence = await speak(dir, "s.wav", "You have one new message. Please call me back.");
  await keep("gsm_speech.wav", await soxEncode(sentence, `${dir}/e.wav`, "gsm-full-rate"));
  const menu = await speak(dir, "trim.wav", "Please press one to listen to your messages.");
  const trimmed = ["rate", "8000", "trim", "0", "4793s"];
  await keep("gsm_odd.wav", await soxEncode(menu, `${dir}/e.wav`, "gsm-full-rate", trimmed));
  for (
    const [name, wav] of Object.entries(damagedCopies(await Deno.readFile(`${OUT}gsm_speech.wav`)))
  ) {
    await decode(`gsm_speech_${name}.wav`, wav);
  }
  const sources: [string, string[]][] = [
    ["silence", ["1", "sine", "0"]],
    ["noise", ["1", "whitenoise"]],
    ["noise_overdriven", ["1", "whitenoise", "gain", "+12"]],
    ["square_overdriven", ["1", "square", "60", "gain", "+3"]],
  ];
  for (const [name, args] of sources) {
    const source = await synth(`${name}.wav`, args);
    await keep(`gsm_${name}.wav`, await soxEncode(source, `${dir}/e.wav`, "gsm-full-rate"));
  }
  for (const seed of [1, 0x5eed, 0xc0ffee]) {
    await decode(`gsm_random_${seed}.wav`, gsmWav(pseudoRandomBytes(301 * 65, seed)));
  }

  // 33-byte GSM frames (`audio/gsm`): speech, and random frames with the magic nibble.
  const full = await speak(dir, "full.wav", "Your mailbox is almost full.");
  await run("sox", [full, "-r", "8000", "-c", "1", `${OUT}speech.gsm`]);
  await decode("speech.gsm", await Deno.readFile(`${OUT}speech.gsm`));
  const frames = pseudoRandomBytes(500 * 33, 77);
  for (let i = 0; i < frames.length; i += 33) frames[i] = 0xd0 | (frames[i] & 0x0f);
  await decode("random_77.gsm", frames);

  // G.711: every one of the 256 codes (raw, 16-bit out), and speech, damage, noise in WAVs.
  for (const encoding of ["mu-law", "a-law"]) {
    const tag = encoding === "mu-law" ? "ulaw" : "alaw";
    const codes = new Uint8Array(256).map((_, i) => i);
    await Deno.writeFile(`${dir}/codes.raw`, codes);
    const raw = ["-t", "raw", "-e", encoding, "-b", "8", "-r", "8000", "-c", "1"];
    const linear = ["-t", "raw", "-e", "signed", "-b", "16"];
    await run("sox", [...raw, `${dir}/codes.raw`, ...linear, `${OUT}${tag}_table.raw`]);
    const hi = await speak(dir, "hi.wav", "Hi, it's me.");
    await keep(`${tag}_speech.wav`, await soxEncode(hi, `${dir}/e.wav`, encoding));
    for (
      const [name, wav] of Object.entries(
        damagedCopies(await Deno.readFile(`${OUT}${tag}_speech.wav`)),
      )
    ) {
      await decode(`${tag}_speech_${name}.wav`, wav);
    }
    const noise = await synth("n.wav", ["0.5", "whitenoise"]);
    await keep(`${tag}_noise.wav`, await soxEncode(noise, `${dir}/e.wav`, encoding));
  }
  await Deno.writeTextFile(`${OUT}golden.json`, JSON.stringify(goldens, null, 2) + "\n");
  console.log(`wrote ${Object.keys(goldens).length} goldens to ${OUT}`);
}
