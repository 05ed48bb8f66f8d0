/**
 * @module tls/sni
 * Which certificate a handshake gets for the server name its client sent (SNI): the one
 * whose names hold it exactly, else the one with a wildcard for its parent domain
 * (`*.example.com` serves `api.example.com`, not `example.com` nor `a.b.example.com`),
 * else the default (the first configured). Two map lookups, whatever the certificate count.
 */
import type { SecureContext } from "node:tls";
import type { LoadedCertificate } from "./certificates.ts";

/** The certificates of one listener, by name. */
export class CertificateTable {
  readonly #exact = new Map<string, SecureContext>();
  /** By the domain a `*.` name covers (`example.com` for `*.example.com`). */
  readonly #wildcard = new Map<string, SecureContext>();
  readonly default: SecureContext;

  /** `certificates` in configured order: the first is the default; an earlier one wins a name. */
  constructor(certificates: readonly LoadedCertificate[]) {
    this.default = certificates[0]!.context;
    for (const certificate of certificates) {
      for (const name of certificate.names) {
        const table = name.startsWith("*.") ? this.#wildcard : this.#exact;
        const key = name.startsWith("*.") ? name.slice(2) : name;
        if (!table.has(key)) table.set(key, certificate.context);
      }
    }
  }

  /** The context for a client's server name (none sent: the default). */
  select(servername: string | undefined): SecureContext {
    if (!servername) return this.default;
    const name = servername.toLowerCase().replace(/\.$/, "");
    const exact = this.#exact.get(name);
    if (exact) return exact;
    const dot = name.indexOf(".");
    return (dot > 0 && this.#wildcard.get(name.slice(dot + 1))) || this.default;
  }
}
