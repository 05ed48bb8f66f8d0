/**
 * @module sdk/metrics
 * The SDK's one prom-client registry: events, sagas and the store register their metrics
 * here, and a service exposes them with `await sdkMetrics.metrics()`.
 */
import { Registry } from "prom-client";

/** Every metric the SDK records, apart from the process's default registry. */
export const sdkMetrics = new Registry();
