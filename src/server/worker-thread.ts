/**
 * @module server/worker-thread
 * A worker thread of a node (see server/worker-pool.ts): one gateway serving the proxy
 * listeners on ports it shares with the other workers, compiling each config the
 * supervisor sends, following the node's target state and discovered targets (it probes
 * and resolves nothing itself), and reporting its own changes.
 */
import { dirname } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { adoptCheckedConfig } from "../config/checked-config.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { ConfigRevision } from "../observability/config-revision.ts";
import { createLogger } from "../observability/logger.ts";
import { GatewayMetrics } from "../observability/metrics.ts";
import { loadPluginModules } from "../pipeline/modules.ts";
import { createPluginRegistry } from "../plugins/index.ts";
import { LiveRuntime } from "../runtime/live-runtime.ts";
import {
  applyTargetState,
  type TargetStateChange,
  watchTargetState,
} from "../runtime/target-sync.ts";
import { NodeLimitClient } from "../stores/node-limits.ts";
import { RedisConnections } from "../stores/redis.ts";
import { ProxyWorker } from "./proxy-worker.ts";
import type { FromWorker, ToWorker, WorkerStart } from "./worker-messages.ts";

const start = workerData as WorkerStart;
const port = parentPort!;
const send = (message: FromWorker) => port.postMessage(message);
const config = adoptCheckedConfig(start.checked);
// The supervisor imported these already (they validated); this thread's gateway has its own registry.
const plugins = createPluginRegistry();
const problems = await loadPluginModules(start.pluginModules, start.configFile, plugins);
if (problems.length > 0) throw new Error(problems.map((problem) => problem.message).join("; "));

const log = createLogger(config.gateway.log).child({ worker: start.index });
let proxy: ProxyWorker | undefined;
const metrics = config.gateway.metrics.enabled
  ? new GatewayMetrics(
      {
        services: () => live.current.services.values(),
        openConnections: () => proxy?.stats().openConnections ?? 0,
      },
      { worker: true },
    )
  : undefined;
metrics?.configApplied(start.revision, false);
const live = new LiveRuntime(config, {
  plugins: {
    registry: plugins,
    nodeLimits: new NodeLimitClient(start.limits),
    redis: new RedisConnections(),
    baseDir: dirname(start.configFile),
  },
  log,
  telemetry: metrics?.plugins,
});
proxy = new ProxyWorker({
  settings: config.gateway,
  live,
  log,
  metrics,
  thread: start.index,
  baseDir: dirname(start.configFile),
});
for (const { service, targets } of start.discovered) live.setTargets(service, targets);
for (const change of start.states) applyTargetState(live.targets, change);
const stopWatching = watchTargetState(live.targets, (change) => send({ type: "state", change }));
await proxy.listen(start.connections, start.ports);
send({ type: "ready", addresses: proxy.addresses() });

/** Serves `next` from now on, and the supervisor's view of its targets. */
async function reload(
  next: GatehouseConfig,
  revision: ConfigRevision,
  states: TargetStateChange[],
) {
  // Compiled and swapped before the first await: the supervisor's view of the new targets
  // applies before any request can be sent to one.
  const previous = live.swap(next);
  proxy!.settle(next);
  metrics?.configApplied(revision, true);
  for (const change of states) applyTargetState(live.targets, change);
  await live.retire(previous);
}

async function stop() {
  stopWatching();
  await proxy!.drain();
  proxy!.close();
  await live.close();
  await proxy!.closeObservers();
}

port.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "reload": {
      reload(adoptCheckedConfig(message.checked), message.revision, message.states).then(
        () => send({ type: "reloaded", seq: message.seq }),
        (error: Error) => send({ type: "reloaded", seq: message.seq, error: error.message }),
      );
      return;
    }
    case "certificates":
      for (const error of proxy!.reloadCertificates())
        log.error({ error: error.message }, `certificate reload refused: ${error.message}`);
      return;
    case "target-changes":
      live.changeTargets(message.service, message.put, message.removed);
      return;
    case "state":
      applyTargetState(live.targets, message.change);
      return;
    case "metrics":
      (metrics?.workerMetrics() ?? Promise.resolve([])).then(
        (metrics) => send({ type: "metrics", seq: message.seq, metrics }),
        (error: Error) => {
          log.error({ err: error }, "metrics for the supervisor failed");
          send({ type: "metrics", seq: message.seq, metrics: [] });
        },
      );
      return;
    case "window":
      send({
        type: "window",
        seq: message.seq,
        window: metrics?.requests.window.snapshot(message.end) ?? { end: message.end, series: [] },
      });
      return;
    case "stats":
      send({
        type: "stats",
        seq: message.seq,
        stats: { worker: start.index, ...proxy!.stats() },
      });
      return;
    case "stop":
      void stop().finally(() => {
        send({ type: "stopped" });
        port.close();
        process.exit(0);
      });
      return;
  }
});
