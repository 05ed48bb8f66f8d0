/**
 * @module bench/plugin-micro
 * In-process micro-benchmark of each built-in plugin: the CPU a request spends in the
 * plugin's hooks (and, for plugins that wait on a store, the wall time per request), read
 * in microseconds rather than guessed from the difference of two noisy req/s numbers.
 */
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Registry } from "prom-client";
import { fallbackLogger } from "../src/observability/logger.ts";
import { PluginMetrics } from "../src/observability/plugin-metrics.ts";
import { RequestContext, runnerState } from "../src/pipeline/context.ts";
import type { PluginHooks } from "../src/pipeline/plugin.ts";
import { createPluginRegistry } from "../src/plugins/index.ts";
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

/** One request through every hook the plugin has; the first run checks the plugin let it through. */
async function runOnce(hooks: PluginHooks, pluginCase: PluginCase, check: boolean): Promise<void> {
  const ctx = context(pluginCase);
  for (const phase of ["onRequest", "access", "beforeUpstream"] as const) {
    const result = hooks[phase]?.(ctx);
    if (result instanceof Promise) await result;
  }
  if (ctx.answer && (check || !pluginCase.answers))
    throw new Error(
      `plugin micro-benchmark: ${pluginCase.label} answered ${ctx.answer.status} ${ctx.answer.body}`,
    );
  if (!ctx.answer) {
    const headers = [...(pluginCase.responseHeaders ?? ["content-type", "application/json"])];
    const pending = hooks.onResponse?.(ctx, { status: 200, headers });
    if (pending instanceof Promise) await pending;
    await sendBody(ctx);
  } else if (!check && pluginCase.answers && ctx.answer.status !== 200)
    throw new Error(`plugin micro-benchmark: ${pluginCase.label} answered ${ctx.answer.status}`);
  hooks.onLog?.(ctx);
  // A store written in the background (Redis) must hold the entry before the hits.
  if (check && pluginCase.answers) await primed(hooks, pluginCase);
}

/** A small body through the response transforms the hooks asked for, if any. */
async function sendBody(ctx: RequestContext): Promise<void> {
  const transforms = runnerState.responseBody(ctx);
  if (!transforms) return;
  const streams = transforms.streams;
  const done = pipeline([Readable.from([Buffer.from('{"id":42,"name":"item"}')]), ...streams]);
  streams.at(-1)!.resume();
  await done;
}

/**
 * Sends requests until one is answered by the plugin (bounded): a store that was not
 * ready for the first (Redis still connecting) gets the response again.
 */
async function primed(hooks: PluginHooks, pluginCase: PluginCase): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const ctx = context(pluginCase);
    for (const phase of ["onRequest", "access", "beforeUpstream"] as const) {
      const result = hooks[phase]?.(ctx);
      if (result instanceof Promise) await result;
    }
    if (!ctx.answer) {
      const headers = [...(pluginCase.responseHeaders ?? [])];
      const pending = hooks.onResponse?.(ctx, { status: 200, headers });
      if (pending instanceof Promise) await pending;
      await sendBody(ctx);
    }
    hooks.onLog?.(ctx);
    if (ctx.answer) return;
    if (Date.now() > deadline)
      throw new Error(`plugin micro-benchmark: ${pluginCase.label} never answered`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A new context for one request of `pluginCase`. */
function context(pluginCase: PluginCase): RequestContext {
  const req = {
    method: "GET",
    url: "/svc7/items/42",
    headers: pluginCase.headers,
    socket: { remoteAddress: "127.0.0.1" },
  } as unknown as IncomingMessage;
  const ctx = new RequestContext({
    req,
    requestId: "bench",
    route: "bench",
    service: "upstream",
    clientAddress: "127.0.0.1",
    path: "/svc7/items/42",
  });
  ctx.consumer = pluginCase.consumer;
  return ctx;
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
