/**
 * @module server/exchange
 * The response class of the proxy listeners (HTTP/1; the HTTP/2 one adds the same record
 * to Node's compatibility response). Besides being the response, it records what
 * happened to the request on its way (route, target, retries, the gateway's error code,
 * upstream time) so metrics, access logs and traces read one record when it finishes.
 * Fields are plain and set up front, so every response has the same shape for V8.
 */
import { type IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { RequestTrace } from "../observability/tracing.ts";

const noNames: readonly string[] = [];
/** Marks the prototypes of the exchange records, whichever Node class they extend. */
const exchangeBrand = Symbol("gatehouse.exchange");

// biome-ignore lint/suspicious/noExplicitAny: a mixin's base takes whatever its class does.
type Constructor = new (...args: any[]) => object;

/**
 * Adds the exchange record to a response class: Node's HTTP/1 `ServerResponse` here, its
 * HTTP/2 compatibility response in server/http2-exchange.ts. One list of fields for both.
 */
export function withExchangeRecord<Base extends Constructor>(base: Base) {
  const record = class ExchangeRecord extends base {
    /** performance.now() when the request's headers had been parsed. */
    readonly startedAt = performance.now();
    requestId = "";
    /** The matched route's name, once routed ("" for requests no route took). */
    route = "";
    service = "";
    /** The target the committed try went to (its URL). */
    target = "";
    /** The catalogued error the gateway answered with, if it answered with one. */
    errorCode = "";
    /** The gRPC status a gRPC call (proxied or transcoded) ended with; -1 for other requests. */
    grpcStatus = -1;
    consumer = "";
    /** Query arguments plugins took as credentials (never logged). */
    credentialQuery: readonly string[] = noNames;
    retries = 0;
    /** performance.now() when the first try was sent upstream; 0 if none was. */
    upstreamStartedAt = 0;
    /** performance.now() when the upstream's response ended or failed; 0 if not yet. */
    upstreamEndedAt = 0;
    /** Response body bytes written to the client. */
    bytesOut = 0;
    /**
     * Request body bytes streamed upstream when the body came chunked (counted as it
     * passes); -1 while nothing was counted, and then the Content-Length is the size.
     */
    bytesInCounted = -1;
    /** The matched route's path pattern (`/users/:id`), for span names; "" until routed. */
    routePath = "";
    /**
     * A request header the answer depends on beyond what its sender says: the one the API
     * version is read from (`gateway.versioning`), added to `Vary` when the head is written.
     */
    varyOn = "";
    /** The request's spans when tracing is on. */
    trace: RequestTrace | undefined = undefined;
    /**
     * While the request body is being received (server/request-body-watch.ts): when the
     * gateway started waiting for it, when it last saw it progress, and the socket's byte
     * count then. 0 for requests without a body.
     */
    bodyStartedAt = 0;
    bodyProgressAt = 0;
    bodyBytesSeen = 0;
    /** What is passing the request body upstream, to be told when the client is too slow. */
    bodyConsumer: BodyConsumer | undefined = undefined;
  };
  Object.defineProperty(record.prototype, exchangeBrand, { value: true });
  return record;
}

/**
 * A proxy listener's response, with the record of its exchange. Over HTTP/2 the response
 * is an Http2GatewayResponse (server/http2-exchange.ts), which the request path handles
 * through the same members.
 */
/** The fields of the exchange record. */
export type ExchangeRecord = InstanceType<ReturnType<typeof withExchangeRecord<Constructor>>>;

/** Node's ServerResponse with the record, keeping ServerResponse's request type parameter. */
const RecordedServerResponse = withExchangeRecord(ServerResponse) as unknown as Omit<
  typeof ServerResponse,
  "prototype"
> &
  (new <Request extends IncomingMessage>(
    req: Request,
  ) => ServerResponse<Request> & ExchangeRecord);

export class GatewayResponse<
  Request extends IncomingMessage = IncomingMessage,
> extends RecordedServerResponse<Request> {
  /**
   * Ends what carries the exchange once its answer is sent, because what the client still
   * sends (an unread body, or bytes after broken framing) must not be read as a next
   * request: over HTTP/1 the connection. (Over HTTP/2 only the stream is reset.)
   */
  closeAfterAnswer(): void {
    this.once("finish", destroySocketSoon);
  }
}

function destroySocketSoon(this: GatewayResponse): void {
  this.req.socket?.destroySoon();
}

/** Whether `res` is a proxy listener's response (not the admin API's), of either protocol. */
export function isExchange(res: object): res is GatewayResponse {
  return (res as { [exchangeBrand]?: true })[exchangeBrand] === true;
}

/** Whatever reads a request body on (the upstream forwarder). */
export interface BodyConsumer {
  /**
   * The client sent the body too slowly: stop (abort the upstream try) and answer 408 if
   * nothing was answered yet. False when it has already finished, and the caller closes
   * the connection itself.
   */
  clientTooSlow(): boolean;
}

/** What happens with a finished exchange: metrics, access log. */
export interface ExchangeObserver {
  /** A request arrived (in-flight accounting). */
  started(res: GatewayResponse): void;
  /** Its response finished or the client went away. */
  finished(res: GatewayResponse): void;
}

/** One observer that tells each of `observers` that is set, in order; undefined if none is. */
export function combineObservers(
  given: readonly (ExchangeObserver | undefined)[],
): ExchangeObserver | undefined {
  const observers = given.filter((observer) => observer !== undefined);
  if (observers.length === 0) return undefined;
  if (observers.length === 1) return observers[0]!;
  return {
    started(res) {
      for (const observer of observers) observer.started(res);
    },
    finished(res) {
      for (const observer of observers) observer.finished(res);
    },
  };
}

/**
 * The request body's size: the bytes counted on their way upstream for a chunked body,
 * else the declared Content-Length (0 for none).
 */
export function requestBytes(res: GatewayResponse): number {
  if (res.bytesInCounted >= 0) return res.bytesInCounted;
  const length = res.req.headers["content-length"];
  return length === undefined ? 0 : Number(length) || 0;
}
