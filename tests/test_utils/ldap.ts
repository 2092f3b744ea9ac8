/**
 * The lab's LDAP directories from a test: an admin session, a snapshot of every entry, and
 * putting a directory back as a snapshot had it — for tests whose directory passes write to the
 * backup directory, which later tests expect as the lab seeded it.
 * @module
 */
import {
  addEntry,
  closeLdap,
  deleteEntry,
  type DirEntry,
  getAttr,
  type LdapSession,
  openLdap,
  sameValues,
  searchEntries,
} from "../../engine/directory/mod.ts";
import { lab } from "./lab.ts";

/** Which of the lab's two directories. */
export type DirectorySide = "prod" | "backup";
const BINARY = ["vmPin", "vmRecordedName"];

/** The lab directory's own admin (root DN) session. */
export async function ldapAdmin(side: DirectorySide): Promise<LdapSession> {
  const l = lab().ldap[side];
  return await openLdap({
    url: l.url,
    bindDn: l.adminDn,
    bindPassword: l.adminPassword,
    baseDn: l.baseDn,
    filter: "(objectClass=*)",
    startTls: false,
    pageSize: 500,
    timeoutSeconds: 30,
  }, { binaryAttributes: BINARY });
}

/** Every entry under the directory's base DN, by lower-cased DN. */
export async function snapshotDirectory(side: DirectorySide): Promise<Map<string, DirEntry>> {
  const s = await ldapAdmin(side);
  try {
    const entries = await searchEntries(s, lab().ldap[side].baseDn, {
      filter: "(objectClass=*)",
      pageSize: 500,
    });
    return new Map(entries.map((e) => [e.dn.toLowerCase(), e]));
  } finally {
    await closeLdap(s);
  }
}

function sameEntry(a: DirEntry, b: DirEntry): boolean {
  const keys = (e: DirEntry) => Object.keys(e.attributes).map((k) => k.toLowerCase()).sort();
  if (keys(a).join() !== keys(b).join()) return false;
  return keys(a).every((k) =>
    sameValues(getAttr(a, k), getAttr(b, k), BINARY.some((x) => x.toLowerCase() === k))
  );
}

/** Puts a directory back as the snapshot had it (tests that let a directory pass write). */
export async function restoreDirectory(
  side: DirectorySide,
  snap: Map<string, DirEntry>,
): Promise<void> {
  const now = await snapshotDirectory(side);
  const s = await ldapAdmin(side);
  try {
    for (const [dn, e] of now) {
      const want = snap.get(dn);
      if (want && sameEntry(want, e)) continue;
      await deleteEntry(s, e.dn);
      if (want) await addEntry(s, want.dn, want.attributes);
    }
    for (const [dn, e] of snap) if (!now.has(dn)) await addEntry(s, e.dn, e.attributes);
  } finally {
    await closeLdap(s);
  }
}
