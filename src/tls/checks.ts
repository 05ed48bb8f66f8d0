/**
 * @module tls/checks
 * The config check a gateway makes of its listeners' TLS files before it starts: every
 * certificate and key readable, PEM, and a pair, and the client CA readable, each problem
 * at the config line that names the file. Made when a gateway starts (and by `gatehouse
 * validate`), not on reloads: `gateway:` is static, and the certificate files have their
 * own watcher, which refuses a bad one while the previous keeps serving.
 */
import type { CheckContext } from "../config/load.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { PathProblem } from "../config/semantics.ts";
import { CertificateError, loadCertificate, readPem } from "./certificates.ts";

/** Problems with the TLS files `config`'s listeners name, located. */
export function tlsFileChecks(config: GatehouseConfig, { baseDir }: CheckContext): PathProblem[] {
  const problems: PathProblem[] = [];
  config.gateway.listen.forEach((listener, index) => {
    const tls = listener.tls;
    if (!tls) return;
    const at = ["gateway", "listen", index, "tls"];
    let ca: string | undefined;
    const client = tls.clientCertificate;
    if (client && client.mode !== "off") {
      try {
        ca = readPem(client.ca, baseDir, "client certificate authority");
      } catch (error) {
        problems.push({
          path: [...at, "clientCertificate", "ca"],
          message: (error as Error).message,
        });
      }
    }
    tls.certificates.forEach((source, position) => {
      try {
        loadCertificate(source, baseDir, { minVersion: tls.minVersion, ciphers: tls.ciphers, ca });
      } catch (error) {
        const field = error instanceof CertificateError ? error.field : "cert";
        problems.push({
          path: [...at, "certificates", position, field],
          message: (error as Error).message,
        });
      }
    });
  });
  return problems;
}
