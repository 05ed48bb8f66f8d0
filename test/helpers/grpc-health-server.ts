/**
 * @module test/helpers/grpc-health-server
 * A real @grpc/grpc-js server implementing grpc.health.v1 Health/Check from the proto
 * file (loaded by @grpc/proto-loader), plaintext h2c or TLS, whose statuses a test sets.
 * As the reference implementations do, a service it does not know gets NOT_FOUND.
 */
import { fileURLToPath } from "node:url";
import {
  ServerCredentials as Credentials,
  type GrpcObject,
  status as grpcStatus,
  type handleUnaryCall,
  loadPackageDefinition,
  type Metadata,
  Server,
  type ServerCredentials,
  type ServiceClientConstructor,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

export type ServingStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

export interface GrpcHealthServer {
  url: string;
  port: number;
  /** Service name ("" for the server as a whole) → status; unknown names get NOT_FOUND. */
  statuses: Map<string, ServingStatus>;
  /** The metadata of every Check call, in order. */
  calls: { service: string; metadata: Metadata }[];
  /** Stops at once, cutting open connections (a target going down). */
  close(): void;
}

const protoPath = fileURLToPath(new URL("../fixtures/protos/health.proto", import.meta.url));
const health = (
  (loadPackageDefinition(loadSync(protoPath, { enums: String })).grpc as GrpcObject)
    .health as GrpcObject
).v1 as GrpcObject;

/**
 * Starts a health server on a free loopback port (or `port`), all statuses given as
 * `statuses`. `credentials` default to plaintext (h2c).
 */
export async function startGrpcHealthServer(
  statuses: Record<string, ServingStatus>,
  options: { credentials?: ServerCredentials; port?: number } = {},
): Promise<GrpcHealthServer> {
  const server = new Server();
  const state = new Map(Object.entries(statuses));
  const calls: GrpcHealthServer["calls"] = [];
  const check: handleUnaryCall<{ service: string }, { status: ServingStatus }> = (
    call,
    callback,
  ) => {
    calls.push({ service: call.request.service, metadata: call.metadata });
    const status = state.get(call.request.service);
    if (status === undefined) callback({ code: grpcStatus.NOT_FOUND, details: "unknown service" });
    else callback(null, { status });
  };
  server.addService((health.Health as ServiceClientConstructor).service, { Check: check });
  const credentials = options.credentials ?? Credentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const scheme = options.credentials === undefined ? "http" : "https";
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    statuses: state,
    calls,
    close: () => server.forceShutdown(),
  };
}
