/**
 * The last check of each configured server (written by the monitor, read by the dashboard,
 * `/readyz` and `/metrics`).
 * @module
 */
import { listValues, type State } from "./kv.ts";

/** Which configured server a check is of. */
export type ServerRole = "source" | "target" | "ldap-source" | "ldap-target" | "smtp";

/** The newest check of one server. */
export interface ServerHealth {
  role: ServerRole;
  /** The server's name as configured (or host:port). */
  name: string;
  up: boolean;
  checkedAt: string;
  /** How long the check took (connect + login), null when it failed before an answer. */
  latencyMs: number | null;
  /** Since when it has been down (null while up). */
  downSince: string | null;
  /** In words: what answered, or which layer failed. */
  detail: string;
  /** When its TLS certificate expires, when it has one. */
  certificateExpiresAt?: string | null;
}

const PREFIX = ["health"] as const;

/** Stores a server's newest check. */
export async function putServerHealth(state: State, h: ServerHealth): Promise<void> {
  await state.kv.set([...PREFIX, h.role], h);
}

/** The newest check of every server checked so far. */
export async function listServerHealth(state: State): Promise<ServerHealth[]> {
  return await listValues<ServerHealth>(state, [...PREFIX]);
}

/** Forgets a server's checks (it is no longer configured). */
export async function deleteServerHealth(state: State, role: ServerRole): Promise<void> {
  await state.kv.delete([...PREFIX, role]);
}
