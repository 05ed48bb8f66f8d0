/**
 * @module sdk/saga
 * Orchestrated sagas with a log in the service's store: steps with compensations, run
 * forward or undone in reverse, resumed after a crash, run once per idempotency key.
 */
export type { SagaClock } from "./clock.ts";
export { SagaDefinition, saga } from "./definition.ts";
export { SagaError, type SagaErrorCode } from "./saga-error.ts";
export type {
  CompensationContext,
  Duration,
  RunOptions,
  SagaFailure,
  SagaOptions,
  SagaResult,
  SagaState,
  SagaStatus,
  StepAction,
  StepCompensation,
  StepContext,
  StepOptions,
  StepState,
  StepStatus,
} from "./types.ts";
