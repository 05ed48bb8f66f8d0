/**
 * @module proxy/grpc/session-pool
 * HTTP/2 sessions to one target (node:http2): h2c for `http://`, h2 over TLS with ALPN for
 * `https://`. Streams share a session until the peer's SETTINGS_MAX_CONCURRENT_STREAMS is
 * reached, then another session is opened. A session that gets GOAWAY, errors or closes
 * takes no new streams and the next request opens a fresh one; idle sessions close.
 * node:http2 over undici's HTTP/2 client: measured about 4x the unary calls per second at
 * 16 and 64 calls in flight on one session, and undici's `request()` loses HTTP/2 trailers.
 */

import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type ClientSessionRequestOptions,
  connect,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from "node:http2";
import { isIP, type Socket, connect as tcpConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";

export interface Http2SessionPoolOptions {
  /** A session not ready (connected, peer's SETTINGS received) in this many ms fails. */
  connectTimeout: number;
  /** A session with no stream for this long is closed. */
  idleTimeout: number;
  /** TLS settings for `https://` origins (CA, client certificate, servername). */
  tls?: SecureClientSessionOptions;
}

/** A session could not be opened; `kind` is how the target's breaker records it. */
export class SessionConnectError extends Error {
  readonly kind: "connect-failure" | "timeout";
  readonly code: string | undefined;
  constructor(kind: SessionConnectError["kind"], message: string, cause?: Error) {
    super(message, cause ? { cause } : undefined);
    this.name = "SessionConnectError";
    this.kind = kind;
    this.code = (cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/** The pool was closed or destroyed: it opens no more streams. */
export class SessionPoolClosedError extends Error {
  constructor(origin: string) {
    super(`HTTP/2 sessions to ${origin} are closed`);
    this.name = "SessionPoolClosedError";
  }
}

interface Entry {
  readonly session: ClientHttp2Session;
  /** Its connection: ours, so that closing never waits on a peer that keeps it open. */
  readonly socket: Socket;
  /** Streams opened on it and not yet closed. */
  streams: number;
  /** Connected and the peer's first SETTINGS received: its stream limit is known. */
  ready: boolean;
  /**
   * The peer's SETTINGS_MAX_CONCURRENT_STREAMS, kept as its SETTINGS arrive (reading
   * `remoteSettings` asks the native session for a fresh object every time).
   */
  maxStreams: number;
  /** GOAWAY received, an error seen, or closing: it takes no new stream. */
  draining: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  /** Settles when the session has closed. */
  readonly closed: Promise<void>;
}

/**
 * A request connects again when a fresh session is lost before it could take a stream;
 * a peer that keeps doing that fails the request after this many sessions.
 */
const maxLostSessions = 3;

/**
 * A session that has closed (GOAWAY sent, no stream left) waits this long for the peer to
 * close the connection, then the connection is dropped.
 */
const lingerMs = 1000;

/** HTTP/2 sessions to one origin, shared by every request to it. */
export class Http2SessionPool {
  readonly origin: string;
  readonly #options: Http2SessionPoolOptions;
  readonly #entries = new Set<Entry>();
  /** The session being opened, that requests finding every session full wait for. */
  #connecting: Promise<Entry> | undefined;
  #state: "open" | "closing" | "destroyed" = "open";

  constructor(origin: string, options: Http2SessionPoolOptions) {
    this.origin = new URL(origin).origin;
    this.#options = options;
  }

  /** Sessions open or opening that may still take streams. */
  get sessions(): number {
    let sessions = 0;
    for (const entry of this.#entries) if (!entry.draining) sessions++;
    return sessions;
  }

  /** Streams open over all sessions. */
  get streams(): number {
    let streams = 0;
    for (const entry of this.#entries) streams += entry.streams;
    return streams;
  }

  /**
   * Opens a stream on a session with room for it, opening a session when none has.
   * Rejects with SessionConnectError when no session could be opened, and with
   * SessionPoolClosedError once the pool is closing.
   */
  async request(
    headers: OutgoingHttpHeaders,
    options: ClientSessionRequestOptions & { signal?: AbortSignal } = {},
  ): Promise<ClientHttp2Stream> {
    for (let lost = 0; ; ) {
      if (this.#state !== "open") throw new SessionPoolClosedError(this.origin);
      options.signal?.throwIfAborted();
      // The signal is for the wait: given to Node, it would destroy a stream the caller
      // has not taken yet, its error unheard and its close missed (the caller cancels it).
      const { signal: _, ...streamOptions } = options;
      const stream = this.tryRequest(headers, streamOptions);
      if (stream) return stream;
      this.#connecting ??= this.#connect().finally(() => {
        this.#connecting = undefined;
      });
      const opened = await abortable(this.#connecting, options.signal);
      // Lost before it took a stream (GOAWAY at once): connect again, but not forever.
      if (opened.draining && ++lost === maxLostSessions) {
        throw new SessionConnectError(
          "connect-failure",
          `HTTP/2 sessions to ${this.origin} closed before taking a stream`,
        );
      }
    }
  }

  /**
   * A stream at once on a ready session with room for it; undefined when every session is
   * full, not ready yet or gone (then `request` waits for one). The common case, without
   * the promise `request` costs.
   */
  tryRequest(
    headers: OutgoingHttpHeaders,
    options?: ClientSessionRequestOptions,
  ): ClientHttp2Stream | undefined {
    if (this.#state !== "open") return undefined;
    for (let entry = this.#pick(); entry; entry = this.#pick()) {
      const stream = this.#open(entry, headers, options);
      if (stream) return stream;
    }
    return undefined;
  }

  /** Takes no new streams; resolves once open streams have finished and sessions closed. */
  async close(): Promise<void> {
    if (this.#state === "open") this.#state = "closing";
    const closing = [...this.#entries];
    for (const entry of closing) {
      if (entry.ready) this.#retire(entry);
      else this.#drop(entry);
    }
    await Promise.all(closing.map((entry) => entry.closed));
  }

  /** Closes every session at once; open streams are aborted. */
  async destroy(): Promise<void> {
    this.#state = "destroyed";
    const all = [...this.#entries];
    for (const entry of all) this.#drop(entry);
    await Promise.all(all.map((entry) => entry.closed));
  }

  /** The first ready session with room for one more stream. */
  #pick(): Entry | undefined {
    for (const entry of this.#entries) {
      if (!entry.ready || entry.draining || entry.session.closed || entry.session.destroyed) {
        continue;
      }
      if (entry.streams < entry.maxStreams) return entry;
    }
    return undefined;
  }

  /** A stream on `entry`, or undefined when the session turned out unusable. */
  #open(
    entry: Entry,
    headers: OutgoingHttpHeaders,
    options: ClientSessionRequestOptions | undefined,
  ): ClientHttp2Stream | undefined {
    let stream: ClientHttp2Stream;
    try {
      stream = entry.session.request(headers, options);
    } catch (error) {
      // Closing or out of stream ids: the session is done; the caller tries another.
      if (entry.session.closed || entry.session.destroyed || isOutOfStreams(error)) {
        this.#retire(entry);
        return undefined;
      }
      throw error;
    }
    entry.streams++;
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    entry.session.ref();
    stream.once("close", () => this.#release(entry));
    return stream;
  }

  #release(entry: Entry): void {
    entry.streams--;
    if (entry.streams > 0) return;
    if (entry.draining) {
      this.#retire(entry);
      return;
    }
    // An idle session must not keep the process alive, nor stay open forever.
    entry.session.unref();
    entry.idleTimer = setTimeout(() => {
      if (entry.streams === 0) this.#retire(entry);
    }, this.#options.idleTimeout);
    entry.idleTimer.unref();
  }

  /** No new streams on `entry`; once its streams are done, it closes. */
  #retire(entry: Entry): void {
    entry.draining = true;
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    entry.session.close();
    if (entry.streams > 0) return;
    setTimeout(() => entry.socket.destroy(), lingerMs).unref();
  }

  /** Closes `entry` now, streams and all. */
  #drop(entry: Entry): void {
    entry.draining = true;
    clearTimeout(entry.idleTimer);
    entry.session.destroy();
    entry.socket.destroy();
  }

  /** The connection for a new session: TCP for h2c, TLS offering only h2 for https. */
  #dial(): Socket {
    const url = new URL(this.origin);
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    if (url.protocol !== "https:") return tcpConnect({ host, port: Number(url.port || 80) });
    const socket = tlsConnect({
      host,
      port: Number(url.port || 443),
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...this.#options.tls,
      ALPNProtocols: ["h2"],
    });
    // A server that ignores ALPN would read the HTTP/2 preface as a bad HTTP/1.1 request.
    socket.once("secureConnect", () => {
      if (socket.alpnProtocol !== "h2") {
        socket.destroy(new Error(`${this.origin} did not agree to HTTP/2 (ALPN h2)`));
      }
    });
    return socket;
  }

  #connect(): Promise<Entry> {
    const socket = this.#dial();
    const session = connect(this.origin, {
      settings: { enablePush: false },
      createConnection: () => socket,
    });
    let closed!: () => void;
    const entry: Entry = {
      session,
      socket,
      streams: 0,
      ready: false,
      maxStreams: Number.POSITIVE_INFINITY,
      draining: false,
      idleTimer: undefined,
      closed: new Promise((resolve) => {
        closed = resolve;
      }),
    };
    this.#entries.add(entry);
    const timeout = this.#options.connectTimeout;
    return new Promise((resolve, reject) => {
      const fail = (error: SessionConnectError) => {
        if (entry.ready) return;
        clearTimeout(timer);
        this.#drop(entry);
        reject(error);
      };
      const timer = setTimeout(() => {
        const message = `HTTP/2 session to ${this.origin} not ready after ${timeout}ms`;
        fail(new SessionConnectError("timeout", message));
      }, timeout);
      session.on("remoteSettings", (settings) => {
        entry.maxStreams = settings.maxConcurrentStreams ?? Number.POSITIVE_INFINITY;
      });
      // A server that is not HTTP/2 answers the preface with anything but SETTINGS.
      session.once("remoteSettings", () => {
        if (entry.draining) return;
        clearTimeout(timer);
        entry.ready = true;
        session.unref();
        resolve(entry);
      });
      session.on("error", (error: Error) => {
        entry.draining = true;
        fail(new SessionConnectError("connect-failure", error.message, error));
      });
      socket.on("error", () => {}); // reported through the session
      session.once("goaway", () => this.#retire(entry));
      session.once("close", () => {
        entry.draining = true;
        clearTimeout(entry.idleTimer);
        this.#entries.delete(entry);
        socket.destroy();
        fail(new SessionConnectError("connect-failure", `${this.origin} closed the connection`));
        closed();
      });
    });
  }
}

function isOutOfStreams(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === "ERR_HTTP2_OUT_OF_STREAMS";
}

/** `promise`, or the signal's reason as soon as it aborts (the work goes on for others). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
