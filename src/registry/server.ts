/**
 * @module registry/server
 * The registry API's own listener (`gateway.registry.listen`), for services on other hosts
 * that must not reach the admin API. It serves `/registry/` and nothing else. Without keys
 * it is a loopback listener for loopback clients, and then web pages are kept out as on the
 * admin API (server/browser-guard: Host, Origin, Content-Type); with keys, a page cannot
 * present one, and services may name the listener by any host name.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { GatehouseError } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { answerApiError } from "../server/api-error.ts";
import { type BrowserGuard, createBrowserGuard } from "../server/browser-guard.ts";
import { newRequestId } from "../server/request-id.ts";
import type { RegistryApi } from "./api.ts";

export interface RegistryServerOptions {
  api: RegistryApi;
  /** No keys at all: browser pages are refused as on the admin API. */
  keyless: boolean;
  log: Logger;
}

/** Creates (not yet listening) the registry API's own server. */
export function createRegistryServer(options: RegistryServerOptions): Server {
  const { api, log } = options;
  const guard: BrowserGuard | undefined = options.keyless
    ? createBrowserGuard({ setting: "gateway.registry", allowedHosts: [], allowedOrigins: [] })
    : undefined;
  return createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = newRequestId();
    res.setHeader("x-request-id", requestId);
    res.setHeader("cache-control", "no-store");
    try {
      const refusal = guard?.check(req);
      if (refusal) throw new GatehouseError(refusal.code, refusal.message);
      const path = (req.url ?? "/").split("?", 1)[0]!;
      if (!api.handles(path))
        throw new GatehouseError(
          "GATEHOUSE_REGISTRY_NOT_FOUND",
          `no registry API path ${path} (see docs/registry.md)`,
        );
      await api.handle(req, res);
    } catch (error) {
      answerApiError("registry API", req, res, error, requestId, log);
    }
  });
}
