/**
 * @module server/worker-thread
 * A worker thread of a node (see server/worker-pool.ts): one gateway serving the proxy
 * listeners on ports it shares with the other workers, compiling each config the
 * supervisor sends, following the node's target state and reporting its own changes.
 */
import { parentPort, workerData } from "node:worker_threads";
import { processSecrets } from "../config/secret-values.ts";
import { Gateway } from "../gateway.ts";
import { loadPluginModules } from "../pipeline/modules.ts";
import { createPluginRegistry } from "../plugins/index.ts";
import { NodeLimitClient } from "../stores/node-limits.ts";
import type { FromWorker, ToWorker, WorkerStart } from "./worker-messages.ts";

const start = workerData as WorkerStart;
const port = parentPort!;
const send = (message: FromWorker) => port.postMessage(message);
const remember = (secrets: readonly string[]) => {
  for (const secret of secrets) processSecrets.add(secret, "enc");
};

remember(start.secrets);
// The supervisor imported these already (they validated); this thread's gateway has its own registry.
const plugins = createPluginRegistry();
const problems = await loadPluginModules(start.pluginModules, start.configFile, plugins);
if (problems.length > 0) throw new Error(problems.map((problem) => problem.message).join("; "));

const gateway = new Gateway(start.config, {
  plugins,
  worker: {
    index: start.index,
    ports: start.ports,
    revision: start.revision,
    connections: start.connections,
    nodeLimits: new NodeLimitClient(start.limits),
  },
});
for (const change of start.states) gateway.followTargetState(change);
const stopWatching = gateway.watchTargetState((change) => send({ type: "state", change }));
await gateway.start();
send({ type: "ready", addresses: gateway.addresses().proxy });

port.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "reload": {
      remember(message.secrets);
      // Compiled and swapped before reload() first awaits: the supervisor's view of the new
      // targets applies before any request can be sent to one.
      const done = gateway.reload(message.config, { revision: message.revision });
      for (const change of message.states) gateway.followTargetState(change);
      done.then(
        () => send({ type: "reloaded", seq: message.seq }),
        (error: Error) => send({ type: "reloaded", seq: message.seq, error: error.message }),
      );
      return;
    }
    case "state":
      gateway.followTargetState(message.change);
      return;
    case "metrics":
      gateway.workerMetrics().then(
        (metrics) => send({ type: "metrics", seq: message.seq, metrics }),
        (error: Error) => {
          gateway.log.error({ err: error }, "metrics for the supervisor failed");
          send({ type: "metrics", seq: message.seq, metrics: [] });
        },
      );
      return;
    case "stats":
      send({
        type: "stats",
        seq: message.seq,
        stats: { worker: start.index, ...gateway.workerStats() },
      });
      return;
    case "stop":
      stopWatching();
      void gateway.stop().finally(() => {
        send({ type: "stopped" });
        port.close();
        process.exit(0);
      });
      return;
  }
});
