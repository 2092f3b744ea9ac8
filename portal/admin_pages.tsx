/**
 * The administrator's page sections: the failed-login lockouts (the audit log is
 * admin_audit.tsx).
 * @module
 */
import { When } from "./time.tsx";
import type { ThrottleKind, ThrottleListing } from "./login_throttle.ts";

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
