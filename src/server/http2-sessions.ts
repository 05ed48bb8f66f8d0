/**
 * @module server/http2-sessions
 * What one HTTP/2 client connection may do (`gateway.limits.http2`): streams it cancels
 * before their answers (the rapid-reset attack makes the gateway start work, routing and
 * upstream requests, that the client throws away at once), PINGs and SETTINGS per second.
 * Past a limit the connection gets GOAWAY ENHANCE_YOUR_CALM and is closed. Connections
 * nghttp2 itself closes (its flood and protocol checks) are counted beside them, and a
 * connection with no open stream closes after `keepAliveTimeout`.
 */
import { constants, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import { performance } from "node:perf_hooks";
import type { GatehouseConfig } from "../config/schema/index.ts";

type Http2Limits = GatehouseConfig["gateway"]["limits"]["http2"];

/**
 * Why the gateway closed an HTTP/2 connection (the `reason` of
 * `gatehouse_http2_sessions_closed_total`): one of its limits (`resets`, `pings`,
 * `settings`), nghttp2's detection of a client that does not read its acknowledgements
 * (`flood`), or a protocol error (invalid frames, too many refused streams, …).
 */
export type Http2CloseReason = "resets" | "pings" | "settings" | "flood" | "protocol_error";

export const http2CloseReasons: readonly Http2CloseReason[] = [
  "resets",
  "pings",
  "settings",
  "flood",
  "protocol_error",
];

/** nghttp2's error for a peer whose acknowledgements pile up unread. */
const floodedError = -904;

/** Counts events in one-second windows; says when a window holds more than the limit. */
class PerSecond {
  readonly #limit: number;
  #windowStart = 0;
  #count = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** One more event; true when it is over the limit. */
  over(): boolean {
    const now = performance.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#count = 0;
    }
    return ++this.#count > this.#limit;
  }
}

/** The watch of each open session, for listeners that are called with a stream. */
const watches = new WeakMap<object, SessionWatch>();

/** One client connection's counts against the limits. */
class SessionWatch {
  readonly #session: ServerHttp2Session;
  readonly #closed: (reason: Http2CloseReason) => void;
  readonly #idleTimeout: number;
  readonly #resets: PerSecond | undefined;
  readonly #pings: PerSecond | undefined;
  readonly #settings: PerSecond | undefined;
  #openStreams = 0;
  #ended = false;

  constructor(
    session: ServerHttp2Session,
    limits: Http2Limits,
    idleTimeout: number,
    closed: (reason: Http2CloseReason) => void,
  ) {
    this.#session = session;
    this.#closed = closed;
    this.#idleTimeout = idleTimeout;
    if (limits.maxResetsPerSecond > 0) this.#resets = new PerSecond(limits.maxResetsPerSecond);
    if (limits.maxPingsPerSecond > 0) {
      this.#pings = new PerSecond(limits.maxPingsPerSecond);
      session.on("ping", this.#ping);
    }
    if (limits.maxSettingsPerSecond > 0) {
      this.#settings = new PerSecond(limits.maxSettingsPerSecond);
      session.on("remoteSettings", this.#remoteSettings);
    }
    watches.set(session, this);
    session.on("stream", this.#stream);
    session.on("error", this.#error);
    session.once("close", () => {
      this.#ended = true;
    });
    if (idleTimeout > 0) {
      session.on("timeout", this.#idle);
      session.setTimeout(idleTimeout);
    }
  }

  #stream = (stream: ServerHttp2Stream): void => {
    // Node announces a stream on the next tick: one the client reset in the same read
    // is already closed by then.
    if (stream.closed) {
      if (this.#resets) this.reset();
      return;
    }
    this.#openStreams++;
    stream.once("close", this.#streamClosed);
    if (this.#resets) stream.once("aborted", streamAborted);
  };

  #streamClosed = (): void => {
    this.#openStreams--;
  };

  /** The client reset a stream whose answer was not finished. */
  reset(): void {
    if (this.#resets!.over()) this.#calm("resets");
  }

  #ping = (): void => {
    if (this.#pings!.over()) this.#calm("pings");
  };

  #remoteSettings = (): void => {
    if (this.#settings!.over()) this.#calm("settings");
  };

  /** GOAWAY ENHANCE_YOUR_CALM, and the connection closed with whatever it had open. */
  #calm(reason: Http2CloseReason): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#closed(reason);
    this.#session.destroy(
      new Error(`HTTP/2 client over gateway.limits.http2 (${reason})`),
      constants.NGHTTP2_ENHANCE_YOUR_CALM,
    );
  }

  /** nghttp2 ended the session: a flood of unread acknowledgements, or a protocol error. */
  #error = (error: Error & { code?: string; errno?: number }): void => {
    if (this.#ended || error.code !== "ERR_HTTP2_ERROR") return;
    this.#ended = true;
    this.#closed(error.errno === floodedError ? "flood" : "protocol_error");
  };

  /** No frame for keepAliveTimeout: closed (GOAWAY) when no stream is open, else checked again. */
  #idle = (): void => {
    if (this.#ended) return;
    if (this.#openStreams > 0) this.#session.setTimeout(this.#idleTimeout);
    else this.#session.close();
  };
}

/**
 * Called with the stream as `this`: an `aborted` stream that is not being destroyed by the
 * gateway itself was reset by the client.
 */
function streamAborted(this: ServerHttp2Stream): void {
  if (this.destroyed) return;
  const session = this.session;
  if (session) watches.get(session)?.reset();
}

/**
 * Holds a new HTTP/2 session to `limits`, closes it after `idleTimeout` ms with no open
 * stream (0: never), and tells `closed` why, when the gateway or nghttp2 closes it.
 */
export function watchSession(
  session: ServerHttp2Session,
  limits: Http2Limits,
  idleTimeout: number,
  closed: (reason: Http2CloseReason) => void,
): void {
  new SessionWatch(session, limits, idleTimeout, closed);
}
