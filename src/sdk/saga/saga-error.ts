/**
 * @module sdk/saga/saga-error
 * The errors of the saga runner, each with a stable code from the error catalogue.
 */
import { type ErrorCode, GatehouseError } from "../../errors.ts";

/** A saga error code: `GATEHOUSE_SAGA_*`. */
export type SagaErrorCode = Extract<ErrorCode, `GATEHOUSE_SAGA_${string}`>;

/** An error of the saga runner (a timed-out step, a misused id, a closed definition). */
export class SagaError extends GatehouseError {
  constructor(code: SagaErrorCode, message?: string) {
    super(code, message);
    this.name = "SagaError";
  }
}

/**
 * Thrown inside the runner when this process may no longer write a saga's log (another
 * process took it over, or the definition was closed): the run stops without logging more.
 */
export class SagaAbandoned extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SagaAbandoned";
  }
}
