/**
 * (placeholder: filled in by the jobs work)
 * @module
 */
export {};
