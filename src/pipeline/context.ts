/**
 * @module pipeline/context
 * What a plugin sees of one request and how it acts on it: read the request, name the
 * consumer, keep typed state between phases, change the upstream request's headers, or
 * answer the request itself. The runner's own state (the chain it runs, the header
 * changes it applies) is private: only the pipeline reads it, through runnerState.
 */
import type { IncomingMessage } from "node:http";
import { type ErrorCode, errorBody, errorCatalogue } from "../errors.ts";
import type { Chain } from "./chain.ts";
import { type StateKey, stateKeyNamed, stateSlots } from "./request-state.ts";

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
  body: string;
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
}

/** One request as the pipeline's hooks see it. */
export class RequestContext {
  readonly req: IncomingMessage;
  readonly requestId: string;
  readonly route: string;
  readonly service: string;
  readonly clientAddress: string;
  readonly path: string;
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

  constructor(facts: RequestFacts) {
    this.req = facts.req;
    this.requestId = facts.requestId;
    this.route = facts.route;
    this.service = facts.service;
    this.clientAddress = facts.clientAddress;
    this.path = facts.path;
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

  /** Answers the request now; the phases after this one and the upstream are skipped. */
  respond(status: number, body: unknown = "", headers: Record<string, string> = {}): void {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    const type = typeof body === "string" ? "text/plain; charset=utf-8" : "application/json";
    // An empty answer (a 204 preflight, say) has no content to type.
    const typed = text === "" ? headers : { "content-type": type, ...headers };
    this.#answer = { status, body: text, headers: typed };
  }

  /** Answers with a catalogued error, in the gateway's JSON error shape. */
  fail(code: ErrorCode, message?: string, headers: Record<string, string> = {}): void {
    this.#answer = {
      status: errorCatalogue[code].status,
      code,
      body: errorBody(code, this.requestId, message),
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
    };
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
