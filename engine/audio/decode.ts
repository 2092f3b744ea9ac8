/**
 * Voicemail audio → 16-bit PCM mono WAV, the one format every browser plays. Input: GSM 6.10
 * (WAV49), G.711 µ-law / A-law or integer PCM in a WAV. Whole-buffer and streaming forms give
 * the same bytes, and {@link pcmWavSize} gives their length from the header alone, so an HTTP
 * layer can send Content-Length and answer Range requests before decoding anything.
 * @module
 */

import { ALAW_TO_LINEAR, ULAW_TO_LINEAR } from "./g711.ts";
import { Gsm610Decoder, WAV49_BLOCK_BYTES, WAV49_BLOCK_SAMPLES } from "./gsm610.ts";
import {
  parseWav,
  PCM_WAV_HEADER_BYTES,
  pcmWavHeader,
  tryParseWavHeader,
  WAVE_FORMAT_ALAW,
  WAVE_FORMAT_GSM610,
  WAVE_FORMAT_MULAW,
  WAVE_FORMAT_PCM,
  WavError,
  type WavInfo,
} from "./wav.ts";

/** The audio encodings this module decodes. */
export type AudioEncoding = "gsm610" | "mulaw" | "alaw" | "pcm";

/** Names the encoding of a parsed WAV; throws {@link WavError} ("unsupported") if undecodable. */
export function audioEncoding(info: WavInfo): AudioEncoding {
  return layoutOf(info).encoding;
}

/** Samples the PCM output will hold: whole GSM blocks × 320, else whole sample frames. */
export function pcmSampleCount(info: WavInfo): number {
  const layout = layoutOf(info);
  return Math.floor(info.dataLength / layout.unitBytes) * layout.unitSamples;
}

/** Byte length of {@link toPcmWav}'s / {@link pcmWavStream}'s output, from the header alone. */
export function pcmWavSize(info: WavInfo): number {
  return PCM_WAV_HEADER_BYTES + pcmSampleCount(info) * 2;
}

/** Decodes a whole WAV file to mono 16-bit samples. */
export function pcmSamples(wavBytes: Uint8Array): Int16Array {
  const info = parseWav(wavBytes);
  const out = new Int16Array(pcmSampleCount(info));
  new PcmConverter(info).convert(wavBytes, info.dataOffset, out, 0, out.length);
  return out;
}

/** Decodes a whole WAV file to a 16-bit PCM mono WAV at the same sample rate. */
export function toPcmWav(wavBytes: Uint8Array): Uint8Array {
  const info = parseWav(wavBytes);
  const count = pcmSampleCount(info);
  const wav = new Uint8Array(PCM_WAV_HEADER_BYTES + count * 2);
  wav.set(pcmWavHeader(count, info.sampleRate));
  const converter = new PcmConverter(info);
  if (LITTLE_ENDIAN) {
    // Decode straight into the output; 44 is even, so the Int16Array view is aligned.
    converter.convert(wavBytes, info.dataOffset, new Int16Array(wav.buffer, 44, count), 0, count);
  } else {
    const samples = new Int16Array(count);
    converter.convert(wavBytes, info.dataOffset, samples, 0, count);
    writeLe(samples, wav, PCM_WAV_HEADER_BYTES);
  }
  return wav;
}

/** Options of {@link pcmWavStream}. */
export interface PcmWavStreamOptions {
  /** Size of the source file; lets a data size larger than the file be cut as in `toPcmWav`. */
  totalSize?: number;
  /** First output byte to send (an HTTP Range start); default 0. */
  start?: number;
  /** Output byte after the last one to send (exclusive); default the whole output. */
  end?: number;
}

/**
 * Streams a WAV in, a 16-bit PCM mono WAV out, holding at most one input chunk's worth of audio.
 * The output is byte-identical to {@link toPcmWav} and exactly {@link pcmWavSize} long: a source
 * that ends before its declared data is padded with silence so a promised Content-Length holds.
 */
export function pcmWavStream(
  source: ReadableStream<Uint8Array>,
  options: PcmWavStreamOptions = {},
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const start = Math.max(0, options.start ?? 0);
  let end = options.end ?? Infinity;
  let head: Uint8Array = new Uint8Array(0);
  let converter: PcmConverter | undefined;
  let pending: Uint8Array = new Uint8Array(0); // a partial block carried to the next chunk
  let dataLeft = 0; // data bytes still expected from the source
  let samplesLeft = 0; // samples still owed to the output
  let outPos = 0; // output bytes produced so far (sent or skipped)

  // Keeps the part of `bytes` (output positions outPos..) that falls inside [start, end).
  const emit = (controller: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array) => {
    const from = Math.max(start - outPos, 0);
    const to = Math.min(end - outPos, bytes.length);
    outPos += bytes.length;
    if (to > from) {
      controller.enqueue(from === 0 && to === bytes.length ? bytes : bytes.slice(from, to));
    }
  };

  const feed = (controller: ReadableStreamDefaultController<Uint8Array>, chunk: Uint8Array) => {
    const conv = converter!;
    let data = chunk.length > dataLeft ? chunk.subarray(0, dataLeft) : chunk;
    dataLeft -= data.length;
    if (pending.length > 0) {
      const joined = new Uint8Array(pending.length + data.length);
      joined.set(pending);
      joined.set(data, pending.length);
      data = joined;
    }
    const units = Math.min(
      Math.floor(data.length / conv.unitBytes),
      samplesLeft / conv.unitSamples,
    );
    pending = data.slice(units * conv.unitBytes);
    if (units === 0) return;
    const count = units * conv.unitSamples;
    samplesLeft -= count;
    const bytes = new Uint8Array(count * 2);
    if (LITTLE_ENDIAN) conv.convert(data, 0, new Int16Array(bytes.buffer), 0, count);
    else {
      const samples = new Int16Array(count);
      conv.convert(data, 0, samples, 0, count);
      writeLe(samples, bytes, 0);
    }
    emit(controller, bytes);
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          if (outPos >= end) {
            controller.close();
            await reader.cancel();
            return;
          }
          const { done, value } = await reader.read();
          if (done) {
            if (!converter) {
              parseWav(head, {}); // throws the precise reason
              throw new WavError("Cannot parse WAV: header is incomplete", "malformed");
            }
            // Source shorter than its header said: pad with silence to the promised length.
            while (samplesLeft > 0 && outPos < end) {
              const count = Math.min(samplesLeft, 65536);
              samplesLeft -= count;
              emit(controller, new Uint8Array(count * 2));
            }
            controller.close();
            return;
          }
          if (!converter) {
            head = concat(head, value);
            const info = tryParseWavHeader(head, { totalSize: options.totalSize });
            if (!info) continue;
            converter = new PcmConverter(info);
            samplesLeft = pcmSampleCount(info);
            if (samplesLeft * 2 > MAX_PCM_DATA_BYTES) {
              throw new WavError(
                `Cannot stream WAV: data size "${info.dataLength}" is too large (file size unknown)`,
                "malformed",
              );
            }
            end = Math.min(end, PCM_WAV_HEADER_BYTES + samplesLeft * 2);
            dataLeft = info.dataLength;
            emit(controller, pcmWavHeader(samplesLeft, info.sampleRate));
            const rest = head.subarray(Math.min(info.dataOffset, head.length));
            head = new Uint8Array(0);
            if (rest.length > 0) feed(controller, rest);
          } else {
            feed(controller, value);
          }
          if (controller.desiredSize !== null && controller.desiredSize <= 0) return;
        }
      } catch (e) {
        await reader.cancel().catch(() => {});
        throw e;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

interface Layout {
  encoding: AudioEncoding;
  unitBytes: number; // input bytes per decoding unit (a GSM block or a sample frame)
  unitSamples: number; // output samples per unit
  bytesPerSample: number; // PCM/G.711 only
}

function layoutOf(info: WavInfo): Layout {
  const { formatTag, channels } = info;
  if (formatTag === WAVE_FORMAT_GSM610) {
    if (channels !== 1) unsupported(`GSM 6.10 with "${channels}" channels`);
    if (info.blockAlign !== WAV49_BLOCK_BYTES) {
      unsupported(`GSM 6.10 with "${info.blockAlign}"-byte blocks (WAV49 has 65)`);
    }
    if (info.samplesPerBlock !== undefined && info.samplesPerBlock !== WAV49_BLOCK_SAMPLES) {
      unsupported(`GSM 6.10 with "${info.samplesPerBlock}" samples per block (WAV49 has 320)`);
    }
    return { encoding: "gsm610", unitBytes: 65, unitSamples: 320, bytesPerSample: 0 };
  }
  let encoding: AudioEncoding;
  let bytesPerSample: number;
  if (formatTag === WAVE_FORMAT_MULAW || formatTag === WAVE_FORMAT_ALAW) {
    if (info.bitsPerSample !== 8 && info.bitsPerSample !== 0) {
      unsupported(`G.711 with "${info.bitsPerSample}" bits per sample`);
    }
    encoding = formatTag === WAVE_FORMAT_MULAW ? "mulaw" : "alaw";
    bytesPerSample = 1;
  } else if (formatTag === WAVE_FORMAT_PCM) {
    if (![8, 16, 24, 32].includes(info.bitsPerSample)) {
      unsupported(`PCM with "${info.bitsPerSample}" bits per sample`);
    }
    encoding = "pcm";
    bytesPerSample = info.bitsPerSample / 8;
  } else {
    unsupported(`format tag "0x${formatTag.toString(16).padStart(4, "0")}"`);
  }
  // A block larger than the samples it holds means per-frame padding; smaller is a broken header.
  const unitBytes = Math.max(info.blockAlign, channels * bytesPerSample);
  return { encoding, unitBytes, unitSamples: 1, bytesPerSample };
}

function unsupported(what: string): never {
  throw new WavError(`Cannot decode WAV audio: unsupported ${what}`, "unsupported");
}

// Turns whole units of input into mono 16-bit samples; the only place that knows the encodings.
class PcmConverter {
  readonly unitBytes: number;
  readonly unitSamples: number;
  private readonly layout: Layout;
  private readonly channels: number;
  private readonly gsm: Gsm610Decoder | undefined;

  constructor(info: WavInfo) {
    this.layout = layoutOf(info);
    this.unitBytes = this.layout.unitBytes;
    this.unitSamples = this.layout.unitSamples;
    this.channels = info.channels;
    this.gsm = this.layout.encoding === "gsm610" ? new Gsm610Decoder() : undefined;
  }

  // Writes `count` samples (a multiple of unitSamples) from src[at..] to out[o..].
  convert(src: Uint8Array, at: number, out: Int16Array, o: number, count: number): void {
    const { encoding, bytesPerSample } = this.layout;
    const stride = this.unitBytes;
    const channels = this.channels;
    if (this.gsm) {
      const gsm = this.gsm;
      const end = o + count;
      for (; o < end; o += WAV49_BLOCK_SAMPLES, at += WAV49_BLOCK_BYTES) {
        gsm.decodeBlockAt(src, at, out, o);
      }
      return;
    }
    if (channels === 1) {
      if (encoding === "mulaw" || encoding === "alaw") {
        const table = encoding === "mulaw" ? ULAW_TO_LINEAR : ALAW_TO_LINEAR;
        for (let i = 0; i < count; i++, at += stride) out[o + i] = table[src[at]];
        return;
      }
      if (bytesPerSample === 2) {
        for (let i = 0; i < count; i++, at += stride) {
          out[o + i] = (src[at] | (src[at + 1] << 8)) << 16 >> 16;
        }
        return;
      }
    }
    // General case: several channels are averaged into one; wider PCM keeps its top 16 bits.
    for (let i = 0; i < count; i++, at += stride) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += this.sample(src, at + c * bytesPerSample);
      out[o + i] = Math.floor(sum / channels);
    }
  }

  private sample(src: Uint8Array, at: number): number {
    switch (this.layout.encoding) {
      case "mulaw":
        return ULAW_TO_LINEAR[src[at]];
      case "alaw":
        return ALAW_TO_LINEAR[src[at]];
      default:
        // The most significant byte is last; 8-bit WAV PCM is unsigned.
        if (this.layout.bytesPerSample === 1) return (src[at] - 128) << 8;
        return (src[at + this.layout.bytesPerSample - 2] |
              (src[at + this.layout.bytesPerSample - 1] << 8)) << 16 >> 16;
    }
  }
}

// The RIFF size field is 32-bit and counts 36 header bytes besides the data.
const MAX_PCM_DATA_BYTES = 0xffffffff - 36;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function writeLe(samples: Int16Array, bytes: Uint8Array, at: number): void {
  for (let i = 0; i < samples.length; i++) {
    bytes[at + 2 * i] = samples[i] & 0xff;
    bytes[at + 2 * i + 1] = (samples[i] >> 8) & 0xff;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
