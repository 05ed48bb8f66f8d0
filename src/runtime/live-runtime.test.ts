import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "../observability/logger.ts";
import { createPluginRegistry } from "../plugins/index.ts";
import { RedisConnections } from "../stores/redis.ts";
import { LiveRuntime } from "./live-runtime.ts";
import type { TargetEvent } from "./target-registry.ts";
import { parseGatewayConfig } from "./validate.ts";

const config = (services: { name: string; urls: string[] }[]) =>
  parseGatewayConfig(
    JSON.stringify({
      gateway: { listen: [{ port: 0 }], log: { level: "silent" } },
      services: services.map(({ name, urls }) => ({
        name,
        targets: urls.map((url) => ({ url })),
      })),
      routes: services.map(({ name }) => ({
        name,
        match: { paths: [`/${name}/*`] },
        service: name,
      })),
    }),
    "test.json",
  );

const live = (services: { name: string; urls: string[] }[]) =>
  new LiveRuntime(config(services), {
    plugins: { registry: createPluginRegistry(), redis: new RedisConnections() },
    log: createLogger({ level: "silent", destination: "stderr" }),
  });

describe("LiveRuntime", () => {
  it("gives one service new targets: those kept keep their state, those left out are released, other services untouched", async () => {
    const runtime = live([
      { name: "a", urls: ["http://127.0.0.1:9001", "http://127.0.0.1:9002"] },
      { name: "b", urls: ["http://127.0.0.1:9003"] },
    ]);
    const events: TargetEvent[] = [];
    runtime.targets.subscribe((event) => events.push(event));
    try {
      const [kept, dropped] = runtime.current.services.get("a")!.targets;
      const other = runtime.current.services.get("b")!.targets[0];
      kept!.health = "unhealthy";
      const changed = runtime.setTargets("a", [
        { url: "http://127.0.0.1:9001", weight: 3 },
        { url: "http://127.0.0.1:9004", weight: 1 },
      ]);
      assert.equal(changed?.service, runtime.current.services.get("a"));
      const now = changed!.service.targets;
      assert.deepEqual(changed!.added, now, "both entries are new to the service");
      assert.deepEqual(changed!.removed, [dropped]);
      assert.equal(now[0], kept, "the target that stays is the same object");
      assert.equal(now[0]!.health, "unhealthy");
      assert.equal(now[0]!.weight, 3);
      assert.deepEqual(
        events.map((event) => [event.type, event.target.url]),
        [
          ["added", "http://127.0.0.1:9004"],
          ["removed", dropped!.url],
        ],
      );
      assert.equal(runtime.targets.get(dropped!.identity), undefined);
      assert.equal(runtime.current.services.get("b")!.targets[0], other);
      assert.equal(runtime.targets.get(other!.identity), other);
      assert.equal(runtime.setTargets("gone", []), undefined, "no such service: nothing changes");
    } finally {
      await runtime.close();
    }
  });

  it("applies a change to one service's targets: by URL, the others kept as they were", async () => {
    const urls = [9001, 9002, 9003].map((port) => `http://127.0.0.1:${port}`);
    const runtime = live([{ name: "a", urls }]);
    try {
      const [t1, t2, t3] = runtime.current.services.get("a")!.targets;
      const changed = runtime.changeTargets(
        "a",
        [
          { url: urls[2]!, weight: 7 },
          { url: "http://127.0.0.1:9004", weight: 1 },
        ],
        [urls[0]!],
      );
      const now = changed!.service.targets;
      assert.deepEqual(
        now.map((target) => [target.url, target.weight]),
        [
          [urls[1], 1],
          [urls[2], 7],
          ["http://127.0.0.1:9004", 1],
        ],
      );
      assert.equal(now[0], t2);
      assert.equal(now[1], t3, "a changed entry keeps its target");
      assert.deepEqual(changed!.removed, [t1]);
      assert.deepEqual(changed!.added, [t3, now[2]]);
      assert.equal(runtime.changeTargets("gone", [], []), undefined);
    } finally {
      await runtime.close();
    }
  });

  it("swaps in a compiled config and, once retired, lets go of targets no service lists", async () => {
    const runtime = live([{ name: "a", urls: ["http://127.0.0.1:9001", "http://127.0.0.1:9002"] }]);
    try {
      const [first, second] = runtime.current.services.get("a")!.targets;
      const previous = runtime.swap(config([{ name: "a", urls: ["http://127.0.0.1:9002"] }]));
      assert.notEqual(runtime.current, previous);
      assert.equal(runtime.current.services.get("a")!.targets[0], second);
      assert.equal(
        runtime.targets.get(first!.identity),
        first,
        "kept until the old runtime retires",
      );
      await runtime.retire(previous);
      assert.equal(runtime.targets.get(first!.identity), undefined);
      assert.equal(runtime.targets.get(second!.identity), second);
    } finally {
      await runtime.close();
    }
  });
});
