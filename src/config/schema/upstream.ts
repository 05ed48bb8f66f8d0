/**
 * @module config/schema/upstream
 * The upstream half of a service's config: load balancing, health checks, circuit
 * breaking, retries, connection limits and discovery. Names are the user-facing contract
 * of docs/load-balancing.md and docs/health-checks.md.
 */
import { z } from "zod";
import { duration, exactlyOneOf, size } from "./fields.ts";
import { registryDiscoverySchema } from "./registry.ts";

export const algorithms = [
  "round-robin",
  "weighted-round-robin",
  "random",
  "weighted-random",
  "least-connections",
  "least-response-time",
  "power-of-two",
  "consistent-hash",
] as const;

/** A key part with no argument may be written `{ ip }` (null in YAML) or `{ ip: true }`. */
const flag = z.union([z.literal(true), z.null()]).transform(() => true as const);
const headerName = z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, "expected a header name");

const hashOnSchema = z
  .union([
    z.strictObject({ ip: flag }),
    z.strictObject({ header: headerName.describe("Hash on this request header.") }),
    z.strictObject({ cookie: z.string().min(1).describe("Hash on this cookie.") }),
    z.strictObject({ query: z.string().min(1).describe("Hash on this query argument.") }),
    z.strictObject({ path: flag }),
    z.strictObject({ consumer: flag }),
  ])
  .describe(
    "What `consistent-hash` hashes: `{ ip }`, `{ header: NAME }`, `{ cookie: NAME }`, `{ query: NAME }`, `{ path }` or `{ consumer }`. A request without the key hashes on the client IP.",
  );

export const loadBalancerSchema = z
  .strictObject({
    algorithm: z.enum(algorithms).default("round-robin").describe("How a target is picked."),
    hashOn: hashOnSchema.optional(),
    zoneAware: z
      .boolean()
      .default(false)
      .describe(
        "Prefer targets whose `zone` is the gateway's (`gateway.zone`) while at least one of them is available; the others take traffic only when none is.",
      ),
  })
  .prefault({})
  .describe("How requests are spread over the targets.");

const percent = z.number().min(0).max(100);
const ratio = z.number().gt(0).max(1);

export const activeCheckSchema = z
  .strictObject({
    type: z
      .enum(["http", "https", "tcp", "grpc"])
      .default("http")
      .describe(
        "Probe kind: an HTTP(S) request, a TCP connect, or a `grpc.health.v1.Health/Check` call (h2c for `http://` targets, h2 over TLS for `https://`).",
      ),
    service: z
      .string()
      .optional()
      .describe(
        "For `type: grpc`: the service name sent in the health check; empty (the default) asks about the server as a whole.",
      ),
    path: z.string().regex(/^\//, "expected a path starting with /").default("/health"),
    method: z.enum(["GET", "HEAD", "POST", "OPTIONS"]).default("GET"),
    expectedStatuses: z
      .array(z.number().int().min(100).max(599))
      .min(1)
      .default([200, 201, 202, 204, 301, 302, 303, 304, 307, 308])
      .describe("Statuses that count as healthy."),
    body: z
      .string()
      .refine(
        (source) => {
          try {
            new RegExp(source);
            return true;
          } catch {
            return false;
          }
        },
        { message: "not a valid regular expression" },
      )
      .optional()
      .describe("A regular expression the response body must match."),
    headers: z.record(z.string(), z.string()).default({}).describe("Headers sent with each probe."),
    host: z.string().optional().describe("Host header for probes; default the target's."),
    interval: duration("10s").describe("Time between probes of one target."),
    timeout: duration("2s").describe("A probe slower than this fails."),
    jitter: duration("0s").describe("Random delay up to this much added to each interval."),
    healthyThreshold: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(2)
      .describe("Consecutive successes that mark an unhealthy target healthy."),
    unhealthyThreshold: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(3)
      .describe("Consecutive failures that mark a healthy target unhealthy."),
  })
  .refine((check) => !(check.method === "HEAD" && check.body !== undefined), {
    message: "a HEAD probe has no body to match: drop body or use GET",
    path: ["body"],
  })
  .refine((check) => check.type === "grpc" || check.service === undefined, {
    message: "only used by type: grpc",
    path: ["service"],
  })
  .refine((check) => check.type !== "grpc" || check.body === undefined, {
    message: "a grpc check reads a serving status, not a body: drop body",
    path: ["body"],
  })
  .describe("Probes sent to every target on a timer.");

/**
 * The probe a target that asks for one (a registry instance's `healthCheck`) gets when its
 * service configures none: every default, at the target's path and interval.
 */
export const defaultActiveCheck = Object.freeze(activeCheckSchema.parse({}));

const passiveCheckSchema = z
  .strictObject({
    consecutiveFailures: z
      .number()
      .int()
      .min(0)
      .default(5)
      .describe(
        "Failures in a row (connect errors, timeouts, resets, 5xx) that eject a target; 0 turns this rule off. Off when there is no `passive` block.",
      ),
    consecutiveLocalOriginFailures: z
      .number()
      .int()
      .min(0)
      .default(1)
      .describe(
        "Failures in a row that got no answer from the target (connect errors, timeouts, resets) that eject it; on with or without a `passive` block, 0 turns it off.",
      ),
    failureRatio: ratio
      .optional()
      .describe("Eject when this share of requests in `window` failed."),
    window: duration("30s").describe("Window for `failureRatio`."),
    minRequests: z
      .number()
      .int()
      .min(1)
      .default(10)
      .describe("Requests in `window` before the ratio counts."),
    baseEjection: duration("10s").describe(
      "Ejection time, multiplied by the number of ejections so far.",
    ),
    maxEjection: duration("5m").describe("Longest ejection."),
    maxEjectionPercent: percent
      .default(50)
      .describe("Never eject more than this share of a service's targets."),
  })
  .describe(
    "Ejection of targets that fail real traffic (outlier detection). Without this block, only `consecutiveLocalOriginFailures` applies, with the defaults below.",
  );

/**
 * The passive rule a service has when it writes no `passive` block: a target that
 * cannot be reached or does not answer leaves rotation (as nginx's `max_fails=1` and
 * Envoy's local-origin ejection do), while 5xx answers eject nobody unless asked.
 */
export const defaultPassiveCheck = Object.freeze(
  passiveCheckSchema.parse({ consecutiveFailures: 0 }),
);

export const healthCheckSchema = z
  .strictObject({
    active: activeCheckSchema.optional(),
    passive: passiveCheckSchema.optional(),
    panicThreshold: percent
      .default(0)
      .describe(
        "When fewer than this percent of targets are healthy, balance over all of them instead of answering 503. 0 turns it off.",
      ),
    initialState: z
      .enum(["healthy", "unknown"])
      .default("healthy")
      .describe(
        "A new target's state before its first active probe: `unknown` takes no traffic until one passes.",
      ),
  })
  .describe("Active probes, passive ejection and the panic threshold.");

export const circuitBreakerSchema = z
  .strictObject({
    window: duration("10s").describe("Sliding window over which outcomes are counted."),
    minRequests: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe("Requests in the window before the breaker may open."),
    failureRatio: ratio
      .default(0.5)
      .describe("Open when this share of requests in the window failed."),
    slowCallDuration: duration("0s").describe(
      "A call slower than this counts as slow; 0s turns it off.",
    ),
    slowCallRatio: ratio
      .default(1)
      .describe("Open when this share of requests in the window was slow."),
    openDuration: duration("30s").describe("First time spent open; doubled on each reopening."),
    maxOpenDuration: duration("5m").describe("Longest time spent open."),
    halfOpenRequests: z
      .number()
      .int()
      .min(1)
      .default(3)
      .describe("Probe requests let through half-open; all must succeed to close."),
  })
  .describe("Per-target circuit breaker.");

/**
 * What a failed try may be retried on besides 5xx statuses. `unavailable` is gRPC's: a call
 * that ended UNAVAILABLE (or whose connection was lost) before any response message.
 */
export const retryableConditions = ["connect-failure", "timeout", "reset", "unavailable"] as const;
export type RetryableCondition = (typeof retryableConditions)[number];

export const retriesSchema = z
  .strictObject({
    attempts: z.number().int().min(0).max(10).default(2).describe("Retries after the first try."),
    on: z
      .array(z.union([z.enum(retryableConditions), z.number().int().min(500).max(599)]))
      .default(["connect-failure", "timeout", "reset", "unavailable", 502, 503, 504])
      .describe(
        "What is retried: `connect-failure`, `timeout`, `reset`, and 5xx statuses; for `protocol: grpc` services, `connect-failure` and `unavailable` (a call that ended UNAVAILABLE before any response message), whatever `retryNonIdempotent` says.",
      ),
    retryNonIdempotent: z
      .boolean()
      .default(false)
      .describe("Retry POST, PATCH and others that are not idempotent."),
    maxBufferedBody: size("64kb").describe(
      "Request bodies up to this size are kept for replay; a larger body is never retried.",
    ),
    backoff: z
      .strictObject({
        base: duration("25ms").describe("First backoff; doubled each retry, with full jitter."),
        max: duration("250ms").describe("Longest backoff."),
      })
      .prefault({}),
    budget: z
      .strictObject({
        ratio: ratio
          .default(0.2)
          .describe("Retries in flight may not exceed this share of requests in flight."),
        minRetries: z
          .number()
          .int()
          .min(0)
          .default(3)
          .describe("Retries always allowed in flight, whatever the ratio."),
      })
      .prefault({}),
    perTryTimeout: duration("0s").describe("Timeout of each try; 0s uses `timeouts.response`."),
  })
  .describe("Retrying failed requests on another target.");

export const connectionLimitsSchema = z
  .strictObject({
    maxConnections: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe("Most requests in flight to one target; over it the target is full. 0: no limit."),
  })
  .prefault({})
  .describe(
    "Per-target limits; a request to a service whose targets are all full gets 503 at once.",
  );

export const dnsDiscoverySchema = z
  .strictObject({
    name: z.string().min(1).describe("The DNS name to resolve."),
    type: z.enum(["A", "AAAA", "SRV"]).default("A"),
    port: z.number().int().min(1).max(65535).optional().describe("Target port for A/AAAA records."),
    scheme: z.enum(["http", "https"]).default("http"),
    interval: duration("30s").describe("Re-resolve at most this often (and on TTL expiry)."),
    servers: z
      .array(
        z
          .string()
          .regex(
            /^[^\s]+:\d+$|^[^\s:]+$|^\[[0-9a-fA-F:.]+\](:\d+)?$/,
            "expected host or host:port",
          ),
      )
      .min(1)
      .optional()
      .describe("DNS servers to ask, `ip` or `ip:port`; default the system's resolvers."),
  })
  .describe("Targets from DNS records.");

export const discoverySchema = z
  .strictObject({
    dns: dnsDiscoverySchema.optional(),
    registry: registryDiscoverySchema.optional(),
  })
  .superRefine((discovery, ctx) => {
    exactlyOneOf(discovery, ["dns", "registry"], ctx, { verb: "give" });
  })
  .describe("Where the targets come from when they are not listed: `dns` or `registry`.");
