/**
 * @module sdk/store/store-error
 * The error a store throws when it cannot do what was asked for a reason of its own (its
 * directory held by another process, the database unreachable, a failed migration, used
 * after close), with a stable code from the catalogue. SQL errors are the database's own.
 */
import { type ErrorCode, GatehouseError } from "../../errors.ts";

/** The catalogue codes a store throws. */
export type StoreErrorCode = Extract<ErrorCode, `GATEHOUSE_STORE_${string}`>;

/** A store's failure, with a catalogued `code` (see docs/errors.md). */
export class StoreError extends GatehouseError {
  declare readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "StoreError";
  }
}
