/**
 * @module server/connection-limit
 * `gateway.limits.maxClientConnections`: one count of the node's client connections,
 * shared by every worker thread through a SharedArrayBuffer (an atomic add on accept and
 * a subtract on close, no message between threads), and the refusal of a connection over
 * it before the HTTP server sees it: 503 JSON, closed at once, counted, and logged once
 * per burst for the whole node.
 */

import type { Server } from "node:http";
import type { Socket } from "node:net";
import { Server as TlsServer } from "node:tls";
import type { Logger } from "../observability/logger.ts";
import { writeRawError } from "../proxy/respond.ts";
import { newRequestId } from "./request-id.ts";

// Slots of the shared counts: the node's open connections, the refusals since start, the
// thread (+1) that is logging the current burst of refusals (0: no burst), then each
// thread's own open connections (so a thread that dies can be taken out of the total).
const open = 0;
const refusals = 1;
const burstOwner = 2;
const perThread = 3;

/** `gateway.limits.maxClientConnections` resolved (0: none), and the node's shared counts. */
export interface ClientConnections {
  max: number;
  counts: SharedArrayBuffer;
}

/** The counts for a node whose proxy listeners run in threads numbered 0 to `threads`. */
export function createConnectionCounts(threads: number): SharedArrayBuffer {
  return new SharedArrayBuffer((perThread + threads + 1) * Int32Array.BYTES_PER_ELEMENT);
}

/**
 * A worker thread ended, and its connections with it (its close handlers never ran): takes
 * them out of the node's count, and ends its burst of refusals if it was logging one.
 */
export function forgetThreadConnections(counts: SharedArrayBuffer, thread: number): void {
  const view = new Int32Array(counts);
  Atomics.sub(view, open, Atomics.exchange(view, perThread + thread, 0));
  Atomics.compareExchange(view, burstOwner, thread + 1, 0);
}

export interface ConnectionLimitOptions extends ClientConnections {
  /** This thread's number: 0 without worker threads, else the worker's index. */
  thread: number;
  log: Logger;
  /** Called for every refused connection (the metric). */
  onRefused?: () => void;
  /** A burst ends after this long without a refusal; its summary is logged then. */
  quietMs?: number;
}

/** One thread's side of the node's connection cap. */
export class ConnectionLimit {
  readonly #max: number;
  readonly #view: Int32Array;
  readonly #thread: number;
  readonly #slot: number;
  readonly #log: Logger;
  readonly #onRefused: (() => void) | undefined;
  readonly #quietMs: number;
  #burstTimer: NodeJS.Timeout | undefined;
  #burstStartedAt = 0;
  #refusalsBefore = 0;
  #refusalsSeen = 0;

  constructor(options: ConnectionLimitOptions) {
    this.#max = options.max;
    this.#view = new Int32Array(options.counts);
    this.#thread = options.thread;
    this.#slot = perThread + options.thread;
    this.#log = options.log;
    this.#onRefused = options.onRefused;
    this.#quietMs = options.quietMs ?? 5_000;
  }

  /**
   * Takes a place for a new connection; false (and the refusal counted) when the node is
   * full. Exact across threads: a place is taken before it is checked, and given back if
   * it was one too many, so two threads can never both take the last one.
   */
  admit(): boolean {
    if (this.#max === 0) return true;
    if (Atomics.add(this.#view, open, 1) >= this.#max) {
      Atomics.sub(this.#view, open, 1);
      this.#refused();
      return false;
    }
    Atomics.add(this.#view, this.#slot, 1);
    return true;
  }

  /** An admitted connection closed. */
  release(): void {
    if (this.#max === 0) return;
    Atomics.sub(this.#view, this.#slot, 1);
    Atomics.sub(this.#view, open, 1);
  }

  /** Ends a burst this thread is logging (the gateway is stopping). */
  close(): void {
    if (this.#burstTimer) this.#endBurst();
  }

  #refused(): void {
    this.#onRefused?.();
    const total = Atomics.add(this.#view, refusals, 1) + 1;
    if (Atomics.compareExchange(this.#view, burstOwner, 0, this.#thread + 1) !== 0) return;
    // The first refusal of a burst, in whichever thread: that thread alone logs the burst.
    this.#burstStartedAt = Date.now();
    this.#refusalsBefore = total - 1;
    this.#refusalsSeen = total;
    this.#log.warn(
      { maxClientConnections: this.#max },
      `client connections reached gateway.limits.maxClientConnections (${this.#max}): new ones are refused with 503 until some close`,
    );
    this.#burstTimer = setTimeout(this.#checkBurst, this.#quietMs);
    this.#burstTimer.unref();
  }

  #checkBurst = (): void => {
    const total = Atomics.load(this.#view, refusals);
    if (total !== this.#refusalsSeen) {
      this.#refusalsSeen = total;
      this.#burstTimer!.refresh();
      return;
    }
    this.#endBurst();
  };

  #endBurst(): void {
    clearTimeout(this.#burstTimer);
    this.#burstTimer = undefined;
    // The count wraps at 2^31 in a long flood; the difference stays right modulo 2^32.
    const refused = (Atomics.load(this.#view, refusals) - this.#refusalsBefore) >>> 0;
    const seconds = Math.round((Date.now() - this.#burstStartedAt) / 1000);
    Atomics.compareExchange(this.#view, burstOwner, this.#thread + 1, 0);
    this.#log.warn(
      { maxClientConnections: this.#max, refused, seconds },
      `refused ${refused} client connections over ${seconds} s at gateway.limits.maxClientConnections (${this.#max}); the burst is over`,
    );
  }
}

function destroyOnError(this: Socket): void {
  this.destroy();
}

/** A refused connection: a 503 the client can read, and the socket closed once it is sent. */
function refuse(socket: Socket): void {
  socket.on("error", destroyOnError);
  writeRawError(socket, "GATEHOUSE_CONNECTION_LIMITED", newRequestId());
}

/**
 * Puts `admit` in front of an HTTP server's own connection handler, so a refused
 * connection gets no parser, no request and no timers: only its 503 (or, on a TLS
 * listener, no handshake). `closed` is called
 * with `this` the socket when an admitted connection closes (one function for all of
 * them, no closure per connection).
 */
export function guardConnections(
  server: Server,
  limit: ConnectionLimit,
  admitted: (socket: Socket) => void,
  closed: (this: Socket) => void,
): void {
  // node:http serves a connection from the one `connection` listener its Server adds.
  const listeners = server.rawListeners("connection");
  if (listeners.length !== 1) throw new Error("guardConnections: expected a fresh http.Server");
  const serve = listeners[0] as (this: Server, socket: Socket) => void;
  server.removeListener("connection", serve);
  // Before a TLS handshake, a client cannot read an answer in plain text: it is cut.
  const encrypted = server instanceof TlsServer;
  server.on("connection", function admit(this: Server, socket: Socket) {
    if (!limit.admit()) {
      if (encrypted) socket.destroy();
      else refuse(socket);
      return;
    }
    // `on`, not `once`: a socket closes once, and `once` would add a wrapper and its state
    // object to every connection for as long as it stays open.
    socket.on("close", closed);
    admitted(socket);
    serve.call(this, socket);
  });
}
