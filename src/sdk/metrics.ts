/**
 * @module sdk/metrics
 * The SDK's one Prometheus registry: events, outbox and saga metrics are registered on it,
 * whatever part of the SDK counts them, so a service exposes all of them with one handler
 * (`res.end(await sdkMetrics.metrics())`) beside or merged with its own registry.
 */
import { Registry } from "prom-client";

/**
 * The registry every SDK metric lives on (`gatehouse_events_*`, `gatehouse_saga_*`).
 *
 * @example
 * ```ts
 * import { sdkMetrics } from "gatehouse-gateway/sdk";
 * createServer(async (req, res) => {
 *   res.setHeader("content-type", sdkMetrics.contentType);
 *   res.end(await sdkMetrics.metrics());
 * }).listen(9464);
 * ```
 */
export const sdkMetrics = new Registry();
