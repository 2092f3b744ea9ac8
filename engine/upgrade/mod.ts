/**
 * Upgrading the installed appliance by replacing its release, with an automatic rollback:
 * `vmirror upgrade FILE`, `vmirror rollback` and the new release's `vmirror self-test`; from the
 * admin console, an upload staged by the serving process and carried out by
 * `vmirror upgrade --staged` outside it.
 * @module
 */
export * from "./plan.ts";
export {
  runRollback,
  runUpgrade,
  type SwitchOptions,
  type SwitchOutcome,
  SwitchRefused,
  type UpgradeOptions,
} from "./upgrade.ts";
export {
  type ProgramInfo,
  programInfo,
  unpackRelease,
  UpgradeError,
  verifyUpgradeFile,
} from "./package.ts";
export {
  selfTest,
  type SelfTestCheck,
  type SelfTestOptions,
  type SelfTestReport,
} from "./selftest.ts";
export { BACKUPS_KEPT, listBackups } from "./backups.ts";
export { failureMail, type FailureNote } from "./notify.ts";
export * from "./staged.ts";
export { runStaged, type StagedRun } from "./staged_run.ts";
export {
  abortUpload,
  beginUpload,
  checkIdle,
  type ConsoleUpgrade,
  consoleUpgrade,
  type ConsoleUpgradeInput,
  type Incoming,
  isDiskFull,
  mib,
  requestRollback,
  type StagedUpload,
  stageUpload,
  tooLarge,
  UpgradeRequestError,
  type UpgradeView,
  upgradeView,
  type UploadFields,
  withdraw,
} from "./request.ts";
