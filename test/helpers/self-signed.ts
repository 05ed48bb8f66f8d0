/**
 * @module test/helpers/self-signed
 * A self-signed certificate for TLS servers in tests, made by openssl at run time.
 */
import { execFileSync } from "node:child_process";

/** A certificate for localhost and 127.0.0.1, made by openssl for this run. */
export function selfSignedCertificate(): { key: string; cert: string } {
  let pem: string;
  try {
    pem = execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-days",
        "1",
        "-keyout",
        "-",
        "-out",
        "-",
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
  } catch (error) {
    throw new Error(
      `this test needs openssl on PATH (apt-get install openssl): ${(error as Error).message}`,
    );
  }
  const key = pem.match(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/)![0];
  const cert = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/)![0];
  return { key, cert };
}
