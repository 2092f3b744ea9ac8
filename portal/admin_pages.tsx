/**
 * The administrator's page sections: the audit log and the failed-login lockouts.
 * @module
 */
import type { AuditEntry } from "../engine/state/mod.ts";
import { When } from "./time.tsx";
import type { ThrottleKind, ThrottleListing } from "./login_throttle.ts";

/** The audit log, newest first; secrets in details are left out. */
export function AuditSection(p: { entries: AuditEntry[] }) {
  return (
    <>
      <h1>Audit log</h1>
      <p>The newest {p.entries.length} entries, newest first.</p>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">From</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {p.entries.map((e, i) => (
              <tr key={i}>
                <td>
                  <When iso={e.at} />
                </td>
                <td>{e.actor}</td>
                <td>{e.action}</td>
                <td>{e.from ?? ""}</td>
                <td class="detail">{e.detail ? <Detail detail={e.detail} /> : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

// A settings change reads as "path: old → new", one line each.
function Detail(p: { detail: Record<string, unknown> }) {
  const { changes, ...rest } = p.detail;
  const list = Array.isArray(changes)
    ? (changes as { path?: unknown; from?: unknown; to?: unknown }[])
    : null;
  return (
    <>
      {describeDetail(list ? rest : p.detail)}
      {list && (
        <ul class="changes">
          {list.map((ch, i) => (
            <li key={i}>
              <code>{String(ch.path)}</code>: {show(ch.from)} → {show(ch.to)}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function show(v: unknown): string {
  if (v === undefined || v === null) return "(none)";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function describeDetail(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .filter(([k]) => !/pass|pin|secret|token/i.test(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
}

const KIND_LABEL: Record<ThrottleKind, string> = {
  mailbox: "Mailbox",
  address: "Client address",
  admin: "Administrator",
};

/**
 * The failed-login counters, each with a clear button: an account's failures from one address
 * (a lock there leaves every other address free), and an address's across all accounts.
 */
export function LockoutSection(
  p: { records: ThrottleListing[]; csrf: string; cleared: boolean },
) {
  return (
    <>
      <h1>Failed logins and lockouts</h1>
      {p.cleared && <p class="ok" role="status">Cleared.</p>}
      <p>
        A lock applies only to the address that failed; an address failing on many accounts is
        counted on its own. Logins on the server itself (loopback) are never locked.
      </p>
      {p.records.length === 0
        ? <p>No failed logins are being counted.</p>
        : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col">Account</th>
                  <th scope="col">From</th>
                  <th scope="col">Failures</th>
                  <th scope="col">Last failure (UTC)</th>
                  <th scope="col">State</th>
                  <th scope="col">Action</th>
                </tr>
              </thead>
              <tbody>
                {p.records.map((r) => {
                  const who = `${r.account ?? "all accounts"} from ${r.address ?? "any address"}`;
                  return (
                    <tr key={`${r.kind}:${r.id}`}>
                      <td>{KIND_LABEL[r.kind]}</td>
                      <th scope="row">{r.account ?? "All accounts"}</th>
                      <td>{r.address ?? "Any address"}</td>
                      <td>{r.failures}</td>
                      <td>
                        <When iso={r.lastAt} />
                      </td>
                      <td class={r.locked ? "bad" : ""}>
                        {r.locked
                          ? (
                            <>
                              Locked until <When iso={r.lockedUntil} />
                            </>
                          )
                          : "Counting"}
                      </td>
                      <td>
                        <form method="post" action="/admin/lockouts/clear">
                          <input type="hidden" name="_csrf" value={p.csrf} />
                          <input type="hidden" name="kind" value={r.kind} />
                          <input type="hidden" name="id" value={r.id} />
                          <button type="submit" aria-label={`Clear ${who}`}>Clear</button>
                        </form>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
    </>
  );
}
