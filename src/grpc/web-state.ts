/**
 * @module grpc/web-state
 * What the `grpc-web` plugin leaves on a gRPC-Web request for the proxy: the mode its
 * content type says (binary or `-text`, the content types both ways). The proxy makes the
 * native call when the route's service is `protocol: grpc` and this is set.
 */
import { createStateKey } from "../pipeline/request-state.ts";
import type { GrpcWebMode } from "./web.ts";

export const grpcWebCallKey = createStateKey<GrpcWebMode>("grpc-web.mode");
