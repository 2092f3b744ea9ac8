/**
 * GSM 06.10 full-rate decoder, a port of libgsm 1.0.22's fixed-point decoder (the library sox
 * links), bit-exact with it: RPE decoding, long-term and short-term synthesis, and the
 * postprocessing (deemphasis, upscaling, truncation). All arithmetic is 16/32-bit integer with
 * libgsm's saturation; every product fits in an int32, so plain JS `*` and `>>` are exact.
 *
 * Two bit packings are read: Microsoft's WAV49 (65-byte blocks holding two frames, libgsm's
 * GSM_OPT_WAV49) and the 33-byte frames with the 0xD magic nibble of `audio/gsm` / `.gsm` files.
 *
 * Hand-written, not a library: no maintained JS/WASM GSM 6.10 decoder exists, and browsers
 * cannot play GSM WAVs, so the portal transcodes them itself (bit-exact with sox, measured in
 * decode_bench.ts).
 * @module
 */

/** Samples in one GSM frame (20 ms at 8 kHz). */
export const GSM_FRAME_SAMPLES = 160;
/** Bytes in one standard (`audio/gsm`) frame. */
export const GSM_FRAME_BYTES = 33;
/** Bytes in one WAV49 block (two frames). */
export const WAV49_BLOCK_BYTES = 65;
/** Samples in one WAV49 block. */
export const WAV49_BLOCK_SAMPLES = 320;

/** A frame or block that cannot be decoded (wrong size, or a 33-byte frame without its magic). */
export class GsmDecodeError extends Error {
  override name = "GsmDecodeError";
}

// Field widths of one frame, in transmission order: LARc[0..7], then per sub-frame
// Nc, bc, Mc, xmaxc and 13 × xMc. 260 bits in all.
const FIELD_BITS = new Uint8Array(76);
FIELD_BITS.set([6, 6, 5, 5, 4, 4, 3, 3]);
for (let j = 0; j < 4; j++) {
  FIELD_BITS.set([7, 2, 2, 6, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3], 8 + j * 17);
}

// Table 4.1 (as MIC and 2·B) and table 4.2 (INVA), decoder side of 4.2.8.
const MIC = new Int32Array([-32, -32, -16, -16, -8, -8, -4, -4]);
const B_TIMES_TWO = new Int32Array([0, 0, 4096, -5120, 188, -3584, -682, -2288]);
const INVA = new Int32Array([13107, 13107, 13107, 13107, 19223, 17476, 31454, 29708]);
// Table 4.3b: LTP gain quantisation levels; table 4.6: RPE mantissas.
const QLB = new Int32Array([3277, 11469, 21299, 32767]);
const FAC = new Int32Array([18431, 20479, 22527, 24575, 26623, 28671, 30719, 32767]);

function sat(x: number): number {
  return x > 32767 ? 32767 : x < -32768 ? -32768 : x;
}

// 4.2.9.2: interpolated log-area ratio → reflection coefficient (never MIN_WORD).
function larToRp(lar: number): number {
  if (lar < 0) {
    const t = lar === -32768 ? 32767 : -lar;
    return -(t < 11059 ? t << 1 : t < 20070 ? t + 11059 : sat((t >> 2) + 26112));
  }
  return lar < 11059 ? lar << 1 : lar < 20070 ? lar + 11059 : sat((lar >> 2) + 26112);
}

/** Stateful GSM 06.10 decoder: feed it one stream's frames or blocks in order. */
export class Gsm610Decoder {
  // dp0[0..119] is the reconstructed short-term residual history drp[-120..-1];
  // dp0[120..159] the current sub-frame drp[0..39].
  private readonly dp0 = new Int16Array(160);
  private readonly larpp = [new Int16Array(8), new Int16Array(8)];
  private j = 0;
  private nrp = 40;
  private readonly v = new Int16Array(9);
  private msr = 0;
  // Scratch, kept to avoid allocating per frame.
  private readonly params = new Int16Array(76);
  private readonly erp = new Int16Array(40);
  private readonly wt = new Int16Array(160);
  private readonly rp = new Int16Array(8);

  /** Forgets all history, as a fresh libgsm handle would. */
  reset(): void {
    this.dp0.fill(0);
    this.larpp[0].fill(0);
    this.larpp[1].fill(0);
    this.j = 0;
    this.nrp = 40;
    this.v.fill(0);
    this.msr = 0;
  }

  /** Decodes one 65-byte WAV49 block into 320 samples at `out[outOffset..]`. */
  decodeBlock(block65: Uint8Array, out: Int16Array, outOffset = 0): void {
    if (block65.length < WAV49_BLOCK_BYTES) {
      throw new GsmDecodeError(`Cannot decode a GSM block of "${block65.length}" bytes: needs 65`);
    }
    this.decodeBlockAt(block65, 0, out, outOffset);
  }

  /** Decodes the 65-byte WAV49 block at `src[srcOffset..]` (no copy, no bounds message). */
  decodeBlockAt(src: Uint8Array, srcOffset: number, out: Int16Array, outOffset: number): void {
    // The block is one LSB-first bit stream of 520 bits: frame 1 takes bits 0..259, frame 2
    // bits 260..519 (it starts in the high nibble of byte 32) — what libgsm's unrolled WAV49
    // unpacking does with its 33-byte and 32-byte halves and the carried `frame_chain` nibble.
    this.unpackLsbFirst(src, srcOffset, 0);
    this.synthesize(out, outOffset);
    this.unpackLsbFirst(src, srcOffset + 32, 4);
    this.synthesize(out, outOffset + GSM_FRAME_SAMPLES);
  }

  /** Decodes one 33-byte standard frame (magic 0xD) into 160 samples at `out[outOffset..]`. */
  decodeFrame(frame33: Uint8Array, out: Int16Array, outOffset = 0): void {
    if (frame33.length < GSM_FRAME_BYTES) {
      throw new GsmDecodeError(`Cannot decode a GSM frame of "${frame33.length}" bytes: needs 33`);
    }
    this.decodeFrameAt(frame33, 0, out, outOffset);
  }

  /** Decodes the 33-byte standard frame at `src[srcOffset..]`. */
  decodeFrameAt(src: Uint8Array, srcOffset: number, out: Int16Array, outOffset: number): void {
    if (src[srcOffset] >> 4 !== 0xd) {
      throw new GsmDecodeError(
        `Cannot decode GSM frame: magic nibble is "${(src[srcOffset] >> 4).toString(16)}", not "d"`,
      );
    }
    this.unpackMsbFirst(src, srcOffset);
    this.synthesize(out, outOffset);
  }

  private unpackLsbFirst(src: Uint8Array, pos: number, skipBits: number): void {
    const params = this.params;
    let acc = src[pos++] >> skipBits;
    let n = 8 - skipBits;
    for (let f = 0; f < 76; f++) {
      const w = FIELD_BITS[f];
      // w ≤ 7, so one byte always suffices and acc stays below 2^15.
      if (n < w) {
        acc |= src[pos++] << n;
        n += 8;
      }
      params[f] = acc & ((1 << w) - 1);
      acc >>>= w;
      n -= w;
    }
  }

  private unpackMsbFirst(src: Uint8Array, pos: number): void {
    const params = this.params;
    let acc = src[pos++] & 0x0f;
    let n = 4;
    for (let f = 0; f < 76; f++) {
      const w = FIELD_BITS[f];
      if (n < w) {
        acc = (acc << 8) | src[pos++];
        n += 8;
      }
      n -= w;
      params[f] = (acc >> n) & ((1 << w) - 1);
      acc &= (1 << n) - 1;
    }
  }

  // Gsm_Decoder: four sub-frames of RPE decoding + long-term synthesis, then the short-term
  // synthesis filter over the whole frame and the postprocessing, writing out[o..o+159].
  private synthesize(out: Int16Array, o: number): void {
    const p = this.params;
    const dp0 = this.dp0;
    const erp = this.erp;
    const wt = this.wt;

    for (let sub = 0; sub < 4; sub++) {
      const base = 8 + sub * 17;
      const nc = p[base];
      const bc = p[base + 1];
      const mc = p[base + 2];
      const xmaxc = p[base + 3];

      // 4.2.15 APCM_quantization_xmaxc_to_exp_mant
      let exp = 0;
      if (xmaxc > 15) exp = (xmaxc >> 3) - 1;
      let mant = xmaxc - (exp << 3);
      if (mant === 0) {
        exp = -4;
        mant = 7;
      } else {
        while (mant <= 7) {
          mant = (mant << 1) | 1;
          exp--;
        }
        mant -= 8;
      }

      // 4.2.16 APCM_inverse_quantization and 4.2.17 RPE_grid_positioning. exp is -4..6, so
      // the shift is 0..10 and gsm_asl(1, shift - 1) is 0 for shift 0.
      const fac = FAC[mant];
      const shift = 6 - exp;
      const round = shift > 0 ? 1 << (shift - 1) : 0;
      erp.fill(0);
      for (let i = 0; i < 13; i++) {
        const t = ((p[base + 4 + i] << 1) - 7) << 12;
        erp[mc + 3 * i] = sat(((fac * t + 16384) >> 15) + round) >> shift;
      }

      // 4.3.2 Long-term synthesis; an out-of-range lag reuses the previous one.
      const nr = nc < 40 || nc > 120 ? this.nrp : nc;
      this.nrp = nr;
      const brp = QLB[bc];
      for (let k = 0; k < 40; k++) {
        dp0[120 + k] = sat(erp[k] + ((brp * dp0[120 + k - nr] + 16384) >> 15));
      }
      wt.set(dp0.subarray(120, 160), sub * 40);
      dp0.copyWithin(0, 40, 160);
    }

    // 4.2.8 Decoding of the coded log-area ratios into LARpp[j]; LARpp[j^1] is the previous
    // frame's set (zero at start).
    const cur = this.larpp[this.j];
    this.j ^= 1;
    const prev = this.larpp[this.j];
    for (let i = 0; i < 8; i++) {
      let t = sat(p[i] + MIC[i]) << 10;
      t = sat(t - B_TIMES_TWO[i]);
      t = (INVA[i] * t + 16384) >> 15;
      cur[i] = sat(t + t);
    }

    // 4.2.9 Interpolation over samples 0..12, 13..26, 27..39 and 40..159.
    const rp = this.rp;
    for (let i = 0; i < 8; i++) {
      rp[i] = larToRp(sat(sat((prev[i] >> 2) + (cur[i] >> 2)) + (prev[i] >> 1)));
    }
    this.shortTermSynthesis(rp, 0, 13, out, o);
    for (let i = 0; i < 8; i++) rp[i] = larToRp(sat((prev[i] >> 1) + (cur[i] >> 1)));
    this.shortTermSynthesis(rp, 13, 14, out, o);
    for (let i = 0; i < 8; i++) {
      rp[i] = larToRp(sat(sat((prev[i] >> 2) + (cur[i] >> 2)) + (cur[i] >> 1)));
    }
    this.shortTermSynthesis(rp, 27, 13, out, o);
    for (let i = 0; i < 8; i++) rp[i] = larToRp(cur[i]);
    this.shortTermSynthesis(rp, 40, 120, out, o);

    // 4.3.5 Postprocessing: deemphasis, upscaling by 2 and truncation to 13 bits.
    let msr = this.msr;
    for (let k = o; k < o + GSM_FRAME_SAMPLES; k++) {
      msr = sat(out[k] + ((msr * 28180 + 16384) >> 15));
      out[k] = sat(msr + msr) & -8;
    }
    this.msr = msr;
  }

  // 4.3.4 Short_term_synthesis_filtering, unrolled over the 8 lattice stages with the filter
  // state in locals. rp is never MIN_WORD, so gsm_mult_r's special case cannot arise and each
  // product + rounding fits an int32.
  private shortTermSynthesis(
    rp: Int16Array,
    start: number,
    count: number,
    out: Int16Array,
    o: number,
  ): void {
    const wt = this.wt;
    const v = this.v;
    const r0 = rp[0], r1 = rp[1], r2 = rp[2], r3 = rp[3];
    const r4 = rp[4], r5 = rp[5], r6 = rp[6], r7 = rp[7];
    let v0 = v[0], v1 = v[1], v2 = v[2], v3 = v[3];
    let v4 = v[4], v5 = v[5], v6 = v[6], v7 = v[7], v8 = v[8];
    const end = start + count;
    for (let k = start; k < end; k++) {
      let sri = wt[k];
      sri = sat(sri - ((r7 * v7 + 16384) >> 15));
      v8 = sat(v7 + ((r7 * sri + 16384) >> 15));
      sri = sat(sri - ((r6 * v6 + 16384) >> 15));
      v7 = sat(v6 + ((r6 * sri + 16384) >> 15));
      sri = sat(sri - ((r5 * v5 + 16384) >> 15));
      v6 = sat(v5 + ((r5 * sri + 16384) >> 15));
      sri = sat(sri - ((r4 * v4 + 16384) >> 15));
      v5 = sat(v4 + ((r4 * sri + 16384) >> 15));
      sri = sat(sri - ((r3 * v3 + 16384) >> 15));
      v4 = sat(v3 + ((r3 * sri + 16384) >> 15));
      sri = sat(sri - ((r2 * v2 + 16384) >> 15));
      v3 = sat(v2 + ((r2 * sri + 16384) >> 15));
      sri = sat(sri - ((r1 * v1 + 16384) >> 15));
      v2 = sat(v1 + ((r1 * sri + 16384) >> 15));
      sri = sat(sri - ((r0 * v0 + 16384) >> 15));
      v1 = sat(v0 + ((r0 * sri + 16384) >> 15));
      v0 = sri;
      out[o + k] = sri;
    }
    v[0] = v0;
    v[1] = v1;
    v[2] = v2;
    v[3] = v3;
    v[4] = v4;
    v[5] = v5;
    v[6] = v6;
    v[7] = v7;
    v[8] = v8;
  }
}

/** Decodes the data chunk of a WAV49 file (whole 65-byte blocks; a partial tail is dropped). */
export function decodeGsmWav49(data: Uint8Array): Int16Array {
  const blocks = Math.floor(data.length / WAV49_BLOCK_BYTES);
  const out = new Int16Array(blocks * WAV49_BLOCK_SAMPLES);
  const decoder = new Gsm610Decoder();
  for (let b = 0; b < blocks; b++) {
    decoder.decodeBlockAt(data, b * WAV49_BLOCK_BYTES, out, b * WAV49_BLOCK_SAMPLES);
  }
  return out;
}

/** Decodes a raw stream of 33-byte frames (`audio/gsm`, sox's `.gsm`); a partial tail is dropped. */
export function decodeGsmFrames(data: Uint8Array): Int16Array {
  const frames = Math.floor(data.length / GSM_FRAME_BYTES);
  const out = new Int16Array(frames * GSM_FRAME_SAMPLES);
  const decoder = new Gsm610Decoder();
  for (let f = 0; f < frames; f++) {
    decoder.decodeFrameAt(data, f * GSM_FRAME_BYTES, out, f * GSM_FRAME_SAMPLES);
  }
  return out;
}
