// What a valid config becomes: defaults filled in, durations in milliseconds, sizes in
// bytes, and each service's timeouts completed from gateway.timeouts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseGatewayConfig } from "../../runtime/validate.ts";

/** Lines of a YAML file; line N of the file is argument N. */
const yaml = (...lines: string[]): string => `${lines.join("\n")}\n`;

const accepted = (text: string) => parseGatewayConfig(text, "gw.yaml", {});

const gateway = ["gateway:", "  listen: [{ port: 8080 }]"];
const usersService = [
  "services:",
  "  - name: users",
  "    targets: [{ url: http://127.0.0.1:9001 }]",
];

describe("defaults", () => {
  it("are filled in, durations in milliseconds and sizes in bytes", () => {
    const config = accepted(
      yaml(
        ...gateway,
        "  limits: { maxBodySize: 1mb, maxHeaderSize: 2048 }",
        "  timeouts: { connect: 250ms, response: 1.5m }",
        ...usersService,
        "routes:",
        "  - { name: r, match: { paths: [/a] }, service: users }",
      ),
    );
    assert.deepEqual(config.gateway.listen, [{ host: "0.0.0.0", port: 8080, http2: false }]);
    assert.deepEqual(config.gateway.limits, {
      maxHeaderSize: 2048,
      maxHeaderCount: 100,
      maxUriLength: 8192,
      maxBodySize: 1024 * 1024,
      requestHeadersTimeout: 30_000,
      requestBodyIdleTimeout: 30_000,
      requestBodyTimeout: 300_000,
      maxClientConnections: "auto",
      keepAliveTimeout: 65_000,
      http2: {
        maxConcurrentStreams: 100,
        maxResetsPerSecond: 200,
        maxPingsPerSecond: 100,
        maxSettingsPerSecond: 100,
        maxRefusedStreams: 100,
        maxInvalidFrames: 1000,
      },
    });
    assert.deepEqual(config.gateway.timeouts, {
      connect: 250,
      response: 90_000,
      idle: 60_000,
      total: 0,
    });
    assert.equal(config.gateway.shutdownTimeout, 30_000);
    assert.deepEqual(config.gateway.trustedProxies, []);
    assert.deepEqual(config.gateway.paths, { encodedSlashes: "reject", mergeSlashes: false });
    assert.deepEqual(config.services[0]!.targets, [
      { url: "http://127.0.0.1:9001", weight: 1, metadata: {} },
    ]);
    assert.deepEqual(config.services[0]!.loadBalancer, {
      algorithm: "round-robin",
      zoneAware: false,
    });
    assert.deepEqual(config.services[0]!.healthCheck, {
      panicThreshold: 0,
      initialState: "healthy",
    });
    assert.deepEqual(config.services[0]!.limits, { maxConnections: 0 });
    assert.deepEqual(config.services[0]!.retries, {
      attempts: 2,
      on: ["connect-failure", "timeout", "reset", "unavailable", 502, 503, 504],
      retryNonIdempotent: false,
      maxBufferedBody: 64 * 1024,
      backoff: { base: 25, max: 250 },
      budget: { ratio: 0.2, minRetries: 3 },
      perTryTimeout: 0,
    });
    assert.equal(config.services[0]!.circuitBreaker, undefined);
    assert.deepEqual(config.routes[0], {
      name: "r",
      match: { paths: ["/a"] },
      service: "users",
      priority: 0,
      preserveHost: false,
      websocket: true,
      portal: false,
      plugins: [],
    });
    assert.deepEqual(
      { consumers: config.consumers, plugins: config.plugins },
      { consumers: [], plugins: [] },
    );
  });
});

describe("service timeouts", () => {
  it("take each timeout a service leaves out from gateway.timeouts", () => {
    const config = accepted(
      yaml(
        ...gateway,
        "  timeouts: { connect: 2s, response: 30s }",
        "services:",
        "  - name: own",
        "    targets: [{ url: http://127.0.0.1:9001 }]",
        "    timeouts: { response: 5s, total: 1m }",
        "  - name: inherited",
        "    targets: [{ url: http://127.0.0.1:9002 }]",
      ),
    );
    assert.deepEqual(config.services[0]!.timeouts, {
      connect: 2000,
      response: 5000,
      idle: 60_000,
      total: 60_000,
    });
    assert.deepEqual(config.services[1]!.timeouts, config.gateway.timeouts);
    assert.deepEqual(config.gateway.timeouts, {
      connect: 2000,
      response: 30_000,
      idle: 60_000,
      total: 0,
    });
  });
});
