/**
 * @module sdk/events/events-error
 * The error the events API throws: a GatehouseError with a code of the catalogue
 * (docs/errors.md), `GATEHOUSE_EVENTS_INVALID` for what the caller gave wrong and
 * `GATEHOUSE_EVENTS_UNAVAILABLE` for a broker that could not take an event.
 */
import { GatehouseError } from "../../errors.ts";

/** Why an events call failed. */
export type EventsErrorCode = "GATEHOUSE_EVENTS_INVALID" | "GATEHOUSE_EVENTS_UNAVAILABLE";

/** An events call that failed; `code` says whether the caller or the broker is at fault. */
export class EventsError extends GatehouseError {
  constructor(code: EventsErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "EventsError";
  }
}
