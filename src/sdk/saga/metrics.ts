/**
 * @module sdk/saga/metrics
 * The saga metrics in the SDK's registry: how sagas ended, how often compensations had to
 * be retried, and how many sagas are stuck retrying a compensation right now (alert on it).
 */
import { Counter, Gauge } from "prom-client";
import { sdkMetrics } from "../metrics.ts";

/** Sagas that ended in this process, by saga name and final status. */
export const sagaRuns = new Counter({
  name: "gatehouse_saga_runs_total",
  help: "Sagas that ended in this process, by saga name and final status (completed, compensated, failed)",
  labelNames: ["saga", "status"] as const,
  registers: [sdkMetrics],
});

/** Failed compensation attempts, each followed by a retry or by giving up. */
export const compensationRetries = new Counter({
  name: "gatehouse_saga_compensation_retries_total",
  help: "Compensation attempts that failed, by saga name and step",
  labelNames: ["saga", "step"] as const,
  registers: [sdkMetrics],
});

/** Sagas whose compensation has failed and is waiting to be tried again. */
export const stuckSagas = new Gauge({
  name: "gatehouse_saga_stuck",
  help: "Sagas in this process whose compensation failed and is being retried; nonzero for long means an operator is needed",
  labelNames: ["saga"] as const,
  registers: [sdkMetrics],
});
