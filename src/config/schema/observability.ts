/**
 * @module config/schema/observability
 * What the gateway tells about itself: the process log, the access log, Prometheus metrics
 * and OpenTelemetry tracing. Static: part of `gateway`.
 */
import { z } from "zod";
import { duration, size } from "./fields.ts";

export const logSchema = z
  .strictObject({
    level: z
      .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
      .default("info")
      .describe("The least severe level written; `silent` writes nothing."),
    destination: z
      .string()
      .min(1)
      .default("stdout")
      .describe("`stdout`, `stderr`, or a file path (relative to the working directory)."),
  })
  .prefault({})
  .describe(
    "The process log: JSON lines about the gateway itself (start, reloads, draining, plugin and upstream trouble).",
  );

/** The fields an access-log line may have, in the order they are written. */
export const accessLogFields = [
  "time",
  "requestId",
  "clientIp",
  "method",
  "host",
  "path",
  "query",
  "route",
  "service",
  "target",
  "status",
  "bytesIn",
  "bytesOut",
  "durationMs",
  "upstreamMs",
  "gatewayMs",
  "retries",
  "consumer",
  "errorCode",
  "grpcStatus",
  "userAgent",
  "traceId",
] as const;

export const accessLogSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Write a line per request."),
    destination: z
      .string()
      .min(1)
      .default("stdout")
      .describe("`stdout`, `stderr`, or a file path (relative to the working directory)."),
    fields: z
      .array(z.enum(accessLogFields))
      .min(1)
      .default([...accessLogFields].filter((field) => field !== "query" && field !== "grpcStatus"))
      .describe(
        "The fields of each line. `query` is left out by default: query strings often carry secrets. `grpcStatus` (the status number of a gRPC call, proxied or transcoded; null for other requests) is left out unless added.",
      ),
    sampleRatio: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe("Share of successful requests (status below 400) logged; 1 logs every one."),
    bufferSize: size("64mb").describe(
      "Lines waiting for a slow disk are kept up to this much; past it new lines are dropped and counted, never waited for.",
    ),
  })
  .prefault({})
  .describe("One JSON line per finished request, written off the request path.");

export const metricsSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe("Count requests and serve `GET /metrics` on the status listener."),
  })
  .prefault({})
  .describe("Prometheus metrics (see docs/observability.md).");

/** Propagation formats tracing reads from clients and writes to upstreams. */
export const tracePropagators = ["tracecontext", "b3", "b3multi"] as const;

export const tracingSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe("Start a server span per request and a client span per upstream try."),
    endpoint: z
      .string()
      .refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), {
        message: "expected an http(s) URL, e.g. http://otel-collector:4318/v1/traces",
      })
      .default("http://127.0.0.1:4318/v1/traces")
      .describe("The OTLP/HTTP traces endpoint spans are exported to (JSON encoding)."),
    headers: z
      .record(z.string(), z.string())
      .default({})
      .describe("Headers sent with every export, e.g. the collector's API key."),
    serviceName: z
      .string()
      .min(1)
      .default("gatehouse")
      .describe("The `service.name` resource attribute of every span."),
    resourceAttributes: z
      .record(z.string(), z.string())
      .default({})
      .describe("More resource attributes, e.g. `deployment.environment.name`."),
    sampleRatio: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe("Share of new traces recorded (by trace id, so every node agrees)."),
    parentBased: z
      .boolean()
      .default(true)
      .describe(
        "Follow the caller's sampling decision when its trace context says one; the ratio applies only to traces that start here.",
      ),
    propagation: z
      .array(z.enum(tracePropagators))
      .min(1)
      .default(["tracecontext"])
      .describe(
        "Formats read from requests and written upstream: W3C `tracecontext` (`traceparent`/`tracestate`), `b3` (one `b3` header) or `b3multi` (`X-B3-*`).",
      ),
    exportDelay: duration("1s").describe("Finished spans are sent in batches at least this often."),
    exportTimeout: duration("10s").describe(
      "How long one export may take, retries included, before its spans are dropped.",
    ),
    maxQueueSize: z
      .number()
      .int()
      .positive()
      .default(8192)
      .describe(
        "Finished spans waiting for export; past it new spans are dropped, never waited for.",
      ),
    maxBatchSize: z.number().int().positive().default(512).describe("Spans in one export request."),
  })
  .prefault({})
  .describe("OpenTelemetry tracing (see docs/observability.md).");
