/**
 * @module tls/listener-certificates
 * The certificates of one TLS listener, as its server uses them: the table SNI picks from,
 * the default context, the client-certificate settings, and a reload that swaps in the
 * files' new contents for the next handshakes (connections already open keep theirs) or,
 * when any of them does not load, keeps every certificate as it was.
 */
import type { TlsOptions, Server as TlsServer } from "node:tls";
import type { GatehouseConfig } from "../config/schema/index.ts";
import { type LoadedCertificate, loadCertificate, pemFile, readPem } from "./certificates.ts";
import { CertificateTable } from "./sni.ts";

export type TlsSettings = NonNullable<GatehouseConfig["gateway"]["listen"][number]["tls"]>;

/** One listener's certificates, reloadable. */
export class ListenerCertificates {
  /** `host:port` as configured, naming the listener in logs and metrics. */
  readonly listener: string;
  readonly #settings: TlsSettings;
  readonly #baseDir: string;
  #loaded: LoadedCertificate[];
  /** The client certificates' CA as last read (with the certificates, so the two agree). */
  #ca: string | undefined;
  #table: CertificateTable;
  readonly #servers = new Set<TlsServer>();

  /** Loads every certificate; throws the first that does not load (validation said which). */
  constructor(listener: string, settings: TlsSettings, baseDir: string) {
    this.listener = listener;
    this.#settings = settings;
    this.#baseDir = baseDir;
    [this.#loaded, this.#ca] = this.#load();
    this.#table = new CertificateTable(this.#loaded);
  }

  /** The certificates serving now. */
  get certificates(): readonly LoadedCertificate[] {
    return this.#loaded;
  }

  /** Every file the certificates were read from (absolute), to watch. */
  get files(): string[] {
    const files = this.#loaded.flatMap((certificate) => certificate.files);
    const ca = this.#settings.clientCertificate?.ca;
    const caFile = ca === undefined ? undefined : pemFile(ca, this.#baseDir);
    if (caFile) files.push(caFile);
    return [...new Set(files)];
  }

  /** Options for `https.createServer` / `http2.createSecureServer`. */
  serverOptions(): TlsOptions {
    const { minVersion, ciphers, clientCertificate } = this.#settings;
    const mode = clientCertificate?.mode ?? "off";
    const first = this.#loaded[0]!;
    return {
      cert: first.pem.cert,
      key: first.pem.key,
      minVersion,
      ciphers,
      // Servers prefer their own order: the client's first choice may be the weakest it has.
      honorCipherOrder: true,
      SNICallback: (servername, done) => done(null, this.#table.select(servername)),
      ...(mode !== "off" && {
        requestCert: true,
        rejectUnauthorized: mode === "required",
        ca: this.#ca,
      }),
    };
  }

  /** Serves this listener's certificates from `server`, and their reloads. */
  attach(server: TlsServer): void {
    this.#servers.add(server);
    server.once("close", () => this.#servers.delete(server));
  }

  /**
   * Reads every certificate again. All load: they serve the next handshakes (`true`). One
   * does not: nothing changes, and its Error says which and why.
   */
  reload(): true | Error {
    try {
      [this.#loaded, this.#ca] = this.#load();
    } catch (error) {
      return error as Error;
    }
    this.#table = new CertificateTable(this.#loaded);
    const { cert, key, minVersion, ciphers, ca } = this.serverOptions();
    for (const server of this.#servers)
      server.setSecureContext({ cert, key, minVersion, ciphers, ...(ca !== undefined && { ca }) });
    return true;
  }

  /** Reads the client CA and every certificate; throws, naming the listener, if one fails. */
  #load(): [LoadedCertificate[], string | undefined] {
    const { minVersion, ciphers } = this.#settings;
    let ca: string | undefined;
    try {
      ca = this.#readCa();
    } catch (error) {
      throw new Error(
        `listener ${this.listener}: tls.clientCertificate.ca: ${(error as Error).message}`,
      );
    }
    const loaded = this.#settings.certificates.map((source, index) => {
      try {
        return loadCertificate(source, this.#baseDir, { minVersion, ciphers, ca });
      } catch (error) {
        throw new Error(
          `listener ${this.listener}: tls.certificates[${index}]: ${(error as Error).message}`,
        );
      }
    });
    return [loaded, ca];
  }

  #readCa(): string | undefined {
    const client = this.#settings.clientCertificate;
    if (!client || client.mode === "off") return undefined;
    return readPem(client.ca, this.#baseDir, "client certificate authority");
  }
}
