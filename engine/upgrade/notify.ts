/**
 * Saying why an upgrade or rollback failed, beyond the console: an audit entry in the state
 * store and an alert mail to `alerts.to` through the configured relay (skipped quietly when
 * either is not configured).
 * @module
 */
import type { Config } from "../config/mod.ts";
import { sendMail } from "../mail/mod.ts";
import { audit, closeState, openState } from "../state/mod.ts";
import { redact } from "../support/mod.ts";
import { matchOwner, storePath } from "./backups.ts";

/** What went wrong, and where the appliance stands now. */
export interface FailureNote {
  action: "upgrade" | "rollback";
  from: string;
  to: string;
  stage: string;
  reason: string;
  /** Whether the service had been stopped (else the release that served never stopped). */
  stopped: boolean;
  /** Whether the release that served before serves again. */
  restored: boolean;
  /** Why it does not, when it does not. */
  revertError?: string;
  backup?: string;
}

/** The audit action of a failed switch. */
export function failureAction(action: "upgrade" | "rollback"): string {
  return action === "upgrade" ? "upgrade-rolled-back" : "rollback-failed";
}

/** Records the failure in the audit trail (actor "cli" unless named); returns why it could not. */
export async function auditFailure(
  dataDir: string,
  note: FailureNote,
  actor = "cli",
): Promise<string | null> {
  return await auditOutcome(dataDir, {
    actor,
    action: failureAction(note.action),
    detail: {
      from: note.from,
      to: note.to,
      stage: note.stage,
      reason: redact(note.reason),
      stopped: note.stopped,
      restored: note.restored,
      ...(note.revertError ? { revertError: redact(note.revertError) } : {}),
      ...(note.backup ? { backup: note.backup } : {}),
    },
  });
}

/** Writes one audit entry of a switch's outcome; returns why it could not, if so. */
export async function auditOutcome(
  dataDir: string,
  entry: { actor: string; action: string; detail: Record<string, unknown> },
): Promise<string | null> {
  try {
    const state = await openState(storePath(dataDir));
    try {
      await audit(state, entry);
    } finally {
      closeState(state);
    }
    await matchOwner(dataDir);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The alert mail's subject and text. */
export function failureMail(note: FailureNote, host: string): { subject: string; text: string } {
  const what = note.action === "upgrade" ? `upgrade to ${note.to}` : `rollback to ${note.to}`;
  const subject = !note.stopped
    ? `vmirror on ${host}: the ${what} failed; ${note.from} kept serving`
    : note.restored
    ? `vmirror on ${host}: the ${what} failed; ${note.from} is serving again`
    : `vmirror on ${host}: the ${what} failed and ${note.from} did not come back`;
  const text = [
    `The ${what} on ${host} failed at "${note.stage}":`,
    redact(note.reason),
    "",
    !note.stopped
      ? `Nothing was changed: vmirror ${note.from} kept serving.`
      : note.restored
      ? `vmirror ${note.from} was put back and is serving again.`
      : `vmirror ${note.from} was put back but is not serving: ${
        redact(note.revertError ?? "unknown")
      }`,
    note.backup ? `The state taken before the switch is in ${note.backup}.` : "",
    "",
    `At ${new Date().toISOString()}. The audit log has this as "${failureAction(note.action)}".`,
  ].filter((l, i, all) => l !== "" || all[i - 1] !== "").join("\n") + "\n";
  return { subject, text };
}

/** Mails the failure to every `alerts.to` address; returns the problems (none when skipped). */
export async function mailFailure(config: Config, note: FailureNote): Promise<string[]> {
  if (!config.smtp || !config.alerts.to.length) return [];
  const mail = failureMail(note, hostname());
  const problems: string[] = [];
  for (const to of config.alerts.to) {
    try {
      await sendMail(config.smtp, { to, ...mail });
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return problems;
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "this server";
  }
}
