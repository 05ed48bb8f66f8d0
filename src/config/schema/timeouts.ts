/**
 * @module config/schema/timeouts
 * Upstream timeouts: `gateway.timeouts`, the defaults of every service, and a service's own
 * `timeouts`, where each one left out is taken from the defaults.
 */
import { z } from "zod";
import { duration, optionalDuration } from "./fields.ts";

const timeoutText = {
  connect: "Time to open a connection to a target.",
  response: "Time from sending the request to the response headers.",
  idle: "Longest pause between two chunks of the response body.",
  total:
    "Whole-request deadline, sent upstream on each try as `x-request-timeout-ms` (the milliseconds left); 0s means none.",
};

export const timeoutsSchema = z
  .strictObject({
    connect: duration("5s").describe(timeoutText.connect),
    response: duration("60s").describe(timeoutText.response),
    idle: duration("60s").describe(timeoutText.idle),
    total: duration("0s").describe(timeoutText.total),
  })
  .prefault({})
  .describe("Upstream timeouts; a request past one gets 504 (or its connection closed mid-body).");

/** A service's own timeouts: any left out are taken from `gateway.timeouts`. */
export const serviceTimeoutsSchema = z.strictObject({
  connect: optionalDuration.describe(timeoutText.connect),
  response: optionalDuration.describe(timeoutText.response),
  idle: optionalDuration.describe(timeoutText.idle),
  total: optionalDuration.describe(timeoutText.total),
});
