/**
 * @module pipeline/context
 * What a plugin sees of one request and how it acts on it: read the request, name the
 * consumer, keep typed state between phases, change the upstream request's headers, or
 * answer the request itself. The runner's own state (the chain it runs, the header
 * changes it applies) is private: only the pipeline reads it, through runnerState.
 */

import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { Readable, type Transform } from "node:stream";
import { type ErrorCode, errorBody, errorCatalogue } from "../errors.ts";
import type { PathPattern } from "../router/path-pattern.ts";
import { type ClientCertificate, clientCertificateOf } from "../tls/client-certificate.ts";
import {
  addBodyTransform,
  type BodyTransformOptions,
  type BodyTransforms,
} from "./body-transform.ts";
import type { Chain } from "./chain.ts";
import { type StateKey, stateKeyNamed, stateSlots } from "./request-state.ts";
import { protocolOf, type RequestProtocol, type RequestView } from "./request-view.ts";

/** The authenticated client, once a plugin has identified one. */
export interface ConsumerIdentity {
  name: string;
  groups: readonly string[];
}

/** A response a plugin gives instead of the upstream's. */
export interface PluginAnswer {
  status: number;
  /** The catalogued error code, when the answer is one (`ctx.fail`). */
  code?: ErrorCode;
  headers: Record<string, string>;
  /** Text and buffers are sent with their length; a stream is piped, chunked. */
  body: AnswerBody;
}

/** What an answer's body may be, as sent. */
export type AnswerBody = string | Buffer | Readable;

/**
 * Where the upstream request goes instead of what the route says (see setUpstream); each
 * member left out keeps the route's own.
 */
export interface UpstreamChange {
  /** The method sent upstream (`GET`, `POST`, ...). */
  method?: string;
  /** The upstream path, starting with `/`; it replaces the route's rewritten path. */
  path?: string;
  /** The upstream query, without `?` (empty for none); it replaces the client's. */
  query?: string;
  /** The name of a service of the config to send the request to, instead of the route's. */
  service?: string;
}

/** One change to the upstream request's headers: undefined removes. */
export type HeaderChange = [name: string, value: string | undefined];

export interface RequestFacts {
  req: IncomingMessage;
  requestId: string;
  route: string;
  service: string;
  clientAddress: string;
  /** The normalised path (before any rewrite), without the query. */
  path: string;
  /** The query with its `?`, or empty. */
  query?: string;
  /** The route path pattern that matched (`/users/:id`), for `ctx.params`. */
  pattern?: PathPattern;
  /** The API version the router read (router/api-version), with `gateway.versioning` on. */
  apiVersion?: string;
}

/**
 * The runner's own view of a context, for the pipeline and the request handler only (it
 * is not part of the plugin API: src/index.ts does not export it).
 */
export let runnerState: RunnerState;

interface RunnerState {
  /** The chain the request runs now (the consumer's own, once a hook named one). */
  chain(ctx: RequestContext): Chain | undefined;
  setChain(ctx: RequestContext, chain: Chain): void;
  /** The upstream header changes the hooks asked for, in order; undefined if none. */
  upstreamHeaders(ctx: RequestContext): readonly HeaderChange[] | undefined;
  /** The method, path, query or service the hooks chose; undefined if none. */
  upstreamChange(ctx: RequestContext): Readonly<UpstreamChange> | undefined;
  /** The transforms the hooks asked for on the request's and the response's body. */
  requestBody(ctx: RequestContext): BodyTransforms | undefined;
  responseBody(ctx: RequestContext): BodyTransforms | undefined;
  /** From now on the answer is final: onResponse hooks add headers to it, never replace it. */
  seal(ctx: RequestContext): void;
  /** After an onResponse hook replaced the response: the index of the hook after it. */
  resumeAt(ctx: RequestContext): number;
  setResumeAt(ctx: RequestContext, at: number): void;
}

/**
 * One request as the pipeline's hooks see it. It is its own RequestView (`ctx.request`):
 * read the method, path, query and headers there rather than from `ctx.req`, the Node
 * request object of HTTP/1.1 only.
 */
export class RequestContext implements RequestView {
  readonly req: IncomingMessage;
  readonly method: string;
  readonly requestId: string;
  readonly route: string;
  readonly service: string;
  readonly clientAddress: string;
  readonly path: string;
  readonly apiVersion: string | undefined;
  /** The query as received, with its `?` (the view gives it without, on demand). */
  readonly #query: string;
  readonly #pattern: PathPattern | undefined;
  #params: Readonly<Record<string, string>> | undefined;
  consumer: ConsumerIdentity | undefined;
  /** The chain this request runs: its route's, or its consumer's own once one is named. */
  #chain: Chain | undefined;
  /** Plugins' state, by key slot (see request-state.ts); allocated at the first `set`. */
  #state: unknown[] | undefined;
  #locals: Map<string, unknown> | undefined;
  /** Upstream header changes, applied in order after the hooks ran; none until the first. */
  #upstreamHeaders: HeaderChange[] | undefined;
  /** Query arguments to leave out of the upstream request (credentials, say). */
  readonly removedQuery: string[] = [];
  /** Query arguments that carried credentials: their values are never logged. */
  readonly credentialQuery: string[] = [];
  #answer: PluginAnswer | undefined;
  #sealed = false;
  #resumeAt = 0;
  #upstream: UpstreamChange | undefined;
  #requestBody: BodyTransforms | undefined;
  #responseBody: BodyTransforms | undefined;

  constructor(facts: RequestFacts) {
    this.req = facts.req;
    this.requestId = facts.requestId;
    this.route = facts.route;
    this.service = facts.service;
    this.clientAddress = facts.clientAddress;
    this.path = facts.path;
    this.apiVersion = facts.apiVersion;
    this.method = facts.req.method!;
    this.#query = facts.query ?? "";
    this.#pattern = facts.pattern;
  }

  /** The request as every protocol shows it (this context itself, typed as the view). */
  get request(): RequestView {
    return this;
  }

  get clientCertificate(): ClientCertificate | undefined {
    return clientCertificateOf(this.req.socket);
  }

  get query(): string {
    return this.#query === "" ? "" : this.#query.slice(1);
  }

  get headers(): Readonly<IncomingHttpHeaders> {
    return this.req.headers;
  }

  /**
   * The matched route path's parameters, decoded: `{ id: "42" }` for `/users/:id` and
   * `/users/42`; `*` holds what a trailing wildcard matched. Worked out when first read.
   */
  get params(): Readonly<Record<string, string>> {
    this.#params ??= pathParams(this.#pattern, this.path);
    return this.#params;
  }

  get protocol(): RequestProtocol {
    return protocolOf(this.req.httpVersionMajor, this.req.httpVersionMinor);
  }

  /** The request's value for `key` (see createStateKey), if a hook set one. */
  get<T>(key: StateKey<T>): T | undefined {
    return this.#state?.[key.slot] as T | undefined;
  }

  /** Sets the request's value for `key`, for this plugin's (or another's) later hooks. */
  set<T>(key: StateKey<T>, value: T): void {
    this.#state ??= new Array(stateSlots());
    this.#state[key.slot] = value;
  }

  /**
   * Free space keyed by string, created at first use. Reads fall back to the state key of
   * the same name, so `locals.get("jwt")` still finds the jwt plugin's claims.
   * @deprecated Use typed state: `createStateKey<T>(name)` once, then `ctx.get(key)` and
   * `ctx.set(key, value)`.
   */
  get locals(): Map<string, unknown> {
    this.#locals ??= new LegacyLocals(this);
    return this.#locals;
  }

  /** Sets (or with undefined, removes) a header on the request sent upstream. */
  setUpstreamHeader(name: string, value: string | undefined): void {
    this.#upstreamHeaders ??= [];
    this.#upstreamHeaders.push([name.toLowerCase(), value]);
  }

  /**
   * Sends the request to another method, path, query or service than the route's. Later
   * calls change only what they name. The route's rewrite is worked out first and a path
   * given here replaces its result; `removeQueryParam` still applies to a query given
   * here. A service that the config does not have answers 500 (the plugin's mistake).
   */
  setUpstream(change: UpstreamChange): void {
    if (change.method !== undefined && !/^[A-Z][A-Z0-9-]*$/.test(change.method)) {
      throw new Error(`setUpstream: "${change.method}" is not an upper-case HTTP method`);
    }
    if (change.path !== undefined && change.path.charCodeAt(0) !== 47) {
      throw new Error(`setUpstream: path "${change.path}" must start with /`);
    }
    if (change.query !== undefined && change.query.charCodeAt(0) === 63) {
      throw new Error(`setUpstream: query "${change.query}" must be given without its ?`);
    }
    this.#upstream = { ...this.#upstream, ...change };
  }

  /**
   * Pipes the request body through `stream` on its way upstream (after the transforms
   * asked for before). The body is sent without the client's length, and never retried; one larger than
   * `maxSize` is refused with 413. A request without a body is sent as it is.
   */
  transformRequestBody(stream: Transform, options: BodyTransformOptions): void {
    this.#requestBody = addBodyTransform(this.#requestBody, stream, options);
  }

  /**
   * In onResponse: pipes the upstream's response body through `stream` on its way to the
   * client. The response is sent chunked once `stream` gives its first bytes (or ends);
   * an upstream body larger than `maxSize` answers 502 `GATEHOUSE_RESPONSE_TOO_LARGE` if
   * nothing was sent yet, else cuts the response.
   */
  transformResponseBody(stream: Transform, options: BodyTransformOptions): void {
    this.#responseBody = addBodyTransform(this.#responseBody, stream, options);
  }

  /** Leaves a query argument out of the request sent upstream. */
  removeQueryParam(name: string): void {
    this.removedQuery.push(name);
  }

  /**
   * Says a query argument carries a credential, whether or not it is valid or forwarded:
   * the access log writes `REDACTED` for its value.
   */
  markQueryCredential(name: string): void {
    this.credentialQuery.push(name);
  }

  /**
   * Answers the request now; the phases after this one and the upstream are skipped. A
   * string is sent as text, a Buffer or a Readable as `application/octet-stream` (a
   * stream is piped, chunked), anything else as JSON; a `content-type` in `headers` wins.
   * In onResponse on an answer (one a request-side hook gave, or one that already replaced
   * the upstream's response) it does nothing: the first answer is the one sent.
   */
  respond(status: number, body: unknown = "", headers: Record<string, string> = {}): void {
    if (this.#sealed) {
      // The answer being sent stays; a stream nobody will read must not hold what it reads.
      if (body instanceof Readable) body.destroy();
      return;
    }
    let sent: AnswerBody;
    let type: string;
    if (typeof body === "string") {
      sent = body;
      type = "text/plain; charset=utf-8";
    } else if (Buffer.isBuffer(body) || body instanceof Readable) {
      sent = body;
      type = "application/octet-stream";
    } else {
      sent = JSON.stringify(body) ?? "null";
      type = "application/json";
    }
    // An empty answer (a 204 preflight, say) has no content to type.
    const typed = sent === "" ? headers : { "content-type": type, ...headers };
    this.#answer = { status, body: sent, headers: typed };
  }

  /**
   * Answers with a catalogued error, in the gateway's JSON error shape; `details` (what a
   * validator found, say) is sent as the error's `details` member. Like `respond`, it does
   * nothing in onResponse on an answer.
   */
  fail(
    code: ErrorCode,
    message?: string,
    headers: Record<string, string> = {},
    details?: Record<string, unknown>,
  ): void {
    if (this.#sealed) return;
    this.#answer = {
      status: errorCatalogue[code].status,
      code,
      body:
        details === undefined
          ? errorBody(code, this.requestId, message)
          : JSON.stringify({
              error: {
                code,
                message: message ?? errorCatalogue[code].message,
                requestId: this.requestId,
                details,
              },
            }),
      headers: { "content-type": "application/json", ...headers },
    };
  }

  /** The plugin's answer, if one answered. */
  get answer(): PluginAnswer | undefined {
    return this.#answer;
  }

  static {
    runnerState = {
      chain: (ctx) => ctx.#chain,
      setChain: (ctx, chain) => {
        ctx.#chain = chain;
      },
      upstreamHeaders: (ctx) => ctx.#upstreamHeaders,
      upstreamChange: (ctx) => ctx.#upstream,
      requestBody: (ctx) => ctx.#requestBody,
      responseBody: (ctx) => ctx.#responseBody,
      seal: (ctx) => {
        ctx.#sealed = true;
      },
      resumeAt: (ctx) => ctx.#resumeAt,
      setResumeAt: (ctx, at) => {
        ctx.#resumeAt = at;
      },
    };
  }
}

const noParams: Readonly<Record<string, string>> = Object.freeze({});

/** The parameters `pattern` finds in a normalised `path` (its groups, in order). */
function pathParams(
  pattern: PathPattern | undefined,
  path: string,
): Readonly<Record<string, string>> {
  if (!pattern || pattern.segments.every((segment) => segment.kind === "static")) return noParams;
  const found = pattern.regex.exec(path);
  if (!found) return noParams;
  const params: Record<string, string> = {};
  const names = pattern.paramNames;
  for (let i = 1; i < found.length; i++) {
    const name = i <= names.length ? names[i - 1]! : "*";
    params[name] = decodedPathText(found[i] ?? "");
  }
  return Object.freeze(params);
}

/** A normalised path's text decoded; kept as it is where it does not decode. */
function decodedPathText(text: string): string {
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `ctx.locals`: a Map whose reads fall back to the typed state key of the same name. */
class LegacyLocals extends Map<string, unknown> {
  readonly #ctx: RequestContext;

  constructor(ctx: RequestContext) {
    super();
    this.#ctx = ctx;
  }

  override get(name: string): unknown {
    if (super.has(name)) return super.get(name);
    const key = stateKeyNamed(name);
    return key === undefined ? undefined : this.#ctx.get(key);
  }

  override has(name: string): boolean {
    return super.has(name) || this.get(name) !== undefined;
  }
}
