/**
 * Connection tests for the admin console's "Test" buttons: each probe does the real thing
 * (resolve, connect, TLS, log in, list, write, send) and reports, layer by layer and in words
 * an administrator understands, what worked and where it failed. Results never hold a secret.
 * @module
 */
export { type ImapProbeOptions, probeImap } from "./imap.ts";
export { type FilesProbeOptions, probeFiles } from "./files.ts";
export { type LdapProbeOptions, probeLdap } from "./ldap.ts";
export { probeSmtp, type SmtpProbeOptions } from "./smtp.ts";
export { DEFAULT_PROBE_TIMEOUT_MS, type ProbeResult, type ProbeStep } from "./result.ts";
