/**
 * @module proxy/grpc/deadline
 * A gRPC call's deadline: the client's `grpc-timeout`, shortened by the gateway's own bound
 * for the route, and the `grpc-timeout` each try sends upstream (what is left of it then).
 */

/** Milliseconds per `grpc-timeout` unit (gRPC over HTTP/2: Hours, Minutes, Seconds, milli, micro, nano). */
const unitMs: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/** The spec allows at most eight digits. */
const maxValue = 99_999_999;

/** A `grpc-timeout` value in milliseconds; undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * unitMs[match[2]!]!;
}

/**
 * `ms` as a `grpc-timeout` value in the finest unit from milliseconds up that fits eight
 * digits, rounded up so that the upstream never gives up before the gateway does.
 */
export function formatGrpcTimeout(ms: number): string {
  for (const unit of ["m", "S", "M"] as const) {
    const value = Math.ceil(ms / unitMs[unit]!);
    if (value <= maxValue) return `${Math.max(value, 1)}${unit}`;
  }
  return `${Math.min(Math.ceil(ms / unitMs.H!), maxValue)}H`;
}

/** When a call must be over, and whose limit that is. */
export interface CallDeadline {
  /** The time (on the clock `now` was read from) the call must end by; undefined: none. */
  at: number | undefined;
  /**
   * Whether the gateway's bound is the one in effect. Only then does running out of time
   * count against the target: a client that asks for 1 ms learns nothing about it.
   */
  fromGateway: boolean;
}

/**
 * The deadline of a call that the client sent with `grpc-timeout: clientTimeout` at `now`,
 * bounded by `boundMs` (the route's timeout; 0 means none).
 */
export function callDeadline(
  clientTimeout: string | undefined,
  boundMs: number,
  now: number,
): CallDeadline {
  const client = parseGrpcTimeout(clientTimeout);
  if (boundMs > 0 && (client === undefined || boundMs < client)) {
    return { at: now + boundMs, fromGateway: true };
  }
  return { at: client === undefined ? undefined : now + client, fromGateway: false };
}
