import assert from "node:assert/strict";
import { join } from "node:path";
import {
  isSealed,
  loadKey,
  seal,
  sealSecrets,
  SecretError,
  unseal,
  unsealSecrets,
} from "./secrets.ts";

Deno.test("sealSecrets() hides every password in settings and unsealSecrets() restores them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const key = await loadKey(dir);
    const settings = {
      source: { host: "mss1", trustedPassword: "s3cret pass", trustedPasswordFile: "/x" },
      smtp: { user: "relay", password: "hunter2" },
      portal: { listen: "127.0.0.1:8080" },
    };
    const sealed = await sealSecrets(key, settings) as typeof settings;
    const text = JSON.stringify(sealed);
    assert.ok(!text.includes("s3cret") && !text.includes("hunter2"), text);
    assert.ok(isSealed(sealed.smtp.password));
    assert.equal(sealed.source.trustedPasswordFile, "/x");
    assert.deepEqual(await unsealSecrets(key, sealed), settings);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadKey() creates a 0600 key once and reuses it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const k1 = await loadKey(dir);
    const sealed = await seal(k1, "pin 1234");
    const k2 = await loadKey(dir);
    assert.equal(await unseal(k2, sealed), "pin 1234");
    const mode = (await Deno.stat(join(dir, "secret.key"))).mode! & 0o777;
    assert.equal(mode, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unseal() refuses a value sealed with another key", async () => {
  const [a, b] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const sealed = await seal(await loadKey(a), "x");
    await assert.rejects(() => unseal(null as unknown as CryptoKey, sealed));
    await assert.rejects(async () => unseal(await loadKey(b), sealed), SecretError);
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});
