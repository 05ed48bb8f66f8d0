/**
 * @module pipeline/context
 * What a plugin sees of one request and how it acts on it: read the request, name the
 * consumer, change the upstream request's headers, or answer the request itself.
 */
import type { IncomingMessage } from "node:http";
import { type ErrorCode, errorBody, errorCatalogue } from "../errors.ts";
import type { Chain } from "./chain.ts";

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

export interface RequestFacts {
  req: IncomingMessage;
  requestId: string;
  route: string;
  service: string;
  clientAddress: string;
  /** The normalised path (before any rewrite), without the query. */
  path: string;
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
  chain: Chain | undefined;
  /** Free space for plugins to pass things between phases, keyed by plugin name. */
  readonly locals = new Map<string, unknown>();
  /** Upstream header changes, applied in order after the hooks ran: undefined removes. */
  readonly upstreamHeaders: [name: string, value: string | undefined][] = [];
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

  /** Sets (or with undefined, removes) a header on the request sent upstream. */
  setUpstreamHeader(name: string, value: string | undefined): void {
    this.upstreamHeaders.push([name.toLowerCase(), value]);
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
}
