/**
 * @module pipeline/request-view
 * The request as a plugin reads it, the same whichever protocol carried it (HTTP/1.1 now,
 * HTTP/2 later): a plugin that reads `ctx.request` (or the same members on `ctx`) never
 * reaches for the Node request object and so works on both.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { ClientCertificate } from "../tls/client-certificate.ts";

/** The protocol a request came in on. */
export type RequestProtocol = "HTTP/1.1" | "HTTP/1.0" | "HTTP/2";

/** One request's facts, read-only. */
export interface RequestView {
  /** Upper-case, as the client sent it (`GET`). */
  readonly method: string;
  /** The normalised path, without the query (before any rewrite). */
  readonly path: string;
  /** The raw query string without its `?`; empty when there is none. */
  readonly query: string;
  /** Header values by lower-case name; no HTTP/2 pseudo-headers (`:path`) among them. */
  readonly headers: Readonly<IncomingHttpHeaders>;
  /** The client's address (behind trusted proxies, the one they report). */
  readonly clientAddress: string;
  readonly protocol: RequestProtocol;
  /**
   * The API version the request asked for, or `gateway.versioning.default` when it named
   * none; undefined when the gateway has no `versioning` (or the default is unset).
   */
  readonly apiVersion: string | undefined;
  /**
   * The certificate the client showed, on a TLS listener that asks for one
   * (`tls.clientCertificate`); undefined otherwise. Only a `verified` one proves anything.
   */
  readonly clientCertificate: ClientCertificate | undefined;
}

/** The protocol of a request, from the HTTP version Node parsed. */
export function protocolOf(httpVersionMajor: number, httpVersionMinor: number): RequestProtocol {
  if (httpVersionMajor === 2) return "HTTP/2";
  return httpVersionMinor === 0 ? "HTTP/1.0" : "HTTP/1.1";
}
