/**
 * The lab's own CA and a server certificate for `localhost` / 127.0.0.1, made with openssl.
 * @module
 */

import type { LabLayout } from "./paths.ts";
import { exists, run, writeText } from "./util.ts";

/** Creates `tls/ca.pem`, `tls/server.pem` and `tls/server.key` unless they exist. */
export async function ensureTls(layout: LabLayout): Promise<void> {
  if (exists(layout.caFile) && exists(layout.certFile) && exists(layout.keyFile)) return;
  Deno.mkdirSync(layout.tlsDir, { recursive: true });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    layout.caKeyFile,
    "-out",
    layout.caFile,
    "-days",
    "3650",
    "-subj",
    "/CN=vmirror lab CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  const csr = `${layout.tlsDir}/server.csr`;
  await run("openssl", [
    "req",
    ...ec,
    "-keyout",
    layout.keyFile,
    "-out",
    csr,
    "-subj",
    "/CN=localhost",
  ]);
  const ext = `${layout.tlsDir}/server.ext`;
  writeText(
    ext,
    [
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "",
    ].join("\n"),
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    layout.caFile,
    "-CAkey",
    layout.caKeyFile,
    "-CAcreateserial",
    "-out",
    layout.certFile,
    "-days",
    "825",
    "-extfile",
    ext,
  ]);
  Deno.chmodSync(layout.keyFile, 0o600);
  Deno.chmodSync(layout.caKeyFile, 0o600);
  Deno.chmodSync(layout.caFile, 0o644);
  Deno.chmodSync(layout.certFile, 0o644);
}
