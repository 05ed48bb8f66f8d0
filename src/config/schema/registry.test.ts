// `gateway.registry`, `gateway.zone`, `discovery.registry` and `loadBalancer.zoneAware` as a
// user writes them: defaults, and mistakes reported at FILE:LINE:COL.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configProblems } from "../../../test/helpers/config-problems.ts";
import { parseGatewayConfig } from "../../runtime/validate.ts";

const yaml = (...lines: string[]): string => `${lines.join("\n")}\n`;

describe("registry config", () => {
  it("has the documented defaults, and takes discovery.registry with its filters", () => {
    const config = parseGatewayConfig(
      yaml(
        "gateway:",
        "  listen: [{ port: 8080 }]",
        "  admin: { port: 9902 }",
        "  zone: eu-1",
        "  registry: {}",
        "services:",
        "  - name: orders",
        "    loadBalancer: { zoneAware: true }",
        "    discovery:",
        '      registry: { service: orders, tags: [stable], version: ">=1.4.0 <2", metadata: { tier: gold } }',
      ),
      "gw.yaml",
      {},
    );
    const { registry, zone } = config.gateway;
    assert.deepEqual(registry, {
      keys: [],
      store: "memory",
      allowedNetworks: [],
      defaultTtl: 10_000,
      maxTtl: 300_000,
      removeAfter: 60_000,
    });
    assert.equal(zone, "eu-1");
    const service = config.services[0]!;
    assert.equal(service.loadBalancer.zoneAware, true);
    assert.deepEqual(service.discovery, {
      registry: {
        service: "orders",
        tags: ["stable"],
        version: ">=1.4.0 <2",
        metadata: { tier: "gold" },
      },
    });
  });

  it("refuses the etcd store without a connection, a bad range, both sources, and the gateway settings a service needs", () => {
    const problems = configProblems(
      yaml(
        "gateway:",
        "  listen: [{ port: 8080 }]",
        "  admin: { port: 9902 }",
        "  registry: { store: etcd, allowedNetworks: [10.0.0.0/33] }",
        "services:",
        "  - name: orders",
        "    loadBalancer: { zoneAware: true }",
        "    discovery: { registry: { service: orders, version: newest } }",
        "  - name: both",
        "    discovery:",
        "      dns: { name: a.test, port: 80 }",
        "      registry: { service: a }",
      ),
    );
    assert.deepEqual(problems, [
      "gw.yaml:4:22 gateway.registry.store: the etcd registry store needs an etcd connection: set gateway.registry.etcd, or gateway.configStore.etcd to share the config store's",
      "gw.yaml:4:46 gateway.registry.allowedNetworks[0]: expected an IP address or CIDR range, e.g. 10.0.0.0/8 or ::1",
      "gw.yaml:7:32 services[0].loadBalancer.zoneAware: zone-aware balancing needs this gateway's zone: set gateway.zone",
      "gw.yaml:8:56 services[0].discovery.registry.version: expected a semver range, e.g. >=1.4.0 or ^2.0.0",
      "gw.yaml:12:17 services[1].discovery.registry: give one of dns or registry, not dns and registry",
    ]);
  });

  it("takes the etcd store with a connection of its own, or the config store's", () => {
    const gateway = (...lines: string[]) =>
      parseGatewayConfig(
        yaml("gateway:", "  listen: [{ port: 8080 }]", "  admin: { port: 9902 }", ...lines),
        "gw.yaml",
        {},
      ).gateway;
    const own = gateway("  registry: { store: etcd, etcd: { endpoints: [http://10.0.0.5:2379] } }");
    assert.deepEqual(own.registry?.etcd, {
      endpoints: ["http://10.0.0.5:2379"],
      prefix: "/gatehouse/",
      timeout: 2000,
    });
    const shared = gateway(
      "  registry: { store: etcd }",
      "  configStore: { etcd: { endpoints: [http://10.0.0.5:2379], prefix: /c/ } }",
    );
    assert.equal(shared.registry?.store, "etcd");
    assert.equal(shared.registry?.etcd, undefined);
    assert.deepEqual(
      configProblems(
        yaml(
          "gateway:",
          "  listen: [{ port: 8080 }]",
          "  admin: { port: 9902 }",
          "  registry: { store: etcd, etcd: { endpoints: [10.0.0.5:2379], cache: x.json } }",
        ),
      ),
      [
        "gw.yaml:4:48 gateway.registry.etcd.endpoints[0]: expected http://host:port or https://host:port",
        'gw.yaml:4:64 gateway.registry.etcd: unknown key "cache"',
      ],
    );
  });

  it("needs a registry for registry discovery, and a listener with keys off loopback", () => {
    assert.deepEqual(
      configProblems(
        yaml(
          "gateway:",
          "  listen: [{ port: 8080 }]",
          "services:",
          "  - name: orders",
          "    discovery: { registry: { service: orders } }",
        ),
      ),
      [
        "gw.yaml:5:28 services[0].discovery.registry: registry discovery needs the service registry: set gateway.registry",
      ],
    );
    assert.deepEqual(
      configProblems(yaml("gateway:", "  listen: [{ port: 8080 }]", "  registry: {}")),
      [
        "gw.yaml:3:13 gateway.registry: the registry API is served on the admin listener unless it has its own: set gateway.admin or gateway.registry.listen",
      ],
    );
    assert.deepEqual(
      configProblems(
        yaml(
          "gateway:",
          "  listen: [{ port: 8080 }]",
          "  registry: { listen: { host: 0.0.0.0, port: 9903 } }",
        ),
      ),
      [
        "gw.yaml:3:13 gateway.registry.keys: the registry API binds 0.0.0.0, which is not loopback: give it keys (anyone who can reach it could register instances)",
      ],
    );
    const key = "sha256:".padEnd(71, "a");
    assert.deepEqual(
      configProblems(
        yaml(
          "gateway:",
          "  listen: [{ port: 8080 }]",
          `  registry: { listen: { host: 0.0.0.0, port: 9903 }, keys: [{ id: orders, key: "${key}" }] }`,
        ),
      ),
      [],
    );
  });
});
