// The rate-limit plugin builds its in-process store only when it counts in this process:
// an instance whose counts live elsewhere (the node's shared counter here) holds none.
import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import type { PluginScope } from "../../pipeline/plugin.ts";
import { silentTelemetry } from "../../pipeline/telemetry.ts";
import type { NodeLimits } from "../../stores/node-limits.ts";
import { rateLimitPlugin } from "./index.ts";

const nodeLimits: NodeLimits = {
  count: () => Promise.reject(new Error("not counted in this test")),
  acquire: () => Promise.resolve(true),
  release: () => {},
};

function scopeOf(name: string, limits: NodeLimits | undefined): PluginScope {
  return {
    level: "route",
    name,
    consumers: [],
    stores: {},
    redis: {} as PluginScope["redis"],
    ...(limits && { nodeLimits: limits }),
    baseDir: ".",
    telemetry: silentTelemetry,
    log: pino({ enabled: false }),
  } as PluginScope;
}

test("instances that count elsewhere hold no in-process store", () => {
  const config = rateLimitPlugin.schema.parse({ limit: 10, window: "1m" });
  const before = process.memoryUsage().arrayBuffers;
  const kept = Array.from({ length: 20 }, (_, i) =>
    rateLimitPlugin.create(config, scopeOf(`r${i}`, nodeLimits)),
  );
  const grown = process.memoryUsage().arrayBuffers - before;
  // An in-process store sized for 100,000 keys holds over 1 MB of typed arrays alone.
  assert.ok(grown < 2 * 1024 * 1024, `20 instances took ${grown} bytes of array buffers`);
  assert.equal(kept.length, 20);
});
