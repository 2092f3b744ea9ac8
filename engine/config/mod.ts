/**
 * The configuration: the file's zod schema and the types derived from it, loading and
 * validation (resolved once), sealed secrets for settings stored from the admin portal.
 * @module
 */
export type {
  Config,
  FilesTargetConfig,
  ImapEndpoint,
  ImapTargetConfig,
  LdapConfig,
  LdapEndpoint,
  PortalConfig,
  SmtpConfig,
  SourceConfig,
} from "./schema.ts";
export {
  ConfigError,
  loadConfig,
  type LoadOptions,
  mergeSettings,
  redactConfig,
  requireSections,
  resolvePaths,
  validateConfig,
} from "./load.ts";
export * from "./secrets.ts";
