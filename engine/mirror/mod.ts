/**
 * The mirror: one pass over many mailboxes, one reconcile per mailbox, the plan, exactly-once copies, the deletion guard, the scheduler and IDLE.
 * @module
 */
export * from "./copy.ts";
export * from "./delete_guard.ts";
export * from "./deletions.ts";
export * from "./exactly_once.ts";
export * from "./idle.ts";
export * from "./mailbox.ts";
export * from "./originals.ts";
export * from "./pass.ts";
export * from "./plan.ts";
export * from "./scheduler.ts";
export { changedSince, type ParkOptions, SourceSessions } from "./sessions.ts";
