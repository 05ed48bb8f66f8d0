// A service client's options become the service config the gateway's upstream layer takes,
// with the config file's own defaults and validation.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configSchema } from "../config/schema/index.ts";
import { clientSettings } from "./client-config.ts";

describe("clientSettings", () => {
  it("gives a client with no options the defaults a config-file service has", () => {
    const fromFile = configSchema.parse({
      gateway: { listen: [{ host: "127.0.0.1", port: 8080 }] },
      services: [{ name: "inventory", targets: [{ url: "http://127.0.0.1:9001" }] }],
    }).services[0]!;
    const { config, maxResponseSize } = clientSettings("inventory", {});
    const { targets: _, ...expected } = fromFile;
    assert.deepEqual(config, expected);
    assert.equal(config.circuitBreaker, undefined, "no breaker unless asked, as in the config");
    assert.equal(maxResponseSize, 16 * 1024 * 1024);
  });

  it("takes the short forms: retries as a number, the algorithm by name, timeout in ms or text", () => {
    const { config } = clientSettings("inventory", {
      retries: 4,
      loadBalancer: "least-connections",
      timeout: 1500,
      circuitBreaker: { minRequests: 5 },
      timeouts: { connect: "250ms" },
    });
    assert.equal(config.retries.attempts, 4);
    assert.equal(config.loadBalancer.algorithm, "least-connections");
    assert.equal(config.timeouts.total, 1500);
    assert.equal(config.timeouts.connect, 250);
    assert.equal(config.circuitBreaker?.minRequests, 5);
    assert.equal(
      config.circuitBreaker?.openDuration,
      30_000,
      "the rest from the schema's defaults",
    );
    assert.equal(clientSettings("inventory", { timeout: "2s" }).config.timeouts.total, 2000);
  });

  it("refuses what the config file would refuse, naming each problem", () => {
    assert.throws(
      () => clientSettings("inventory", { retries: 11, loadBalancer: "fastest" as "random" }),
      (error: unknown) =>
        error instanceof TypeError &&
        /^serviceClient\("inventory"\): /.test(error.message) &&
        error.message.includes("retries.attempts") &&
        error.message.includes("loadBalancer.algorithm"),
    );
    assert.throws(() => clientSettings("inventory", { timeout: "soon" }), /timeout/);
    assert.throws(
      () =>
        clientSettings("inventory", {
          healthCheck: { active: { path: "/health" } } as never,
        }),
      /healthCheck\.active/,
    );
  });

  it("takes the registry discovery's filters and the caller's zone (zone-aware unless told not)", () => {
    const plain = clientSettings("inventory", {});
    assert.deepEqual(plain.filters, { service: "inventory", tags: [], metadata: {} });
    assert.equal(plain.zone, undefined);
    assert.equal(plain.config.loadBalancer.zoneAware, false);
    const zoned = clientSettings("inventory", {
      zone: "eu-1",
      filter: { tags: ["stable"], version: "^1.4.0" },
    });
    assert.deepEqual(zoned.filters, {
      service: "inventory",
      tags: ["stable"],
      version: "^1.4.0",
      metadata: {},
    });
    assert.equal(zoned.zone, "eu-1");
    assert.equal(zoned.config.loadBalancer.zoneAware, true);
    const off = clientSettings("inventory", { zone: "eu-1", loadBalancer: { zoneAware: false } });
    assert.equal(off.config.loadBalancer.zoneAware, false);
    assert.equal(clientSettings("inventory", {}, "grpc").config.protocol, "grpc");
  });
});
