/**
 * @module upstream/health/outlier
 * Passive health checks (outlier detection, as in Envoy): a target that fails real
 * traffic, too many times in a row or too often in a window, is ejected for a while,
 * longer each time, without ever ejecting more than `maxEjectionPercent` of the service.
 * Back from an ejection, it takes one try at a time until one gets an answer (nginx's
 * `fail_timeout`), so a target that is still down or hung costs one try per ejection.
 */
import type { z } from "zod";
import type { healthCheckSchema } from "../../config/schema/upstream.ts";
import { type EjectionMessage, ejectionChannel } from "../../observability/diagnostics.ts";
import type { Clock } from "../clock.ts";
import { isFailure, isLocalOriginFailure, type Outcome } from "../outcome.ts";
import { OutcomeWindow } from "../outcome-window.ts";
import type { Target } from "../target.ts";

export type PassiveCheckConfig = NonNullable<z.output<typeof healthCheckSchema>["passive"]>;

/** What outlier detection remembers about one target between outcomes. */
interface OutlierRecord {
  consecutiveFailures: number;
  /** Tries in a row that got no answer (connect failures, timeouts, resets). */
  consecutiveLocalOriginFailures: number;
  /** Present only while some detector counts a failure ratio. */
  window: OutcomeWindow | undefined;
  windowMs: number;
  /** The outcome counted last: a target shared by two services reports it to both detectors. */
  last: Outcome | undefined;
  /** Since when clean (unejected) time counts towards forgiving one past ejection. */
  forgivingSince: number;
}

/**
 * Keyed by the Target itself, like its `ejectedUntil` and `ejections`: the record lives as
 * long as the target does (across reloads, whichever detector is current) and goes with it.
 */
const records = new WeakMap<Target, OutlierRecord>();

/** Outlier detection for one service's targets. */
export class OutlierDetector {
  readonly #config: PassiveCheckConfig;
  readonly #clock: Clock;
  readonly #targets: () => readonly Target[];

  /** `targets` returns the service's current targets (for `maxEjectionPercent`). */
  constructor(config: PassiveCheckConfig, clock: Clock, targets: () => readonly Target[]) {
    this.#config = config;
    this.#clock = clock;
    this.#targets = targets;
  }

  /** Learns from one outcome; add it to each of the service's `target.observers`. */
  readonly observe = (target: Target, outcome: Outcome): void => {
    const config = this.#config;
    // The common case, on every proxied request of every service: a success for a target
    // with a clean record changes nothing, and is decided without reading the clock.
    if (
      outcome.kind === "success" &&
      target.ejectedUntil === 0 &&
      target.ejections === 0 &&
      config.failureRatio === undefined
    ) {
      const record = records.get(target);
      if (
        record === undefined ||
        (record.consecutiveFailures === 0 && record.consecutiveLocalOriginFailures === 0)
      )
        return;
    }
    const now = this.#clock.now();
    const unanswered = isLocalOriginFailure(outcome);
    if (target.ejectedUntil !== 0) {
      // Tries sent before the ejection, or during panic, say nothing new: it is already out.
      if (target.ejectedUntil > now) return;
      // Back from its ejection. Until a try is answered the target stays on trial, one try
      // at a time (Target.usable); once one is, it is back in full. 0 also spares
      // `usable()` a clock read (~100 ns) on every later ask.
      if (!(unanswered && config.consecutiveLocalOriginFailures > 0)) target.ejectedUntil = 0;
    }
    const record = this.#recordOf(target, now);
    if (record.last === outcome) return;
    record.last = outcome;
    this.#forgive(target, record, now);
    const failed = isFailure(outcome);
    record.window?.add(now, failed, false);
    record.consecutiveFailures = failed ? record.consecutiveFailures + 1 : 0;
    record.consecutiveLocalOriginFailures = unanswered
      ? record.consecutiveLocalOriginFailures + 1
      : 0;
    if (
      reached(record.consecutiveFailures, config.consecutiveFailures) ||
      reached(record.consecutiveLocalOriginFailures, config.consecutiveLocalOriginFailures) ||
      this.#ratioReached(record, now)
    ) {
      this.#eject(target, record, now);
    }
  };

  #recordOf(target: Target, now: number): OutlierRecord {
    let record = records.get(target);
    if (!record) {
      record = {
        consecutiveFailures: 0,
        consecutiveLocalOriginFailures: 0,
        window: undefined,
        windowMs: 0,
        last: undefined,
        forgivingSince: now,
      };
      records.set(target, record);
    }
    const wantsWindow = this.#config.failureRatio !== undefined;
    if (!wantsWindow) {
      record.window = undefined;
    } else if (!record.window || record.windowMs !== this.#config.window) {
      record.window = new OutcomeWindow(this.#config.window);
      record.windowMs = this.#config.window;
    }
    return record;
  }

  #ratioReached(record: OutlierRecord, now: number): boolean {
    const ratio = this.#config.failureRatio;
    if (ratio === undefined || !record.window) return false;
    const { total, failures } = record.window.tally(now);
    return total >= this.#config.minRequests && failures / total >= ratio;
  }

  /**
   * Ejects the target unless that would put more than `maxEjectionPercent` of the service
   * out. Refused, the counters stay as they are, so the next failure asks again (and
   * succeeds once another target has come back).
   */
  #eject(target: Target, record: OutlierRecord, now: number): void {
    const targets = this.#targets();
    let ejected = 1;
    // A target on trial with its one try out takes no traffic either: it counts as out.
    for (const other of targets)
      if (
        other !== target &&
        (other.ejectedUntil > now || (other.ejectedUntil !== 0 && other.trialInFlight))
      )
        ejected++;
    if (ejected * 100 > this.#config.maxEjectionPercent * targets.length) return;
    target.ejections++;
    const duration = Math.min(
      this.#config.baseEjection * target.ejections,
      this.#config.maxEjection,
    );
    target.ejectedUntil = now + duration;
    if (ejectionChannel.hasSubscribers) {
      ejectionChannel.publish({
        service: target.service,
        target: target.url,
        ejections: target.ejections,
        durationMs: duration,
      } satisfies EjectionMessage);
    }
    // It comes back with a clean slate; clean time counts from its return.
    record.consecutiveFailures = 0;
    record.consecutiveLocalOriginFailures = 0;
    record.window?.clear();
    record.forgivingSince = target.ejectedUntil;
    target.transitioned({ kind: "ejection", ejections: target.ejections, durationMs: duration });
  }

  /**
   * Each `maxEjection` of time spent in service without being ejected forgives one past
   * ejection, so a target that recovered is not ejected for the maximum time forever.
   */
  #forgive(target: Target, record: OutlierRecord, now: number): void {
    if (target.ejections === 0) {
      record.forgivingSince = now;
      return;
    }
    const period = Math.max(1, this.#config.maxEjection);
    const periods = Math.floor((now - record.forgivingSince) / period);
    if (periods <= 0) return;
    target.ejections = Math.max(0, target.ejections - periods);
    record.forgivingSince += periods * period;
  }
}

/** Whether a count in a row has reached its rule's threshold (0: the rule is off). */
function reached(count: number, threshold: number): boolean {
  return threshold > 0 && count >= threshold;
}
