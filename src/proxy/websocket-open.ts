/**
 * @module proxy/websocket-open
 * Opening a WebSocket tunnel: the upgrade is forwarded to a target and, on 101, spliced to
 * the client (see websocket). Subprotocols and extensions pass through untouched; an
 * upstream refusal is relayed to the client. A target that cannot be reached (refused, or
 * no connection within the connect timeout) never saw the upgrade, so it is tried on
 * another target within the service's retry policy and budget, as an HTTP request is.
 */
import { type ClientRequest, request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { ErrorCode } from "../errors.ts";
import type { OutcomeKind } from "../upstream/outcome.ts";
import { RetryLoop } from "../upstream/retry-loop.ts";
import type { SelectionRequest } from "../upstream/selectors/selector.ts";
import type { Service } from "../upstream/service.ts";
import type { Target } from "../upstream/target.ts";
import { writeRawError } from "./respond.ts";
import { upstreamErrorCode } from "./upstream-try.ts";
import { responseHead, type SplicedTunnel, splice } from "./websocket.ts";

export interface TunnelRequest extends SplicedTunnel {
  req: IncomingMessage;
  socket: Duplex;
  service: Service;
  /** Picks the target of each retry. */
  selection: SelectionRequest;
  /** The first try's target. */
  target: Target;
  /** The client's Host when the route preserves it; else each try sends its target's. */
  preservedHost: string | undefined;
  path: string;
  /** Upstream headers, `host` first. */
  headers: string[];
  requestId: string;
  connectTimeout: number;
}

/** Opens the upstream connection (trying another target if one cannot be reached) and, on 101, splices it. */
export function openTunnel(tunnel: TunnelRequest): void {
  new TunnelOpening(tunnel).start();
}

function outcomeOf(code: ErrorCode): OutcomeKind {
  if (code === "GATEHOUSE_UPSTREAM_TIMEOUT") return "timeout";
  if (code === "GATEHOUSE_UPSTREAM_CONNECT_FAILED") return "connect-failure";
  return "reset";
}

/** One upgrade's tries, until a target answers it or the retries are spent. */
class TunnelOpening extends RetryLoop {
  readonly #tunnel: TunnelRequest;
  /** The current try's request (none while a retry waits out its backoff). */
  #upstream: ClientRequest | undefined;
  /** The failure of the last try, answered if the budget refuses its retry after the backoff. */
  #lastFailure: ErrorCode = "GATEHOUSE_UPSTREAM_CONNECT_FAILED";
  /** There is no body: the upgrade can always be sent again. */
  protected readonly replayable = true;
  /** Until the upgrade: a client error ends the tries (removed once the tunnel is open). */
  readonly #clientError = () => {
    this.#upstream?.destroy();
    this.endLoop();
  };

  constructor(tunnel: TunnelRequest) {
    super(tunnel.service, tunnel.selection);
    this.#tunnel = tunnel;
  }

  start(): void {
    this.startLoop();
    this.#tunnel.socket.on("error", this.#clientError);
    this.#try(this.#tunnel.target);
  }

  protected sendRetry(target: Target): void {
    const { socket } = this.#tunnel;
    // The client went away during the backoff.
    if (socket.destroyed || socket.readableEnded) {
      this.endLoop();
      socket.destroy();
      return;
    }
    this.#try(target);
  }

  protected retryRefused(): void {
    this.endLoop();
    writeRawError(this.#tunnel.socket, this.#lastFailure, this.#tunnel.requestId);
  }

  #try(target: Target): void {
    const tunnel = this.#tunnel;
    const { req, socket, requestId } = tunnel;
    const url = new URL(target.origin);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    tunnel.headers[1] = tunnel.preservedHost ?? target.authority;
    const upstream = send({
      host: url.hostname,
      port: url.port || (url.protocol === "https:" ? 443 : 80),
      method: req.method,
      path: tunnel.path,
      headers: [...tunnel.headers, "connection", "upgrade", "upgrade", String(req.headers.upgrade)],
      agent: false,
      timeout: tunnel.connectTimeout,
      ...target.tls,
    });
    this.#upstream = upstream;
    const trial = new TunnelTrial(target);
    let settled = false;
    // Until the connection is made, the upgrade has not been written: another target may have it.
    let connected = false;
    upstream.once("socket", (s: Socket) => {
      if (!s.connecting) connected = true;
      else s.once("connect", () => (connected = true));
    });
    const refuse = (code: ErrorCode) => {
      if (settled) return;
      settled = true;
      upstream.destroy();
      const kind = outcomeOf(code);
      trial.report(kind);
      trial.release();
      this.#upstream = undefined;
      if (!connected && this.retryFailure(target, kind, req.method!)) {
        this.#lastFailure = code;
        return;
      }
      if (!this.endLoop()) return;
      writeRawError(socket, code, requestId);
    };
    upstream.on("timeout", () => refuse("GATEHOUSE_UPSTREAM_TIMEOUT"));
    upstream.on("error", (error) => refuse(upstreamErrorCode(error)));

    upstream.on("response", (response) => {
      // The upstream declined the upgrade: relay its answer, then close.
      settled = true;
      this.endLoop();
      trial.report((response.statusCode ?? 0) >= 500 ? "server-error" : "success");
      response.once("close", trial.release);
      socket.write(responseHead(response, requestId, ["connection", "close"]));
      response.pipe(socket);
    });

    upstream.on("upgrade", (response, upstreamSocket: Socket, upstreamHead: Buffer) => {
      settled = true;
      this.endLoop();
      upstream.setTimeout(0);
      trial.report("success");
      // Nothing of this try's scope may stay reachable from the open tunnel's sockets.
      upstreamSocket.once("close", trial.release);
      socket.off("error", this.#clientError);
      // The client went away meanwhile: its socket is closed, or half open with its side ended.
      if (!socket.writable || socket.readableEnded) {
        upstreamSocket.destroy();
        socket.destroy();
        return;
      }
      splice(tunnel, upstreamSocket, responseHead(response, requestId, []), upstreamHead);
    });
    upstream.end();
  }
}

/**
 * The tunnel as a request to its target: in flight while open (least-connections sees it,
 * maxConnections limits it), its opening an outcome (breakers and ejection learn). A class
 * of its own so that an open tunnel's close listener keeps only the target alive.
 */
class TunnelTrial {
  readonly #target: Target;
  readonly #sentAt: number;
  #trial: boolean;
  #released = false;

  constructor(target: Target) {
    this.#target = target;
    this.#trial = target.onDispatch();
    this.#sentAt = target.clock.now();
  }

  /** The tunnel's opening ends a trial: an open tunnel may last for hours. */
  report(kind: OutcomeKind): void {
    this.#target.onOutcome(
      { kind, durationMs: this.#target.clock.now() - this.#sentAt },
      this.#trial,
    );
    this.#trial = false;
  }

  /** No longer in flight (once, whichever way it ended); a listener as it is. */
  release = (): void => {
    if (this.#released) return;
    this.#released = true;
    this.#target.onSettled(this.#trial);
  };
}
