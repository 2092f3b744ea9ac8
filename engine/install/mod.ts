/**
 * Installing the appliance as a service (systemd on Linux, a start-up task on Windows): the plan,
 * printable with `--dry-run`, and carrying it out.
 * @module
 */
export * from "./apply.ts";
export * from "./plan.ts";
