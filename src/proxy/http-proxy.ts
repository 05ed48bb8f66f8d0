/**
 * @module proxy/http-proxy
 * Forwards one HTTP request to a target through undici's `dispatch()` and streams the
 * answer back. Bodies are never buffered: each direction honours back-pressure, a client
 * that goes away aborts the upstream request, and an upstream that fails mid-body
 * destroys the client connection rather than leaving it hanging.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Transform, type TransformCallback } from "node:stream";
import type { Dispatcher } from "undici";
import type { TimeoutsConfig } from "../config/schema.ts";
import { type ErrorCode, GatehouseError } from "../errors.ts";
import type { OutcomeKind } from "../upstream/outcome.ts";
import type { Target } from "../upstream/target.ts";
import { clientResponseHeaders } from "./headers.ts";
import { sendError } from "./respond.ts";

/** Everything needed to forward one request. */
export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  target: Target;
  /** Path and query to send upstream. */
  path: string;
  headers: string[];
  requestId: string;
  timeouts: TimeoutsConfig;
  /** Largest body accepted when it is sent chunked (Content-Length is checked earlier); 0 = no limit. */
  maxBodySize: number;
  /** Ask the client to close its connection after this response (draining). */
  closeConnection: () => boolean;
}

/** Sends the request upstream and pipes the response to the client. */
export function forward(request: ForwardRequest): void {
  const exchange = new UpstreamExchange(request);
  exchange.start();
}

const noBody = null;

/** One request in flight to one target; undici calls the `on*` methods. */
class UpstreamExchange implements Dispatcher.DispatchHandler {
  readonly #request: ForwardRequest;
  #abort: ((reason?: Error) => void) | undefined;
  /** The gateway's own reason for ending the exchange early, if it did. */
  #failure: ErrorCode | "client-closed" | undefined;
  #timer: NodeJS.Timeout | undefined;
  #finished = false;
  #resume: (() => void) | undefined;
  #sentAt = 0;
  #outcomeKnown = false;

  constructor(request: ForwardRequest) {
    this.#request = request;
  }

  start(): void {
    const { req, res, target, timeouts } = this.#request;
    res.on("close", this.#onClientClose);
    if (timeouts.total > 0) this.#timer = setTimeout(this.#onTotalTimeout, timeouts.total);
    target.onDispatch();
    this.#sentAt = target.clock.now();
    target.pool.dispatch(
      {
        origin: target.origin,
        method: req.method as Dispatcher.HttpMethod,
        path: this.#request.path,
        headers: this.#request.headers,
        body: this.#body(),
        headersTimeout: timeouts.response,
        bodyTimeout: timeouts.idle,
        reset: false,
      },
      this,
    );
  }

  #body(): IncomingMessage | Transform | null {
    const { req, maxBodySize } = this.#request;
    const length = req.headers["content-length"];
    const chunked = req.headers["transfer-encoding"] !== undefined;
    if (!chunked && (length === undefined || length === "0")) return noBody;
    if (!chunked || maxBodySize === 0) return req;
    const limit = new BodyLimit(maxBodySize, () => this.#fail("GATEHOUSE_BODY_TOO_LARGE"));
    req.on("error", (error) => limit.destroy(error));
    return req.pipe(limit);
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.#abort = abort;
    if (this.#failure) abort(new Error(`gateway ended the exchange: ${this.#failure}`));
  }

  onHeaders(
    statusCode: number,
    rawHeaders: Buffer[],
    resume: () => void,
    statusText: string,
  ): boolean {
    const { res, requestId } = this.#request;
    if (statusCode < 200) return true;
    this.#report(statusCode >= 500 ? "server-error" : "success");
    if (res.destroyed) return true;
    try {
      res.writeHead(
        statusCode,
        statusText,
        clientResponseHeaders(rawHeaders, requestId, this.#request.closeConnection()),
      );
    } catch {
      // A header value Node refuses to send (e.g. a character invalid in HTTP).
      this.#fail("GATEHOUSE_UPSTREAM_BAD_RESPONSE");
      return false;
    }
    this.#resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    const res = this.#request.res;
    if (res.write(chunk)) return true;
    // The client is slower than the upstream: undici pauses until the client drains.
    res.once("drain", this.#resume!);
    return false;
  }

  onComplete(trailers: string[] | null): void {
    const { res } = this.#request;
    if (trailers && trailers.length > 0) {
      const pairs: [string, string][] = [];
      for (let i = 0; i < trailers.length; i += 2)
        pairs.push([String(trailers[i]), String(trailers[i + 1])]);
      res.addTrailers(pairs);
    }
    res.end();
    this.#done();
  }

  onError(error: Error): void {
    this.#report(this.#failure === "GATEHOUSE_UPSTREAM_TIMEOUT" ? "timeout" : outcomeOf(error));
    this.#done();
    const { res, requestId } = this.#request;
    if (res.destroyed || (res.writableEnded && !this.#failure)) return;
    if (res.headersSent) {
      // Mid-body: the client must see a broken response, never a silently short one.
      res.destroy(error);
      return;
    }
    if (this.#failure === "client-closed") return;
    const code = this.#failure ?? upstreamErrorCode(error);
    sendError(res, code, requestId, {
      close: code === "GATEHOUSE_BODY_TOO_LARGE" || this.#request.closeConnection(),
    });
    // An unread request body would be taken for the next request on this connection.
    if (hasUnreadBody(this.#request.req))
      res.once("finish", () => this.#request.req.socket.destroySoon());
  }

  /** Tells the target how this try went, once: at the response headers or the failure. */
  #report(kind: OutcomeKind): void {
    if (this.#outcomeKnown || this.#failure === "client-closed") return;
    this.#outcomeKnown = true;
    const target = this.#request.target;
    target.onOutcome({ kind, durationMs: target.clock.now() - this.#sentAt });
  }

  #fail(code: ErrorCode | "client-closed"): void {
    if (this.#failure || this.#finished) return;
    this.#failure = code;
    this.#abort?.(new Error(`gateway ended the exchange: ${code}`));
  }

  #done(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#request.target.onSettled();
    if (this.#timer) clearTimeout(this.#timer);
    this.#request.res.off("close", this.#onClientClose);
  }

  #onClientClose = (): void => {
    if (!this.#request.res.writableFinished) this.#fail("client-closed");
  };

  #onTotalTimeout = (): void => {
    this.#fail("GATEHOUSE_UPSTREAM_TIMEOUT");
  };
}

/** How an undici failure counts against the target. */
function outcomeOf(error: Error): OutcomeKind {
  const code = upstreamErrorCode(error);
  if (code === "GATEHOUSE_UPSTREAM_CONNECT_FAILED") return "connect-failure";
  if (code === "GATEHOUSE_UPSTREAM_TIMEOUT") return "timeout";
  return "reset";
}

/** Whether the client is (or may still be) sending a body nobody has read. */
export function hasUnreadBody(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** The catalogued error for an undici failure before the response started. */
export function upstreamErrorCode(error: Error): ErrorCode {
  const code = (error as { code?: string }).code;
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return "GATEHOUSE_UPSTREAM_TIMEOUT";
    case "ECONNREFUSED":
    case "ENOTFOUND":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EAI_AGAIN":
    case "ECONNABORTED":
      return "GATEHOUSE_UPSTREAM_CONNECT_FAILED";
    default:
      return "GATEHOUSE_UPSTREAM_BAD_RESPONSE";
  }
}

/** Passes a chunked request body through, failing once it exceeds the limit. */
class BodyLimit extends Transform {
  #remaining: number;
  readonly #onExceeded: () => void;

  constructor(limit: number, onExceeded: () => void) {
    super();
    this.#remaining = limit;
    this.#onExceeded = onExceeded;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#remaining -= chunk.length;
    if (this.#remaining < 0) {
      this.#onExceeded();
      callback(new GatehouseError("GATEHOUSE_BODY_TOO_LARGE"));
      return;
    }
    callback(null, chunk);
  }
}
