/**
 * @module server/worker-pool
 * The supervisor's worker threads (`gateway.workers` > 1). Each runs the proxy listeners
 * on the same ports (SO_REUSEPORT: the kernel spreads new connections over them) and
 * compiles every config it is sent; the supervisor validates once, probes targets once,
 * counts rate limits once, relays target state between workers, restarts a worker that
 * died, and drains them all on stop. Why threads and not node:cluster: docs/architecture.md.
 */
import type { AddressInfo } from "node:net";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { AggregatorRegistry } from "prom-client";
import { type CheckedConfig, checkedConfigOf } from "../config/checked-config.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { ConfigRevision } from "../observability/config-revision.ts";
import type { Logger } from "../observability/logger.ts";
import type { WindowSnapshot } from "../observability/request-window.ts";
import type { TargetStateChange } from "../runtime/target-sync.ts";
import type { NodeLimitService } from "../stores/node-limits.ts";
import { type ClientConnections, forgetThreadConnections } from "./connection-limit.ts";
import type {
  DiscoveredChanges,
  DiscoveredTargets,
  FromWorker,
  ToWorker,
  WorkerStart,
  WorkerStats,
} from "./worker-messages.ts";

export interface WorkerPoolOptions {
  count: number;
  config: GatehouseConfig;
  revision: ConfigRevision;
  /** The port of each proxy listener, already chosen (and held) by the supervisor. */
  ports: number[];
  /** `gateway.pluginModules`, and the file they are relative to. */
  pluginModules: string[];
  configFile: string;
  /** The supervisor's view of every target, for a worker that starts or reloads. */
  states(): TargetStateChange[];
  /** What discovery found for each service, for a worker that starts. */
  discovered(): DiscoveredTargets[];
  /** A worker's breaker or outlier detection changed a target (already relayed to the others). */
  onState(change: TargetStateChange): void;
  limits: NodeLimitService;
  /** The node's client connection cap, and the counts every worker shares. */
  connections: ClientConnections;
  log: Logger;
}

/** One worker thread, and what the supervisor waits for from it. */
interface Slot {
  index: number;
  worker: Worker;
  /** The supervisor's end of the worker's rate-limit channel. */
  limits: MessagePort;
  startedAt: number;
  addresses: AddressInfo[];
  /** Answers awaited, by sequence number. */
  waiting: Map<number, (message: FromWorker | undefined) => void>;
  /** Sent `ready`: it listens and serves. */
  serving: boolean;
  /** Its counters as last scraped, kept when it ends so the node's totals never go back. */
  lastMetrics: object[] | undefined;
}

/** A worker that dies this soon after starting is crash-looping: wait before the next try. */
const crashLoopMs = 10_000;
const maxRestartDelayMs = 5_000;
/** A worker that answers no question in this long is stuck (a plugin looping): it is ended. */
const answerTimeoutMs = 10_000;
const entry = new URL(
  `./worker-thread${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);

export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #slots = new Map<number, Slot>();
  #config: GatehouseConfig;
  #revision: ConfigRevision;
  #seq = 0;
  #stopping = false;
  /** The counters of workers that ended, summed (counters and histograms only). */
  #retired: object[] = [];
  /** Restarts of each worker slot, for `/status`. */
  readonly #restarts = new Map<number, number>();
  /** Wait before starting a slot again: grows while its worker keeps dying young. */
  readonly #restartDelays = new Map<number, number>();

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#config = options.config;
    this.#revision = options.revision;
  }

  /** Starts every worker; resolves once all of them listen. One that cannot start stops them all. */
  async start(): Promise<void> {
    const started = [];
    for (let index = 1; index <= this.#options.count; index++) started.push(this.#spawn(index));
    try {
      await Promise.all(started);
    } catch (error) {
      this.#stopping = true;
      await Promise.all([...this.#slots.values()].map((slot) => slot.worker.terminate()));
      this.#slots.clear();
      throw error;
    }
  }

  /** The proxy listeners' addresses (every worker binds the same ones). */
  addresses(): AddressInfo[] {
    for (const slot of this.#slots.values()) if (slot.addresses.length > 0) return slot.addresses;
    return [];
  }

  /** Workers listening now; none means the node cannot serve (its `/ready` says so). */
  get serving(): number {
    let serving = 0;
    for (const slot of this.#slots.values()) if (slot.serving) serving++;
    return serving;
  }

  /**
   * Serves `config` in every worker; resolves once each has compiled and swapped it. The
   * supervisor compiled the same config already, so a worker that fails to is broken (or
   * stuck): it is ended, and started again with this config like any worker that dies.
   */
  async reload(config: GatehouseConfig, revision: ConfigRevision): Promise<void> {
    this.#config = config;
    this.#revision = revision;
    const states = this.#options.states();
    const checked = forWorkers(config);
    await Promise.all(
      [...this.#slots.values()].map(async (slot) => {
        const answer = await this.#ask(slot, (seq) => ({
          type: "reload",
          seq,
          checked,
          revision,
          states,
        }));
        if ((answer?.type === "reloaded" && !answer.error) || !slot.serving) return;
        const why = answer?.type === "reloaded" ? answer.error : "no answer";
        this.#options.log.error(
          { worker: slot.index, error: why },
          `worker ${slot.index} did not apply config version ${revision.version}: restarting it`,
        );
        await slot.worker.terminate();
      }),
    );
  }

  /** Tells every worker but `except` of a target's new state. */
  broadcast(change: TargetStateChange, except?: Slot): void {
    for (const slot of this.#slots.values()) {
      if (slot !== except) slot.worker.postMessage({ type: "state", change } satisfies ToWorker);
    }
  }

  /** Tells every worker what a discovery answer changed in service `changes.service`. */
  broadcastTargetChanges(changes: DiscoveredChanges): void {
    const message: ToWorker = { type: "target-changes", ...changes };
    for (const slot of this.#slots.values()) slot.worker.postMessage(message);
  }

  /** Tells every worker to read its TLS listeners' certificate files again. */
  broadcastCertificates(): void {
    const message: ToWorker = { type: "certificates" };
    for (const slot of this.#slots.values()) slot.worker.postMessage(message);
  }

  /**
   * Each worker's metrics (prom-client JSON), for the supervisor's `/metrics`, and the last
   * counters of workers that ended: a restart must not look like a counter reset.
   */
  async metrics(): Promise<object[][]> {
    const slots = [...this.#slots.values()];
    const answers = await Promise.all(
      slots.map((slot) => this.#ask(slot, (seq) => ({ type: "metrics", seq }))),
    );
    const live = answers.flatMap((answer, i) => {
      const slot = slots[i]!;
      if (answer?.type === "metrics" && answer.metrics.length > 0)
        slot.lastMetrics = answer.metrics;
      return slot.lastMetrics ? [slot.lastMetrics] : [];
    });
    return this.#retired.length > 0 ? [...live, this.#retired] : live;
  }

  /** Each running worker's request window ending with bucket `end` (one that does not answer: none). */
  async windows(end: number): Promise<WindowSnapshot[]> {
    const answers = await Promise.all(
      [...this.#slots.values()].map((slot) =>
        this.#ask(slot, (seq) => ({ type: "window", seq, end })),
      ),
    );
    return answers.flatMap((answer) => (answer?.type === "window" ? [answer.window] : []));
  }

  /** What each running worker counts, in worker order. */
  async stats(): Promise<WorkerStats[]> {
    const slots = [...this.#slots.values()].sort((a, b) => a.index - b.index);
    const answers = await Promise.all(
      slots.map((slot) => this.#ask(slot, (seq) => ({ type: "stats", seq }))),
    );
    return answers.flatMap((answer, i) =>
      answer?.type === "stats"
        ? [{ ...answer.stats, restarts: this.#restarts.get(slots[i]!.index) ?? 0 }]
        : [],
    );
  }

  /** Drains every worker (each within `gateway.shutdownTimeout`), then ends them. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const slots = [...this.#slots.values()];
    await Promise.all(
      slots.map(async (slot) => {
        const exited = new Promise((done) => slot.worker.once("exit", done));
        slot.worker.postMessage({ type: "stop" } satisfies ToWorker);
        const grace = this.#config.gateway.shutdownTimeout + 2_000;
        const timer = setTimeout(() => void slot.worker.terminate(), grace);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.#slots.clear();
  }

  #spawn(index: number): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    this.#options.limits.serve(port1);
    const data: WorkerStart = {
      index,
      checked: forWorkers(this.#config),
      revision: this.#revision,
      ports: this.#options.ports,
      pluginModules: this.#options.pluginModules,
      configFile: this.#options.configFile,
      states: this.#options.states(),
      discovered: this.#options.discovered(),
      limits: port2,
      connections: this.#options.connections,
    };
    const worker = new Worker(entry, { workerData: data, transferList: [port2] });
    const slot: Slot = {
      index,
      worker,
      limits: port1,
      startedAt: Date.now(),
      addresses: [],
      waiting: new Map(),
      serving: false,
      lastMetrics: undefined,
    };
    this.#slots.set(index, slot);
    const ready = new Promise<void>((resolve, reject) => {
      worker.on("message", (message: FromWorker) => {
        if (message.type === "ready") {
          slot.addresses = message.addresses;
          slot.serving = true;
          resolve();
        } else if (message.type === "state") {
          this.broadcast(message.change, slot);
          this.#options.onState(message.change);
        } else if ("seq" in message) {
          slot.waiting.get(message.seq)?.(message);
          slot.waiting.delete(message.seq);
        }
      });
      worker.on("error", (error) => {
        this.#options.log.error({ worker: index, err: error }, "worker thread failed");
        reject(error);
      });
    });
    worker.on("exit", (code) => this.#exited(slot, code));
    return ready;
  }

  /** A worker ended: unless the pool is stopping, it is started again with the current config. */
  #exited(slot: Slot, code: number): void {
    for (const answer of slot.waiting.values()) answer(undefined);
    slot.waiting.clear();
    slot.limits.close();
    slot.serving = false;
    if (this.#slots.get(slot.index) !== slot) return;
    // Its connections ended with the thread, whose close handlers never ran.
    forgetThreadConnections(this.#options.connections.counts, slot.index);
    this.#slots.delete(slot.index);
    if (this.#stopping) return;
    if (slot.lastMetrics) this.#retire(slot.lastMetrics);
    const lived = Date.now() - slot.startedAt;
    const previous = this.#restartDelays.get(slot.index) ?? 0;
    const delay =
      lived < crashLoopMs ? Math.min(Math.max(previous * 2, 100), maxRestartDelayMs) : 0;
    this.#restartDelays.set(slot.index, delay);
    this.#options.log.error(
      { worker: slot.index, exitCode: code, restartInMs: delay },
      `worker ${slot.index} exited; starting it again`,
    );
    this.#restarts.set(slot.index, (this.#restarts.get(slot.index) ?? 0) + 1);
    const restart = setTimeout(() => {
      if (this.#stopping) return;
      this.#spawn(slot.index).then(
        () => this.#options.log.info({ worker: slot.index }, `worker ${slot.index} restarted`),
        () => {},
      );
    }, delay);
    restart.unref();
  }

  /** Adds an ended worker's counters and histograms to the retired sums (its gauges are gone). */
  #retire(metrics: object[]): void {
    const kept = (list: object[]) =>
      list.filter((metric) => (metric as { type: string }).type !== "gauge");
    const sum = AggregatorRegistry.aggregate([kept(this.#retired), kept(metrics)]);
    // prom-client's aggregate registry answers getMetricsAsJSON synchronously underneath.
    void sum.getMetricsAsJSON().then((json) => {
      this.#retired = json;
    });
  }

  /**
   * Sends `message` and resolves with the answer; undefined if the worker ends first or does
   * not answer within answerTimeoutMs (it is then ended: a stuck worker serves nobody).
   */
  #ask(slot: Slot, message: (seq: number) => ToWorker): Promise<FromWorker | undefined> {
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        slot.waiting.delete(seq);
        resolve(undefined);
        if (!slot.serving) return;
        this.#options.log.error({ worker: slot.index }, `worker ${slot.index} stopped answering`);
        void slot.worker.terminate();
      }, answerTimeoutMs);
      timer.unref();
      slot.waiting.set(seq, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      slot.worker.postMessage(message(seq));
    });
  }
}

/**
 * `config` as its workers are sent it: without the document as written, which a worker
 * neither shows nor writes (for 10,000 routes it would double what each reload posts).
 */
function forWorkers(config: GatehouseConfig): CheckedConfig {
  return { ...checkedConfigOf(config), origin: undefined };
}
