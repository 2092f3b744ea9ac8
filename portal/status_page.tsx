/**
 * The admin's sync health page, rendered on the server.
 * @module
 */
import type { MailboxResult, RunRecord, Subscription } from "../engine/state.ts";

/** Props of {@link StatusPage}. */
export interface StatusPageProps {
  version: string;
  subscriptions: Subscription[];
  results: MailboxResult[];
  runs: RunRecord[];
  configured: boolean;
}

/** Sync health: one row per mailbox, the recent passes. */
export function StatusPage(p: StatusPageProps) {
  const byMailbox = new Map(p.results.map((r) => [r.mailbox, r]));
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>vmirror — sync status</title>
        <style>
          {`body{font:16px/1.4 system-ui,sans-serif;margin:1rem auto;max-width:60rem;padding:0 1rem;color:#111}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ccc}
.bad{color:#a00;font-weight:600}.ok{color:#060}`}
        </style>
      </head>
      <body>
        <h1>vmirror {p.version}</h1>
        {!p.configured && <p class="bad">No source or target is configured: the mirror is idle.</p>}
        <h2>Mailboxes ({p.subscriptions.length})</h2>
        <table>
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
                  <td>{s.mailbox}</td>
                  <td class={r ? (r.ok ? "ok" : "bad") : ""}>
                    {r ? (r.ok ? "ok" : "failed") : "never synced"}
                  </td>
                  <td>{r?.finishedAt ?? ""}</td>
                  <td>{r?.copied ?? ""}</td>
                  <td>{r?.deleted ?? ""}</td>
                  <td>{r?.error?.message ?? ""}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <h2>Recent passes</h2>
        <ul>
          {p.runs.map((r) => (
            <li key={r.id}>
              {r.startedAt}: {r.mailboxes} mailbox(es), {r.failed} failed, {r.copied} copied,{" "}
              {r.deleted} deleted
            </li>
          ))}
        </ul>
      </body>
    </html>
  );
}
