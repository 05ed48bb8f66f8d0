/**
 * @module observability/health-check-metrics
 * Active health probes as metrics: a count per service, target, probe type and result,
 * and the probes' durations per service and type. Fed by the health supervisor after
 * each probe has been counted, so recording never delays a probe or its next schedule.
 */
import type { Registry } from "prom-client";
import type { ProbeResult } from "../upstream/health/active.ts";
import {
  type CounterChild,
  CounterFamily,
  type HistogramChild,
  HistogramFamily,
} from "./series.ts";

/** What the health supervisor reports after each probe. */
export interface HealthProbeObserver {
  probed(service: string, type: string, target: string, result: ProbeResult): void;
}

/** Seconds: a loopback connect is well under a millisecond, a probe times out in seconds. */
const probeBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** One target's counters, one per result. */
interface TargetCounters {
  success: CounterChild;
  failure: CounterChild;
  timeout: CounterChild;
}

/** Health-check counters and durations of one gateway. */
export class HealthCheckMetrics implements HealthProbeObserver {
  readonly #checks: CounterFamily;
  readonly #duration: HistogramFamily;
  readonly #targets = new Map<string, TargetCounters>();
  readonly #durations = new Map<string, HistogramChild>();

  constructor(registry: Registry) {
    this.#checks = new CounterFamily(
      "gatehouse_health_checks_total",
      "Active health probes, by service, target, probe type and result (success, failure or timeout).",
      ["service", "target", "type", "result"],
    );
    this.#duration = new HistogramFamily(
      "gatehouse_health_check_duration_seconds",
      "How long active health probes took, by service and probe type.",
      ["service", "type"],
      probeBuckets,
    );
    // prom-client's registry renders any object with a name, help, type and get().
    registry.registerMetric(this.#checks as never);
    registry.registerMetric(this.#duration as never);
  }

  probed(service: string, type: string, target: string, result: ProbeResult): void {
    // Probes come every few seconds per target, not per request: a joined key is cheap enough.
    const key = `${service}\u0000${target}\u0000${type}`;
    let counters = this.#targets.get(key);
    if (counters === undefined) {
      // All three at once, so a target's `failure` series exists (at 0) before it first fails.
      const child = (result: string) => this.#checks.child(service, target, type, result);
      counters = {
        success: child("success"),
        failure: child("failure"),
        timeout: child("timeout"),
      };
      this.#targets.set(key, counters);
    }
    const outcome = result.ok ? "success" : result.kind === "timeout" ? "timeout" : "failure";
    counters[outcome].value++;
    const durationKey = `${service}\u0000${type}`;
    let duration = this.#durations.get(durationKey);
    if (duration === undefined) {
      duration = this.#duration.child(service, type);
      this.#durations.set(durationKey, duration);
    }
    duration.observe(result.durationMs / 1000);
  }
}
