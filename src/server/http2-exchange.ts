/**
 * @module server/http2-exchange
 * The request and response classes of HTTP/2 streams, on Node's compatibility API, shaped
 * so the request path serves them as it serves HTTP/1.1: the Host comes from `:authority`,
 * pseudo-headers are not headers, cookie crumbs are one `Cookie` again (as RFC 9113 section
 * 8.2.3 asks of a hop to HTTP/1.1), and the response never writes a header HTTP/2 forbids.
 * All the HTTP/2-only work is here, so HTTP/1.1 requests pay nothing for it.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import {
  constants,
  Http2ServerRequest,
  Http2ServerResponse,
  type ServerHttp2Stream,
} from "node:http2";
import { withExchangeRecord } from "./exchange.ts";

/** An HTTP/2 request as the request path reads it. */
export class Http2GatewayRequest extends Http2ServerRequest {
  readonly #headers: IncomingHttpHeaders;
  readonly #rawHeaders: string[];
  /** Names and values of every field the client sent, pseudo-headers included, in bytes. */
  readonly headerListSize: number;

  constructor(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    options: object,
    rawHeaders: string[],
  ) {
    super(stream, headers as never, options as never, rawHeaders);
    const authority = headers[":authority"] as string | undefined;
    const plain: IncomingHttpHeaders = {};
    const raw: string[] = authority === undefined ? [] : ["host", authority];
    let cookies: string | undefined;
    let size = 0;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      const value = rawHeaders[i + 1]!;
      size += name.length + value.length;
      if (name.charCodeAt(0) === 58 /* : */) continue;
      if (name === "cookie") {
        cookies = cookies === undefined ? value : `${cookies}; ${value}`;
        continue;
      }
      // The same host twice is one; a different one stays, and is refused as ambiguous.
      if (name === "host" && value === authority) continue;
      raw.push(name, value);
    }
    if (cookies !== undefined) raw.push("cookie", cookies);
    for (const name of Object.keys(headers)) {
      if (name.charCodeAt(0) !== 58) plain[name] = headers[name];
    }
    if (authority !== undefined) plain.host = authority;
    // A body of unknown length is what HTTP/1.1 calls chunked, and it goes upstream so.
    if (plain["content-length"] === undefined && !stream.endAfterHeaders)
      plain["transfer-encoding"] = "chunked";
    this.#headers = plain;
    this.#rawHeaders = raw;
    this.headerListSize = size;
  }

  // Node's `headers` and `rawHeaders` are getters (typed as fields, so not overridable in
  // the class body): `headers` by lower-case name without pseudo-headers, `host` being the
  // `:authority`; `rawHeaders` as `[name, value, …]` likewise, `host` first.
  static {
    Object.defineProperties(Http2GatewayRequest.prototype, {
      headers: {
        get(this: Http2GatewayRequest) {
          return this.#headers;
        },
      },
      rawHeaders: {
        get(this: Http2GatewayRequest) {
          return this.#rawHeaders;
        },
      },
    });
  }
}

/**
 * Response headers that describe one HTTP/1 connection: an HTTP/2 response must not carry
 * them (RFC 9113 section 8.2.2), and Node refuses to send them.
 */
const connectionSpecific = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

function forbidden(name: string, value: unknown): boolean {
  const lower = name.toLowerCase();
  return connectionSpecific.has(lower) || (lower === "te" && String(value) !== "trailers");
}

/** An HTTP/2 response with the exchange record, writing only what HTTP/2 allows. */
export class Http2GatewayResponse extends withExchangeRecord(Http2ServerResponse) {
  // Whether the stream is gone: Node's compatibility response does not say.
  static {
    Object.defineProperty(Http2GatewayResponse.prototype, "destroyed", {
      get(this: Http2GatewayResponse) {
        return this.stream.destroyed;
      },
    });
  }

  /**
   * Writes the head. HTTP/2 has no reason phrase, so `statusText` is dropped; so are the
   * connection-specific headers of HTTP/1 (an upstream's or a plugin's, or the gateway's
   * own). The gateway's `Connection: close` (a body it will not read, a request cut for
   * slowness) means, over HTTP/2, that the stream is reset once the answer is sent.
   */
  override writeHead(
    status: number,
    statusText?: string | OutgoingHttpHeaders | readonly string[],
    headers?: OutgoingHttpHeaders | readonly string[],
  ): this {
    const given = typeof statusText === "string" ? headers : (statusText ?? headers);
    let close = false;
    let kept: OutgoingHttpHeaders | string[] | undefined;
    if (Array.isArray(given)) {
      kept = [];
      for (let i = 0; i < given.length; i += 2) {
        const name = given[i]!;
        const value = given[i + 1]!;
        if (!forbidden(name, value)) kept.push(name, value);
        else if (name.toLowerCase() === "connection" && value.toLowerCase() === "close")
          close = true;
      }
    } else if (given !== undefined) {
      kept = {};
      for (const [name, value] of Object.entries(given as OutgoingHttpHeaders)) {
        if (value === undefined) continue;
        if (!forbidden(name, value)) kept[name] = value;
        else if (name.toLowerCase() === "connection" && String(value).toLowerCase() === "close")
          close = true;
      }
    }
    super.writeHead(status, kept as never);
    if (close) this.closeAfterAnswer();
    return this;
  }

  /**
   * Once the answer is sent, resets the stream with NO_ERROR (RFC 9113 section 8.1): the
   * client stops sending a body nobody will read, and the connection's other streams go on.
   * What the gateway had received of that body and not read is dropped: Node ends a stream
   * reset without error only once its body is read, and until then the exchange would not
   * finish (neither counted nor logged, and held in memory with its connection).
   */
  closeAfterAnswer(): void {
    const stream = this.stream;
    const req = this.req;
    const reset = () => {
      if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
      req.resume();
    };
    if (stream.writableFinished) reset();
    else stream.once("finish", reset);
  }
}
