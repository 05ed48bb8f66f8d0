/**
 * @module grpc/transcode-state
 * What the `grpc-transcode` plugin leaves on a request for the proxy: the method its path
 * and HTTP method took, and the path variables. The proxy makes the gRPC call when the
 * route's service is `protocol: grpc` and this is set.
 */
import type { Registry } from "@bufbuild/protobuf";
import { createStateKey } from "../pipeline/request-state.ts";
import type { TranscodedMethod } from "./transcoder.ts";

/** A request the transcoder matched. */
export interface TranscodedCall {
  method: TranscodedMethod;
  /** The template variables' values, in the binding's order. */
  variables: string[];
  /** The registry the protos were loaded into (status details are decoded with it). */
  registry: Registry;
}

export const transcodedCallKey = createStateKey<TranscodedCall>("grpc-transcode.call");
