/**
 * @module proxy/upstream-try
 * One try of a request against one target: the undici dispatch handler. It reports the
 * outcome to the target once (at the response headers or the failure), asks its request
 * whether to commit a response or hold it while a retry waits out its backoff, and
 * streams a committed response to the client with back-pressure.
 */
import type { Dispatcher } from "undici";
import { type ErrorCode, errorCatalogue } from "../errors.ts";
import type { OutcomeKind } from "../upstream/outcome.ts";
import type { Target } from "../upstream/target.ts";

/** What a try needs from the request it belongs to. */
export interface TryOwner {
  /**
   * A response arrived: true to send it to the client; false to hold it (unread) while a
   * retry waits, the owner then calling `commit()` (the retry was refused) or `drop()`.
   */
  onTryResponse(
    attempt: UpstreamTry,
    status: number,
    rawHeaders: Buffer[],
    statusText: string,
  ): boolean;
  onTryData(chunk: Buffer, resume: () => void): boolean;
  onTryComplete(trailers: string[] | null): void;
  /** The try failed; `kind` is how it counts against the target, `code` what the client would see. */
  onTryFailed(attempt: UpstreamTry, kind: OutcomeKind, code: ErrorCode, error: Error): void;
}

/** One dispatch to one target. */
export class UpstreamTry implements Dispatcher.DispatchHandler {
  readonly target: Target;
  readonly #owner: TryOwner;
  #abort: ((reason?: Error) => void) | undefined;
  #abortReason: Error | undefined;
  #sentAt: number;
  #reported = false;
  #settled = false;
  /** Whether the target was on trial when this try was sent, until its outcome ends the trial. */
  #trial: boolean;
  /** Set when the owner dropped this try's response to retry: its end is not news. */
  #dropped = false;
  /** The response is held, unread, until the owner commits or drops it. */
  #held = false;
  /** The held response ended (a body-less one): its trailers, told to the owner on commit. */
  #heldEnd: string[] | null | undefined;
  #resume: (() => void) | undefined;

  constructor(owner: TryOwner, target: Target) {
    this.#owner = owner;
    this.target = target;
    this.#sentAt = target.clock.now();
    this.#trial = target.onDispatch();
  }

  /** Ends the try early; its failure is then reported with `code`. */
  abort(code: ErrorCode | "client-closed"): void {
    this.#abortReason ??= new GatehouseAbort(code);
    this.#abort?.(this.#abortReason);
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.#abort = abort;
    if (this.#abortReason) abort(this.#abortReason);
  }

  onHeaders(
    statusCode: number,
    rawHeaders: Buffer[],
    resume: () => void,
    statusText: string,
  ): boolean {
    if (statusCode < 200) return true;
    this.#report(statusCode >= 500 ? "server-error" : "success");
    this.#resume = resume;
    if (this.#owner.onTryResponse(this, statusCode, rawHeaders, statusText)) return true;
    this.#held = true;
    return false;
  }

  /** Sends the held response on to the owner after all (its headers were already written). */
  commit(): void {
    if (!this.#held) return;
    this.#held = false;
    if (this.#heldEnd !== undefined) this.#owner.onTryComplete(this.#heldEnd);
    else this.#resume!();
  }

  /** Throws the response away, held or not: the owner sends another (a plugin's) instead. */
  discard(): void {
    this.#held = false;
    this.#dropped = true;
    this.abort("client-closed");
  }

  /** Throws the held response away: a retry goes out instead. */
  drop(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#dropped = true;
    this.abort("GATEHOUSE_UPSTREAM_BAD_RESPONSE");
  }

  onData(chunk: Buffer): boolean {
    return this.#owner.onTryData(chunk, this.#resume!);
  }

  onComplete(trailers: string[] | null): void {
    this.#settle();
    if (this.#dropped) return;
    if (this.#held) this.#heldEnd = trailers;
    else this.#owner.onTryComplete(trailers);
  }

  onError(error: Error): void {
    const own = error instanceof GatehouseAbort ? error.code : undefined;
    const code = own && own !== "client-closed" ? own : upstreamErrorCode(error);
    const kind = own === "GATEHOUSE_UPSTREAM_TIMEOUT" ? "timeout" : outcomeOf(code);
    // The gateway's own reasons (client gone, body too large) say nothing about the target.
    if (own === undefined || own === "GATEHOUSE_UPSTREAM_TIMEOUT") this.#report(kind);
    this.#settle();
    if (this.#dropped) return;
    this.#held = false;
    this.#owner.onTryFailed(this, kind, code, error);
  }

  /** Tells the target how this try went, once. A client hanging up says nothing about it. */
  #report(kind: OutcomeKind): void {
    if (this.#reported) return;
    this.#reported = true;
    this.target.onOutcome(
      { kind, durationMs: this.target.clock.now() - this.#sentAt },
      this.#trial,
    );
    this.#trial = false;
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.target.onSettled(this.#trial);
  }
}

/** The gateway's own reason for ending a try. */
class GatehouseAbort extends Error {
  readonly code: ErrorCode | "client-closed";
  constructor(code: ErrorCode | "client-closed") {
    super(
      `gateway ended the try: ${code === "client-closed" ? code : errorCatalogue[code].message}`,
    );
    this.code = code;
  }
}

/** Node's and OpenSSL's codes for a TLS handshake that failed. */
const tlsHandshakeCodes =
  /^(ERR_SSL_|ERR_TLS_CERT|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|CERT_)/;

/** The catalogued error for an undici failure before the response started. */
export function upstreamErrorCode(error: Error): ErrorCode {
  const code = (error as { code?: string }).code;
  // A TLS handshake that failed (a certificate not trusted, a name that does not match)
  // never carried the request: a connection that could not be made.
  if (code !== undefined && tlsHandshakeCodes.test(code))
    return "GATEHOUSE_UPSTREAM_CONNECT_FAILED";
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

function outcomeOf(code: ErrorCode): OutcomeKind {
  if (code === "GATEHOUSE_UPSTREAM_CONNECT_FAILED") return "connect-failure";
  if (code === "GATEHOUSE_UPSTREAM_TIMEOUT") return "timeout";
  return "reset";
}
