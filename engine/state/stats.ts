/**
 * (placeholder: filled in by the stats work)
 * @module
 */
export {};
