import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GatehouseError } from "../errors.ts";
import { instanceUrl, parseRegistration, type RegistrationRules } from "./instance.ts";

const rules: RegistrationRules = { defaultTtl: 10_000, maxTtl: 300_000, allowedNetworks: [] };

/** The refusal `parseRegistration` throws for `body`. */
function refusal(body: unknown, extra: Partial<RegistrationRules> = {}, service = "orders") {
  try {
    parseRegistration(service, "i-1", body, { ...rules, ...extra });
  } catch (error) {
    assert.ok(error instanceof GatehouseError);
    return { code: error.code, status: error.status, problems: error.problems ?? [error.message] };
  }
  assert.fail("accepted");
}

describe("registration bodies", () => {
  it("fills in the defaults and normalises the version", () => {
    const registration = parseRegistration(
      "orders",
      "i-1",
      { address: "10.0.0.7", port: 9003, version: "v1.4.2" },
      rules,
    );
    assert.deepEqual(registration, {
      service: "orders",
      id: "i-1",
      address: "10.0.0.7",
      port: 9003,
      protocol: "http",
      ttlMs: 10_000,
      weight: 1,
      version: "1.4.2",
      tags: [],
      metadata: {},
    });
  });

  it("keeps every field it was given", () => {
    const registration = parseRegistration(
      "orders",
      "i-1",
      {
        address: "orders-1.internal",
        port: 50051,
        protocol: "grpc",
        ttl: "30s",
        zone: "eu-1",
        tags: ["canary", "stable"],
        metadata: { build: "42" },
        weight: 3,
        healthCheck: { path: "/health", interval: "5s" },
      },
      rules,
    );
    assert.equal(registration.ttlMs, 30_000);
    assert.deepEqual(registration.healthCheck, { path: "/health", intervalMs: 5_000 });
    assert.deepEqual(registration.tags, ["canary", "stable"]);
  });

  it("lists every problem of a bad body at once", () => {
    const { code, status, problems } = refusal({
      port: 70000,
      protocol: "ftp",
      version: "latest",
      tags: ["a", "a"],
      metadata: { build: 42 },
      colour: "blue",
    });
    assert.equal(code, "GATEHOUSE_REGISTRY_INVALID_INSTANCE");
    assert.equal(status, 400);
    assert.deepEqual(problems, [
      "address: required key is missing",
      "port: must be at most 65535",
      'protocol: must be one of "http", "grpc" (did you mean "http"?)',
      "version: expected a semantic version, e.g. 1.4.2",
      "tags: lists a tag twice",
      "metadata.build: expected a string, got 42",
      'colour: unknown key "colour"',
    ]);
  });

  it("refuses what is not an object, a TTL over the maximum, and bad names", () => {
    assert.deepEqual(refusal([]).problems, ["expected a map of keys to values, got a list"]);
    assert.match(refusal({ address: "10.0.0.7", port: 1, ttl: "10m" }).problems[0]!, /maxTtl: 5m/);
    assert.match(
      refusal({ address: "10.0.0.7", port: 1, ttl: "500ms" }).problems[0]!,
      /at least 1s/,
    );
    assert.match(refusal({ address: "10.0.0.7", port: 1 }, {}, "../etc").problems[0]!, /service/);
    assert.deepEqual(refusal({ address: "not an address", port: 1 }).problems, [
      "address: expected an IP address or a host name",
    ]);
  });

  it("takes only addresses in the allowed networks", () => {
    const allowedNetworks = ["10.0.0.0/8", "fd00::/8"];
    assert.equal(
      parseRegistration("s", "i", { address: "10.2.3.4", port: 1 }, { ...rules, allowedNetworks })
        .address,
      "10.2.3.4",
    );
    parseRegistration("s", "i", { address: "fd00::7", port: 1 }, { ...rules, allowedNetworks });
    for (const address of ["192.168.1.5", "::1", "orders.internal"]) {
      const { code, status } = refusal({ address, port: 1 }, { allowedNetworks });
      assert.deepEqual([code, status], ["GATEHOUSE_REGISTRY_FORBIDDEN_NETWORK", 403], address);
    }
  });

  it("writes IPv6 addresses in brackets in the URL", () => {
    assert.equal(instanceUrl("fd00::7", 80), "http://[fd00::7]:80");
    assert.equal(instanceUrl("10.0.0.7", 9003), "http://10.0.0.7:9003");
  });
});
