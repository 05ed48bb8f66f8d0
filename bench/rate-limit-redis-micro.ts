/**
 * @module bench/rate-limit-redis-micro
 * What a Redis-backed rate-limit decision costs under load, in process: the plugin's
 * access hook called for `--concurrency` requests at a time (as wrk's 50 connections
 * keep the gateway busy), against a `redis-server` started for the run. Prints CPU per
 * decision of this process and of redis-server, and wall time per batch. `--keys N`
 * spreads the requests over N client addresses (default 1: every request counts against
 * one key, as in the bench's auth-stack row, where wrk is one client).
 * `node bench/rate-limit-redis-micro.ts [--concurrency 50] [--batches 400] [--repeat 7]
 * [--algorithm token-bucket] [--timeout 1000] [--keys 1]`.
 */

import { mkdtempSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Registry } from "prom-client";
import { fallbackLogger } from "../src/observability/logger.ts";
import { PluginMetrics } from "../src/observability/plugin-metrics.ts";
import { RequestContext } from "../src/pipeline/context.ts";
import type { PluginHooks } from "../src/pipeline/plugin.ts";
import { stateKeyNamed } from "../src/pipeline/request-state.ts";
import { createPluginRegistry } from "../src/plugins/index.ts";
import { RedisConnections } from "../src/stores/redis.ts";
import { startRedis } from "./plugin-scenarios.ts";
import { cpuSeconds } from "./processes.ts";

const { values } = parseArgs({
  options: {
    concurrency: { type: "string", default: "50" },
    keys: { type: "string", default: "1" },
    batches: { type: "string", default: "400" },
    repeat: { type: "string", default: "7" },
    algorithm: { type: "string", default: "sliding-window" },
    // Generous by default: a decision that times out is cheaper and would flatter the numbers.
    timeout: { type: "string", default: "1000" },
  },
});
const concurrency = Number(values.concurrency);
const keys = Number(values.keys);
let made = 0;
const batches = Number(values.batches);
const repeat = Number(values.repeat);

const redis = await startRedis(mkdtempSync(join(tmpdir(), "gatehouse-redis-micro-")));
const connections = new RedisConnections();
const definition = createPluginRegistry().get("rate-limit")!;
const hooks: PluginHooks = definition.create(
  definition.schema.parse({
    store: "redis",
    algorithm: values.algorithm,
    by: "ip",
    limits: [{ limit: 1_000_000, window: "1s" }],
  }),
  {
    level: "route",
    name: "bench",
    baseDir: process.cwd(),
    consumers: [],
    stores: {
      redis: { url: redis.url, timeout: Number(values.timeout), keyPrefix: "gatehouse-bench:" },
    },
    redis: connections,
    telemetry: new PluginMetrics(new Registry()).forPlugin("rate-limit"),
    log: fallbackLogger,
  } as Parameters<typeof definition.create>[1],
);

const req = {
  method: "GET",
  url: "/",
  headers: {},
  socket: { remoteAddress: "127.0.0.1" },
} as unknown as IncomingMessage;

/** Decisions Redis did not give (the store failed open): they would flatter the numbers. */
let failures = 0;

async function decision(): Promise<void> {
  const client = made++ % keys;
  const ctx = new RequestContext({
    req,
    requestId: "bench",
    route: "bench",
    service: "upstream",
    clientAddress: `127.0.${client >> 8}.${client & 255}`,
    path: "/",
  });
  const pending = hooks.access!(ctx);
  if (pending instanceof Promise) await pending;
  if (ctx.answer !== undefined) throw new Error(`answered ${ctx.answer.status} ${ctx.answer.body}`);
  if (ctx.get(stateKeyNamed("rate-limit")!) === undefined) failures++;
}

async function batch(): Promise<void> {
  const all: Promise<void>[] = [];
  for (let i = 0; i < concurrency; i++) all.push(decision());
  await Promise.all(all);
}

const pid = redis.pid;

try {
  for (let i = 0; i < 100; i++) await batch();
  failures = 0;
  const rows: { gateway: number; system: number; redis: number; wall: number }[] = [];
  for (let r = 0; r < repeat; r++) {
    const cpu = process.cpuUsage();
    const redisBefore = cpuSeconds(pid) ?? 0;
    const started = performance.now();
    for (let i = 0; i < batches; i++) await batch();
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const decisions = batches * concurrency;
    if (failures > 0) throw new Error(`${failures} decisions failed (Redis too slow or down)`);
    rows.push({
      gateway: (used.user + used.system) / decisions,
      system: used.system / decisions,
      redis: (((cpuSeconds(pid) ?? 0) - redisBefore) * 1e6) / decisions,
      wall: (wallMs * 1000) / decisions,
    });
  }
  const median = (pick: (row: (typeof rows)[number]) => number) =>
    rows.map(pick).sort((a, b) => a - b)[Math.floor(rows.length / 2)]!;
  console.log(
    `rate-limit redis ${values.algorithm}, ${concurrency} at a time over ${keys} key(s), ` +
      `${batches} batches x ${repeat}: ` +
      `gateway ${median((row) => row.gateway).toFixed(2)} µs cpu/decision ` +
      `(${median((row) => row.system).toFixed(2)} µs of it in the kernel), ` +
      `redis-server ${median((row) => row.redis).toFixed(2)} µs cpu/decision, ` +
      `wall ${median((row) => row.wall).toFixed(2)} µs/decision`,
  );
} finally {
  await hooks.close?.();
  await redis.stop();
}
