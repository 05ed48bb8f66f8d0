/**
 * @module proxy/websocket
 * WebSocket tunnels: the upgrade is forwarded only when the route allows it, and bytes
 * are spliced both ways only after the upstream answered 101. Subprotocols and
 * extensions pass through untouched; an upstream refusal is relayed to the client.
 * Frames are not decoded, but their boundaries are followed, so a tunnel can be closed
 * with a close frame (1001) on both sides without cutting a frame in two.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { ErrorCode } from "../errors.ts";
import type { OutcomeKind } from "../upstream/outcome.ts";
import type { Target } from "../upstream/target.ts";
import { writeRawError } from "./respond.ts";
import { upstreamErrorCode } from "./upstream-try.ts";
import { closeFrame, FrameBoundary } from "./websocket-frames.ts";

/** The route a tunnel was opened on: a reload keeps the tunnel while this route stays. */
export interface TunnelRoute {
  name: string;
  service: string;
}

export interface TunnelRequest {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  target: Target;
  path: string;
  headers: string[];
  requestId: string;
  connectTimeout: number;
  idleTimeout: number;
  route: TunnelRoute;
  /** Open tunnels' client sockets, so shutdown can close them. */
  tunnels: Set<Duplex>;
}

/** Opens the upstream connection and, on 101, splices it to the client socket. */
export function openTunnel(tunnel: TunnelRequest): void {
  const { req, socket, target, requestId } = tunnel;
  const url = new URL(target.origin);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
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
  const trial = new TunnelTrial(target);
  // Only what an open tunnel needs is kept past the upgrade: the closures below share one
  // scope, and anything they name (the request, the ClientRequest) lives as long as they do.
  const { head, tunnels, route, idleTimeout } = tunnel;
  let settled = false;
  const refuse = (code: ErrorCode) => {
    if (settled) return;
    settled = true;
    upstream.destroy();
    trial.report(
      code === "GATEHOUSE_UPSTREAM_TIMEOUT"
        ? "timeout"
        : code === "GATEHOUSE_UPSTREAM_CONNECT_FAILED"
          ? "connect-failure"
          : "reset",
    );
    trial.release();
    writeRawError(socket, code, requestId);
  };
  const abandon = () => upstream.destroy();
  socket.on("error", abandon);
  upstream.on("timeout", () => refuse("GATEHOUSE_UPSTREAM_TIMEOUT"));
  upstream.on("error", (error) => refuse(upstreamErrorCode(error)));

  upstream.on("response", (response) => {
    // The upstream declined the upgrade: relay its answer, then close.
    settled = true;
    trial.report((response.statusCode ?? 0) >= 500 ? "server-error" : "success");
    response.once("close", trial.release);
    socket.write(responseHead(response, requestId, ["connection", "close"]));
    response.pipe(socket);
  });

  upstream.on("upgrade", (response, upstreamSocket: Socket, upstreamHead: Buffer) => {
    settled = true;
    upstream.setTimeout(0);
    trial.report("success");
    upstreamSocket.once("close", trial.release);
    // From here the splice handles both sockets' errors.
    socket.off("error", abandon);
    // The client went away meanwhile: its socket is closed, or half open with its side ended.
    if (!socket.writable || socket.readableEnded) {
      upstreamSocket.destroy();
      socket.destroy();
      return;
    }
    const opened = responseHead(response, requestId, []);
    splice(
      socket as Socket,
      upstreamSocket,
      { tunnels, route, idleTimeout, head },
      opened,
      upstreamHead,
    );
  });
  upstream.end();
}

/**
 * The tunnel as a request to its target: in flight while open (least-connections sees it,
 * maxConnections limits it), its opening an outcome (breakers and ejection learn).
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
    const durationMs = this.#target.clock.now() - this.#sentAt;
    this.#target.onOutcome({ kind, durationMs }, this.#trial);
    this.#trial = false;
  }

  /** No longer in flight (once, whichever way it ended); a listener as it is. */
  release = (): void => {
    if (this.#released) return;
    this.#released = true;
    this.#target.onSettled(this.#trial);
  };
}

/** What an open tunnel keeps of its request. */
interface SpliceOptions {
  tunnels: Set<Duplex>;
  route: TunnelRoute;
  idleTimeout: number;
  /** What the client sent past the request head. */
  head: Buffer;
}

/** What the gateway can do with an open tunnel, by its client socket. */
interface OpenTunnel {
  route: TunnelRoute;
  goAway(): void;
}

const openTunnels = new WeakMap<Duplex, OpenTunnel>();

/** The route an open tunnel (its client socket) was opened on. */
export function tunnelRoute(client: Duplex): TunnelRoute | undefined {
  return openTunnels.get(client)?.route;
}

/**
 * Closes an open tunnel with 1001 (Going Away): each side gets a close frame once the
 * frame it is receiving is complete, nothing after it, then the connection ends.
 */
export function closeGoingAway(client: Duplex): void {
  openTunnels.get(client)?.goAway();
}

/** How long a closing tunnel waits for a frame in flight to finish and the peers to hang up. */
const closingTimeout = 5_000;

function splice(
  client: Socket,
  upstreamSocket: Socket,
  { tunnels, route, idleTimeout, head }: SpliceOptions,
  opened: string,
  upstreamHead: Buffer,
): void {
  let closingTimer: NodeJS.Timeout | undefined;
  const close = () => {
    clearTimeout(closingTimer);
    client.destroy();
    upstreamSocket.destroy();
    tunnels.delete(client);
  };
  tunnels.add(client);
  for (const side of [client, upstreamSocket]) {
    side.setNoDelay?.(true);
    side.setTimeout?.(idleTimeout, close);
    side.on("error", close);
    side.on("close", close);
  }
  client.write(opened);
  const toClient = new Direction(upstreamSocket, client);
  const toUpstream = new Direction(client, upstreamSocket);
  if (upstreamHead.length > 0) toClient.forward(upstreamHead);
  if (head.length > 0) toUpstream.forward(head);
  openTunnels.set(client, {
    route,
    goAway: () => {
      if (closingTimer) return;
      closingTimer = setTimeout(close, closingTimeout);
      closingTimer.unref();
      let open = 2;
      const ended = () => {
        if (--open > 0) return;
        client.end();
        upstreamSocket.end();
      };
      toClient.close(closeFrame(1001, "route removed", false), ended);
      toUpstream.close(closeFrame(1001, "route removed", true), ended);
    },
  });
}

/**
 * One direction of a tunnel: bytes pass through as they arrive (with backpressure, as
 * `pipe` would), while their frame boundaries are followed. Closing waits for the frame
 * under way to end, writes the close frame, and drops whatever comes after.
 */
class Direction {
  readonly #from: Socket;
  readonly #to: Socket;
  readonly #frames = new FrameBoundary();
  #closing: { frame: Buffer; done: () => void } | undefined;
  #closed = false;

  constructor(from: Socket, to: Socket) {
    this.#from = from;
    this.#to = to;
    from.on("data", (chunk: Buffer) => this.forward(chunk));
    from.on("end", () => {
      if (!this.#closing) to.end();
    });
    to.on("drain", () => from.resume());
    // A socket handed over by an upgrade may have been paused: `pipe` resumed it too.
    from.resume();
  }

  forward(chunk: Buffer): void {
    if (this.#closed) return;
    if (!this.#closing) {
      this.#frames.advance(chunk, false);
      if (!this.#to.write(chunk)) this.#from.pause();
      return;
    }
    const upTo = this.#frames.advance(chunk, true);
    if (upTo > 0) this.#to.write(chunk.subarray(0, upTo));
    if (this.#frames.atBoundary) this.#sendClose();
  }

  close(frame: Buffer, done: () => void): void {
    this.#closing = { frame, done };
    if (this.#frames.atBoundary) this.#sendClose();
    // The rest of the frame under way has to be read to be forwarded.
    else this.#from.resume();
  }

  #sendClose(): void {
    this.#closed = true;
    this.#to.write(this.#closing!.frame);
    this.#closing!.done();
  }
}

function responseHead(response: IncomingMessage, requestId: string, extra: string[]): string {
  let head = `HTTP/1.1 ${response.statusCode} ${response.statusMessage}\r\n`;
  const raw = response.rawHeaders;
  const closing = extra.length > 0;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (lower === "x-request-id") continue;
    if (
      closing &&
      (lower === "connection" || lower === "keep-alive" || lower === "transfer-encoding")
    )
      continue;
    head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  head += `x-request-id: ${requestId}\r\n`;
  for (let i = 0; i < extra.length; i += 2) head += `${extra[i]}: ${extra[i + 1]}\r\n`;
  return `${head}\r\n`;
}
