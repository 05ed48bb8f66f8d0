/**
 * @module sdk
 * The service SDK, exported as `gatehouse-gateway/sdk`: `register()` a service instance
 * with the registry, call other services with `serviceClient()` (the gateway's own
 * balancing, health, breakers and retries), and trace handlers with `traceHandler()`.
 */
export { type CallContext, currentCallContext, withCallContext } from "./call-context.ts";
export {
  type Lease,
  type RegisterOptions,
  Registration,
  type RegistrationState,
  register,
} from "./register.ts";
export { RegistryError } from "./registry-endpoint.ts";
export { type RequestHandler, traceHandler } from "./server-span.ts";
export { flushTelemetry } from "./telemetry.ts";
