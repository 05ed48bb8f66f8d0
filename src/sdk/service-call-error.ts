/**
 * @module sdk/service-call-error
 * The one error a service client throws: a GatehouseError, so it carries a code of the
 * gateway's error catalogue (docs/errors.md) with that code's status, plus which service
 * and instance the call was for and, when the service answered, its answer.
 */
import { type ErrorCode, GatehouseError } from "../errors.ts";

/** A service's answer, as a call returns it. */
export interface ServiceResponse {
  status: number;
  /** Header names in lower case; a repeated header is an array. */
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** The instance that answered, e.g. `http://10.0.0.7:9003`. */
  target: string;
  /** Tries made for this answer (1 + retries). */
  tries: number;
}

/** What a ServiceCallError tells besides its code. */
export interface ServiceCallErrorDetails {
  service: string;
  /** The instance the last try went to (`http://10.0.0.7:9003`); undefined if none was picked. */
  target?: string;
  /** Tries made (1 + retries); 0 when no instance could be picked. */
  tries: number;
  /** The answer, for `GATEHOUSE_UPSTREAM_ERROR_STATUS`: its status, headers, body and parsed JSON. */
  response?: ServiceResponse & { json?: unknown };
  cause?: unknown;
}

/**
 * A service call that failed. `code` says how (a catalogue code):
 *
 * - `GATEHOUSE_NO_AVAILABLE_TARGET`: the service has no instance that may take a call (none
 *   registered, all down, ejected, or behind an open breaker);
 * - `GATEHOUSE_UPSTREAM_CONNECT_FAILED`, `GATEHOUSE_UPSTREAM_TIMEOUT`,
 *   `GATEHOUSE_UPSTREAM_BAD_RESPONSE`: the last try's failure, once retries were spent;
 * - `GATEHOUSE_UPSTREAM_ERROR_STATUS`: the service answered 4xx or 5xx (`response` has it);
 * - `GATEHOUSE_RESPONSE_TOO_LARGE`: the answer was larger than `maxResponseSize`.
 */
export class ServiceCallError extends GatehouseError {
  readonly service: string;
  readonly target: string | undefined;
  readonly tries: number;
  readonly response: (ServiceResponse & { json?: unknown }) | undefined;

  constructor(code: ErrorCode, message: string | undefined, details: ServiceCallErrorDetails) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ServiceCallError";
    this.service = details.service;
    this.target = details.target;
    this.tries = details.tries;
    this.response = details.response;
  }
}
