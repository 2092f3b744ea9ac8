/**
 * (placeholder: filled in by the alerts work)
 * @module
 */
export {};
