// A service picks among its current targets: panic offers every target that is not full,
// a retry passes over the targets it tried, and new targets carry the service's settings.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { configSchema } from "../config/schema/index.ts";
import { clientRequest } from "./selectors/test-fleet.ts";
import { Service, type TargetSpec } from "./service.ts";
import { Target } from "./target.ts";

function serviceOf(extra: Record<string, unknown> = {}, zone?: string): Service {
  const config = configSchema.parse({
    gateway: { listen: [{ port: 8080 }] },
    services: [{ name: "users", targets: [{ url: "http://127.0.0.1:9001" }], ...extra }],
  });
  return new Service(config.services[0]!, undefined, { zone });
}

/** A pool that hands out one Target per URL, as the target registry does per identity. */
function poolOf() {
  const targets = new Map<string, Target>();
  const specs: TargetSpec[] = [];
  return {
    specs,
    acquire(spec: TargetSpec): Target {
      specs.push(spec);
      let target = targets.get(spec.url);
      if (!target) {
        target = new Target(spec);
        targets.set(spec.url, target);
      }
      return target;
    },
    destroy: () => Promise.all([...targets.values()].map((target) => target.destroy())),
  };
}

const listing = (...ports: number[]) =>
  ports.map((port) => ({ url: `http://127.0.0.1:${port}`, weight: 1 }));

const pools: ReturnType<typeof poolOf>[] = [];
function pool() {
  const made = poolOf();
  pools.push(made);
  return made;
}
after(() => Promise.all(pools.map((made) => made.destroy())));

describe("Service", () => {
  it("selects only available targets, and none when none is", () => {
    const service = serviceOf();
    service.setTargets(listing(9001, 9002), pool());
    const [a, b] = service.targets;
    a!.health = "unhealthy";
    for (let i = 0; i < 4; i++) assert.equal(service.select(clientRequest(i)), b);
    b!.health = "unhealthy";
    assert.equal(service.select(clientRequest(0)), undefined);
  });

  it("passes over excluded targets, as a retry asks", () => {
    const service = serviceOf();
    service.setTargets(listing(9001, 9002), pool());
    const [a, b] = service.targets;
    const exclude = new Set([a!]);
    for (let i = 0; i < 4; i++) assert.equal(service.select(clientRequest(i), { exclude }), b);
  });

  it("in panic offers unhealthy targets, and stops once enough are back", () => {
    const service = serviceOf({ healthCheck: { panicThreshold: 50 } });
    service.setTargets(listing(9001, 9002, 9003, 9004), pool());
    const targets = service.targets;
    for (const target of targets.slice(0, 3)) target.health = "unhealthy";
    const picked = new Set<Target>();
    for (let i = 0; i < 8; i++) picked.add(service.select(clientRequest(i))!);
    assert.equal(picked.size, 4, "every target is offered in panic");
    for (const target of targets) target.health = "healthy";
    targets[0]!.health = "unhealthy";
    service.select(clientRequest(0));
    assert.ok(
      targets.every((target) => !target.ignoreHealth),
      "out of panic, health counts again",
    );
    for (let i = 0; i < 8; i++) assert.notEqual(service.select(clientRequest(i)), targets[0]);
  });

  it("asks the pool for targets with the service's settings, and replaces its list whole", () => {
    const service = serviceOf({
      limits: { maxConnections: 7 },
      timeouts: { connect: "2s" },
      healthCheck: { active: { path: "/health" }, initialState: "unknown" },
    });
    const made = pool();
    service.setTargets(listing(9001), made);
    const first = service.targets;
    assert.deepEqual(
      made.specs.map(({ service, connectTimeout, maxConnections, initialHealth }) => ({
        service,
        connectTimeout,
        maxConnections,
        initialHealth,
      })),
      [{ service: "users", connectTimeout: 2000, maxConnections: 7, initialHealth: "unknown" }],
    );
    service.setTargets(listing(9001, 9002), made);
    assert.notEqual(service.targets, first, "a new array: requests in flight keep the old one");
    assert.equal(first.length, 1);
    assert.equal(service.targets[0], first[0], "the pool's target is reused");
  });

  it("acquires only the entries it did not list before, and says what it took on and let go", () => {
    const service = serviceOf();
    const made = pool();
    const [a, b, c] = listing(9001, 9002, 9003);
    const first = service.setTargets([a!, b!, c!], made);
    assert.equal(first.added.length, 3);
    assert.deepEqual(first.removed, []);
    const [ta, tb, tc] = service.targets;
    made.specs.length = 0;
    const d = listing(9004)[0]!;
    const grown = service.setTargets([a!, b!, d, c!], made);
    assert.deepEqual(
      made.specs.map((spec) => spec.url),
      ["http://127.0.0.1:9004"],
      "the entries it had are not looked up again",
    );
    const td = service.targets[2];
    assert.deepEqual(grown, { added: [td], removed: [] });
    assert.deepEqual(service.targets, [ta, tb, td, tc]);
    const shrunk = service.setTargets([a!, d, c!], made);
    assert.deepEqual(shrunk, { added: [], removed: [tb] });
    assert.deepEqual(service.targets, [ta, td, tc]);
    // A new entry for a known URL (its weight changed): the same target, with the new weight.
    made.specs.length = 0;
    const heavier = { ...d, weight: 5 };
    const reweighed = service.setTargets([a!, heavier, c!], made);
    assert.deepEqual(reweighed, { added: [td], removed: [] });
    assert.equal(made.specs.length, 1);
    assert.equal(made.specs[0]!.weight, 5);
    assert.deepEqual(service.setTargets([], made), { added: [], removed: [ta, td, tc] });
  });

  it("finds what many changes at once added and removed, wherever they are in the list", () => {
    const service = serviceOf();
    const made = pool();
    const entries = listing(...Array.from({ length: 50 }, (_, i) => 9100 + i));
    service.setTargets(entries, made);
    const before = service.targets;
    // Every other entry dropped, and ten new ones spread through the list.
    const next = entries.filter((_, i) => i % 2 === 0);
    for (let i = 0; i < 10; i++) next.splice(i * 3, 0, listing(9300 + i)[0]!);
    const { added, removed } = service.setTargets(next, made);
    assert.deepEqual(
      added.map((target) => target.url),
      listing(...Array.from({ length: 10 }, (_, i) => 9300 + i)).map((entry) => entry.url),
    );
    assert.deepEqual(
      removed,
      before.filter((_, i) => i % 2 === 1),
    );
    assert.deepEqual(
      service.targets.map((target) => target.url),
      next.map((entry) => entry.url),
    );
  });

  it("hands its targets' outcomes to its own outlier detection", () => {
    const service = serviceOf({ healthCheck: { passive: { consecutiveFailures: 2 } } });
    service.setTargets(listing(9001, 9002), pool());
    const [a] = service.targets;
    a!.onOutcome({ kind: "connect-failure", durationMs: 1 });
    a!.onOutcome({ kind: "connect-failure", durationMs: 1 });
    assert.equal(a!.ejections, 1);
    assert.ok(!a!.available());
  });

  it("zone-aware, picks in the gateway's zone while one there is available, else anywhere", () => {
    const service = serviceOf({ loadBalancer: { zoneAware: true } }, "eu-1");
    service.setTargets(
      [
        { url: "http://127.0.0.1:9001", weight: 1, zone: "eu-1" },
        { url: "http://127.0.0.1:9002", weight: 1, zone: "eu-2" },
        { url: "http://127.0.0.1:9003", weight: 1, zone: "eu-1" },
        { url: "http://127.0.0.1:9004", weight: 1 },
      ],
      pool(),
    );
    const [a, , c] = service.targets;
    const picks = (n: number, options?: { exclude: Set<Target> }) => {
      const ports = new Set<number>();
      for (let i = 0; i < n; i++) ports.add(service.select(clientRequest(i), options)!.port);
      return [...ports].sort();
    };
    assert.deepEqual(picks(8), [9001, 9003], "only the local targets while they are available");
    a!.health = "unhealthy";
    assert.deepEqual(picks(8), [9003]);
    assert.deepEqual(picks(8, { exclude: new Set([c!]) }), [9002, 9004], "a retry leaves the zone");
    c!.health = "unhealthy";
    assert.deepEqual(picks(8), [9002, 9004], "none local is available: the others take it");
    c!.health = "healthy";
    assert.deepEqual(picks(8), [9003], "back home as soon as one local target is");
  });

  it("without zoneAware, or with no gateway zone, ignores zones", () => {
    const zoned = [
      { url: "http://127.0.0.1:9001", weight: 1, zone: "eu-1" },
      { url: "http://127.0.0.1:9002", weight: 1, zone: "eu-2" },
    ];
    for (const service of [
      serviceOf({}, "eu-1"),
      serviceOf({ loadBalancer: { zoneAware: true } }),
    ]) {
      service.setTargets(zoned, pool());
      const ports = new Set<number>();
      for (let i = 0; i < 4; i++) ports.add(service.select(clientRequest(i))!.port);
      assert.deepEqual([...ports].sort(), [9001, 9002]);
    }
  });
});
