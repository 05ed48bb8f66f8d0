/**
 * @module sdk/saga/clock
 * The time a saga definition reads and waits on: lease deadlines and the waits between
 * compensation attempts. Tests give their own to move time without sleeping.
 */
import { setTimeout as sleep } from "node:timers/promises";

/** A source of time for leases and backoff. */
export interface SagaClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it is aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The process's own clock. */
export const systemClock: SagaClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};
