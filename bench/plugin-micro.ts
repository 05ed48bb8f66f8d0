/**
 * @module bench/plugin-micro
 * In-process micro-benchmark of each built-in plugin: the CPU a request spends in the
 * plugin's hooks (and, for plugins that wait on a store, the wall time per request), read
 * in microseconds rather than guessed from the difference of two noisy req/s numbers.
 */
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import { pipeline, Readable, type Transform } from "node:stream";
import { Registry } from "prom-client";
import { fallbackLogger } from "../src/observability/logger.ts";
import { PluginMetrics } from "../src/observability/plugin-metrics.ts";
import { type PluginAnswer, RequestContext, runnerState } from "../src/pipeline/context.ts";
import type { PluginHooks } from "../src/pipeline/plugin.ts";
import { createPluginRegistry } from "../src/plugins/index.ts";
import { parsePathPattern } from "../src/router/path-pattern.ts";
import { RedisConnections } from "../src/stores/redis.ts";
import type { PluginCase } from "./plugin-cases.ts";
import { formatColumns } from "./table.ts";

export interface PluginCost {
  label: string;
  /** CPU microseconds per request in the plugin's hooks (median batch). */
  cpuUs: number;
  /** Wall-clock microseconds per request, store round trips included (median batch). */
  wallUs: number;
}

const batches = 7;

/** Measures each case; each runs for a bounded number of requests. */
export async function measurePluginCost(cases: readonly PluginCase[]): Promise<PluginCost[]> {
  const costs: PluginCost[] = [];
  // The floor every row includes: a request context and the walk over the phases.
  const floor: PluginCase = {
    label: "(no plugin: context + phases)",
    plugin: "",
    config: {},
    headers: {},
  };
  for (const pluginCase of [floor, ...cases]) {
    const hooks = pluginCase === floor ? {} : instantiate(pluginCase);
    try {
      await runOnce(hooks, pluginCase, true);
      const perBatch = pluginCase.async ? 500 : 5_000;
      for (let i = 0; i < perBatch; i++) await runOnce(hooks, pluginCase, false);
      const cpu: number[] = [];
      const wall: number[] = [];
      for (let batch = 0; batch < batches; batch++) {
        const cpuBefore = process.cpuUsage();
        const started = process.hrtime.bigint();
        for (let i = 0; i < perBatch; i++) await runOnce(hooks, pluginCase, false);
        wall.push(Number(process.hrtime.bigint() - started) / 1_000 / perBatch);
        const used = process.cpuUsage(cpuBefore);
        cpu.push((used.user + used.system) / perBatch);
      }
      costs.push({ label: pluginCase.label, cpuUs: median(cpu), wallUs: median(wall) });
    } finally {
      await hooks.close?.();
    }
  }
  return costs;
}

/** Metrics are on by default, so the plugins count as they do in a default gateway. */
const metrics = new PluginMetrics(new Registry());

const plugins = createPluginRegistry();
const redis = new RedisConnections();

function instantiate(pluginCase: PluginCase): PluginHooks {
  const definition = plugins.get(pluginCase.plugin);
  if (!definition) throw new Error(`plugin micro-benchmark: no plugin "${pluginCase.plugin}"`);
  return definition.create(definition.schema.parse(pluginCase.config), {
    level: "route",
    name: "bench",
    baseDir: process.cwd(),
    consumers: pluginCase.consumers ?? [],
    stores: pluginCase.stores ?? {},
    redis,
    telemetry: metrics.forPlugin(pluginCase.plugin),
    log: fallbackLogger,
  });
}

/** The route path the benchmark's requests matched, for plugins that read `ctx.params`. */
const itemPattern = parsePathPattern("/svc7/items/:id");

/**
 * One request through every hook the plugin has. Each checks the plugin answered exactly
 * when its case says; the first of a case that answers once primed (a cache) goes through
 * to fill it, then requests are sent until one is answered.
 */
async function runOnce(hooks: PluginHooks, pluginCase: PluginCase, check: boolean): Promise<void> {
  const ctx = await request(hooks, pluginCase);
  const expected = pluginCase.answers === true || (!check && pluginCase.answers === "once-primed");
  if ((ctx.answer !== undefined) !== expected)
    throw new Error(
      ctx.answer
        ? `plugin micro-benchmark: ${pluginCase.label} answered ${ctx.answer.status} ${ctx.answer.body}`
        : `plugin micro-benchmark: ${pluginCase.label} did not answer`,
    );
  if (check && pluginCase.answers === "once-primed") await primed(hooks, pluginCase);
}

/**
 * Sends requests until one is answered by the plugin (bounded): a store written in the
 * background (Redis) may not hold the entry yet when the first response has gone.
 */
async function primed(hooks: PluginHooks, pluginCase: PluginCase): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await request(hooks, pluginCase)).answer) {
    if (Date.now() > deadline)
      throw new Error(`plugin micro-benchmark: ${pluginCase.label} never answered`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One request of `pluginCase` through the hooks, its bodies through their transforms. */
async function request(hooks: PluginHooks, pluginCase: PluginCase): Promise<RequestContext> {
  const facts = {
    method: pluginCase.method ?? "GET",
    url: "/svc7/items/42",
    headers: pluginCase.headers,
    socket: { remoteAddress: "127.0.0.1" },
  };
  // A case with a body gets a request that streams it, as a client's would.
  const req = (pluginCase.body === undefined
    ? facts
    : Object.assign(
        Readable.from([Buffer.from(pluginCase.body)]),
        facts,
      )) as unknown as IncomingMessage;
  const ctx = new RequestContext({
    req,
    requestId: "bench",
    route: "bench",
    service: "upstream",
    clientAddress: "127.0.0.1",
    path: "/svc7/items/42",
    query: pluginCase.query === undefined ? undefined : `?${pluginCase.query}`,
    pattern: itemPattern,
  });
  ctx.consumer = pluginCase.consumer;
  for (const phase of ["onRequest", "access", "beforeUpstream"] as const) {
    const result = hooks[phase]?.(ctx);
    if (result instanceof Promise) await result;
  }
  const { answer } = ctx;
  if (answer) {
    // The hooks see a plugin's answer too, as the gateway sends it.
    const pending = hooks.onResponse?.(ctx, {
      status: answer.status,
      headers: answerHeaders(answer),
    });
    if (pending instanceof Promise) await pending;
    hooks.onLog?.(ctx);
    return ctx;
  }
  // The body through the request transforms the plugin asked for, as the proxy sends it on.
  const upload = runnerState.requestBody(ctx);
  if (upload && pluginCase.body !== undefined) {
    await throughTransforms(upload.streams, Buffer.from(pluginCase.body));
  }
  const response = pluginCase.response ?? { headers: ["content-type", "application/json"] };
  const pending = hooks.onResponse?.(ctx, { status: 200, headers: [...response.headers] });
  if (pending instanceof Promise) await pending;
  const transforms = runnerState.responseBody(ctx);
  if (transforms && response.body) await throughTransforms(transforms.streams, response.body);
  hooks.onLog?.(ctx);
  return ctx;
}

function answerHeaders(answer: PluginAnswer): string[] {
  const headers: string[] = [];
  for (const [name, value] of Object.entries(answer.headers)) headers.push(name, value);
  return headers;
}

/** Sends `body` through the transforms a plugin asked for, to their last byte. */
async function throughTransforms(streams: Transform[], body: Buffer): Promise<void> {
  const last = streams.at(-1)!;
  let bytes = 0;
  last.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
  });
  const ended = once(last, "end");
  if (streams.length > 1) pipeline(streams, () => {});
  streams[0]!.end(body);
  await ended;
  if (bytes === 0) throw new Error("plugin micro-benchmark: the transforms gave no bytes");
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The per-plugin table, as printed. */
export function formatPluginTable(costs: readonly PluginCost[]): string {
  const header = ["plugin (in-process, per request)", "cpu", "wall"];
  const rows = costs.map((c) => [c.label, `${c.cpuUs.toFixed(2)} µs`, `${c.wallUs.toFixed(2)} µs`]);
  return formatColumns(header, rows);
}
