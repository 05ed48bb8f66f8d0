/**
 * @module test/helpers/certificates
 * Certificates for TLS tests, made with the openssl command: self-signed leaves for the
 * names given (DNS names or IP addresses), and a certificate authority that signs client
 * certificates.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CertificateFiles {
  cert: string;
  key: string;
  /** The certificate's PEM text (a client trusts it as its CA). */
  pem: string;
}

function openssl(args: string[]): void {
  try {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      throw new Error("openssl not found: install it with `apt-get install -y openssl`");
    throw new Error(`openssl ${args[0]} failed: ${(error as { stderr?: Buffer }).stderr}`);
  }
}

/**
 * A self-signed certificate in `dir` (files `<file>.pem` and `<file>-key.pem`) whose
 * subject is the first name and whose subject alternative names are all of `names`.
 */
export function makeCertificate(
  dir: string,
  file: string,
  names: string[],
  options: { days?: number; signer?: CertificateFiles } = {},
): CertificateFiles {
  const cert = join(dir, `${file}.pem`);
  const key = join(dir, `${file}-key.pem`);
  const days = String(options.days ?? 30);
  const subject = `/CN=${names[0]}`;
  const san = `subjectAltName=${names.map((name) => `${isIP(name) ? "IP" : "DNS"}:${name}`).join(",")}`;
  const keyArgs = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  if (options.signer) {
    const request = join(dir, `${file}.csr`);
    openssl(["req", "-new", ...keyArgs, "-keyout", key, "-out", request, "-subj", subject]);
    const extensions = join(dir, `${file}.ext`);
    execFileSync("sh", ["-c", `printf '%s\\n' "${san}" > '${extensions}'`]);
    openssl([
      "x509",
      "-req",
      "-in",
      request,
      "-CA",
      options.signer.cert,
      "-CAkey",
      options.signer.key,
      "-CAcreateserial",
      "-out",
      cert,
      "-days",
      days,
      "-extfile",
      extensions,
    ]);
  } else {
    openssl([
      "req",
      "-x509",
      ...keyArgs,
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      days,
      "-subj",
      subject,
      "-addext",
      san,
    ]);
  }
  return { cert, key, pem: readFileSync(cert, "utf8") };
}

/** A self-signed certificate for localhost and 127.0.0.1, as PEM text (no files kept). */
export function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-cert-"));
  try {
    const made = makeCertificate(dir, "localhost", ["localhost", "127.0.0.1"], { days: 1 });
    return { key: readFileSync(made.key, "utf8"), cert: made.pem };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
