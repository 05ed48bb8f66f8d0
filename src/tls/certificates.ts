/**
 * @module tls/certificates
 * One configured certificate, loaded: its PEM read (from a file relative to the config
 * file, or given as text), its key checked against it, the names it serves (subject
 * alternative names, else the common name), when it expires, and its secure context,
 * built once (building contexts is costly under OpenSSL 3, so handshakes never do it).
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { createSecureContext, type SecureContext } from "node:tls";

/** A certificate as the config gives it. */
export interface CertificateSource {
  cert: string;
  key: string;
}

/** A certificate ready to serve. */
export interface LoadedCertificate {
  /** The DNS names it serves, lower case; `*.example.com` for a wildcard. */
  names: string[];
  /** The leaf's subject, as OpenSSL prints it, for logs and metrics. */
  subject: string;
  notAfter: Date;
  context: SecureContext;
  /** The PEM texts, for a server's default context (`setSecureContext`). */
  pem: { cert: string; key: string };
  /** The files it was read from (absolute), watched for changes; none for PEM text. */
  files: string[];
}

/** A certificate that does not load, and which of its two fields is at fault. */
export class CertificateError extends Error {
  readonly field: "cert" | "key";
  constructor(field: "cert" | "key", message: string) {
    super(message);
    this.field = field;
  }
}

/** Whether a configured value is PEM text rather than a file name. */
export function isPemText(value: string): boolean {
  return value.trimStart().startsWith("-----BEGIN ");
}

/** The absolute path of a configured file, or undefined for PEM text. */
export function pemFile(value: string, baseDir: string): string | undefined {
  if (isPemText(value)) return undefined;
  return isAbsolute(value) ? value : resolve(baseDir, value);
}

/** Reads a configured PEM value: the text itself, or the file it names. Throws a plain message. */
export function readPem(value: string, baseDir: string, what: string): string {
  const file = pemFile(value, baseDir);
  if (!file) return value;
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`cannot read the ${what} ${file}: ${code ?? (error as Error).message}`);
  }
}

/**
 * Loads and checks one certificate; throws a CertificateError saying what is wrong
 * (unreadable, not PEM, a key that is not the certificate's). An expired certificate loads:
 * its `notAfter` says so (and the expiry metric).
 */
export function loadCertificate(
  source: CertificateSource,
  baseDir: string,
  options: { minVersion: "TLSv1.2" | "TLSv1.3"; ciphers: string; ca?: string | undefined },
): LoadedCertificate {
  const cert = read("cert", () => readPem(source.cert, baseDir, "certificate"));
  const key = read("key", () => readPem(source.key, baseDir, "key"));
  const leaf = read("cert", () => new X509Certificate(cert), "not a PEM certificate");
  const privateKey = read("key", () => createPrivateKey(key), "not a PEM private key");
  if (!leaf.checkPrivateKey(privateKey))
    throw new CertificateError(
      "key",
      `the key is not the certificate's (${leaf.subject.replaceAll("\n", ", ")})`,
    );
  const context = read("cert", () =>
    createSecureContext({
      cert,
      key,
      minVersion: options.minVersion,
      ciphers: options.ciphers,
      ...(options.ca !== undefined && { ca: options.ca }),
    }),
  );
  const files = [pemFile(source.cert, baseDir), pemFile(source.key, baseDir)].filter(
    (file): file is string => file !== undefined,
  );
  return {
    names: namesOf(leaf),
    subject: leaf.subject.replaceAll("\n", ", "),
    notAfter: new Date(leaf.validTo),
    context,
    pem: { cert, key },
    files,
  };
}

/** Runs `step`, turning what it throws into a CertificateError on `field`. */
function read<T>(field: "cert" | "key", step: () => T, what?: string): T {
  try {
    return step();
  } catch (error) {
    const message = (error as Error).message;
    throw new CertificateError(field, what ? `${what} (${message})` : message);
  }
}

/** The DNS names a certificate serves: its subject alternative names, else its common name. */
function namesOf(leaf: X509Certificate): string[] {
  const alternatives = (leaf.subjectAltName ?? "")
    .split(", ")
    .filter((entry) => entry.startsWith("DNS:"))
    .map((entry) => entry.slice(4).toLowerCase());
  if (alternatives.length > 0) return alternatives;
  const common = /(?:^|\n)CN=([^\n]+)/.exec(leaf.subject)?.[1];
  return common ? [common.toLowerCase()] : [];
}
