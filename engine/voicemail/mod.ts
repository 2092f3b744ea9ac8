/**
 * Voicemail rules: classification (VPIM voice parts, durations, chains, urgent, private, broadcast), placeholders.
 * @module
 */
export * from "./classify.ts";
export * from "./placeholder.ts";
