/**
 * @module examples/shop/services/shared/errors
 * The errors the shop's services answer with: a gRPC status and a message, which the
 * gateway's transcoder turns into the HTTP status and the error body. A bad field is
 * INVALID_ARGUMENT whose message starts with the field's name, with a `google.rpc.BadRequest`
 * listing every bad field in `grpc-status-details-bin` (the body's `details`).
 */
import { Metadata, status } from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { bundledProtoDir } from "./protos.ts";

/** A gRPC error a handler throws; `traceGrpcHandler` answers it as it is. */
export class ShopError extends Error {
  readonly code: number;
  readonly details: string;
  readonly metadata: Metadata | undefined;

  constructor(code: number, details: string, metadata?: Metadata) {
    super(details);
    this.name = "ShopError";
    this.code = code;
    this.details = details;
    this.metadata = metadata;
  }
}

/** One bad field: its name as the request writes it (`items[0].quantity`) and what is wrong. */
export interface FieldViolation {
  field: string;
  description: string;
}

const rpc = new protobuf.Root();
rpc.resolvePath = (_origin, target) => `${bundledProtoDir}${target}`;
rpc.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"], { keepCase: true });
const Status = rpc.lookupType("google.rpc.Status");
const BadRequest = rpc.lookupType("google.rpc.BadRequest");

/** INVALID_ARGUMENT naming the first bad field, with every one in a google.rpc.BadRequest. */
export function invalidArgument(violations: FieldViolation[]): ShopError {
  const [first] = violations;
  const message = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  const badRequest = BadRequest.encode(
    BadRequest.fromObject({ field_violations: violations }),
  ).finish();
  const details = Status.encode(
    Status.fromObject({
      code: status.INVALID_ARGUMENT,
      message,
      details: [{ type_url: "type.googleapis.com/google.rpc.BadRequest", value: badRequest }],
    }),
  ).finish();
  const metadata = new Metadata();
  metadata.set("grpc-status-details-bin", Buffer.from(details));
  return new ShopError(status.INVALID_ARGUMENT, first ? message : "invalid request", metadata);
}

/** A field is wrong: INVALID_ARGUMENT naming it. */
export function badField(field: string, description: string): ShopError {
  return invalidArgument([{ field, description }]);
}

export const notFound = (message: string) => new ShopError(status.NOT_FOUND, message);
export const alreadyExists = (message: string) => new ShopError(status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string) =>
  new ShopError(status.FAILED_PRECONDITION, message);
export const unauthenticated = (message: string) => new ShopError(status.UNAUTHENTICATED, message);
export const unavailable = (message: string) => new ShopError(status.UNAVAILABLE, message);

/** Collects the bad fields of a request, then throws them all at once. */
export class Violations {
  readonly list: FieldViolation[] = [];

  add(field: string, description: string): void {
    this.list.push({ field, description });
  }

  /** Throws INVALID_ARGUMENT when a field was bad. */
  throwIfAny(): void {
    if (this.list.length > 0) throw invalidArgument(this.list);
  }
}
