/**
 * Metrics: an in-process registry (counters, gauges, histograms with labels), the Prometheus
 * text exposition 0.0.4, the engine's instruments, and the families read from the state store
 * at scrape time.
 * @module
 */
export * from "./registry.ts";
export * from "./exposition.ts";
export * from "./instruments.ts";
export * from "./state_families.ts";
