/**
 * @module server/status
 * The status listener: `GET /health` (the process is alive), `GET /ready` (config
 * loaded, every proxy listener bound, not draining, required services served), `GET
 * /status` (version, config, counts, upstream summary), `GET /upstreams` (every target's
 * state) and `GET /metrics` (Prometheus). Kept off the proxy listeners so a flood of
 * client traffic cannot be mistaken for health. It asks for no key, so a `Host` that does
 * not name it is refused (server/browser-guard): no web page can read it by DNS rebinding.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { errorBody, errorCatalogue } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { createBrowserGuard } from "./browser-guard.ts";
import { newRequestId } from "./request-id.ts";
import type { Readiness } from "./status-report.ts";

export interface StatusSource {
  ready(): Readiness;
  status(): unknown | Promise<unknown>;
  upstreams(): unknown;
  log: Logger;
  /** Host names answered besides loopback names and IP literals (`gateway.status.allowedHosts`). */
  allowedHosts: readonly string[];
  /** The metrics exposition for a scraper's Accept header; absent when metrics are off. */
  metrics:
    | ((accept: string | undefined) => Promise<{ contentType: string; body: string }>)
    | undefined;
}

/** Creates (not yet listening) the status server. */
export function createStatusServer(source: StatusSource): Server {
  const guard = createBrowserGuard({
    setting: "gateway.status",
    allowedHosts: source.allowedHosts,
  });
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const refusal = guard.check(req);
    if (refusal) {
      const { code, message } = refusal;
      return send(res, errorCatalogue[code].status, errorBody(code, newRequestId(), message));
    }
    const path = req.url?.split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD")
      return json(res, 405, { status: "method not allowed" });
    if (path === "/health") return json(res, 200, { status: "ok" });
    if (path === "/ready") {
      const { ready, body } = source.ready();
      return json(res, ready ? 200 : 503, body);
    }
    if (path === "/status") {
      Promise.resolve(source.status()).then(
        (body) => json(res, 200, body),
        (error: unknown) => {
          source.log.error({ err: error }, "status report failed");
          json(res, 500, { status: "status failed" });
        },
      );
      return;
    }
    if (path === "/upstreams") return json(res, 200, source.upstreams());
    if (path === "/metrics" && source.metrics) {
      source.metrics(req.headers.accept).then(
        ({ contentType, body }) => {
          res.writeHead(200, {
            "content-type": contentType,
            "content-length": Buffer.byteLength(body),
          });
          res.end(req.method === "HEAD" ? undefined : body);
        },
        (error: unknown) => {
          source.log.error({ err: error }, "metrics exposition failed");
          json(res, 500, { status: "metrics failed" });
        },
      );
      return;
    }
    json(res, 404, { status: "not found" });
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body));
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
