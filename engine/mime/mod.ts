/**
 * MIME: parsing messages into byte ranges, headers, addresses, dates, encodings; skeletons of large messages.
 * @module
 */
export * from "./mime.ts";
export * from "./skeleton.ts";
