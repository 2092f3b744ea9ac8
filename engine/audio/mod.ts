/**
 * Audio: WAV headers, GSM 6.10 and G.711 decoding to 16-bit PCM.
 * @module
 */
export * from "./decode.ts";
export * from "./g711.ts";
export * from "./gsm610.ts";
export * from "./wav.ts";
