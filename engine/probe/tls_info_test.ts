import assert from "node:assert/strict";
import { certFacts, certNames, judgeCertificate, parseCertDate, type TlsSeen } from "./tls_info.ts";

const NOW = new Date("2026-06-01T00:00:00Z");
const cert = {
  subject: { CN: "mss.example.com", O: "Example" },
  issuer: { CN: "Example CA" },
  valid_from: "Jan  1 00:00:00 2026 GMT",
  valid_to: "Jan  1 00:00:00 2028 GMT",
  subjectaltname: "DNS:mss.example.com, IP Address:10.0.0.5",
  fingerprint256: "AA:BB",
};
function seen(over: Partial<TlsSeen> = {}): TlsSeen {
  return {
    host: "mss.example.com",
    where: '"mss" (mss.example.com:993)',
    cert,
    authorizationError: null,
    nameOk: true,
    caFile: false,
    protocol: "TLSv1.3",
    ...over,
  };
}

Deno.test("judgeCertificate() shows subject, issuer and expiry of a good certificate", () => {
  const v = judgeCertificate(seen(), NOW);
  assert.equal(v.ok, true);
  assert.match(v.detail, /certificate for "mss\.example\.com", issued by "Example CA"/);
  assert.match(v.detail, /valid until 2028-01-01/);
  assert.doesNotMatch(v.detail, /warning/);
  assert.equal(v.info.subject, "CN=mss.example.com, O=Example");
  assert.equal(v.info.issuer, "CN=Example CA");
  assert.equal(v.info.validTo, "2028-01-01T00:00:00.000Z");
  assert.deepEqual(v.info.names, ["mss.example.com", "10.0.0.5"]);
});

Deno.test("judgeCertificate() warns, still ok, when fewer than 30 days are left", () => {
  const v = judgeCertificate(
    seen({ cert: { ...cert, valid_to: "Jun 13 00:00:00 2026 GMT" } }),
    NOW,
  );
  assert.equal(v.ok, true);
  assert.match(v.detail, /warning: it expires in 12 days, renew it soon/);
  assert.equal(v.info.daysLeft, 12);
});

Deno.test("judgeCertificate() reports an expired certificate by its date, not as untrusted", () => {
  // Under Deno an expired certificate comes with the "unverifiable" code.
  const v = judgeCertificate(
    seen({
      cert: { ...cert, valid_to: "Jan  1 00:00:00 2026 GMT" },
      authorizationError: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    }),
    NOW,
  );
  assert.equal(v.ok, false);
  assert.match(v.detail, /expired on 2026-01-01: renew it/);
  assert.doesNotMatch(v.detail, /does not trust/);
});

Deno.test("judgeCertificate() says an unknown CA is not trusted and points at caFile", () => {
  const v = judgeCertificate(seen({ authorizationError: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" }), NOW);
  assert.equal(v.ok, false);
  assert.match(
    v.detail,
    /signed by a CA this appliance does not trust \("Example CA"\) — set caFile to your CA/,
  );
  const withCa = judgeCertificate(
    seen({ authorizationError: "SELF_SIGNED_CERT_IN_CHAIN", caFile: true }),
    NOW,
  );
  assert.match(withCa.detail, /not the CA in caFile/);
});

Deno.test("judgeCertificate() names the certificate's names on a mismatch", () => {
  const v = judgeCertificate(
    seen({ host: "10.0.0.6", nameOk: false, authorizationError: "ERR_TLS_CERT_ALTNAME_INVALID" }),
    NOW,
  );
  assert.equal(v.ok, false);
  assert.match(v.detail, /issued for mss\.example\.com, 10\.0\.0\.5, not for host "10\.0\.0\.6"/);
  assert.doesNotMatch(v.detail, /not accepted/);
});

Deno.test("judgeCertificate() lists every problem and names the server", () => {
  const v = judgeCertificate(
    seen({ nameOk: false, authorizationError: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY" }),
    NOW,
  );
  assert.match(v.detail, /^"mss" \(mss\.example\.com:993\): /);
  assert.match(v.detail, /does not trust.*; the certificate is issued for/);
});

Deno.test("judgeCertificate() flags a certificate from the future (a wrong clock)", () => {
  const v = judgeCertificate(
    seen({ cert: { ...cert, valid_from: "Jan  1 00:00:00 2027 GMT" } }),
    NOW,
  );
  assert.equal(v.ok, false);
  assert.match(v.detail, /not valid before 2027-01-01 \(is this appliance's clock right\?\)/);
});

Deno.test("certNames() and parseCertDate() read node:tls's text forms", () => {
  assert.deepEqual(certNames({ subjectaltname: "DNS:a.example, DNS:b.example, IP Address:::1" }), [
    "a.example",
    "b.example",
    "::1",
  ]);
  assert.deepEqual(certNames({ subject: { CN: "only-cn" } }), ["only-cn"]);
  assert.equal(
    parseCertDate("Mar  6 10:46:40 2029 GMT")?.toISOString(),
    "2029-03-06T10:46:40.000Z",
  );
  assert.equal(parseCertDate("garbage"), null);
  assert.equal(certFacts({}, NOW).validTo, null);
});
