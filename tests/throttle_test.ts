/**
 * Fair login throttling through the portal app, with several client addresses: a lock bars the
 * address that failed, not the account's owner elsewhere; a sprayer is throttled by address; the
 * admin on loopback is only ever delayed; `X-Forwarded-For` counts only from a trusted proxy.
 * Wrong PINs that are not digits are refused without asking a server; right PINs are checked
 * on the lab's backup MSS (read-only logins: no mailbox is changed).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeState, listAudit, openState } from "../engine/state/mod.ts";
import { createApp } from "../portal/app.tsx";
import { PortalClient } from "../portal/test_util.ts";
import { lab, labConfig, tempDir } from "./test_utils/mod.ts";

const LIMITS = {
  mailbox: { maxFailures: 3, windowMinutes: 15, lockMinutes: 15, delayAfter: 3 },
  address: { maxFailures: 6, windowMinutes: 15, lockMinutes: 15, delayAfter: 6 },
  admin: { maxFailures: 3, windowMinutes: 15, lockMinutes: 15, delayAfter: 2 },
};
const ADMIN_PASSWORD = "lab-admin-pw-throttle";
const PROXY = "10.9.0.1";

function pinOf(mailbox: string): string {
  return lab().mailboxes.find((m) => m.mailbox === mailbox)!.pin;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function status(res: Promise<Response>): Promise<number> {
  const r = await res;
  await r.body?.cancel();
  return r.status;
}

Deno.test({
  name: "throttle: per account and address, sprayers, loopback admin, trusted proxies",
  async fn(t) {
    await using dir = await tempDir("throttle");
    await Deno.writeTextFile(join(dir.path, "admin.pw"), `${ADMIN_PASSWORD}\n`);
    const config = await labConfig(dir.path, (raw) => {
      raw.portal = {
        ...(raw.portal as object),
        adminPasswordFile: join(dir.path, "admin.pw"),
        trustedProxies: ["10.9.0.0/16", "2001:db8:9::/48"],
      };
    });
    const state = await openState(join(dir.path, "state.kv"));
    try {
      const app = createApp({ config, state, limits: LIMITS, adminIterations: 1000 });
      const client = (from: string) => new PortalClient(app, { from });

      await t.step("three wrong PINs from A lock A out; the owner on B signs in", async () => {
        const a = client("192.0.2.10");
        for (let i = 0; i < 3; i++) assert.equal(await status(a.login("4001", "x")), 401);
        const locked = await a.login("4001", pinOf("4001"));
        assert.equal(locked.status, 429);
        const retry = Number(locked.headers.get("retry-after"));
        assert.ok(retry > 14 * 60 && retry <= 15 * 60, `Retry-After ${retry}`);
        assert.match(await locked.text(), /Too many failed attempts from your address/);
        // The right person elsewhere is not held back.
        assert.equal(await status(client("198.51.100.4").login("4001", pinOf("4001"))), 303);
        // A itself may still use another mailbox.
        assert.equal(await status(a.login("4002", pinOf("4002"))), 303);
      });

      await t.step("the admin sees the pair and clears it", async () => {
        const admin = client("127.0.0.1");
        assert.equal(await status(admin.adminLogin("admin", ADMIN_PASSWORD)), 303);
        const { html } = await admin.page("/admin/lockouts");
        assert.match(html, /4001<\/th>\s*<td>192\.0\.2\.10<\/td>.*?Locked until/s);
        assert.match(html, /name="id" value="4001@192\.0\.2\.10"/);
        const cleared = admin.post("/admin/lockouts/clear", {
          kind: "mailbox",
          id: "4001@192.0.2.10",
        });
        assert.equal(await status(cleared), 303);
        assert.equal(await status(client("192.0.2.10").login("4001", pinOf("4001"))), 303);
      });

      await t.step("an address spraying many mailboxes is throttled by address", async () => {
        const s = client("203.0.113.66");
        for (let i = 0; i < 6; i++) {
          assert.equal(await status(s.login(String(4003 + i), "x")), 401);
        }
        const res = await s.login("4010", pinOf("4010"));
        assert.equal(res.status, 429);
        assert.ok(Number(res.headers.get("retry-after")) > 60);
        await res.body?.cancel();
        // A neighbour on another address is unaffected.
        assert.equal(await status(client("203.0.113.67").login("4010", pinOf("4010"))), 303);
        const actions = (await listAudit(state, 3)).map((e) => [e.action, e.from]);
        assert.deepEqual(actions[0], ["login", "203.0.113.67"]);
        assert.deepEqual(actions[1], ["login-locked", "203.0.113.66"]);
      });

      await t.step("a stranger's admin failures never lock the admin out elsewhere", async () => {
        const stranger = client("198.51.100.9");
        for (let i = 0; i < 2; i++) {
          assert.equal(await status(stranger.adminLogin("admin", "wrong")), 401);
        }
        // From the second failure on, the next attempt must wait (1 s).
        const wait = await stranger.adminLogin("admin", "wrong");
        assert.equal(wait.status, 429);
        assert.equal(wait.headers.get("retry-after"), "1");
        assert.match(await wait.text(), /Wait 1 second, then try again/);
        await sleep(1100);
        assert.equal(await status(stranger.adminLogin("admin", "wrong")), 401);
        assert.equal(await status(stranger.adminLogin("admin", ADMIN_PASSWORD)), 429);
        assert.equal(await status(client("192.0.2.77").adminLogin("admin", ADMIN_PASSWORD)), 303);
        const audit = (await listAudit(state, 2)).map((e) => e.action);
        assert.deepEqual(audit, ["admin-login", "admin-login-locked"]);
      });

      await t.step("loopback admin is delayed, never locked", async () => {
        const local = client("::1");
        for (let i = 0; i < 2; i++) {
          assert.equal(await status(local.adminLogin("admin", "wrong")), 401);
        }
        await sleep(1100);
        // The third failure, where a stranger is locked out.
        assert.equal(await status(local.adminLogin("admin", "wrong")), 401);
        const wait = await local.adminLogin("admin", ADMIN_PASSWORD);
        assert.equal(wait.status, 429);
        assert.equal(wait.headers.get("retry-after"), "2");
        await wait.body?.cancel();
        await sleep(2100);
        assert.equal(await status(local.adminLogin("admin", ADMIN_PASSWORD)), 303);
      });
    } finally {
      closeState(state);
    }
  },
});

Deno.test({
  name: "throttle: X-Forwarded-For is believed from a trusted proxy only",
  async fn(t) {
    await using dir = await tempDir("throttle-xff");
    await Deno.writeTextFile(join(dir.path, "admin.pw"), `${ADMIN_PASSWORD}\n`);
    const config = await labConfig(dir.path, (raw) => {
      raw.portal = {
        ...(raw.portal as object),
        adminPasswordFile: join(dir.path, "admin.pw"),
        trustedProxies: ["10.9.0.0/16"],
      };
    });
    const state = await openState(join(dir.path, "state.kv"));
    try {
      const app = createApp({ config, state, limits: LIMITS, adminIterations: 1000 });
      const viaProxy = new PortalClient(app, { from: PROXY });
      const adminVia = async (client: PortalClient, password: string, xff: string) => {
        await client.page("/admin/login");
        return await status(
          client.post("/admin/login", { user: "admin", password }, { "x-forwarded-for": xff }),
        );
      };

      await t.step("clients behind the proxy are told apart", async () => {
        // Spoofed entries left of the proxy's own are ignored: the client is 198.51.100.20.
        for (let i = 0; i < 2; i++) {
          assert.equal(await adminVia(viaProxy, "wrong", `6.6.6.${i}, 198.51.100.20`), 401);
        }
        assert.equal(await adminVia(viaProxy, ADMIN_PASSWORD, "198.51.100.20"), 429);
        assert.equal(await adminVia(viaProxy, ADMIN_PASSWORD, "198.51.100.21, 10.9.0.2"), 303);
        const audit = await listAudit(state, 3);
        assert.deepEqual(audit.map((e) => e.from), [
          "198.51.100.21",
          "198.51.100.20",
          "198.51.100.20",
        ]);
      });

      await t.step("from an untrusted peer the header is ignored", async () => {
        const spoofer = new PortalClient(app, { from: "203.0.113.9" });
        for (let i = 0; i < 2; i++) {
          assert.equal(await adminVia(spoofer, "wrong", `198.51.100.${100 + i}`), 401);
        }
        // Changing the header does not make a fresh client.
        assert.equal(await adminVia(spoofer, "wrong", "198.51.100.200"), 429);
        // Nor can it frame the client it names: 198.51.100.21 behind the proxy is still free.
        assert.equal(await adminVia(viaProxy, ADMIN_PASSWORD, "198.51.100.21"), 303);
        const audit = await listAudit(state, 4);
        assert.ok(audit.slice(1).every((e) => e.from === "203.0.113.9"));
      });
    } finally {
      closeState(state);
    }
  },
});
