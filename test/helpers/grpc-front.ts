/**
 * @module test/helpers/grpc-front
 * A `protocol: grpc` service over real targets, and an h2c front server that hands each
 * gRPC request to the gateway's gRPC forwarding (forwardGrpc), answering gateway-made
 * errors as gRPC statuses: what the request handler does for gRPC, without the rest.
 */
import { createServer, type Http2Server } from "node:http2";
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import { configSchema } from "../../src/config/schema/index.ts";
import { sendGrpcError } from "../../src/proxy/grpc/error-status.ts";
import { forwardGrpc } from "../../src/proxy/grpc/forward-grpc.ts";
import type { GrpcCallEnd } from "../../src/proxy/grpc/grpc-call.ts";
import type { Outcome } from "../../src/upstream/outcome.ts";
import { Service } from "../../src/upstream/service.ts";
import { Target } from "../../src/upstream/target.ts";

export interface GrpcService {
  service: Service;
  /** Every outcome reported to a target, with the target's URL. */
  outcomes: { url: string; outcome: Outcome }[];
  destroy(): Promise<void>;
}

/** A grpc service over `urls`, with `extra` service config (retries, timeouts…). */
export function grpcService(urls: string[], extra: Record<string, unknown> = {}): GrpcService {
  const config = configSchema.parse({
    gateway: { listen: [{ port: 8080 }] },
    services: [{ name: "echo", protocol: "grpc", targets: urls.map((url) => ({ url })), ...extra }],
  });
  const service = new Service(config.services[0]!);
  const targets: Target[] = [];
  service.setTargets(
    urls.map((url) => ({ url, weight: 1 })),
    {
      acquire(spec) {
        const target = new Target(spec);
        targets.push(target);
        return target;
      },
    },
  );
  const outcomes: GrpcService["outcomes"] = [];
  for (const target of targets) {
    target.observers.add((t, outcome) => outcomes.push({ url: t.url, outcome }));
  }
  return {
    service,
    outcomes,
    destroy: () => Promise.all(targets.map((target) => target.destroy())).then(() => {}),
  };
}

export interface GrpcFront {
  url: string;
  /** How each call ended, as the request handler is told. */
  ends: GrpcCallEnd[];
  /** A grpc-js client to the front. */
  client: grpc.Client;
  close(): Promise<void>;
}

/**
 * Starts the front server; `timeout` is the route's bound (ms); `first` picks the first
 * try's target instead of the service's selector.
 */
export async function startGrpcFront(
  service: Service,
  options: { timeout?: number; first?: () => Target } = {},
): Promise<GrpcFront> {
  const { timeout = 0, first } = options;
  const ends: GrpcCallEnd[] = [];
  let requests = 0;
  const server: Http2Server = createServer((req, res) => {
    const receivedAt = performance.now();
    const requestId = `req-${++requests}`;
    const selection = {
      clientAddress: "127.0.0.1",
      headers: req.headers,
      path: req.url,
      query: "",
    };
    const target = first ? first() : service.select(selection);
    if (!target) {
      sendGrpcError(res, "GATEHOUSE_NO_AVAILABLE_TARGET", requestId);
      return;
    }
    forwardGrpc({
      service,
      target,
      selection,
      path: req.url,
      metadata: req.rawHeaders,
      body: req,
      res,
      requestId,
      timeout,
      receivedAt,
      onEnd: (end) => ends.push(end),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    url: `http://127.0.0.1:${port}`,
    ends,
    client,
    close: () =>
      new Promise((resolve) => {
        client.close();
        server.close(() => resolve());
      }),
  };
}
