/**
 * @module config/schema/tls
 * TLS on a proxy listener: its certificates (chosen by SNI), the lowest protocol version,
 * the cipher list, and whether clients must show a certificate. Static: part of `gateway`.
 */
import { z } from "zod";

/** A certificate file or key file, relative to the config file, or PEM text (`${enc:…}`). */
const pem = z.string().min(1);

export const certificateSchema = z
  .strictObject({
    cert: pem.describe(
      "The certificate chain: a PEM file (relative to the config file), leaf first, or the PEM text itself.",
    ),
    key: pem.describe(
      "Its private key: a PEM file (relative to the config file), or the PEM text itself (an `enc:` or `file:` reference keeps it out of the config; see docs/control-plane.md, Secrets).",
    ),
  })
  .describe("One certificate and its key.");

/** The TLS versions a listener may be held to. */
export const tlsVersions = ["TLSv1.2", "TLSv1.3"] as const;

/** OpenSSL's names for the TLS 1.2 suites allowed by default: forward secrecy and AEAD only. */
export const defaultCiphers = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

export const clientCertificateSchema = z
  .strictObject({
    ca: pem.describe(
      "The certificate authorities whose client certificates are accepted: a PEM file (relative to the config file) or PEM text.",
    ),
    mode: z
      .enum(["off", "optional", "required"])
      .default("optional")
      .describe(
        "`required`: a client without a certificate that verifies against `ca` fails the handshake. `optional`: a certificate is asked for, but the handshake succeeds without one, or with one that does not verify; only a verified one identifies the client. `off`: none is asked for.",
      ),
  })
  .describe("Client certificates (mutual TLS).");

export const tlsSchema = z
  .strictObject({
    certificates: z
      .array(certificateSchema)
      .min(1)
      .describe(
        "The listener's certificates. Each client's server name (SNI) picks the certificate whose names (subject alternative names, or the common name when it has none) match it exactly, else by a wildcard (`*.example.com`); the first is served to clients that send no name or a name none matches. The files are watched: a changed certificate serves the next handshakes, and one that does not load is refused with the previous kept.",
      ),
    minVersion: z.enum(tlsVersions).default("TLSv1.2").describe("The lowest TLS version accepted."),
    ciphers: z
      .string()
      .min(1)
      .default(defaultCiphers)
      .describe(
        "The TLS 1.2 cipher suites accepted, in OpenSSL's format (TLS 1.3's suites are all modern and always on). The default allows forward-secret AEAD suites only.",
      ),
    clientCertificate: clientCertificateSchema.optional(),
  })
  .describe("Serve HTTPS on this listener.");

/** How a config reads a file into a value (config/substitute), relative to the config file. */
const fileReference = (path: string) => `\${file:${path}}`;

/** PEM text of at least one certificate. */
const certificatePem = z.string().refine((text) => text.includes("-----BEGIN CERTIFICATE-----"), {
  message: `expected PEM text (-----BEGIN CERTIFICATE-----); read a file with ${fileReference("certs/ca.pem")}`,
});

const keyPem = z.string().refine((text) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text), {
  message: `expected a PEM private key (-----BEGIN PRIVATE KEY-----); read a file with ${fileReference("certs/client-key.pem")}`,
});

export const upstreamTlsSchema = z
  .strictObject({
    ca: certificatePem
      .optional()
      .describe(
        `The certificate authorities the targets' certificates must chain to, as PEM text (\`${fileReference("certs/ca.pem")}\` reads a file, relative to the config file). Default: the system's.`,
      ),
    cert: certificatePem
      .optional()
      .describe("A client certificate to show the targets (mutual TLS), as PEM text; with `key`."),
    key: keyPem
      .optional()
      .describe("The client certificate's private key, as PEM text; with `cert`."),
    serverName: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The name to ask for (SNI) and to verify the targets' certificates against. Default: each target's host name.",
      ),
    verify: z
      .boolean()
      .default(true)
      .describe(
        "Verify the targets' certificates. Turn off only for a test setup: anyone on the path can then pose as the service.",
      ),
  })
  .refine((tls) => (tls.cert === undefined) === (tls.key === undefined), {
    message: "cert and key go together: give both or neither",
    path: ["key"],
  })
  .describe("TLS towards this service's `https://` targets.");

/** A service's TLS settings, as the targets use them. */
export type UpstreamTls = z.infer<typeof upstreamTlsSchema>;
