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
  readConfigFile,
  redactConfig,
  requireSections,
  resolvePaths,
  validateConfig,
} from "./load.ts";
export * from "./secrets.ts";
export { configSchema, isAddressOrCidr, isTimeZone, type ParsedConfig } from "./schema.ts";
export { LiveConfig, type ServingAt, type SettingsInputs } from "./live.ts";
export { inShard, parseShard, type Shard, shardOf } from "./shard.ts";
