/**
 * @module errors
 * The one catalogue of errors a client can see. Every code is stable, has one HTTP
 * status, and is documented in docs/errors.md (a test keeps the two in step).
 */

/** Every error code Gatehouse can answer with, with its HTTP status and meaning. */
export const errorCatalogue = {
  GATEHOUSE_BAD_FRAMING: {
    status: 400,
    message: "The request's message framing is ambiguous or invalid",
  },
  GATEHOUSE_BAD_PATH: {
    status: 400,
    message: "The request path is not allowed",
  },
  GATEHOUSE_BAD_HOST: {
    status: 400,
    message: "The request's Host or authority is missing, repeated, malformed or not served here",
  },
  GATEHOUSE_REQUEST_INVALID: {
    status: 400,
    message: "The request does not match the route's OpenAPI document",
  },
  GATEHOUSE_UNAUTHORIZED: {
    status: 401,
    message: "The request lacks valid credentials",
  },
  GATEHOUSE_INVALID_TOKEN: {
    status: 401,
    message: "The token is malformed, badly signed, or signed in a way the route does not accept",
  },
  GATEHOUSE_TOKEN_EXPIRED: {
    status: 401,
    message: "The token has expired or is not valid yet",
  },
  GATEHOUSE_TOKEN_CLAIMS_REJECTED: {
    status: 401,
    message: "The token's claims do not satisfy the route",
  },
  GATEHOUSE_FORBIDDEN: {
    status: 403,
    message: "The consumer may not use this route",
  },
  GATEHOUSE_IP_FORBIDDEN: {
    status: 403,
    message: "The client address is not allowed on this route",
  },
  GATEHOUSE_CORS_REJECTED: {
    status: 403,
    message: "The request's origin is not allowed on this route",
  },
  GATEHOUSE_ROUTE_NOT_FOUND: {
    status: 404,
    message: "No route matches the request",
  },
  GATEHOUSE_VERSION_NOT_FOUND: {
    status: 404,
    message: "No route serves the requested API version",
  },
  GATEHOUSE_METHOD_NOT_ALLOWED: {
    status: 405,
    message: "The route does not accept this method",
  },
  GATEHOUSE_REQUEST_TIMEOUT: {
    status: 408,
    message: "The client did not send the request in time",
  },
  GATEHOUSE_BODY_TOO_LARGE: {
    status: 413,
    message: "The request body is larger than allowed",
  },
  GATEHOUSE_URI_TOO_LONG: {
    status: 414,
    message: "The request target is longer than allowed",
  },
  GATEHOUSE_HEADERS_TOO_LARGE: {
    status: 431,
    message: "The request headers are too many or too large",
  },
  GATEHOUSE_BAD_CONTENT_ENCODING: {
    status: 400,
    message: "The request body is not valid for its Content-Encoding",
  },
  GATEHOUSE_UPGRADE_NOT_ALLOWED: {
    status: 400,
    message: "The route does not allow a protocol upgrade",
  },
  GATEHOUSE_CONCURRENCY_LIMITED: {
    status: 429,
    message: "Too many requests in flight for this client",
  },
  GATEHOUSE_RATE_LIMITED: {
    status: 429,
    message: "Too many requests for this client",
  },
  GATEHOUSE_INTERNAL: {
    status: 500,
    message: "The gateway failed to handle the request",
  },
  GATEHOUSE_UPSTREAM_CONNECT_FAILED: {
    status: 502,
    message: "The gateway could not connect to the upstream",
  },
  GATEHOUSE_UPSTREAM_BAD_RESPONSE: {
    status: 502,
    message: "The upstream sent an invalid or incomplete response",
  },
  GATEHOUSE_RESPONSE_TOO_LARGE: {
    status: 502,
    message: "The upstream's response body is larger than the route's plugins accept",
  },
  GATEHOUSE_NO_AVAILABLE_TARGET: {
    status: 503,
    message: "The service has no available target",
  },
  GATEHOUSE_AUTH_UNAVAILABLE: {
    status: 503,
    message: "The authorization server could not be reached",
  },
  GATEHOUSE_RATE_LIMIT_UNAVAILABLE: {
    status: 503,
    message: "The rate-limit store could not be reached",
  },
  GATEHOUSE_CONNECTION_LIMITED: {
    status: 503,
    message: "The gateway holds as many client connections as it allows",
  },
  GATEHOUSE_SHUTTING_DOWN: {
    status: 503,
    message: "The gateway is shutting down",
  },
  GATEHOUSE_UPSTREAM_TIMEOUT: {
    status: 504,
    message: "The upstream did not answer in time",
  },
  GATEHOUSE_UPSTREAM_ERROR_STATUS: {
    status: 502,
    message: "The upstream answered with an error status",
  },
  GATEHOUSE_ADMIN_BAD_REQUEST: {
    status: 400,
    message: "The admin API request is malformed",
  },
  GATEHOUSE_CONFIG_INVALID: {
    status: 400,
    message: "The config change does not validate",
  },
  GATEHOUSE_ADMIN_UNAUTHORIZED: {
    status: 401,
    message: "The admin API needs a valid key",
  },
  GATEHOUSE_ADMIN_FORBIDDEN: {
    status: 403,
    message: "The admin key may not make this change",
  },
  GATEHOUSE_ADMIN_NOT_FOUND: {
    status: 404,
    message: "No such admin resource",
  },
  GATEHOUSE_CONFIG_VERSION_NOT_FOUND: {
    status: 404,
    message: "That config version is not kept",
  },
  GATEHOUSE_CONFIG_CONFLICT: {
    status: 409,
    message: "The change conflicts with the config as it is now",
  },
  GATEHOUSE_CONFIG_NOT_WRITABLE: {
    status: 409,
    message: "The config cannot be written back to its file",
  },
  GATEHOUSE_CONFIG_STORE_FAILED: {
    status: 500,
    message: "The config store could not save the change",
  },
  GATEHOUSE_CONFIG_STORE_UNAVAILABLE: {
    status: 503,
    message: "The shared config store (etcd) cannot be reached",
  },
  GATEHOUSE_HOST_NOT_ALLOWED: {
    status: 403,
    message: "The request's Host does not name this listener",
  },
  GATEHOUSE_ORIGIN_NOT_ALLOWED: {
    status: 403,
    message: "A web page from this origin may not make changes here",
  },
  GATEHOUSE_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: "The request body's Content-Type is not one this path accepts",
  },
  GATEHOUSE_BODY_ENCODING_UNSUPPORTED: {
    status: 415,
    message: "The request body is compressed and the route must rewrite it",
  },
  GATEHOUSE_BODY_TOO_DEEP: {
    status: 400,
    message: "The request body nests deeper than allowed",
  },
  GATEHOUSE_THREAT_JSON_LIMIT: {
    status: 413,
    message: "The JSON body passes one of the route's limits (depth, keys, array, string or size)",
  },
  GATEHOUSE_THREAT_JSON_INVALID: {
    status: 400,
    message: "The body sent as JSON is not well-formed JSON",
  },
  GATEHOUSE_THREAT_XML_LIMIT: {
    status: 413,
    message: "The XML body passes one of the route's limits (depth, size) or declares a DOCTYPE",
  },
  GATEHOUSE_THREAT_XML_REFUSED: {
    status: 415,
    message: "The route does not accept XML bodies",
  },
  GATEHOUSE_THREAT_DETECTED: {
    status: 403,
    message: "The request looks like an attack",
  },
  GATEHOUSE_THREAT_BAD_BOT: {
    status: 403,
    message: "The client's User-Agent is an attack tool's",
  },
  GATEHOUSE_SAGA_STEP_TIMEOUT: {
    status: 504,
    message: "A saga step did not finish within its timeout",
  },
  GATEHOUSE_SAGA_COMPENSATION_FAILED: {
    status: 500,
    message: "A saga compensation did not succeed within its allowed attempts",
  },
  GATEHOUSE_SAGA_ID_CONFLICT: {
    status: 409,
    message: "The saga id belongs to a saga of another name",
  },
  GATEHOUSE_SAGA_DEFINITION_CHANGED: {
    status: 500,
    message: "The saga's log does not match the steps of its definition",
  },
  GATEHOUSE_SAGA_CLOSED: {
    status: 503,
    message: "The saga definition was closed",
  },
  GATEHOUSE_REGISTRY_INVALID_INSTANCE: {
    status: 400,
    message: "The registration is not a valid instance",
  },
  GATEHOUSE_REGISTRY_FORBIDDEN_NETWORK: {
    status: 403,
    message: "The instance's address is not in a network the registry allows",
  },
  GATEHOUSE_REGISTRY_NOT_FOUND: {
    status: 404,
    message: "The registry has no such service or instance",
  },
  GATEHOUSE_REGISTRY_LEASE_EXPIRED: {
    status: 404,
    message: "The instance holds no lease: register it again",
  },
  GATEHOUSE_REGISTRY_STORE_UNAVAILABLE: {
    status: 503,
    message: "The registry's store (etcd) cannot be reached",
  },
  GATEHOUSE_STORE_LOCKED: {
    status: 409,
    message: "The store's data directory is held by another process",
  },
  GATEHOUSE_STORE_UNAVAILABLE: {
    status: 503,
    message: "The store's database cannot be reached",
  },
  GATEHOUSE_STORE_MIGRATION_FAILED: {
    status: 500,
    message: "The store's tables could not be brought up to date",
  },
  GATEHOUSE_STORE_CLOSED: {
    status: 503,
    message: "The store is closed",
  },
  GATEHOUSE_STORE_TRANSACTION_ENDED: {
    status: 500,
    message: "The transaction has already ended",
  },
  GATEHOUSE_STORE_IN_TRANSACTION: {
    status: 500,
    message: "The store was queried inside one of its own transactions",
  },
  GATEHOUSE_EVENTS_INVALID: {
    status: 400,
    message: "The event, its subject or the events options are not valid",
  },
  GATEHOUSE_EVENTS_UNAVAILABLE: {
    status: 503,
    message: "The event broker (NATS JetStream) cannot be reached or did not store the event",
  },
} as const satisfies Record<string, { status: number; message: string }>;

/** A stable error code, e.g. `GATEHOUSE_ROUTE_NOT_FOUND`. */
export type ErrorCode = keyof typeof errorCatalogue;

/** What a GatehouseError may carry besides its code and message. */
export interface GatehouseErrorOptions extends ErrorOptions {
  /** Each thing wrong with what the client sent (a refused config's problems), listed in the body. */
  problems?: string[];
  /** Headers the answer needs: `Allow` on a 405, `WWW-Authenticate` on a 401. */
  headers?: Record<string, string>;
}

/**
 * An error that maps to a catalogued client-visible response: thrown wherever a request or
 * a change is refused, answered with its code's status by the one error writer.
 */
export class GatehouseError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly problems: string[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message?: string, options?: GatehouseErrorOptions) {
    super(message ?? errorCatalogue[code].message, options);
    this.name = "GatehouseError";
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.problems = options?.problems;
    this.headers = options?.headers;
  }
}

/** Whether `error` is a GatehouseError (with `code`, when one is given). */
export function isGatehouseError(error: unknown, code?: ErrorCode): error is GatehouseError {
  return error instanceof GatehouseError && (code === undefined || error.code === code);
}

/**
 * The JSON body every error response carries, `problems` listed when there are some.
 * `indent` is for bodies people read as they are (the admin API's, answered to curl).
 */
export function errorBody(
  code: ErrorCode,
  requestId: string,
  message?: string,
  problems?: readonly string[],
  indent?: number,
): string {
  const error: {
    code: ErrorCode;
    message: string;
    requestId: string;
    problems?: readonly string[];
  } = { code, message: message ?? errorCatalogue[code].message, requestId };
  if (problems) error.problems = problems;
  return indent ? `${JSON.stringify({ error }, null, indent)}\n` : JSON.stringify({ error });
}
