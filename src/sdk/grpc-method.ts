/**
 * @module sdk/grpc-method
 * The three ways a gRPC client names a method, and how each turns a request into bytes and
 * bytes into a response: its path alone (`/package.Service/Method`: bytes both ways), a
 * method definition as @grpc/grpc-js has them (generated `*_grpc_pb.js` files,
 * `@grpc/proto-loader`, or written by hand: its serialize and deserialize functions), or a
 * @bufbuild/protobuf method descriptor (protoc-gen-es output, or a registry built from
 * `.proto` files: its input and output message descriptors).
 */
import {
  create,
  type DescMethod,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";

/**
 * A method as @grpc/grpc-js describes it: what `grpc_tools_node_protoc` generates
 * (`InventoryService.getStock`), what `@grpc/proto-loader` loads
 * (`definition["shop.Inventory"].GetStock`), or a hand-written codec.
 */
export interface GrpcJsMethodDefinition<Request, Response> {
  /** `/package.Service/Method`. */
  path: string;
  requestStream?: boolean;
  responseStream?: boolean;
  requestSerialize(value: Request): Uint8Array;
  responseDeserialize(bytes: Buffer): Response;
}

/** A method to call: its path, a @grpc/grpc-js method definition, or a @bufbuild/protobuf DescMethod. */
export type GrpcMethod =
  | string
  | DescMethod
  // biome-ignore lint/suspicious/noExplicitAny: any definition, whatever its message types
  | GrpcJsMethodDefinition<any, any>;

/** What a method takes: bytes for a path, the message (or its init object) for the others. */
export type GrpcRequestOf<M> = M extends string
  ? Uint8Array
  : M extends DescMethod
    ? MessageInitShape<M["input"]>
    : M extends GrpcJsMethodDefinition<infer Request, unknown>
      ? Request
      : never;

/** What a method answers: a Buffer for a path, the decoded message for the others. */
export type GrpcResponseOf<M> = M extends string
  ? Buffer
  : M extends DescMethod
    ? MessageShape<M["output"]>
    : M extends GrpcJsMethodDefinition<unknown, infer Response>
      ? Response
      : never;

/** What the client needs of a method. */
export interface MethodCodec {
  /** `/package.Service/Method`. */
  path: string;
  /** Whether the method answers with a stream; undefined when only a path names it. */
  serverStreaming: boolean | undefined;
  /** Whether the method takes a stream (the client makes no such calls). */
  clientStreaming: boolean;
  serialize(request: unknown): Uint8Array;
  deserialize(bytes: Uint8Array): unknown;
}

const pathPattern = /^\/[^/\s]+\/[^/\s]+$/;

/** The codec of `method`; a TypeError when it is none of the three forms. */
export function methodCodec(method: GrpcMethod, caller: string): MethodCodec {
  if (typeof method === "string") {
    checkPath(method, caller);
    return {
      path: method,
      serverStreaming: undefined,
      clientStreaming: false,
      serialize: (request) => {
        if (!(request instanceof Uint8Array)) {
          throw new TypeError(`${caller}: a method named by its path takes the request as bytes`);
        }
        return request;
      },
      deserialize: asBuffer,
    };
  }
  if (isDescMethod(method)) {
    const { input, output } = method;
    return {
      path: `/${method.parent.typeName}/${method.name}`,
      serverStreaming: method.methodKind === "server_streaming",
      clientStreaming:
        method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      // `create` returns a message of this type as it is, and builds one from an init object.
      serialize: (request) => toBinary(input, create(input, request as MessageInitShape<never>)),
      deserialize: (bytes) => fromBinary(output, bytes),
    };
  }
  if (
    typeof method === "object" &&
    method !== null &&
    typeof method.requestSerialize === "function" &&
    typeof method.responseDeserialize === "function"
  ) {
    checkPath(method.path, caller);
    return {
      path: method.path,
      serverStreaming: method.responseStream === true,
      clientStreaming: method.requestStream === true,
      serialize: (request) => method.requestSerialize(request),
      deserialize: (bytes) => method.responseDeserialize(asBuffer(bytes)),
    };
  }
  throw new TypeError(
    `${caller}: method must be a path ("/package.Service/Method"), a @grpc/grpc-js method definition or a @bufbuild/protobuf method descriptor`,
  );
}

function isDescMethod(method: object): method is DescMethod {
  return (method as Partial<DescMethod>).kind === "rpc";
}

function checkPath(path: unknown, caller: string): void {
  if (typeof path !== "string" || !pathPattern.test(path)) {
    throw new TypeError(
      `${caller}: method path ${JSON.stringify(path)} is not of the form /package.Service/Method`,
    );
  }
}

/** A Buffer over the same bytes (no copy). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
