/**
 * Directory sync over LDAP: the plan, the LDAP client, recorded names.
 * @module
 */
export * from "./directory.ts";
export * from "./ldap.ts";
export * from "./plan.ts";
export * from "./recorded_names.ts";
