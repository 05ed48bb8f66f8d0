/**
 * @module examples/shop/services/shared/protos
 * The shop's `.proto` files as @grpc/proto-loader loads them, once per process: the service
 * definitions the servers add, and the method definitions the SDK's gRPC clients call.
 * Field names stay as the `.proto` writes them (snake_case), 64-bit integers are numbers
 * (cents fit), and a `proto3 optional` field that was not sent is left out.
 */
import { fileURLToPath } from "node:url";
import type { ServiceDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import type { GrpcJsMethodDefinition } from "gatehouse-gateway/sdk";

/** Where the shop's `.proto` files are: the include dir of `shop/<svc>/v1/<svc>.proto`. */
export const protoDir = fileURLToPath(new URL("../../protos/", import.meta.url));

/** Gatehouse's bundled `google/api`, `google/rpc` and well-known `.proto` files. */
export const bundledProtoDir = fileURLToPath(
  new URL("src/grpc/protos/", import.meta.resolve("gatehouse-gateway/package.json")),
);

const definition = loadSync(
  [
    "shop/users/v1/users.proto",
    "shop/products/v1/products.proto",
    "shop/orders/v1/orders.proto",
    "shop/payments/v1/payments.proto",
    "shop/inventory/v1/inventory.proto",
    "grpc/health/v1/health.proto",
  ],
  {
    includeDirs: [protoDir, bundledProtoDir],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  },
);

/** The fully qualified gRPC service of each shop service. */
export const serviceNames = {
  users: "shop.users.v1.UserService",
  products: "shop.products.v1.ProductService",
  orders: "shop.orders.v1.OrderService",
  payments: "shop.payments.v1.PaymentService",
  inventory: "shop.inventory.v1.InventoryService",
} as const;

/** A shop service's name, as the registry and the gateway know it. */
export type ShopServiceName = keyof typeof serviceNames;

/** The definition of a gRPC service (`shop.users.v1.UserService`, `grpc.health.v1.Health`). */
export function serviceDefinition(fullName: string): ServiceDefinition {
  const found = definition[fullName];
  if (!found || typeof found !== "object" || "format" in found) {
    throw new Error(`no gRPC service ${fullName} in the shop's protos`);
  }
  return found as unknown as ServiceDefinition;
}

/** One method of a service, for `GrpcServiceClient.unary` and for @grpc/grpc-js clients. */
export function methodOf<Req, Res>(
  fullName: string,
  method: string,
): GrpcJsMethodDefinition<Req, Res> {
  const found = (serviceDefinition(fullName) as unknown as Record<string, unknown>)[method];
  if (!found) throw new Error(`no method ${method} in ${fullName}`);
  return found as GrpcJsMethodDefinition<Req, Res>;
}
