/**
 * The admin's sync health, rendered on the server.
 * @module
 */
import { When } from "./time.tsx";
import type { HeldDeletions, MailboxResult, RunRecord, Subscription } from "../engine/state/mod.ts";

/** Props of {@link StatusSection}. */
export interface StatusPageProps {
  version: string;
  subscriptions: Subscription[];
  results: MailboxResult[];
  runs: RunRecord[];
  /** Deletions the mass-deletion guard holds back. */
  held: HeldDeletions[];
  configured: boolean;
}

/** Sync health: one row per mailbox, the recent passes. */
export function StatusSection(p: StatusPageProps) {
  const byMailbox = new Map(p.results.map((r) => [r.mailbox, r]));
  return (
    <>
      <h1>Sync status</h1>
      <p>vmirror {p.version}</p>
      {!p.configured && <p class="bad">No source or target is configured: the mirror is idle.</p>}
      {p.held.length > 0 && (
        <>
          <h2 id="held">Deletions held ({p.held.length})</h2>
          <p class="bad">
            Production no longer has these messages, in numbers that look like an accident: the
            mirror keeps its copies until they are released (<code>vmirror release-deletions</code>)
            or production stays so for the guard's hold time.
          </p>
          <ul aria-labelledby="held">
            {p.held.map((h) => (
              <li key={h.mailbox}>
                {h.mailbox}: {h.count} of {h.mirrored} mirrored message(s){" "}
                {h.reason === "mailbox" ? "of the mailbox" : "in the whole mirror"}, since{" "}
                <When iso={h.since} />
                {h.released ? ` (released by ${h.released.by})` : ""}
              </li>
            ))}
          </ul>
        </>
      )}
      <h2 id="mailboxes">Mailboxes ({p.subscriptions.length})</h2>
      <div class="table-wrap">
        <table aria-labelledby="mailboxes">
          <thead>
            <tr>
              <th scope="col">Mailbox</th>
              <th scope="col">State</th>
              <th scope="col">Last pass</th>
              <th scope="col">Copied</th>
              <th scope="col">Deleted</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {p.subscriptions.map((s) => {
              const r = byMailbox.get(s.mailbox);
              return (
                <tr key={s.mailbox}>
                  <th scope="row">{s.mailbox}</th>
                  <td class={r ? (r.ok ? "good" : "bad") : ""}>
                    {r ? (r.ok ? "ok" : "failed") : "never synced"}
                  </td>
                  <td>{r?.finishedAt ? <When iso={r.finishedAt} /> : ""}</td>
                  <td>{r?.copied ?? ""}</td>
                  <td>{r?.deleted ?? ""}{r?.held ? ` (held ${r.held})` : ""}</td>
                  <td>{r?.error?.message ?? ""}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <h2>Recent passes</h2>
      {p.runs.length === 0 ? <p>No passes yet.</p> : (
        <ul>
          {p.runs.map((r) => (
            <li key={r.id}>
              <When iso={r.startedAt} />: {r.mailboxes} mailbox(es), {r.failed} failed, {r.copied}
              {" "}
              copied, {r.deleted} deleted
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
