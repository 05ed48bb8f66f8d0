/**
 * @module server/status
 * The status listener: `GET /health` (the process is alive), `GET /ready` (config
 * loaded and every proxy listener bound) and `GET /upstreams` (every target's state). Kept off the proxy listeners so a flood of
 * client traffic cannot be mistaken for health.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface StatusSource {
  ready(): boolean;
  upstreams(): unknown;
}

/** Creates (not yet listening) the status server. */
export function createStatusServer(source: StatusSource): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url?.split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD")
      return json(res, 405, { status: "method not allowed" });
    if (path === "/health") return json(res, 200, { status: "ok" });
    if (path === "/ready") {
      return source.ready()
        ? json(res, 200, { status: "ready" })
        : json(res, 503, { status: "not ready" });
    }
    if (path === "/upstreams") return json(res, 200, source.upstreams());
    json(res, 404, { status: "not found" });
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
