/**
 * Every Deno KV key the appliance writes, built in one place. Each key starts with its table's
 * name; the layout is the stored data, so it only changes with a migration in kv.ts.
 *
 * - `["meta", "schema"]` → schema version (number)
 * - `["sub", mailbox]` → Subscription
 * - `["cursor", mailbox, folder]` → Cursor: where the last complete pass left off
 * - `["map", mailbox, folder, srcUidValidity, srcUid]` → MapEntry: source → target
 * - `["intent", mailbox, folder, srcUidValidity, srcUid]` → Intent: a copy under way
 * - `["uncertain", mailbox, folder, srcUidValidity, srcUid, startedAt]` → UncertainCopy
 * - `["last", mailbox]` → MailboxResult: the newest result per mailbox
 * - `["held", mailbox]` → HeldDeletions: deletions the mass-deletion guard holds back
 * - `["run", startedAt, runId]` → RunRecord: history of passes (summaries only)
 * - `["audit", at, id]` → AuditEntry
 * - `["settings"]` → settings saved from the admin portal (secrets sealed, see engine/config/secrets.ts)
 * - `["dirrun", startedAt, id]` → directory sync results
 * - `["portal", "session", sha256(token)]` → a portal session (expires with it)
 * - `["portal", "throttle", kind, id]` → failed-login counters and lockouts (expire)
 * - `["portal", "admin"]` → the admin password's PBKDF2 hash
 * - `["portal", "summary", mailbox, folder, uidValidity, uid]` → parsed message summaries
 * - `["portal", "forward", mailbox]` → the times of a mailbox's recent forwards (expire)
 * - `["portal", "apitoken", sha256(token)]` → an API token's name and dates (never the token)
 *
 * Tables whose keys are built in their own module (each under its own first element):
 * `["stats", …]` hourly/daily buckets, totals and lag samples (stats.ts), `["mbhist", mailbox,
 * finishedAt]` recent results per mailbox (history.ts), `["health", role]` server checks
 * (health.ts), `["alert", key]`, `["alertmail", id]`, `["disk", which]` alerts and their outbox
 * (alerts.ts), `["job", id]` console jobs (jobs.ts), `["heard", mailbox, identity]` and
 * `["visit", mailbox]` the portal's heard marks and last visits (heard.ts).
 * @module
 */

/** One folder of one mailbox. */
export interface FolderRef {
  mailbox: string;
  folder: string;
}

/** One folder of one mailbox under one source UIDVALIDITY: where map entries and intents live. */
export interface FolderKey extends FolderRef {
  uidValidity: number;
}

/** The schema version's key. */
export const SCHEMA_KEY: Deno.KvKey = ["meta", "schema"];

/** The keys of the mirror's tables. */
export const keys = {
  subscriptions: (): Deno.KvKey => ["sub"],
  subscription: (mailbox: string): Deno.KvKey => ["sub", mailbox],
  cursor: (f: FolderRef): Deno.KvKey => ["cursor", f.mailbox, f.folder],
  /** Every map entry of the mirror, or of one mailbox. */
  mapsOf: (mailbox?: string): Deno.KvKey => mailbox === undefined ? ["map"] : ["map", mailbox],
  /** Every map entry of a folder, whatever its source UIDVALIDITY. */
  mapsOfFolder: (f: FolderRef): Deno.KvKey => ["map", f.mailbox, f.folder],
  map: (k: FolderKey): Deno.KvKey => ["map", k.mailbox, k.folder, k.uidValidity],
  mapEntry: (k: FolderKey, srcUid: number): Deno.KvKey => [...keys.map(k), srcUid],
  intents: (k: FolderKey): Deno.KvKey => ["intent", k.mailbox, k.folder, k.uidValidity],
  intent: (k: FolderKey, srcUid: number): Deno.KvKey => [...keys.intents(k), srcUid],
  /** Uncertain copies of a folder (all UIDVALIDITYs). */
  uncertainOfFolder: (f: FolderRef): Deno.KvKey => ["uncertain", f.mailbox, f.folder],
  uncertains: (k: FolderKey): Deno.KvKey => ["uncertain", k.mailbox, k.folder, k.uidValidity],
  uncertain: (k: FolderKey, srcUid: number, startedAt: string): Deno.KvKey => [
    ...keys.uncertains(k),
    srcUid,
    startedAt,
  ],
  results: (): Deno.KvKey => ["last"],
  result: (mailbox: string): Deno.KvKey => ["last", mailbox],
  helds: (): Deno.KvKey => ["held"],
  held: (mailbox: string): Deno.KvKey => ["held", mailbox],
  runs: (): Deno.KvKey => ["run"],
  run: (startedAt: string, id: string): Deno.KvKey => ["run", startedAt, id],
  audits: (): Deno.KvKey => ["audit"],
  audit: (at: string, id: string): Deno.KvKey => ["audit", at, id],
  settings: (): Deno.KvKey => ["settings"],
  directoryRuns: (): Deno.KvKey => ["dirrun"],
  directoryRun: (startedAt: string, id: string): Deno.KvKey => ["dirrun", startedAt, id],
};

/** The keys of the portal's tables. */
export const portalKeys = {
  all: (): Deno.KvKey => ["portal"],
  session: (tokenHash: string): Deno.KvKey => ["portal", "session", tokenHash],
  throttles: (): Deno.KvKey => ["portal", "throttle"],
  throttle: (kind: string, id: string): Deno.KvKey => ["portal", "throttle", kind, id],
  admin: (): Deno.KvKey => ["portal", "admin"],
  apiTokens: (): Deno.KvKey => ["portal", "apitoken"],
  apiToken: (tokenHash: string): Deno.KvKey => ["portal", "apitoken", tokenHash],
  summary: (k: FolderKey, uid: number): Deno.KvKey => [
    "portal",
    "summary",
    k.mailbox,
    k.folder,
    k.uidValidity,
    uid,
  ],
  forward: (mailbox: string): Deno.KvKey => ["portal", "forward", mailbox],
};
