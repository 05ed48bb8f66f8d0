import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { until } from "../../test/helpers/until.ts";
import { startUpstream } from "../../test/helpers/upstream.ts";
import { configSchema } from "../config/schema/index.ts";
import { activeCheckSchema, defaultActiveCheck } from "../config/schema/upstream.ts";
import { ManualClock } from "../upstream/clock.ts";
import { Service } from "../upstream/service.ts";
import { checkFor, HealthSupervisor } from "./health-supervisor.ts";
import { TargetRegistry } from "./target-registry.ts";

describe("the check a target gets", () => {
  const service = activeCheckSchema.parse({
    path: "/health",
    interval: "10s",
    healthyThreshold: 1,
  });

  it("is its service's, at the path and interval the target asks for", () => {
    assert.equal(checkFor(service, undefined), service);
    assert.equal(checkFor(undefined, undefined), undefined, "nothing asks: no probe");
    assert.deepEqual(checkFor(service, { path: "/ready", intervalMs: 2_000 }), {
      ...service,
      path: "/ready",
      interval: 2_000,
    });
    assert.deepEqual(checkFor(service, { path: "/ready" }), { ...service, path: "/ready" });
  });

  it("is the default probe when only the target asks, and ignores a path for tcp and grpc", () => {
    assert.deepEqual(checkFor(undefined, { path: "/ready" }), {
      ...defaultActiveCheck,
      path: "/ready",
    });
    const tcp = activeCheckSchema.parse({ type: "tcp" });
    assert.equal(checkFor(tcp, { path: "/ready", intervalMs: 1_000 }), tcp);
  });
});

describe("HealthSupervisor", () => {
  it("follows a change of a service's targets: the added are probed, the removed no more", async () => {
    const seen: string[] = [];
    const upstreams = await Promise.all(
      [0, 1].map(() =>
        startUpstream((req, res) => {
          seen.push(`${req.socket.localPort}${req.url}`);
          res.end("OK");
        }),
      ),
    );
    const [a, b] = upstreams.map((upstream) => upstream.url);
    const config = configSchema.parse({
      gateway: { listen: [{ port: 8080 }] },
      services: [
        {
          name: "orders",
          targets: [{ url: a }],
          healthCheck: { active: { path: "/health", interval: "10s" } },
        },
      ],
    });
    const service = new Service(config.services[0]!);
    const clock = new ManualClock();
    const health = new HealthSupervisor({ clock });
    const registry = new TargetRegistry();
    /**
     * Moves the clock by `ms` and waits for the probes that fires, and for each probed
     * target's next probe to be scheduled (after its answer is read: moving the clock
     * before that would leave the next probe a whole interval later). A target starts
     * being probed at once (`0`); one probed goes again `interval` later.
     */
    const probe = async (ms: number, expected: string[], probing: number) => {
      seen.length = 0;
      clock.advance(ms);
      await until(() => seen.length >= expected.length, `probes ${expected.join(", ")}`);
      assert.deepEqual(seen.sort(), expected.sort());
      await until(() => clock.pending === probing, `${probing} next probes scheduled`);
    };
    const at = (url: string, path: string) => `${new URL(url).port}${path}`;
    try {
      const first = { url: a!, weight: 1 };
      service.setTargets([first], registry);
      health.syncService(service);
      await probe(0, [at(a!, "/health")], 1);
      const second = { url: b!, weight: 1, healthCheck: { path: "/ready" } };
      health.syncChanges(service, service.setTargets([first, second], registry));
      await probe(0, [at(b!, "/ready")], 2);
      await probe(10_000, [at(a!, "/health"), at(b!, "/ready")], 2);
      health.syncChanges(service, service.setTargets([second], registry));
      await probe(10_000, [at(b!, "/ready")], 1);
      // The same target, no longer asking for a path of its own: the service's check.
      health.syncChanges(service, service.setTargets([{ url: b!, weight: 1 }], registry));
      await probe(0, [at(b!, "/health")], 1);
      await probe(10_000, [at(b!, "/health")], 1);
    } finally {
      health.close();
      await registry.destroyAll();
      await Promise.all(upstreams.map((upstream) => upstream.close()));
    }
  });
});
