/**
 * Planning a directory sync: a pure function from what the production and backup directories
 * hold and the current subscriptions to the changes that make them agree. No I/O here.
 * @module
 */
import type { Subscription } from "../state/mod.ts";
import { isMailboxId } from "../support/mod.ts";

/** One attribute value: text, or bytes for binary attributes (recorded name, PIN). */
export type AttrValue = string | Uint8Array;

/** A directory entry as read: attribute names as the server spelled them. */
export interface DirEntry {
  dn: string;
  attributes: Record<string, AttrValue[]>;
}

/** Which attribute holds what (`ldap.attributes` of the config). */
export interface AttributeMap {
  mailbox: string;
  name: string;
  email: string;
  classOfService: string;
  recordedName: string;
  pin: string;
}

/**
 * Naming attributes mirrored with the display name: a rename on production changes `cn` (and
 * often `sn`/`givenName`) too, and a backup that kept the old `cn` would show the old name.
 */
export const COMPANION_ATTRIBUTES: readonly string[] = ["cn", "sn", "givenName"];

/** What the planner needs to know. */
export interface DirectoryPlanInput {
  /** Entries the production search returned. */
  production: DirEntry[];
  /** Entries the backup search returned, or null when no backup directory is configured. */
  backup: DirEntry[] | null;
  subscriptions: Subscription[];
  now: Date;
  /** Days an orphaned directory subscription is kept before it is removed. */
  graceDays: number;
  /** When set, only these classes of service are subscribed (case-insensitive). */
  classesOfService?: string[];
  attributes: AttributeMap;
  /** Base DNs, to place a missing entry on the backup under the same relative name. */
  sourceBaseDn: string;
  targetBaseDn?: string;
  /** Create entries missing on the backup (`ldap.provisionMissing`). */
  provisionMissing: boolean;
  /** Attributes mirrored besides the map; default {@link COMPANION_ATTRIBUTES}. */
  companions?: readonly string[];
}

/** One attribute change on a backup entry. */
export interface AttrChange {
  attr: string;
  /** "add": the backup lacks it; "replace": values differ; "delete": production lacks it. */
  op: "add" | "replace" | "delete";
  /** The new values (empty for delete). */
  values: AttrValue[];
  /** The backup's values before the change. */
  before: AttrValue[];
  /** A PIN or password: its values are never shown. */
  secret: boolean;
  /** Compared and written as bytes. */
  binary: boolean;
}

/** A backup entry to change. */
export interface BackupModify {
  mailbox: string;
  dn: string;
  changes: AttrChange[];
}

/** A production entry to create on the backup. */
export interface BackupAdd {
  mailbox: string;
  dn: string;
  /** Every attribute of the production entry (objectClass included). */
  attributes: Record<string, AttrValue[]>;
  /** Names of the attributes whose values are secret. */
  secret: string[];
}

/** A directory subscription whose mailbox left the directory. */
export interface Orphan {
  mailbox: string;
  reason: string;
}

/** An orphaned subscription still inside its grace period. */
export interface PendingOrphan {
  mailbox: string;
  orphanedSince: string;
  unsubscribeAfter: string;
}

/** The planner's answer. */
export interface DirectoryPlan {
  /** Production entries with a usable mailbox number. */
  entries: number;
  /** Mailboxes the directory manages (after the class-of-service filter), sorted. */
  managed: string[];
  /** Mailboxes to subscribe (origin "directory"). */
  subscribe: string[];
  /** Directory subscriptions to mark orphaned now. */
  orphan: Orphan[];
  /** Orphaned directory subscriptions whose mailbox is back: clear the mark. */
  unorphan: string[];
  /** Directory subscriptions whose grace period is over: unsubscribe (messages are kept). */
  unsubscribe: { mailbox: string; orphanedSince: string }[];
  /** Orphaned subscriptions still in their grace period. */
  pending: PendingOrphan[];
  backupAdds: BackupAdd[];
  backupModifies: BackupModify[];
  /** Entries missing on the backup that are not created (provisionMissing is off). */
  missingOnBackup: { mailbox: string; dn: string }[];
  /** Mailboxes only the backup has: left alone. */
  onlyOnBackup: string[];
  /** Mailboxes held by several production entries: nothing of theirs is mirrored but the subscription. */
  duplicates: { mailbox: string; dns: string[] }[];
  /** Entries skipped and other things an operator should know. */
  warnings: string[];
}

const DAY_MS = 86_400_000;

/** Plans a directory pass: subscriptions first, then the backup directory. */
export function planDirectory(input: DirectoryPlanInput): DirectoryPlan {
  const a = input.attributes;
  const warnings: string[] = [];
  const prod = indexEntries(input.production, a.mailbox, {
    side: "production",
    baseDn: input.sourceBaseDn,
    warnings,
  });

  const duplicates = [...prod.byMailbox]
    .filter(([, entries]) => entries.length > 1)
    .sort((x, y) => cmp(x[0], y[0]))
    .map(([mailbox, entries]) => ({ mailbox, dns: entries.map((e) => e.dn) }));
  for (const d of duplicates) {
    warnings.push(
      `Mailbox "${d.mailbox}" is in ${d.dns.length} production entries (${
        d.dns.map((dn) => `"${dn}"`).join(", ")
      }): neither its backup entry nor its recorded name is changed until one is left`,
    );
  }

  // ---- subscriptions ----
  const cosFilter = input.classesOfService?.map((c) => c.toLowerCase());
  const managed = new Set<string>();
  const excludedCos = new Map<string, string>();
  for (const [mailbox, entries] of prod.byMailbox) {
    const cos = entries.flatMap((e) => textValues(getAttr(e, a.classOfService)));
    if (!cosFilter || cos.some((c) => cosFilter.includes(c.toLowerCase()))) managed.add(mailbox);
    else excludedCos.set(mailbox, cos.length ? cos.join(", ") : "(none)");
  }

  const subscribe: string[] = [];
  const orphan: Orphan[] = [];
  const unorphan: string[] = [];
  const unsubscribe: { mailbox: string; orphanedSince: string }[] = [];
  const pending: PendingOrphan[] = [];
  const subscribed = new Set(input.subscriptions.map((s) => s.mailbox));
  for (const m of [...managed].sort()) if (!subscribed.has(m)) subscribe.push(m);

  // An empty answer is far more likely a wrong base DN, filter or ACL than a company without
  // subscribers: starting every grace clock on it would unsubscribe everyone a week later.
  const emptyDirectory = prod.byMailbox.size === 0;
  const directorySubs = input.subscriptions.filter((s) => s.origin === "directory");
  if (emptyDirectory && directorySubs.length) {
    const n = directorySubs.length;
    warnings.push(
      `The production directory returned no subscribers: ${n} directory subscription${
        n === 1 ? "" : "s"
      } neither orphaned nor removed (check baseDn and filter)`,
    );
  }
  const graceMs = input.graceDays * DAY_MS;
  for (const s of [...directorySubs].sort((x, y) => cmp(x.mailbox, y.mailbox))) {
    if (managed.has(s.mailbox)) {
      if (s.orphanedSince) unorphan.push(s.mailbox);
      continue;
    }
    let since = s.orphanedSince;
    if (!since) {
      if (emptyDirectory) continue;
      since = input.now.toISOString();
      const cos = excludedCos.get(s.mailbox);
      orphan.push({
        mailbox: s.mailbox,
        reason: cos === undefined
          ? "not in the directory"
          : `class of service "${cos}" is not subscribed`,
      });
    }
    const sinceMs = Date.parse(since);
    const after = new Date((Number.isNaN(sinceMs) ? input.now.getTime() : sinceMs) + graceMs);
    if (input.now.getTime() >= after.getTime() && !emptyDirectory) {
      unsubscribe.push({ mailbox: s.mailbox, orphanedSince: since });
    } else {
      pending.push({
        mailbox: s.mailbox,
        orphanedSince: since,
        unsubscribeAfter: after.toISOString(),
      });
    }
  }

  // ---- backup directory ----
  const backupAdds: BackupAdd[] = [];
  const backupModifies: BackupModify[] = [];
  const missingOnBackup: { mailbox: string; dn: string }[] = [];
  const onlyOnBackup: string[] = [];
  if (input.backup) {
    const backup = indexEntries(input.backup, a.mailbox, {
      side: "backup",
      baseDn: input.targetBaseDn,
      warnings,
      // Entries without a mailbox may still pair by DN (e.g. one that lost its object class).
      quiet: true,
    });
    const backupByDn = new Map(input.backup.map((e) => [normalizeDn(e.dn), e]));
    const synced = syncedAttributes(a, input.companions ?? COMPANION_ATTRIBUTES);
    const secret = new Set([a.pin.toLowerCase()]);
    const binary = new Set([a.pin.toLowerCase(), a.recordedName.toLowerCase()]);
    for (const [mailbox, entries] of [...prod.byMailbox].sort((x, y) => cmp(x[0], y[0]))) {
      // Reported once above, with or without a backup directory.
      if (entries.length > 1) continue;
      const src = entries[0];
      const dn = mapDn(src.dn, input.sourceBaseDn, input.targetBaseDn ?? input.sourceBaseDn);
      const matches = backup.byMailbox.get(mailbox);
      if (matches && matches.length > 1) {
        warnings.push(
          `Mailbox "${mailbox}" is in ${matches.length} backup entries (${
            matches.map((e) => `"${e.dn}"`).join(", ")
          }): not changed`,
        );
        continue;
      }
      const dst = matches?.[0] ?? backupByDn.get(normalizeDn(dn));
      if (!dst) {
        if (input.provisionMissing) {
          backupAdds.push({
            mailbox,
            dn,
            attributes: copyAttributes(src),
            secret: Object.keys(src.attributes).filter((k) => isSecretName(k, secret)),
          });
        } else missingOnBackup.push({ mailbox, dn });
        continue;
      }
      const changes: AttrChange[] = [];
      const rdn = firstRdn(dst.dn);
      for (const attr of synced) {
        const lower = attr.toLowerCase();
        const isBinary = binary.has(lower);
        const isSecret = isSecretName(attr, secret);
        const want = getAttr(src, attr);
        const have = getAttr(dst, attr);
        if (sameValues(want, have, isBinary)) continue;
        if (!want.length && isSecret) {
          // Unreadable is more likely than unset (an ACL hides PINs): never wipe the backup's.
          warnings.push(
            `Mailbox "${mailbox}": production shows no "${attr}": the backup's is kept`,
          );
          continue;
        }
        if (rdn && rdn.attr.toLowerCase() === lower && !hasText(want, rdn.value)) {
          warnings.push(
            `Mailbox "${mailbox}": "${attr}" names the backup entry "${dst.dn}": not changed`,
          );
          continue;
        }
        changes.push({
          attr: attrName(src, attr) ?? attrName(dst, attr) ?? attr,
          op: !want.length ? "delete" : !have.length ? "add" : "replace",
          values: want,
          before: have,
          secret: isSecret,
          binary: isBinary,
        });
      }
      if (changes.length) backupModifies.push({ mailbox, dn: dst.dn, changes });
    }
    for (const m of [...backup.byMailbox.keys()].sort()) {
      if (!prod.byMailbox.has(m)) onlyOnBackup.push(m);
    }
  }

  return {
    entries: prod.byMailbox.size,
    managed: [...managed].sort(),
    subscribe,
    orphan,
    unorphan,
    unsubscribe,
    pending,
    backupAdds,
    backupModifies,
    missingOnBackup,
    onlyOnBackup,
    duplicates,
    warnings,
  };
}

/** The attributes compared on a paired entry: the map (mailbox included) plus companions. */
export function syncedAttributes(a: AttributeMap, companions: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (
    const n of [a.mailbox, a.name, ...companions, a.email, a.classOfService, a.recordedName, a.pin]
  ) {
    if (seen.has(n.toLowerCase())) continue;
    seen.add(n.toLowerCase());
    out.push(n);
  }
  return out;
}

/** A change in words for reports and logs; never the value of a secret attribute. */
export function describeChange(c: AttrChange): string {
  if (c.secret) {
    return `${c.attr} ${
      c.op === "add" ? "set" : c.op === "delete" ? "removed" : "changed"
    } (value not shown)`;
  }
  if (c.binary) {
    const size = (v: AttrValue[]) =>
      v.length ? `${bytesOf(v[0]).length.toLocaleString("en-US")} bytes` : "none";
    return `${c.attr} ${size(c.before)} → ${size(c.values)}`;
  }
  const show = (v: AttrValue[]) =>
    v.length
      ? v.map((x) => JSON.stringify(clip(typeof x === "string" ? x : `(${x.length} bytes)`))).join(
        ", ",
      )
      : "none";
  return `${c.attr} ${show(c.before)} → ${show(c.values)}`;
}

/** Values of an attribute, found case-insensitively (LDAP attribute names are). */
export function getAttr(entry: DirEntry, name: string): AttrValue[] {
  const key = attrName(entry, name);
  return key === undefined ? [] : entry.attributes[key];
}

/** Whether two value lists hold the same values in any order (binary: byte for byte). */
export function sameValues(x: AttrValue[], y: AttrValue[], binary = false): boolean {
  if (x.length !== y.length) return false;
  if (x.length === 1) return sameValue(x[0], y[0], binary);
  const key = (v: AttrValue) =>
    typeof v === "string" && !binary ? `s${v}` : `b${bytesOf(v).toHex()}`;
  const xs = x.map(key).sort();
  const ys = y.map(key).sort();
  return xs.every((v, i) => v === ys[i]);
}

/** Lower-cased DN with the spaces around separators removed, for comparing. */
export function normalizeDn(dn: string): string {
  return splitDn(dn).map((r) => r.replace(/\s*=\s*/, "=").toLowerCase()).join(",");
}

/** Moves a DN from under one base to under another (same relative name). */
export function mapDn(dn: string, fromBase: string, toBase: string): string {
  const rdns = splitDn(dn);
  const base = splitDn(fromBase);
  const n = rdns.length - base.length;
  const under = n > 0 &&
    normalizeDn(rdns.slice(n).join(",")) === normalizeDn(base.join(","));
  // Outside the base (not returned by a subtree search, but be safe): keep only the first RDN.
  const relative = under ? rdns.slice(0, n) : rdns.slice(0, 1);
  return [...relative, ...splitDn(toBase)].join(",");
}

// ---- helpers ----

interface Indexed {
  byMailbox: Map<string, DirEntry[]>;
}

function indexEntries(
  entries: DirEntry[],
  mailboxAttr: string,
  opts: { side: string; baseDn?: string; warnings: string[]; quiet?: boolean },
): Indexed {
  const byMailbox = new Map<string, DirEntry[]>();
  const base = opts.baseDn === undefined ? undefined : normalizeDn(opts.baseDn);
  for (const e of entries) {
    const values = textValues(getAttr(e, mailboxAttr)).map((v) => v.trim()).filter(Boolean);
    if (!values.length) {
      // The base entry itself (an ou) is returned by a subtree search with a broad filter.
      if (!opts.quiet && normalizeDn(e.dn) !== base) {
        opts.warnings.push(`The ${opts.side} entry "${e.dn}" has no "${mailboxAttr}": skipped`);
      }
      continue;
    }
    const mailbox = values[0];
    if (values.length > 1) {
      opts.warnings.push(
        `The ${opts.side} entry "${e.dn}" has ${values.length} "${mailboxAttr}" values: skipped`,
      );
      continue;
    }
    if (!isMailboxId(mailbox)) {
      opts.warnings.push(
        `The ${opts.side} entry "${e.dn}" has an invalid mailbox number ${
          JSON.stringify(clip(mailbox))
        }: skipped`,
      );
      continue;
    }
    const list = byMailbox.get(mailbox);
    if (list) list.push(e);
    else byMailbox.set(mailbox, [e]);
  }
  return { byMailbox };
}

function attrName(entry: DirEntry, name: string): string | undefined {
  if (name in entry.attributes) return name;
  const lower = name.toLowerCase();
  return Object.keys(entry.attributes).find((k) => k.toLowerCase() === lower);
}

function copyAttributes(e: DirEntry): Record<string, AttrValue[]> {
  const out: Record<string, AttrValue[]> = {};
  for (const [k, v] of Object.entries(e.attributes)) if (v.length) out[k] = [...v];
  return out;
}

function isSecretName(name: string, secret: Set<string>): boolean {
  return secret.has(name.toLowerCase()) || /password/i.test(name);
}

function textValues(values: AttrValue[]): string[] {
  return values.map((v) => typeof v === "string" ? v : new TextDecoder().decode(v));
}

function hasText(values: AttrValue[], want: string): boolean {
  return textValues(values).some((v) => v.toLowerCase() === want.toLowerCase());
}

function sameValue(x: AttrValue, y: AttrValue, binary: boolean): boolean {
  if (typeof x === "string" && typeof y === "string" && !binary) return x === y;
  const a = bytesOf(x);
  const b = bytesOf(y);
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function bytesOf(v: AttrValue): Uint8Array {
  return typeof v === "string" ? new TextEncoder().encode(v) : v;
}

// Splits on commas not escaped with a backslash (RFC 4514).
function splitDn(dn: string): string[] {
  return dn.split(/(?<!\\),/).map((r) => r.trim()).filter(Boolean);
}

function firstRdn(dn: string): { attr: string; value: string } | null {
  const first = splitDn(dn)[0];
  const i = first?.indexOf("=") ?? -1;
  if (!first || i < 1 || first.includes("+")) return null;
  return { attr: first.slice(0, i).trim(), value: first.slice(i + 1).trim() };
}

function clip(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function cmp(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}
