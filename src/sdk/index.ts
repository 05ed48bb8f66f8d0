/**
 * @module sdk
 * The service SDK, exported as `gatehouse-gateway/sdk`: `register()` a service instance
 * with the registry (through a gateway's registry API, or straight in etcd), call other
 * services over HTTP or gRPC with `serviceClient()` (the gateway's own balancing, health,
 * breakers and retries), trace handlers with `traceHandler()` (HTTP) and `traceGrpcHandler()`
 * (gRPC), keep state in `store.open()` (PostgreSQL or embedded PGlite), publish and consume
 * events with `events.connect()` (NATS JetStream or embedded), run sagas with `saga()`, and
 * expose the SDK's metrics from `sdkMetrics`.
 * Plain JavaScript can use all of it; the types are for TypeScript callers.
 */
export { type CallContext, currentCallContext, withCallContext } from "./call-context.ts";
export type { InstanceFilter } from "./client-config.ts";
export type { ClientOptions } from "./client-options.ts";
export { deadlineHeader } from "./deadline.ts";
export type { EtcdOptions } from "./etcd-options.ts";
export {
  type DeadLetter,
  type DeadLetterCode,
  type DeliveredEvent,
  type EventBus,
  type EventHandler,
  EventsError,
  type EventsOptions,
  events,
  type PublishResult,
  type StreamDeclaration,
  type SubscribeOptions,
  type Subscription,
} from "./events/index.ts";
export { GrpcCallError } from "./grpc-call-error.ts";
export {
  type GrpcCallOptions,
  GrpcServiceClient,
  type GrpcServiceClientOptions,
} from "./grpc-client.ts";
export type {
  GrpcJsMethodDefinition,
  GrpcMethod,
  GrpcRequestOf,
  GrpcResponseOf,
} from "./grpc-method.ts";
export {
  type GrpcHandlerError,
  type GrpcServerCallLike,
  type GrpcUnaryCallback,
  grpcErrorOf,
  traceGrpcHandler,
} from "./grpc-server-span.ts";
export { sdkMetrics } from "./metrics.ts";
export {
  type Lease,
  type RegisterOptions,
  Registration,
  type RegistrationState,
  register,
} from "./register.ts";
export { RegistryError, type RegistryUrls } from "./registry-endpoint.ts";
export {
  type CompensationContext,
  type RunOptions,
  type SagaClock,
  SagaDefinition,
  SagaError,
  type SagaFailure,
  type SagaOptions,
  type SagaResult,
  type SagaStatus,
  type StepContext,
  type StepOptions,
  type StepStatus,
  saga,
} from "./saga/index.ts";
export { type RequestHandler, traceHandler } from "./server-span.ts";
export {
  ServiceCallError,
  type ServiceCallErrorDetails,
  type ServiceResponse,
} from "./service-call-error.ts";
export {
  type CallOptions,
  type RegistryInstance,
  type RequestOptions,
  type ServiceAnswer,
  ServiceClient,
  type ServiceClientOptions,
  serviceClient,
} from "./service-client.ts";
export {
  type OutboxMessage,
  type PublishOptions,
  type Queryable,
  type QueryResult,
  type Store,
  StoreError,
  type StoreOptions,
  store,
  type Transaction,
} from "./store/index.ts";
export { flushTelemetry } from "./telemetry.ts";
