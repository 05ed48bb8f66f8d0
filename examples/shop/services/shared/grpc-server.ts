/**
 * @module examples/shop/services/shared/grpc-server
 * A shop service's gRPC server: its methods, each traced (a server span continuing the
 * caller's `traceparent`), and the standard health service `grpc.health.v1.Health` that the
 * gateway's gRPC health checks call.
 */
import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
  type UntypedHandleCall,
} from "@grpc/grpc-js";
import { traceGrpcHandler } from "gatehouse-gateway/sdk";
import { serviceDefinition } from "./protos.ts";

/** A unary method: the request (and its call, for metadata) in, the response out. */
// biome-ignore lint/suspicious/noExplicitAny: each method has its own request and response
export type UnaryMethod = (request: any, call: ServerUnaryCall<any, any>) => Promise<unknown>;

/** What `serveGrpc` is told. */
export interface GrpcServerOptions {
  /** The fully qualified service, e.g. `shop.users.v1.UserService`. */
  service: string;
  /** The registry name too (`users`), which health checks may ask for. */
  shortName: string;
  methods: Record<string, UnaryMethod>;
  /** The address to listen on (127.0.0.1, or 0.0.0.0 in a container). */
  host: string;
  /** 0 for a free port. */
  port: number;
}

/** A running server. */
export interface ShopGrpcServer {
  port: number;
  /** Health answers NOT_SERVING from now on (the service is going away). */
  markNotServing(): void;
  /** Stops taking calls, waits up to `graceMs` for those in flight, then cuts the rest. */
  close(graceMs?: number): Promise<void>;
}

type HealthStatus = "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

/** Starts the server with the service's methods and the health service. */
export async function serveGrpc(options: GrpcServerOptions): Promise<ShopGrpcServer> {
  const server = new Server();
  const implementation: Record<string, UntypedHandleCall> = {};
  for (const [name, method] of Object.entries(options.methods)) {
    implementation[name] = traceGrpcHandler(
      `${options.service}/${name}`,
      (call: ServerUnaryCall<unknown, unknown>) => method(call.request, call),
    ) as UntypedHandleCall;
  }
  server.addService(serviceDefinition(options.service), implementation);

  let serving = true;
  const watchers = new Set<ServerWritableStream<{ service: string }, unknown>>();
  const statusOf = (service: string): HealthStatus => {
    if (service !== "" && service !== options.service && service !== options.shortName)
      return "SERVICE_UNKNOWN";
    return serving ? "SERVING" : "NOT_SERVING";
  };
  server.addService(serviceDefinition("grpc.health.v1.Health"), {
    Check: (call: ServerUnaryCall<{ service: string }, unknown>, done: sendUnaryData<unknown>) => {
      const answer = statusOf(call.request.service);
      if (answer === "SERVICE_UNKNOWN")
        done({ code: status.NOT_FOUND, details: `unknown service ${call.request.service}` });
      else done(null, { status: answer });
    },
    Watch: (call: ServerWritableStream<{ service: string }, unknown>) => {
      call.write({ status: statusOf(call.request.service) });
      watchers.add(call);
      call.on("cancelled", () => watchers.delete(call));
    },
  });

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${options.host}:${options.port}`,
      ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    ),
  );
  return {
    port,
    markNotServing() {
      serving = false;
      for (const watcher of watchers) watcher.write({ status: statusOf(watcher.request.service) });
    },
    async close(graceMs = 5_000) {
      for (const watcher of watchers) watcher.end();
      watchers.clear();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

/** The first value of a metadata key, as text. */
export function metadataValue(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return value === undefined ? undefined : String(value);
}
