/**
 * @module test/helpers/shop-grpc
 * Calls the shop's services as the gateway would: a @grpc/grpc-js client of one service
 * whose methods return promises (metadata as a plain object), and the checks on the errors
 * they answer with (a status and message, the fields of a google.rpc.BadRequest).
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { bundledProtoDir, serviceDefinition } from "../../examples/shop/services/shared/protos.ts";

// biome-ignore lint/suspicious/noExplicitAny: answers are read as the test needs them
export type Answer = any;
type Call = (request: object, metadata?: Record<string, string>) => Promise<Answer>;

/** A client of one service (`shop.orders.v1.OrderService`) at `url` (`http://host:port`). */
export function clientOf(fullName: string, url: string): Record<string, Call> & { close(): void } {
  // The services' own definitions (examples/shop/services/shared/protos.ts): what they serve.
  const Client = grpc.makeClientConstructor(serviceDefinition(fullName), fullName);
  const client: Answer = new Client(url.replace("http://", ""), grpc.credentials.createInsecure());
  return new Proxy({} as Record<string, Call> & { close(): void }, {
    get: (_target, method: string) =>
      method === "close"
        ? () => client.close()
        : (request: object, metadata: Record<string, string> = {}) =>
            new Promise((resolve, reject) => {
              const md = new grpc.Metadata();
              for (const [key, value] of Object.entries(metadata)) md.set(key, value);
              client[method](
                request,
                md,
                { deadline: Date.now() + 20_000 },
                (error: Error | null, answer: Answer) => (error ? reject(error) : resolve(answer)),
              );
            }),
  });
}

/** Rejects with a gRPC error of `code` whose message matches `message`. */
export async function rejectsWith(promise: Promise<unknown>, code: grpc.status, message: RegExp) {
  await assert.rejects(promise, (error: grpc.ServiceError) => {
    assert.equal(error.code, code, `${error.code} ${error.details}`);
    assert.match(error.details, message);
    return true;
  });
}

const rpc = new protobuf.Root();
rpc.resolvePath = (_origin, target) => `${bundledProtoDir}${target}`;
rpc.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"], { keepCase: true });

/** The fields a google.rpc.BadRequest in the error's `grpc-status-details-bin` names. */
export function badFields(error: grpc.ServiceError): string[] {
  const bytes = error.metadata.get("grpc-status-details-bin")[0] as Buffer;
  const status = rpc.lookupType("google.rpc.Status").decode(bytes) as Answer;
  const detail = status.details[0];
  assert.equal(detail.type_url, "type.googleapis.com/google.rpc.BadRequest");
  const badRequest = rpc.lookupType("google.rpc.BadRequest").decode(detail.value) as Answer;
  return badRequest.field_violations.map((v: Answer) => v.field);
}
