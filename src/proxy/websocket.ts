/**
 * @module proxy/websocket
 * WebSocket tunnels: the upgrade is forwarded only when the route allows it, and bytes
 * are spliced both ways only after the upstream answered 101. Subprotocols and
 * extensions pass through untouched; an upstream refusal is relayed to the client.
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
  });
  // The tunnel counts as a request in flight to its target (least-connections sees it,
  // maxConnections limits it) and its opening as an outcome (breakers and ejection learn).
  target.onDispatch();
  const sentAt = target.clock.now();
  let settled = false;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    target.onSettled();
  };
  const report = (kind: OutcomeKind) =>
    target.onOutcome({ kind, durationMs: target.clock.now() - sentAt });
  const refuse = (code: ErrorCode) => {
    if (settled) return;
    settled = true;
    upstream.destroy();
    report(
      code === "GATEHOUSE_UPSTREAM_TIMEOUT"
        ? "timeout"
        : code === "GATEHOUSE_UPSTREAM_CONNECT_FAILED"
          ? "connect-failure"
          : "reset",
    );
    release();
    writeRawError(socket, code, requestId);
  };
  socket.on("error", () => upstream.destroy());
  upstream.on("timeout", () => refuse("GATEHOUSE_UPSTREAM_TIMEOUT"));
  upstream.on("error", (error) => refuse(upstreamErrorCode(error)));

  upstream.on("response", (response) => {
    // The upstream declined the upgrade: relay its answer, then close.
    settled = true;
    report((response.statusCode ?? 0) >= 500 ? "server-error" : "success");
    response.once("close", release);
    socket.write(responseHead(response, requestId, ["connection", "close"]));
    response.pipe(socket);
  });

  upstream.on("upgrade", (response, upstreamSocket: Socket, upstreamHead: Buffer) => {
    settled = true;
    upstream.setTimeout(0);
    report("success");
    upstreamSocket.once("close", release);
    if (!socket.writable) {
      upstreamSocket.destroy();
      return;
    }
    splice(tunnel, upstreamSocket, responseHead(response, requestId, []), upstreamHead);
  });
  upstream.end();
}

function splice(
  tunnel: TunnelRequest,
  upstreamSocket: Socket,
  head: string,
  upstreamHead: Buffer,
): void {
  const client = tunnel.socket as Socket;
  const close = () => {
    client.destroy();
    upstreamSocket.destroy();
    tunnel.tunnels.delete(client);
  };
  tunnel.tunnels.add(client);
  for (const side of [client, upstreamSocket]) {
    side.setNoDelay?.(true);
    side.setTimeout?.(tunnel.idleTimeout, close);
    side.on("error", close);
    side.on("close", close);
  }
  client.write(head);
  if (upstreamHead.length > 0) client.write(upstreamHead);
  if (tunnel.head.length > 0) upstreamSocket.write(tunnel.head);
  upstreamSocket.pipe(client);
  client.pipe(upstreamSocket);
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
