/**
 * @module tls/client-certificate
 * The certificate a client showed on a TLS listener that asks for one
 * (`tls.clientCertificate`), as plugins read it: whether it verified against the
 * listener's CA, its subject, and the names it carries.
 */
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";

/** A client's certificate. */
export interface ClientCertificate {
  /** It chains to the listener's `clientCertificate.ca` and is within its validity. */
  readonly verified: boolean;
  /** The subject, `CN=app, O=Shop`. */
  readonly subject: string;
  readonly commonName: string | undefined;
  /** Its subject alternative names: DNS names, URIs (`spiffe://…`) and email addresses. */
  readonly names: readonly string[];
  /** SHA-256 fingerprint, colon-separated hex as OpenSSL prints it. */
  readonly fingerprint256: string;
}

/** The certificate the client of `socket` showed; undefined without TLS or without one. */
export function clientCertificateOf(socket: Socket): ClientCertificate | undefined {
  const tls = socket as TLSSocket;
  if (!tls.encrypted) return undefined;
  const peer = tls.getPeerCertificate();
  if (!peer?.fingerprint256) return undefined;
  const subject = peer.subject ?? {};
  const names = (peer.subjectaltname ?? "")
    .split(", ")
    .map((entry) => /^(?:DNS|URI|email):(.*)$/.exec(entry)?.[1])
    .filter((name): name is string => name !== undefined && name !== "");
  return {
    verified: tls.authorized,
    subject: Object.entries(subject)
      .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join("+") : value}`)
      .join(", "),
    commonName: typeof subject.CN === "string" ? subject.CN : undefined,
    names,
    fingerprint256: peer.fingerprint256,
  };
}
