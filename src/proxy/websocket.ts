/**
 * @module proxy/websocket
 * Open WebSocket tunnels (see websocket-open for how one opens): bytes are spliced both
 * ways after the upstream answered 101. Frames are not decoded, but their boundaries are
 * followed, so a tunnel can be closed with a close frame (1001) on both sides without
 * cutting a frame in two.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { closeFrame, FrameBoundary } from "./websocket-frames.ts";

/** The route a tunnel was opened on: a reload keeps the tunnel while this route stays. */
export interface TunnelRoute {
  name: string;
  service: string;
}

/** What splicing an open tunnel needs. */
export interface SplicedTunnel {
  socket: Duplex;
  head: Buffer;
  idleTimeout: number;
  route: TunnelRoute;
  /** Open tunnels' client sockets, so shutdown can close them. */
  tunnels: Set<Duplex>;
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

/**
 * Splices the upgraded upstream socket to the client's, after writing the 101 `opened` to
 * it. Only the fields named here stay alive with the tunnel: the closures below share one
 * scope, and anything they name (the request, its headers) would live as long as they do.
 */
export function splice(
  tunnel: SplicedTunnel,
  upstreamSocket: Socket,
  opened: string,
  upstreamHead: Buffer,
): void {
  const { tunnels, route, idleTimeout, head } = tunnel;
  const client = tunnel.socket as Socket;
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

/** The upstream response's head, as the client gets it (with `extra` headers). */
export function responseHead(
  response: IncomingMessage,
  requestId: string,
  extra: string[],
): string {
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
