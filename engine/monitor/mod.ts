/**
 * The monitor: checks each configured server and disk every `alerts.checkSeconds` (for the
 * dashboard, `/readyz` and `/metrics`) and raises alerts — one mail when problems start, one
 * when they clear — for failing mailboxes, unreachable servers, held deletions, low disk,
 * expiring certificates and failed directory passes.
 * @module
 */
export { type MonitorOptions, runMonitor } from "./monitor.ts";
export {
  certificateExpiry,
  checkOnce,
  type CheckReport,
  healthFromProbe,
  type Readiness,
  readiness,
} from "./health.ts";
export {
  type AlertRoundResult,
  evaluateAlerts,
  flushAlertMails,
  listActiveAlerts,
  type SendAlertMail,
  sendTestAlert,
} from "./alerts.ts";
export {
  activeConditions,
  type AlertFacts,
  type Condition,
  type DirectoryFact,
  failStreak,
  ROLE_WORDS,
} from "./conditions.ts";
export {
  type ClearedAlert,
  countWords,
  groupAlerts,
  type MailText,
  recoveryMail,
  startMail,
  TEST_ALERT_SUBJECT,
  testAlertMail,
  when,
} from "./mail_text.ts";
export { readDiskFree } from "./disk.ts";
export type { ConfigSource } from "./config_source.ts";
