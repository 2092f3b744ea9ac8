/**
 * The audit trail: who did what, when, from where — every login, play, forward, settings change
 * and admin action. Keyed by time, so a range of dates is one range read.
 * @module
 */
import { keys } from "./keys.ts";
import { listValues, type State } from "./kv.ts";

/** Who did what, when, from where. */
export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  detail?: Record<string, unknown>;
  from?: string;
}

/** Writes one audit entry. */
export async function audit(state: State, entry: Omit<AuditEntry, "at"> & { at?: string }) {
  const at = entry.at ?? new Date().toISOString();
  await state.kv.set(keys.audit(at, crypto.randomUUID()), { ...entry, at });
}

/** Audit entries, newest first. */
export async function listAudit(state: State, limit = 100): Promise<AuditEntry[]> {
  return await listValues<AuditEntry>(state, keys.audits(), { reverse: true, limit });
}

