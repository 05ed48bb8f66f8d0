/**
 * @module server/request-body-watch
 * `gateway.limits.requestBodyIdleTimeout` and `requestBodyTimeout`: a client that sends a
 * request body too slowly is cut. One shared sweep per gateway thread, not a timer per
 * request: it runs only while some body is being received, and reads progress from the
 * socket's byte count, so nothing is done per chunk. A socket (or HTTP/2 stream) the
 * gateway has paused (the upstream takes the body slower than the client sends it) is not
 * the client's pause, and its idle clock does not run.
 */
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import type { GatewayResponse } from "./exchange.ts";

/** Which timeout cut a request (the `timeout` label of `gatehouse_client_timeouts_total`). */
export type ClientTimeout = "headers" | "body_idle" | "body";

export interface RequestTimeouts {
  requestHeadersTimeout: number;
  requestBodyIdleTimeout: number;
  requestBodyTimeout: number;
}

/**
 * How often the timeouts are checked (Node's check of `requestHeadersTimeout` and the
 * body sweep): every second, or every tenth of the shortest timeout when that is less,
 * so a timeout is never more than a tenth (at most a second) late.
 */
export function timeoutCheckInterval(timeouts: RequestTimeouts): number {
  let interval = 1000;
  for (const timeout of [
    timeouts.requestHeadersTimeout,
    timeouts.requestBodyIdleTimeout,
    timeouts.requestBodyTimeout,
  ]) {
    if (timeout > 0) interval = Math.min(interval, Math.max(10, Math.floor(timeout / 10)));
  }
  return interval;
}

/**
 * Whether the gateway stopped reading `req`'s body: its socket paused (HTTP/1.1) or, over
 * HTTP/2, its stream (the connection's socket goes on reading the other streams).
 */
function heldBack(req: GatewayResponse["req"]): boolean {
  const stream = (req as { stream?: Readable }).stream;
  return req.socket.isPaused() || stream?.isPaused() === true;
}

/** Watches the request bodies being received; calls `timedOut` for each one that is too slow. */
export class RequestBodyWatch {
  readonly #idle: number;
  readonly #total: number;
  readonly #interval: number;
  readonly #timedOut: (res: GatewayResponse, timeout: ClientTimeout) => void;
  readonly #receiving = new Set<GatewayResponse>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(
    timeouts: RequestTimeouts,
    timedOut: (res: GatewayResponse, timeout: ClientTimeout) => void,
  ) {
    this.#idle = timeouts.requestBodyIdleTimeout;
    this.#total = timeouts.requestBodyTimeout;
    this.#interval = timeoutCheckInterval(timeouts);
    this.#timedOut = timedOut;
  }

  /** From now on, `res`'s request body must keep coming (its headers are done). */
  watch(res: GatewayResponse): void {
    if (this.#idle === 0 && this.#total === 0) return;
    const now = performance.now();
    res.bodyStartedAt = now;
    res.bodyProgressAt = now;
    res.bodyBytesSeen = res.req.socket.bytesRead;
    this.#receiving.add(res);
    if (!this.#sweeper) {
      this.#sweeper = setInterval(this.#sweep, this.#interval);
      this.#sweeper.unref();
    }
  }

  #sweep = (): void => {
    const now = performance.now();
    for (const res of this.#receiving) {
      const req = res.req;
      const socket = req.socket;
      if (req.complete || socket === null || socket.destroyed) {
        this.#receiving.delete(res);
        continue;
      }
      const bytes = socket.bytesRead;
      if (bytes !== res.bodyBytesSeen || heldBack(req)) {
        res.bodyBytesSeen = bytes;
        res.bodyProgressAt = now;
      }
      const timeout =
        this.#total > 0 && now - res.bodyStartedAt >= this.#total
          ? "body"
          : this.#idle > 0 && now - res.bodyProgressAt >= this.#idle
            ? "body_idle"
            : undefined;
      if (timeout === undefined) continue;
      this.#receiving.delete(res);
      this.#timedOut(res, timeout);
    }
    if (this.#receiving.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  };
}
