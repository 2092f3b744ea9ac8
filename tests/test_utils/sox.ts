/**
 * The reference tools, run as child processes: espeak-ng speaks, sox encodes and decodes (the
 * decoder ours must equal sample for sample). Used by the live comparisons in tests/, the audio
 * benchmark and the script that regenerates engine/audio/testdata/.
 * @module
 */

/** Runs a command and returns its stdout; throws with stderr when it fails. */
export async function run(cmd: string, args: string[], cwd?: string): Promise<Uint8Array> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`Command "${cmd} ${args.join(" ")}" failed (${out.code}): ${err}`);
  }
  return out.stdout;
}

/** Speaks `text` with espeak-ng into `<dir>/<name>` (22.05 kHz PCM WAV). */
export async function speak(dir: string, name: string, text: string): Promise<string> {
  const path = `${dir}/${name}`;
  await run("espeak-ng", ["-w", path, text]);
  return path;
}

/** Encodes `input` to 8 kHz mono with sox's `-e <encoding>`; extra sox effects go last. */
export async function soxEncode(
  input: string,
  output: string,
  encoding: string,
  effects: string[] = [],
): Promise<Uint8Array> {
  await run("sox", [input, "-r", "8000", "-c", "1", "-e", encoding, output, ...effects]);
  return await Deno.readFile(output);
}

/** What sox itself decodes `input` to: a 16-bit signed PCM WAV's bytes. */
export async function soxDecode(input: string, output: string): Promise<Uint8Array> {
  await run("sox", [input, "-e", "signed", "-b", "16", output]);
  return await Deno.readFile(output);
}
